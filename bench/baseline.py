"""The kubectl the benchmark measures norn against: a plain kubectl binary, never a dispatcher.

    python3 bench/baseline.py     prints the plain kubectl's path, or one line on stderr and exit 1

`KUBECTL=PATH` names it; otherwise it is `kubectl` on PATH. The Google Cloud SDK installs a
dispatcher as `kubectl` (`kubectl version --client` prints `v1.32.4-dispatcher`): before every
command that names a reachable server it asks the server for its version (about 50 ms), then
runs a plain binary kept beside it. How it picks, in kubernetes' gcloud build
(cmd/kubectl-sdk/pkg/dispatcher/dispatcher.go, Dispatcher.Dispatch, and
pkg/filepath/filepath.go, FilepathBuilder.VersionedFilePath; GoogleCloudPlatform/
kubectl-dispatcher has the same logic): a server of the dispatcher's own major.minor, or no
answer, falls through to the kubectl built into the dispatcher; any other version runs
`kubectl.<major>.<minor>` from the directory of the dispatcher's executable, symlinks resolved.
So the plain binary of the dispatcher's own version is `kubectl.<its major>.<its minor>` beside
it (the SDK ships one per supported minor), and that is the baseline. Stdlib only: run.sh calls
this with the system python before anything is installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

# `Client Version: v1.32.4-dispatcher`, or before kubectl 1.28
# `Client Version: version.Info{Major:"1", Minor:"27", GitVersion:"v1.27.16", ...}`.
_GIT_VERSION = re.compile(r'Client Version: (?:version\.Info\{.*?GitVersion:")?(v(\d+)\.(\d+)\.\d+[^\s",}]*)')


class Refused(Exception):
    """The benchmark has no plain kubectl to measure against: one line saying why."""


def client_version(output: str) -> tuple[str, int, int] | None:
    """(git version, major, minor) from `kubectl version --client`; None if it says none."""
    found = _GIT_VERSION.search(output)
    if found is None:
        return None
    return found.group(1), int(found.group(2)), int(found.group(3))


def is_dispatcher(git_version: str) -> bool:
    return git_version.endswith("-dispatcher")


def beside_dispatcher(dispatcher: Path, major: int, minor: int) -> Path:
    """The plain kubectl of the dispatcher's own version, in its (symlink-resolved) directory."""
    return dispatcher.parent / f"kubectl.{major}.{minor}"


def find(
    named: str | None,
    which: Callable[[str], str | None],
    version: Callable[[Path], str],
    resolve: Callable[[Path], Path],
    exists: Callable[[Path], bool],
) -> tuple[Path, str]:
    """The plain kubectl and its `version --client` line; Refused when there is none.

    ``named`` is KUBECTL: used as given, and refused when it is a dispatcher (a baseline that
    asks the server for its version on every call is not the kubectl users run).
    """
    if named:
        path = Path(named)
        if not exists(path):
            raise Refused(f"KUBECTL={named} does not exist")
    else:
        found = which("kubectl")
        if found is None:
            raise Refused("kubectl is not on PATH and KUBECTL is not set; install kubectl or set KUBECTL=PATH")
        path = Path(found)
    parsed = client_version(version(path))
    if parsed is None:
        raise Refused(f"{path} does not say its version (`kubectl version --client`); set KUBECTL to a plain kubectl")
    git_version, major, minor = parsed
    if not is_dispatcher(git_version):
        return path, git_version
    if named:
        raise Refused(f"KUBECTL={named} is the Google Cloud SDK's dispatcher ({git_version}), not a plain kubectl")
    plain = beside_dispatcher(resolve(path), major, minor)
    if not exists(plain):
        raise Refused(f"{path} is the Google Cloud SDK's dispatcher ({git_version}) and {plain} does not exist; "
                      "set KUBECTL to a plain kubectl")
    parsed = client_version(version(plain))
    if parsed is None or is_dispatcher(parsed[0]) or parsed[1:] != (major, minor):
        raise Refused(f"{plain} is not a plain kubectl {major}.{minor}; set KUBECTL to one")
    return plain, parsed[0]


def _version(path: Path) -> str:
    try:
        done = subprocess.run([str(path), "version", "--client"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Refused(f"{path} version --client failed: {exc}") from exc
    return done.stdout


def main() -> int:
    try:
        path, _ = find(os.environ.get("KUBECTL"), shutil.which, _version, Path.resolve, Path.exists)
    except Refused as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
