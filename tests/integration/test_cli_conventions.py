"""CLI conventions (issue 17), through the installed norn as a user runs it: unknown apps, norn
forget, records that `state migrate` moved, prompts that name their target, the hint after a
failed --force, and what a terminal shows after Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import CRON_SPEC, WEB_SPEC

KUBERNETES = {"NORN_STATE_BACKEND": "kubernetes"}
BACKENDS = {"local": {}, "kubernetes": KUBERNETES}


def lock_objects(norn, cluster) -> list[str]:
    """Every lock either backend holds: lock files in the state folder, Leases in the cluster."""
    files = sorted(p.name for p in norn.state_dir.glob("*.lock")) if norn.state_dir.exists() else []
    leases = [lease["metadata"]["name"] for lease in cluster.objects("leases", "coordination.k8s.io")]
    return files + leases


# --- unknown apps ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("command", [["status"], ["status", "--live"], ["teardown", "--yes"], ["forget"]])
def test_an_app_with_no_record_and_no_infraspec_is_unknown(norn, cluster, backend, command):
    """Exit 1 as kubectl's NotFound does, naming the closest app norn knows (difflib), and no lock is
    taken for it, in either backend (today teardown left nosuch.lock behind)."""
    norn.write_spec(CRON_SPEC)  # nightly: known by its infraspec only
    run = norn(command[0], "nosuch", *command[1:], **BACKENDS[backend])
    assert run.code == 1, run.stderr
    assert run.stderr.splitlines()[0] == "error: no app named nosuch"
    assert "did you mean" not in run.stderr  # nothing close
    close = norn(command[0], "nightlyy", *command[1:], **BACKENDS[backend])
    assert close.code == 1 and close.stderr.splitlines() == ["error: no app named nightlyy", "hint: did you mean nightly?"]
    assert lock_objects(norn, cluster) == []
    assert "Traceback" not in run.stderr + close.stderr


def test_the_closest_name_comes_from_the_state_records_too(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    (norn.apps_dir / "web" / "infraspec.yaml").unlink()  # known now by its state record only
    run = norn("status", "wbe")
    assert run.code == 1 and run.stderr.splitlines() == ["error: no app named wbe", "hint: did you mean web?"]
    assert norn("status", "web").code == 0


def test_an_app_with_an_infraspec_and_no_record_is_unforged_and_takes_no_lock(norn, cluster):
    norn.write_spec(CRON_SPEC)
    status = norn("status", "nightly", "--output", "json")
    assert status.code == 0 and json.loads(status.stdout)["status"] == "unforged"
    teardown = norn("teardown", "nightly")
    assert teardown.code == 0 and "nothing to tear down" in teardown.stdout
    forget = norn("forget", "nightly")
    assert forget.code == 0 and "no state record" in forget.stdout
    assert lock_objects(norn, cluster) == []
    assert cluster.writes() == []


def test_migrate_of_an_app_the_source_does_not_hold_leaves_no_lock(norn, cluster):
    run = norn("state", "migrate", "--to", "kubernetes", "ghost")
    assert run.code == 1 and "missing ghost" in run.stdout
    assert lock_objects(norn, cluster) == []


# --- norn forget -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_forget_removes_only_a_torn_down_apps_record(norn, cluster, backend):
    env = BACKENDS[backend]
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web", **env).code == 0
    refused = norn("forget", "web", **env)
    assert refused.code == 2
    assert refused.stderr.splitlines() == [
        "error: web is forged: norn forget removes only the record of a torn-down app; "
        "this one still tells teardown what to delete",
        "hint: run norn teardown web first, then norn forget web",
    ]
    assert json.loads(norn("status", "--output", "json", **env).stdout)[0]["status"] == "forged"

    assert norn("teardown", "web", "--yes", **env).code == 0
    forgot = norn("forget", "web", **env)
    assert forgot.code == 0, forgot.stderr
    assert forgot.stdout.startswith("forgot web: its state record in ")
    assert json.loads(norn("status", "--output", "json", **env).stdout) == []
    assert cluster.get_object("secrets", "default", "norn-state-web") is None
    assert not (norn.state_dir / "web.json").exists()
    # The infraspec is still there: the app is unforged, not unknown, and forges afresh.
    assert json.loads(norn("status", "web", "--output", "json", **env).stdout)["status"] == "unforged"
    assert norn("forge", "web", **env).code == 0


def test_forget_waits_for_no_run_it_refuses_while_one_holds_the_app(norn, cluster):
    from norn.store.local import LocalStore

    norn.write_spec(CRON_SPEC)
    assert norn("forge", "nightly").code == 0 and norn("teardown", "nightly", "--yes").code == 0
    with LocalStore(norn.state_dir).lock("nightly"):
        run = norn("forget", "nightly")
    assert run.code == 3 and "operation already in progress" in run.stderr
    assert (norn.state_dir / "nightly.json").exists()


# --- state migrate marks the source record moved ----------------------------------------------


def test_a_migrated_app_is_moved_in_the_old_backend_and_runs_there_are_refused(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    assert norn("state", "migrate", "--to", "kubernetes").code == 0

    local = json.loads(norn("status", "web", "--output", "json").stdout)
    assert local["status"] == "moved" and local["movedTo"] == "kubernetes"
    assert json.loads(norn("status", "web", "--output", "json", **KUBERNETES).stdout)["status"] == "forged"
    assert "movedTo" not in json.loads(norn("status", "web", "--output", "json", **KUBERNETES).stdout)
    table = norn("status").stdout
    assert re.search(r"^web +moved .*use --state-backend kubernetes$", table, re.M), table
    assert "Moved to  the kubernetes backend (use --state-backend kubernetes)" in norn("status", "web").stdout

    cluster.clear_log()
    live = json.loads(norn("status", "web", "--live", "--exit-code", "--output", "json").stdout)
    assert live["status"] == "moved" and live["live"] == [] and live["drift"] == []  # not judged as forged here
    assert [r for r in cluster.requests if "/apis/apps/" in r.path or "/services" in r.path] == []
    for args in (["forge", "web"], ["forge", "web", "--force", "--yes"], ["teardown", "web"], ["teardown", "web", "--yes"],
                 ["plan", "web"]):
        run = norn(*args)
        assert run.code == 2, (args, run.stderr)
        assert run.stderr.splitlines() == [
            "error: web: its state moved to the kubernetes backend (norn state migrate); "
            "the local backend no longer holds it",
            "hint: pass --state-backend kubernetes or set NORN_STATE_BACKEND=kubernetes",
        ]
    assert cluster.writes() == []
    again = norn("state", "migrate", "--to", "kubernetes", "web")
    assert again.code == 0 and "says it moved to the kubernetes backend" in again.stdout

    # Back again: the moved record in the local folder is replaced, and the cluster's is marked.
    assert norn("teardown", "web", "--yes", **KUBERNETES).code == 0
    back = norn("state", "migrate", "--to", "local", "web")
    assert back.code == 0, back.stdout
    assert json.loads(norn("status", "web", "--output", "json").stdout)["status"] == "unforged"
    remote = json.loads(norn("status", "web", "--output", "json", **KUBERNETES).stdout)
    assert remote["status"] == "moved" and remote["movedTo"] == "local"
    assert norn("forge", "web").code == 0


def test_migrate_still_refuses_to_overwrite_a_newer_record(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0  # local, older
    assert norn("forge", "web", **KUBERNETES).code == 0  # in the cluster, newer: the objects are web's own
    refused = norn("state", "migrate", "--to", "kubernetes", "web")
    assert refused.code == 1 and refused.stdout.startswith("refused web: Secret default/norn-state-web is newer (")
    assert json.loads(norn("status", "web", "--output", "json").stdout)["status"] == "forged"  # not marked moved


# --- prompts and hints -------------------------------------------------------------------------


def screen(text: str) -> list[str]:
    """What a terminal shows after ``text``, for the controls rich's live view uses: carriage return,
    line feed, cursor up and erase line (colours and cursor visibility are ignored)."""
    lines, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+", text):
        if token == "\r":
            col = 0
        elif token == "\n":
            row += 1
            lines += [""] * (row + 1 - len(lines))
        elif token.startswith("\x1b["):
            if token.endswith("A"):
                row = max(0, row - int(token[2:-1] or 1))
            elif token == "\x1b[2K":
                lines[row] = ""
        else:
            line = lines[row].ljust(col)
            lines[row] = line[:col] + token + line[col + len(token):]
            col += len(token)
    return lines


def _own_terminal() -> None:
    """In the child: a session of its own whose controlling terminal is the pty, so that a Ctrl-C
    typed there (written to the leader) reaches it as the terminal's SIGINT, echoed as ^C."""
    import fcntl
    import termios

    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def on_a_pty(norn, *args: str, until: bytes | None = None, then=None) -> tuple[int, str]:
    """Run norn with stdin, stdout and stderr on one pseudo-terminal, 100 columns wide; once it has
    written ``until``, call ``then(leader)``. Its exit code and everything it wrote."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "norn", *args], cwd=norn.cwd, env=norn.env(NO_COLOR="1", TERM="xterm"),
        stdin=follower, stdout=follower, stderr=follower, preexec_fn=_own_terminal,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal closed
            break
        if not chunk:
            break
        drawn += chunk
        if until is not None and until in drawn:
            until = None
            then(leader)
    os.close(leader)
    return process.wait(timeout=60), drawn.decode()


def answer_no(leader: int) -> None:
    os.write(leader, b"n\n")


def test_the_teardown_prompt_names_the_app_its_namespace_and_the_context(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    code, drawn = on_a_pty(norn, "teardown", "web", until=b"[y/N]: ", then=answer_no)
    assert code == 2
    assert "Tear down web in namespace default, context standin (volumes are kept)? [y/N]: " in drawn
    code, drawn = on_a_pty(norn, "teardown", "web", "--delete-volumes", until=b"[y/N]: ", then=answer_no)
    assert "Tear down web in namespace default, context standin, and delete its volumes? [y/N]: " in drawn
    assert json.loads(norn("status", "web", "--output", "json").stdout)["status"] == "forged"


def test_the_force_prompt_names_them_too(norn, cluster):
    cluster.add_namespace("staging")
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web", "--namespace", "staging").code == 0
    code, drawn = on_a_pty(norn, "forge", "web", "--force", "--namespace", "staging", until=b"[y/N]: ", then=answer_no)
    assert code == 2
    assert "Tear down web in namespace staging, context standin, and forge it afresh (volumes are kept)? [y/N]: " in drawn


def test_a_failed_force_says_to_resume_without_force(norn, cluster):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.inject(method="POST", path_contains="/services", status=500, times=None)
    run = norn("forge", "web", "--force", "--yes", NORN_API_RETRY_SECONDS="0")
    assert run.code == 1
    assert "hint: fix the cause, then run norn forge web without --force to resume from create-service" in run.stderr
    assert "rerun the same command" not in run.stderr
    cluster.clear_faults()
    resumed = norn("forge", "web", "--output", "json")  # as the hint says: the deployment is not torn down again
    assert resumed.code == 0, resumed.stderr
    assert resumed.steps()["create-deployment"] == "skipped"


def test_a_failed_forge_without_force_still_says_rerun_the_same_command(norn, cluster):
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", status=500, times=None)
    run = norn("forge", "web", NORN_API_RETRY_SECONDS="0")
    assert run.code == 1
    assert "hint: fix the cause, then rerun the same command to resume from create-service" in run.stderr


# --- progress on a terminal --------------------------------------------------------------------


def test_after_ctrl_c_the_terminal_shows_the_header_once(norn, cluster):
    """Ctrl-C typed on the terminal mid-step: the view is left whole, the step recorded as interrupted."""
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", delay=30)
    code, drawn = on_a_pty(norn, "forge", "web", until=b"create-service", then=lambda leader: os.write(leader, b"\x03"))
    assert code == 130
    shown = "\n".join(screen(drawn))
    assert shown.count("Forging web") == 1, shown
    assert shown.count("failed at create-service: interrupted") == 1, shown
    assert "interrupted; rerun the same command to resume" in shown
    assert norn.state("web")["steps"][-1]["output"] == "interrupted"


def test_in_a_ci_log_a_long_step_still_shows_it_is_alive(norn, cluster):
    """Not on a terminal, a step held 12 s (the API server answers late) gets a progress line after
    10 quiet seconds. The one test that waits: the clock-driven ones are in tests/unit/test_sinks.py."""
    norn.write_spec(WEB_SPEC)
    cluster.inject(method="POST", path_contains="/services", delay=12)
    run = norn("forge", "web")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    alive = [line for line in lines if "still running" in line]
    assert alive and re.fullmatch(r"forge web: create-service still running after 1\d s", alive[0]), lines
    assert lines.index(alive[0]) < lines.index(next(line for line in lines if "create-service completed" in line))
