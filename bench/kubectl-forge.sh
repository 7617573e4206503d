#!/usr/bin/env bash
# The kubectl baseline of `norn forge APP`: the same work for a webserver with an
# external host, as an operator would script it with kubectl.
#
#   kubectl-forge.sh MANIFESTS HOSTNAME SERVICE_URL [--validate]
#
# MANIFESTS is a List of the Deployment and Service norn would create;
# --validate: cloudflared checks the edited config first, as norn does.
# --validate=false: the stand-in API server serves no OpenAPI document, and
# norn does not validate against one either (the server checks the objects).
set -euo pipefail
manifests=$1 hostname=$2 service=$3 validate=${4:-}

kubectl create --validate=false -f "$manifests" -o name

# The ingress rule goes just before the catch-all rule; replace sends back the
# resourceVersion read, so a concurrent edit fails instead of being lost.
edit() {
  kubectl get configmap cloudflared -n cloudflared -o yaml \
    | sed "/- service: http_status:404/i\\      - hostname: $hostname\n        service: $service"
}
if [ "$validate" = --validate ]; then
  # As norn does, cloudflared checks the edited config before it is written: one
  # more process, and kubectl replace waits for it. cloudflared reads config.yaml,
  # not the ConfigMap around it, so the script extracts it first: the block that
  # kubectl prints under `config.yaml: |`, de-indented, with awk (a compiled tool,
  # as yq would be: a Python one-liner with PyYAML cost the baseline about 40 ms).
  edited=$(mktemp) config=$(mktemp)
  trap 'rm -f "$edited" "$config"' EXIT
  edit >"$edited"
  awk '/^  config\.yaml: \|/ { inside = 1; next }
       inside && /^    / { print substr($0, 5); next }
       inside && /^$/ { print; next }
       inside { exit }' "$edited" >"$config"
  cloudflared tunnel --config "$config" ingress validate >/dev/null
  kubectl replace --validate=false -f "$edited" -o name
else
  edit | kubectl replace --validate=false -f - -o name
fi

cloudflared tunnel route dns norn "$hostname"
# A restart in the same second as the last one is already under way: kubectl
# refuses to repeat it, norn's identical patch changes nothing. Both are done.
if ! out=$(kubectl rollout restart deployment/cloudflared -n cloudflared 2>&1); then
  case $out in
    *"already been triggered within the past second"*) ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
fi
echo "$out"
