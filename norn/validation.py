"""``norn validate``: check infraspec files with no cluster, fast enough for a pre-commit hook.

Only the infraspec module (pydantic, PyYAML) is imported, never the kubernetes
client, and nothing is written anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from norn import infraspec
from norn.errors import SpecError


@dataclass(frozen=True)
class Result:
    """One file (or one argument that named none) and its problems; none means valid."""

    target: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict:
        return {"file": self.target, "valid": self.ok, "problems": self.problems}


def default_targets(apps_dir: Path) -> list[Path]:
    """Every infraspec forge's discovery would look at: ``$NORN_APPS_DIR/*/infraspec.yaml``."""
    found = sorted(apps_dir.glob(f"*/{infraspec.SPEC_NAME}")) if apps_dir.is_dir() else []
    if not found:
        raise SpecError(
            f"nothing to validate: no */{infraspec.SPEC_NAME} under {apps_dir}",
            hint="pass files or app names, or set NORN_APPS_DIR to the folder holding the app folders",
        )
    return found


def _looks_like_path(arg: str) -> bool:
    return "/" in arg or arg.endswith((".yaml", ".yml")) or Path(arg).exists()


def check_arg(arg: str, apps_dir: Path, cwd: Path) -> Result:
    """A file, a folder holding an infraspec.yaml, or an app name found as forge finds it."""
    if _looks_like_path(arg):
        path = Path(arg)
        return check_file(path / infraspec.SPEC_NAME if path.is_dir() else path)
    try:
        path = infraspec.find(arg, spec_path=None, apps_dir=apps_dir, cwd=cwd)
    except SpecError as exc:
        return Result(arg, [exc.message])
    return check_file(path)


def check_file(path: Path) -> Result:
    try:
        infraspec.load(path)
    except infraspec.InfraspecInvalid as exc:
        return Result(str(path), exc.problems)
    except SpecError as exc:
        return Result(str(path), [exc.message])
    return Result(str(path), [])


def lines(result: Result) -> list[str]:
    """What the text output says: ``FILE: ok``, or each problem as ``FILE:LINE: key: problem``."""
    return [f"{result.target}: ok"] if result.ok else list(result.problems)
