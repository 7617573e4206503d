"""Hostile input is refused fast (issue 14 point 7).

Each hostile infraspec is given to real norn processes: ``python -m norn validate FILE``
and ``norn forge web --spec FILE`` against the stand-in cluster. The properties: exit 2
(or 0 where the file is merely big), one line of output, no traceback, no request to the
cluster, and a peak memory (ru_maxrss of the norn process, measured by a small parent
that runs nothing else) under 100 MiB. Time is not asserted: a generous subprocess
timeout only turns a hang into a failure. Before this change an alias bomb under
``deploy:`` took 120 s and 13.9 GiB, and a 50 MB file 103 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import WEB_SPEC

LIMIT_KIB = 100 * 1024  # 100 MiB
TIMEOUT = 60  # seconds; only so that a hang fails instead of blocking the suite

# Runs norn as its only child and reports that child's peak memory (KiB on Linux) last on stderr.
MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "sys.stderr.write(f'maxrss={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n')\n"
    "sys.exit(code)\n"
)

HEAD = "app: web\nrole: worker\n"


def alias_bomb() -> str:
    """Billion laughs: nine levels of nine aliases each, 9**10 leaves once expanded."""
    lines = [HEAD + "deploy:", "  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for previous, name in zip("abcdefghi", "bcdefghij"):
        lines.append(f"  {name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    lines.append("  x: *j")
    return "\n".join(lines) + "\n"


MIB = 1 << 20
HOSTILE: dict[str, tuple[bytes, int, str]] = {
    # name: (file content, expected exit code, what the one line says)
    "alias bomb": (alias_bomb().encode(), 2, "YAML anchors (&a) are not allowed"),
    "alias only": ((HEAD + "deploy: {x: *i}\n").encode(), 2, "YAML aliases (*i) are not allowed"),
    "over 1 MiB": ((HEAD + "#" * (50 * MIB) + "\n").encode(), 2, "is over 1 MiB"),
    "deep flow nesting": ((HEAD + "deploy: " + "[" * 200_000 + "]" * 200_000 + "\n").encode(), 2, ""),
    "deep mapping nesting": ((HEAD + "deploy: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n").encode(), 2,
                             "nested more than 32 levels deep"),
    "many values": ((HEAD + "deploy: [" + "1," * ((MIB - 40) // 2) + "]\n").encode(), 2,
                    "more than 10000 values"),
    "huge number": ((HEAD + "replicas: " + "9" * 5000 + "\n").encode(), 2, "cannot read this value"),
    "huge number in a cron field": ((HEAD.replace("worker", "cron") + "command: run\nschedule: '"
                                     + "9" * 5000 + " * * * *'\n").encode(), 2, "is outside 0-59"),
    "long line": ((HEAD + "deploy: " + "x" * (MIB - 40) + "\n").encode(), 0, ""),
    "long key": ((HEAD + "deploy:\n  " + "k" * (MIB - 60) + ": 1\n").encode(), 2, "YAML syntax error"),
    "binary": (bytes(range(256)) * 100, 2, "not UTF-8 text"),
    "control character": ((HEAD + "command: \x00\n").encode(), 2, "YAML error"),
}


def run_measured(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, list[str], list[str], int]:
    """exit code, stdout lines, stderr lines (without the measurement) and peak KiB of norn."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "norn", *args],
        cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT,
    )
    err = done.stderr.splitlines()
    assert err and err[-1].startswith("maxrss="), done.stderr
    return done.returncode, done.stdout.splitlines(), err[:-1], int(err[-1].removeprefix("maxrss="))


@pytest.fixture
def env(tmp_path: Path, cluster) -> dict[str, str]:
    """norn's environment: the stand-in cluster (KUBECONFIG set by the fixture), an empty state folder."""
    values = dict(os.environ)
    values.update(NORN_STATE_DIR=str(tmp_path / "state"), NORN_APPS_DIR=str(tmp_path / "apps"))
    return values


@pytest.mark.parametrize("name", list(HOSTILE))
def test_validate_answers_in_one_line_within_100_mib(name: str, tmp_path: Path, env, cluster) -> None:
    content, code, says = HOSTILE[name]
    path = tmp_path / "infraspec.yaml"
    path.write_bytes(content)
    exit_code, out, err, peak = run_measured(["validate", str(path)], tmp_path, env)
    assert (exit_code, err) == (code, []), (out[:3], err[:5])
    assert len(out) == 1 and out[0].startswith(f"{path}") and says in out[0], out[:3]
    assert peak < LIMIT_KIB, f"norn validate peaked at {peak} KiB"
    assert cluster.count() == 0


@pytest.mark.parametrize("name", [name for name, (_, code, _) in HOSTILE.items() if code == 2])
def test_forge_refuses_in_one_line_before_any_request(name: str, tmp_path: Path, env, cluster) -> None:
    content, _, says = HOSTILE[name]
    path = tmp_path / "infraspec.yaml"
    path.write_bytes(content)
    exit_code, out, err, peak = run_measured(["forge", "web", "--spec", str(path), "--yes"], tmp_path, env)
    assert exit_code == 2 and out == [], (out[:3], err[:5])
    assert len(err) == 1 and err[0].startswith(f"error: {path}") and says in err[0], err[:5]
    assert peak < LIMIT_KIB, f"norn forge peaked at {peak} KiB"
    assert cluster.count() == 0
    assert not (tmp_path / "state").exists()


def test_a_hostile_file_in_the_apps_folder_does_not_slow_discovery(tmp_path: Path, env, cluster) -> None:
    """Discovery peeks at every $NORN_APPS_DIR/*/infraspec.yaml: a bomb or huge file there is passed over."""
    apps = tmp_path / "apps"
    for folder, content in (("bomb", alias_bomb().encode()), ("huge", HOSTILE["over 1 MiB"][0])):
        (apps / folder).mkdir(parents=True)
        (apps / folder / "infraspec.yaml").write_bytes(content)
    (apps / "site").mkdir()
    (apps / "site" / "infraspec.yaml").write_text(WEB_SPEC)  # app web, in a folder not named web
    exit_code, out, err, peak = run_measured(["forge", "web", "--dry-run"], tmp_path, env)
    assert exit_code == 0, (out[:5], err[:5])
    assert peak < LIMIT_KIB, f"norn forge --dry-run peaked at {peak} KiB"


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_folder_or_fifo_given_as_the_spec_is_refused_without_reading(kind: str, tmp_path: Path, env, cluster) -> None:
    """A FIFO with no writer would block open() for ever: it is refused by its type, before any open."""
    path = tmp_path / "infraspec.yaml"
    path.mkdir() if kind == "folder" else os.mkfifo(path)
    exit_code, out, err, _ = run_measured(["validate", str(path)], tmp_path, env)
    if kind == "folder":  # validate takes a folder as the app folder holding infraspec.yaml
        assert exit_code == 2 and len(out) == 1 and "no such file" in out[0], out
    else:
        assert exit_code == 2 and len(out) == 1 and "not a regular file" in out[0], out
    exit_code, out, err, _ = run_measured(["forge", "web", "--spec", str(path), "--yes"], tmp_path, env)
    assert exit_code == 2 and err[0].startswith(f"error: {path}") and len(err) <= 2, err
    assert all(line.startswith("hint: ") for line in err[1:]), err  # the one line, and maybe how to fix it
    assert cluster.count() == 0
