"""Where an app's infraspec is, in the order INFRASPEC.md gives, and loading it as that app's."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from norn.errors import SpecError
from norn.infraspec.loading import load
from norn.infraspec.model import Infraspec
from norn.infraspec.problems import InfraspecInvalid
from norn.infraspec.yamlread import compose, read
from norn.names import check_app_name

SPEC_NAME = "infraspec.yaml"


class _Peek(NamedTuple):  # a NamedTuple: defined in a tenth of a frozen dataclass's time
    """What a quick look at a candidate file says, never raising: its app, or why there is none."""

    app: str | None
    note: str


def _peek(path: Path) -> _Peek:
    """Read as `load` reads, so a huge, hostile or odd file costs no more here; repeated keys are load's to report."""
    if not path.exists():
        return _Peek(None, "no such file")
    try:
        data = compose(read(path), str(path)).data
    except InfraspecInvalid:
        return _Peek(None, "not valid YAML")
    except SpecError:
        return _Peek(None, "cannot be read")
    app = data.get("app")
    if isinstance(app, str):
        return _Peek(app, f"its app is {app!r}")
    return _Peek(None, "no app key in it")


def _app_mismatch(path: Path, found: str, app: str) -> SpecError:
    return SpecError(
        f"{path}: its app is {found!r}, but the app asked for is {app!r}",
        hint=f"run it for {found!r}, or fix the app key in {path}",
    )


def _given(app: str, spec_path: Path, cwd: Path) -> Path:
    path = cwd / spec_path
    if path.is_dir():
        raise SpecError(
            f"{spec_path}: is a folder; --spec takes the infraspec file itself",
            hint=f"try --spec {spec_path / SPEC_NAME}",
        )
    if not path.exists():
        raise SpecError(f"{spec_path}: no such file (given with --spec)")
    peek = _peek(path)
    if peek.app is not None and peek.app != app:
        raise _app_mismatch(path, peek.app, app)
    return path


def _candidates(apps_dir: Path) -> list[Path]:
    try:
        return sorted(apps_dir.glob(f"*/{SPEC_NAME}"))
    except OSError:
        return []


def find(app: str, *, spec_path: Path | None, apps_dir: Path, cwd: Path) -> Path:
    """Where the infraspec of `app` is, in the order INFRASPEC.md gives (SpecError if nowhere)."""
    check_app_name(app)
    if spec_path is not None:
        return _given(app, spec_path, cwd)
    looked = []

    here = cwd / SPEC_NAME
    peek = _peek(here)
    if peek.app == app:
        return here
    looked.append(f"{here} ({peek.note})")

    apps_dir = cwd / apps_dir.expanduser()
    own = apps_dir / app / SPEC_NAME
    if own.is_file():
        peek = _peek(own)
        if peek.app is not None and peek.app != app:
            raise _app_mismatch(own, peek.app, app)
        return own  # a broken file is reported by load, with its line
    looked.append(f"{own} (no such file)")

    candidates = _candidates(apps_dir)
    matches = [path for path in candidates if _peek(path).app == app]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise SpecError(
            f"app {app!r} is declared by more than one infraspec: " + ", ".join(map(str, matches)),
            hint="pick one with --spec PATH, or fix the app key of the others",
        )
    if not apps_dir.is_dir():
        looked.append(f"{apps_dir}/*/{SPEC_NAME} (no such folder)")
    else:
        looked.append(f"{apps_dir}/*/{SPEC_NAME} ({len(candidates)} files, none with app {app!r})")
    raise SpecError(
        f"no infraspec for app {app!r}; looked at " + "; ".join(looked),
        hint=f"pass --spec PATH, or set NORN_APPS_DIR to the folder holding the app folders (now {apps_dir})",
    )


def declared_apps(*, apps_dir: Path, cwd: Path) -> set[str]:
    """The apps declared by the infraspecs `find` looks at: ./infraspec.yaml and each app folder's."""
    paths = [cwd / SPEC_NAME, *_candidates(cwd / apps_dir.expanduser())]
    return {peek.app for peek in map(_peek, paths) if peek.app is not None}


def find_and_load(app: str, *, spec_path: Path | None, apps_dir: Path, cwd: Path) -> tuple[Infraspec, Path]:
    """Find the infraspec of `app`, load it, and make sure it is that app's."""
    path = find(app, spec_path=spec_path, apps_dir=apps_dir, cwd=cwd)
    spec = load(path)
    if spec.app != app:
        raise _app_mismatch(path, spec.app, app)
    return spec, path
