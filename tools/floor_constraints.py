"""Print a pip constraints file pinning every dependency of norn to its lower bound.

``make test-floor`` installs norn with it, so the tests run against the oldest
versions pyproject.toml allows: a declared range is then one that was tried.
Every requirement, dev extra included, must have a ``>=`` bound; one without
is refused, so a new dependency cannot slip in untried.

Usage: python tools/floor_constraints.py [pyproject.toml]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# A PEP 508 requirement as pyproject writes ours: name, extras, then specifiers.
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*)")
_LOWER = re.compile(r"(?:^|,)\s*>=\s*([^,\s]+)")


def requirements(pyproject: dict) -> list[str]:
    """The project's dependencies and every optional extra's, as written."""
    project = pyproject["project"]
    found = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        found.extend(extra)
    return found


def floor(requirement: str) -> str:
    """``name==lower-bound`` for one requirement; ValueError when it has no ``>=`` bound."""
    match = _REQUIREMENT.match(requirement)
    if not match:
        raise ValueError(f"cannot read the requirement {requirement!r}")
    name, specifiers = match.groups()
    lower = _LOWER.search(specifiers)
    if not lower:
        raise ValueError(f"{requirement!r} has no lower bound: write name>=VERSION, a version norn was tested with")
    return f"{name}=={lower.group(1)}"


def constraints(pyproject: dict) -> list[str]:
    return [floor(requirement) for requirement in requirements(pyproject)]


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "pyproject.toml")
    try:
        lines = constraints(tomllib.loads(path.read_text()))
    except ValueError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
