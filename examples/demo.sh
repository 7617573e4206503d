#!/usr/bin/env bash
# norn's main job, end to end, against the stand-in cluster the tests use:
# a stand-in Kubernetes API server on localhost (with an operator's cloudflared
# ConfigMap and Deployment) and the stand-in cloudflared in tests/bin.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$root/.demo
rm -rf "$work" && mkdir -p "$work"

python -m tests.kubeapi --kubeconfig "$work/kubeconfig" --seed-cloudflared --ready-file "$work/ready" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/ready" ] && break; sleep 0.1; done
[ -s "$work/ready" ] || { echo "the stand-in API server did not start" >&2; exit 1; }

export KUBECONFIG=$work/kubeconfig
export NORN_STATE_DIR=$work/state
export NORN_APPS_DIR=$root/examples
export PATH=$root/tests/bin:$PATH
export CLOUDFLARED_STANDIN_STATE=$work/cloudflared.json

run() { printf '\n$ %s\n' "$*"; "$@"; }

run norn validate
run norn plan mail-agent             # what forge would do; changes nothing
run norn forge mail-agent --wait
run norn forge nightly-report
run norn status
run norn status --live
run norn teardown mail-agent --dry-run
run norn status mail-agent
run norn forge mail-agent            # forged and up to date: nothing to do
run norn teardown mail-agent --yes
run norn teardown nightly-report --yes
run norn status
