#!/usr/bin/env bash
# make bench: install what the benchmark needs, then run bench/bench.py.
#
#   bench/run.sh [--rounds N] [--label TEXT]
#
# KUBECTL=PATH names the kubectl to measure against (a plain binary, not a dispatcher).
# NORN_SRC=PATH measures the norn of another tree (e.g. a worktree of an older
# commit) with this benchmark. Everything is written under .bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
src=${NORN_SRC:-$root}
python=${PYTHON:-python3}

# The baseline: a plain kubectl (KUBECTL=PATH, else kubectl on PATH, or the versioned binary
# beside the Google Cloud SDK's dispatcher); baseline.py refuses a dispatcher in one line.
kubectl=$("$python" "$root/bench/baseline.py")
need_apt=()
command -v hyperfine >/dev/null || need_apt+=(hyperfine)
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bench: installing ${need_apt[*]} from Debian's packages" >&2
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# norn installed as users install it: a regular (not editable) install, in its own venv, with the
# serve extra for the norn serve row.
venv=$root/.bench/venv
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip 2>/dev/null || true
fi
quiet() { "$@" 2> >(grep -v '^WARNING: Location' >&2); }  # this machine's pip config warns per index
quiet "$venv/bin/python" -m pip install --quiet "$src[serve]"
quiet "$venv/bin/python" -m pip install --quiet --no-deps --force-reinstall "$src"

label=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo "$src")
exec "$venv/bin/python" "$root/bench/bench.py" --norn "$venv/bin/norn" --kubectl "$kubectl" \
  --work "$root/.bench/work" --label "$label" "$@"
