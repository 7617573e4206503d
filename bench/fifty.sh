#!/usr/bin/env bash
# Forge the apps app-00 .. app-(N-1):
#   fifty.sh norn N        N norn processes at once
#   fifty.sh one N         one norn forge of all N apps (one config write, one cloudflared restart)
#   fifty.sh kubectl N DIR N kubectl scripts one after the other (DIR holds their manifests)
# Exits non-zero if any forge failed.
set -uo pipefail
here=$(dirname "$0")
mode=$1 count=$2
failed=0
if [ "$mode" = norn ]; then
  errors=$(mktemp)
  trap 'rm -f "$errors"' EXIT
  pids=()
  for i in $(seq -f %02g 0 $((count - 1))); do
    norn forge "app-$i" >/dev/null 2>>"$errors" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done
  [ "$failed" -eq 0 ] || cat "$errors" >&2
elif [ "$mode" = one ]; then
  apps=()
  for i in $(seq -f %02g 0 $((count - 1))); do apps+=("app-$i"); done
  norn forge "${apps[@]}" >/dev/null || failed=$?
else
  dir=$3
  for i in $(seq -f %02g 0 $((count - 1))); do
    if ! out=$(bash "$here/kubectl-forge.sh" "$dir/app-$i.json" "app-$i.example.com" \
      "http://app-$i-svc.default.svc.cluster.local:80" 2>&1); then
      failed=$((failed + 1))
      echo "app-$i: $out" >&2
    fi
  done
fi
[ "$failed" -eq 0 ] || { echo "$failed of $count forges failed" >&2; exit 1; }
