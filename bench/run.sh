#!/usr/bin/env bash
# make bench: install what the benchmark needs, then run bench/bench.py.
#
#   bench/run.sh [--rounds N] [--label TEXT]
#
# NORN_SRC=PATH measures the norn of another tree (e.g. a worktree of an older
# commit) with this benchmark. Everything is written under .bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src=${NORN_SRC:-$root}
python=${PYTHON:-python3}

if ! command -v kubectl >/dev/null; then
  echo "bench: kubectl is not on PATH; the baseline is kubectl, so install it first" >&2
  echo "       (e.g. the kubectl package from Kubernetes' apt repository)" >&2
  exit 1
fi
need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bench: installing ${need_apt[*]} from Debian's packages" >&2
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# norn installed as users install it: a regular (not editable) install, in its own venv.
venv=$root/.bench/venv
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip 2>/dev/null || true
fi
quiet() { "$@" 2> >(grep -v '^WARNING: Location' >&2); }  # this machine's pip config warns per index
quiet "$venv/bin/python" -m pip install --quiet "$src"
quiet "$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$src"

label=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "$src")
exec "$venv/bin/python" "$root/bench/bench.py" --norn "$venv/bin/norn" --work "$root/.bench/work" --label "$label" "$@"
