"""`norn status APP` runs without typer (norn/cli/fastpath.py): it answers as the typer command does, byte
for byte and exit code for exit code, and loads neither typer nor click. `norn status` of every app stays
typer's (issue 7's 1,000 apps / 1 app): the comparisons below run it too, through both entries.

The typer side is `norn.cli.main`, which always parses with typer; the fast side is the console script's
`run`, as `python -m norn` and the installed `norn` start it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import CRON_SPEC, WEB_SPEC, Norn

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "states-62853c9"
THROUGH_TYPER = "import sys; sys.argv[0] = 'norn'; from norn.cli import main; main()"


def both(norn: Norn, *args: str, **env: str) -> tuple[tuple, tuple]:
    """(code, stdout, stderr) of the fast path and of the typer command, for the same command line."""
    answers = []
    for program in (["-m", "norn"], ["-c", THROUGH_TYPER]):
        done = subprocess.run([sys.executable, *program, *args], cwd=norn.cwd, env=norn.env(**env),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        # "(1 s ago)": the clock moves between the two runs
        answers.append((done.returncode, re.sub(r"\(\d+ \w+ ago\)", "(ago)", done.stdout), done.stderr))
    return answers[0], answers[1]


@pytest.fixture
def offline(tmp_path: Path) -> Norn:
    """A norn with state and infraspecs but no cluster: status reads the recorded state alone."""
    norn = Norn(tmp_path)
    norn.state_dir.mkdir()
    for name in ("forged-webserver", "forged-cron", "torn-down-kept-volumes"):
        record = json.loads((FIXTURES / f"{name}.json").read_text())
        record["app"] = name  # three apps, not three records of mail-agent
        (norn.state_dir / f"{name}.json").write_text(json.dumps(record, indent=2))
    norn.write_spec(WEB_SPEC)  # web: declared, never forged
    norn.write_spec(CRON_SPEC)
    return norn


@pytest.mark.parametrize("args", [
    ["status"],
    ["status", "forged-webserver"],
    ["status", "forged-cron"],
    ["status", "torn-down-kept-volumes"],
    ["status", "web"],  # an infraspec, no state: not forged
    ["status", "forged-webservr"],  # unknown: exit 1, did you mean forged-webserver
    ["status", "Web_1"],  # not a name Kubernetes takes: exit 2
    ["status", ""],
])
def test_the_plain_form_answers_as_the_typer_command(offline, args):
    fast, typer = both(offline, *args)
    assert fast == typer
    assert fast[0] in (0, 1, 2)


def test_an_unreadable_record_and_a_bad_setting_answer_as_the_typer_command(offline):
    (offline.state_dir / "broken.json").write_text("{not json")
    fast, typer = both(offline, "status")
    assert fast == typer and fast[0] == 2 and "broken" in fast[2]
    fast, typer = both(offline, "status", "forged-cron", NORN_STATE_BACKEND="s3")
    assert fast == typer and fast[0] == 2 and "NORN_STATE_BACKEND" in fast[2]


def test_a_run_that_died_shows_as_failed_on_both(offline):
    record = json.loads((offline.state_dir / "forged-webserver.json").read_text())
    record["status"] = "forging"  # no lock is held: the run died
    (offline.state_dir / "forged-webserver.json").write_text(json.dumps(record))
    fast, typer = both(offline, "status", "forged-webserver")
    assert fast == typer and "failed" in fast[1]


def test_the_kubernetes_backend_answers_as_the_typer_command(norn):
    norn.write_spec(CRON_SPEC)
    assert norn("forge", "nightly", NORN_STATE_BACKEND="kubernetes").code == 0
    for args in (["status"], ["status", "nightly"], ["status", "nightlyy"]):
        fast, typer = both(norn, *args, NORN_STATE_BACKEND="kubernetes")
        assert fast == typer, args
    assert "nightly" in fast[2]  # the did-you-mean of the last one


def test_a_closed_pipe_ends_the_fast_path_quietly(offline):
    """norn status APP | head -c 1: the rest is dropped, no traceback, the exit code it would have had (0)."""
    record = json.loads((offline.state_dir / "forged-webserver.json").read_text())
    record["error"] = "the cluster said no. " * 20_000  # 420 kB: more than a pipe holds, so the write meets the close
    (offline.state_dir / "forged-webserver.json").write_text(json.dumps(record))
    for program in (["-m", "norn"], ["-c", THROUGH_TYPER]):
        reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        done = subprocess.run([sys.executable, *program, "status", "forged-webserver"], cwd=offline.cwd,
                              env=offline.env(), stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=60)
        reader.stdin.close()
        reader.wait()
        assert (done.returncode, done.stderr) == (0, ""), program


START_UP = {"typer", "click", "rich", "pydantic", "yaml", "kubernetes"}


@pytest.mark.parametrize("args, forbidden", [
    (["status", "forged-webserver"], START_UP), (["status", "forged-cron"], START_UP),
    # An unknown name reads the infraspecs for a "did you mean" (yaml, pydantic), as the typer command does.
    (["status", "nobody"], {"typer", "click", "kubernetes"}),
])
def test_the_fast_path_loads_no_typer_and_no_click(offline, args, forbidden):
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "norn", *args], cwd=offline.cwd,
                          env=offline.env(), capture_output=True, text=True, timeout=60)
    loaded = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines()
              if line.startswith("import time:")}
    assert "norn" in loaded and not loaded & forbidden, sorted(loaded & forbidden)


def test_every_other_command_line_goes_to_typer(offline):
    """An option makes it typer's: the same documents and errors as before."""
    run = offline("status", "forged-cron", "-o", "json")
    assert run.code == 0 and json.loads(run.stdout)["app"] == "forged-cron"
    run = offline("status", "--bogus")
    assert run.code == 2 and "No such option" in run.stderr
    run = offline("status", "a", "b")
    assert run.code == 2 and "unexpected extra argument" in run.stderr.lower()
