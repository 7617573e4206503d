"""``norn validate``: check infraspec files with no cluster, fast enough for a pre-commit hook.

Only the infraspec and manifests modules (pydantic, PyYAML) are imported, never
the kubernetes client, and nothing is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from norn.errors import SpecError
from norn.infraspec.discovery import SPEC_NAME, find
from norn.infraspec.loading import load
from norn.infraspec.problems import InfraspecInvalid

if TYPE_CHECKING:
    from norn.infraspec.model import Infraspec


@dataclass(frozen=True)
class Result:
    """One file (or one argument that named none) and its problems; none means valid."""

    target: str
    problems: list[str]
    spec: "Infraspec | None" = field(default=None, compare=False, repr=False)  # when the file is valid

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"file": self.target, "valid": self.ok, "problems": self.problems}


def default_targets(apps_dir: Path) -> list[Path]:
    """Every infraspec forge's discovery would look at: ``$NORN_APPS_DIR/*/infraspec.yaml``."""
    found = sorted(apps_dir.glob(f"*/{SPEC_NAME}")) if apps_dir.is_dir() else []
    if not found:
        raise SpecError(
            f"nothing to validate: no */{SPEC_NAME} under {apps_dir}",
            hint="pass files or app names, or set NORN_APPS_DIR to the folder holding the app folders",
        )
    return found


def _looks_like_path(arg: str) -> bool:
    return "/" in arg or arg.endswith((".yaml", ".yml")) or Path(arg).exists()


def check_arg(arg: str, apps_dir: Path, cwd: Path) -> Result:
    """A file, a folder holding an infraspec.yaml, or an app name found as forge finds it."""
    if _looks_like_path(arg):
        path = Path(arg)
        return check_file(path / SPEC_NAME if path.is_dir() else path)
    try:
        path = find(arg, spec_path=None, apps_dir=apps_dir, cwd=cwd)
    except SpecError as exc:
        return Result(arg, [exc.message])
    return check_file(path)


def check_file(path: Path) -> Result:
    try:
        spec = load(path)
    except InfraspecInvalid as exc:
        return Result(str(path), exc.problems)
    except SpecError as exc:
        return Result(str(path), [exc.message])
    return Result(str(path), [], spec)


def claims(spec: "Infraspec") -> dict[str, str]:
    """The object names an app takes in its namespace, each with the key that names it.

    Two apps forged into one namespace cannot both have one: the second forge
    fails on it. The Deployment or CronJob is named after the app, the Service
    after hosts.internal, each PVC ``<app>-<volume name>`` (see manifests).
    """
    from norn.steps import manifests

    taken = {f"app name {spec.app}": "app"}
    if spec.hosts.internal:
        taken[f"Service {spec.hosts.internal}"] = "hosts.internal"
    for i, volume in enumerate(spec.volumes):
        if volume.host_path is None:
            taken[f"PersistentVolumeClaim {manifests.pvc_name(spec, volume)}"] = f"volumes[{i}].name"
    return taken


def with_conflicts(results: list[Result], apps_dir: Path) -> list[Result]:
    """Each result, plus a problem for every object name it shares with another infraspec.

    The others are the results themselves and every infraspec under ``apps_dir``
    (forge finds apps there), so checking one file still compares it with them all.
    Read from files only: no cluster.
    """
    known = {Path(r.target).resolve(): r.spec for r in results if r.spec is not None}
    for path in _candidates(apps_dir):
        if path.resolve() not in known:
            known[path.resolve()] = _spec_or_none(path)
    owners: dict[str, list[Path]] = {}
    for path, spec in known.items():
        for name in claims(spec) if spec is not None else ():
            owners.setdefault(name, []).append(path)
    checked = []
    for result in results:
        problems = list(result.problems)
        if result.spec is not None:
            here = Path(result.target).resolve()
            for name, key in claims(result.spec).items():
                problems += [
                    f"{result.target}: {key}: {name} is also claimed by {other}; "
                    "two apps in one namespace cannot share an object name"
                    for other in owners[name] if other != here
                ]
        checked.append(replace(result, problems=problems))
    return checked


def _candidates(apps_dir: Path) -> list[Path]:
    try:
        return sorted(apps_dir.glob(f"*/{SPEC_NAME}")) if apps_dir.is_dir() else []
    except OSError:
        return []


def _spec_or_none(path: Path) -> "Infraspec | None":
    try:
        return load(path)
    except SpecError:
        return None  # its own problems are its own run's to report


def lines(result: Result) -> list[str]:
    """What the text output says: ``FILE: ok``, or each problem as ``FILE:LINE: key: problem``."""
    return [f"{result.target}: ok"] if result.ok else list(result.problems)
