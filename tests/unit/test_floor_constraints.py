"""tools/floor_constraints.py: every dependency has a lower bound, and make test-floor installs it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "floor_constraints.py"


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines.extend(extra)
    return [Requirement(line) for line in lines]


def generate(pyproject: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(TOOL), str(pyproject)], capture_output=True, text=True, timeout=30
    )


def test_every_dependency_has_a_lower_bound():
    unbounded = [str(r) for r in declared() if not any(s.operator == ">=" for s in r.specifier)]
    assert not unbounded, f"give these a >= bound that make test-floor can install: {unbounded}"


def test_the_constraints_pin_every_dependency_to_its_lower_bound():
    done = generate(ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stderr
    pinned = {}
    for line in done.stdout.splitlines():
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "=="
        pinned[canonicalize_name(requirement.name)] = spec.version
    expected = {
        canonicalize_name(r.name): next(s.version for s in r.specifier if s.operator == ">=") for r in declared()
    }
    assert pinned == expected


@pytest.mark.parametrize("requirement", ["newlib", "newlib<2", "newlib==1.0", "newlib>1.0"])
def test_a_dependency_without_a_lower_bound_is_refused(tmp_path, requirement):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f'[project]\nname = "x"\ndependencies = ["rich>=13.7.0", "{requirement}"]\n')
    done = generate(pyproject)
    assert done.returncode == 2 and not done.stdout
    assert f"{pyproject}: '{requirement}' has no lower bound" in done.stderr


def test_extras_markers_and_upper_bounds_keep_the_lower_bound(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["typer[all] >=0.19.0,<0.29", "tomli>=2.0; python_version < \'3.11\'"]\n'
        '[project.optional-dependencies]\ndev = ["pytest<9,>=8.0.0"]\n'
    )
    done = generate(pyproject)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["typer==0.19.0", "tomli==2.0", "pytest==8.0.0"]
