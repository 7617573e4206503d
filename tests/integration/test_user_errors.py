"""What users get wrong, without a traceback (issue 14, point 8).

The real norn runs in a child process against the stand-in API server. For each
case: exit 2 (130 for Ctrl-C), an ``error:`` line naming the file or setting, no
traceback, and nothing changed: the stand-in's request log shows no request and
the state is byte for byte what it was.
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import WEB_SPEC, Norn
from tests.reliability.harness import Gate

STEP_TIMEOUT = 60  # seconds a child may take; a limit against hangs, never asserted on


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_refused(run, *words: str) -> None:
    """Exit 2 with one error line holding ``words``, and no traceback."""
    assert run.code == 2, (run.code, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout
    [line] = error_lines(run.stderr)
    for word in words:
        assert word in line, (word, line)


def forged(norn: Norn, cluster) -> bytes:
    """Forge web; return its state file's bytes, with the request log cleared."""
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    cluster.clear_log()
    return (norn.state_dir / "web.json").read_bytes()


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (or the file itself), for 'nothing changed'."""
    if path.is_file():
        return {str(path): path.read_bytes()}
    return {str(p): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()} if path.exists() else {}


# --- a state folder norn cannot write ---------------------------------------------------------


def without_file_access_override() -> list[str]:
    """argv prefix that runs a child as root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: a
    folder of another user is then refused to it as to any user (tests run as root, where chmod
    stops nothing). capabilities(7): these two are what lets root past file permission checks."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux) to drop root's file-permission override")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]


def run_as(prefix: list[str], norn: Norn, *args: str, **env: str):
    from tests.integration.conftest import Run

    done = subprocess.run(
        [*prefix, sys.executable, "-m", "norn", *args],
        cwd=norn.cwd, env=norn.env(**env), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=STEP_TIMEOUT,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.mark.parametrize("where", ["a-file", "under-a-file"])
@pytest.mark.parametrize("args", [("forge", "web"), ("forge", "web", "--force", "--yes"), ("teardown", "web", "--yes")])
def test_a_state_folder_that_is_a_file_or_under_one_exits_2_and_changes_nothing(norn, cluster, tmp_path, where, args):
    """NORN_STATE_DIR naming a file, or a folder below a file (a typo, a path that moved): the
    system answers ENOTDIR or EEXIST; norn says which file is in the way and sends no request."""
    norn.write_spec(WEB_SPEC)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file\n")
    folder = blocker if where == "a-file" else blocker / "state"
    run = norn(*args, NORN_STATE_DIR=str(folder))
    assert_refused(run, str(folder), "NORN_STATE_DIR", "not a folder")
    assert "hint:" in run.stderr
    assert cluster.requests == []
    assert blocker.read_text() == "a file\n"


def test_status_of_a_state_folder_that_is_a_file_exits_2(norn, tmp_path):
    """It used to say "No apps forged yet." and exit 0, hiding the typo in NORN_STATE_DIR."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert_refused(norn("status", NORN_STATE_DIR=str(blocker)), str(blocker), "NORN_STATE_DIR")


def test_a_state_folder_of_another_user_exits_2_before_any_request(norn, cluster):
    """Stands for a folder left by a `sudo norn` run, or one on a read-only mount: a forge
    creates no file there (EACCES) and the run stops before it talks to the cluster."""
    prefix = without_file_access_override()
    norn.write_spec(WEB_SPEC)
    norn.state_dir.mkdir()
    os.chown(norn.state_dir, 65534, 65534) if os.geteuid() == 0 else norn.state_dir.chmod(0o555)
    try:
        run = run_as(prefix, norn, "forge", "web")
    finally:
        norn.state_dir.chmod(0o755)
    assert_refused(run, str(norn.state_dir), "NORN_STATE_DIR", "cannot be written")
    assert cluster.requests == []
    assert list(norn.state_dir.iterdir()) == []


# Runs norn with the folder argv[1] a read-only tmpfs, in a mount namespace of its own (so the
# mount is seen by nobody else and goes with the process); exits 77 without the privilege.
READ_ONLY_MOUNT = """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_RDONLY, MS_REC, MS_PRIVATE = 0x20000, 1, 0x4000, 1 << 18
for ok in (lambda: libc.unshare(CLONE_NEWNS),
           lambda: libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None),
           lambda: libc.mount(b"tmpfs", os.fsencode(sys.argv[1]), b"tmpfs", MS_RDONLY, None)):
    if ok() != 0:
        sys.exit(77)
os.execv(sys.executable, [sys.executable, "-m", "norn", *sys.argv[2:]])
"""


def test_a_state_folder_on_a_read_only_file_system_exits_2_before_any_request(norn, cluster):
    """EROFS, as on a read-only mount or a container's read-only root: a real read-only tmpfs."""
    norn.write_spec(WEB_SPEC)
    norn.state_dir.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", READ_ONLY_MOUNT, str(norn.state_dir), "forge", "web"],
        cwd=norn.cwd, env=norn.env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=STEP_TIMEOUT,
    )
    if done.returncode == 77:
        pytest.skip("no privilege to mount a read-only tmpfs in a mount namespace")
    from tests.integration.conftest import Run

    assert_refused(Run(done.returncode, done.stdout, done.stderr), str(norn.state_dir), "NORN_STATE_DIR", "Read-only")
    assert cluster.requests == []


@pytest.mark.parametrize("mode", [0o755, 0o700])
def test_a_forged_app_whose_state_folder_is_not_the_users_is_not_touched(norn, cluster, mode):
    """0755: the state reads and the lock file opens, but no new state could be saved; norn finds
    that out before the teardown's first request, not after its first step (it used to GET, then
    die on the first save with a PermissionError traceback). 0700 (as norn creates it): not even
    readable. As root the folder is given to another user; otherwise it is made read-only."""
    prefix = without_file_access_override()
    before = forged(norn, cluster)
    files = snapshot(norn.state_dir)
    if os.geteuid() == 0:
        norn.state_dir.chmod(mode)
        os.chown(norn.state_dir, 65534, 65534)
    else:
        norn.state_dir.chmod(0o555)
    try:
        run = run_as(prefix, norn, "teardown", "web", "--yes")
    finally:
        norn.state_dir.chmod(0o755)
    assert_refused(run, str(norn.state_dir), "NORN_STATE_DIR")
    assert cluster.requests == []
    assert snapshot(norn.state_dir) == files
    assert (norn.state_dir / "web.json").read_bytes() == before


# --- a state file norn cannot read ----------------------------------------------------------------

# kube-apiserver refuses a Secret whose data passes MaxSecretSize, 1 MiB (kubernetes
# pkg/apis/core/validation/validation.go, ValidateSecret: `totalSize > core.MaxSecretSize`;
# pkg/apis/core/types.go: `MaxSecretSize = 1 * 1024 * 1024`): a bigger state could not live in
# the kubernetes backend, and norn never writes one. Such a file is refused, not read into memory.
HUGE_STATE = json.dumps({
    "version": 1, "app": "web", "status": "forged", "operation": "forge", "error": None,
    "steps": [{"step": "create-deployment", "status": "completed", "output": "x" * (1024 * 1024 + 1)}],
    "resources": {"namespace": "default", "deployment": "web"},
    "startedAt": "2026-11-27T10:00:00.000Z", "finishedAt": "2026-11-27T10:00:01.000Z",
}).encode()


def make_state(path: Path, kind: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "not-json":
        path.write_bytes(b"{ this is not json\n")
    elif kind == "huge":
        path.write_bytes(HUGE_STATE)
    elif kind == "a-folder":
        path.mkdir()
    elif kind == "a-fifo":
        os.mkfifo(path)  # opening it to read would block for ever


@pytest.mark.parametrize("kind", ["not-json", "huge", "a-folder", "a-fifo"])
@pytest.mark.parametrize("args", [("forge", "web"), ("teardown", "web", "--yes"), ("status", "web"), ("plan", "web")])
def test_a_state_file_norn_cannot_read_exits_2_and_is_never_overwritten(norn, cluster, kind, args):
    norn.write_spec(WEB_SPEC)
    path = norn.state_dir / "web.json"
    make_state(path, kind)
    run = norn(*args, timeout=STEP_TIMEOUT)
    assert_refused(run, str(path))
    assert cluster.requests == []
    if kind in ("not-json", "huge"):
        assert path.read_bytes() == (HUGE_STATE if kind == "huge" else b"{ this is not json\n")
    else:
        assert path.exists() and not path.is_file()


def test_status_of_all_apps_names_the_state_file_it_cannot_read(norn):
    make_state(norn.state_dir / "web.json", "huge")
    run = norn("status")
    assert run.code == 2 and "Traceback" not in run.stderr
    assert any(str(norn.state_dir / "web.json") in line and "over 1 MiB" in line for line in error_lines(run.stderr))


# --- Ctrl-C (and Ctrl-D) at the confirmation prompt ---------------------------------------------

# click's termui.confirm (typer.confirm) turns KeyboardInterrupt and EOFError alike into Abort,
# which click prints as "Aborted!" with exit 1 (src/click/termui.py, confirm; core.py, main).
# norn asks itself: Ctrl-C exits 130 (128 + SIGINT, as a shell reports a program SIGINT ended),
# Ctrl-D is no answer: not confirmed, exit 2.


def at_the_prompt(norn: Norn, args: tuple[str, ...], key: bytes) -> tuple[int, str]:
    """Run norn on a pseudo-terminal; at its y/N prompt, type ``key``. Returns (exit code, output).

    With ``setsid --ctty`` the terminal is the child's controlling terminal, so Ctrl-C (\\x03)
    reaches it as SIGINT from the line discipline, as it does in a shell; without setsid the
    test sends SIGINT itself, as the terminal would."""
    master, slave = pty.openpty()
    setsid = shutil.which("setsid")
    prefix = [setsid, "--ctty"] if setsid else []
    process = subprocess.Popen(
        [*prefix, sys.executable, "-m", "norn", *args],
        cwd=norn.cwd, env=norn.env(), stdin=slave, stdout=slave, stderr=slave,
        start_new_session=not setsid,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + STEP_TIMEOUT
    while b"[y/N]" not in seen:
        assert time.monotonic() < deadline and process.poll() is None, seen
        if select.select([master], [], [], 0.1)[0]:
            seen += os.read(master, 4096)
    if key == b"\x03" and not setsid:
        process.send_signal(signal.SIGINT)
    else:
        os.write(master, key)
    code = process.wait(timeout=STEP_TIMEOUT)
    while select.select([master], [], [], 0)[0]:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child side is closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return code, seen.decode(errors="replace")


@pytest.mark.parametrize("args", [("teardown", "web"), ("forge", "web", "--force")])
def test_ctrl_c_at_the_prompt_exits_130_and_changes_nothing(norn, cluster, args):
    before = forged(norn, cluster)
    code, output = at_the_prompt(norn, args, b"\x03")
    assert code == 130, output
    assert "Traceback" not in output and "Aborted" not in output
    assert "nothing was changed" in output
    assert cluster.requests == []
    assert (norn.state_dir / "web.json").read_bytes() == before


def test_ctrl_d_at_the_prompt_is_not_confirmed(norn, cluster):
    before = forged(norn, cluster)
    code, output = at_the_prompt(norn, ("teardown", "web"), b"\x04")
    assert code == 2, output
    assert "not confirmed; nothing was changed" in output and "Aborted" not in output
    assert cluster.requests == []
    assert (norn.state_dir / "web.json").read_bytes() == before


# --- a closed stdout -----------------------------------------------------------------------------

# Python ignores SIGPIPE, so a write to a pipe whose reader is gone raises BrokenPipeError
# (EPIPE). Python's docs (library/signal.rst, "Note on SIGPIPE") point the descriptor at
# /dev/null so that the exit's flush does not fail again. norn does that and goes on: the
# run's steps matter more than its report, and the exit code is the run's own.


@pytest.mark.parametrize("output", ["text", "json"])
def test_a_closed_stdout_never_stops_a_forced_forge_half_way(norn, cluster, tmp_path, output):
    """`norn forge web --force --yes | head -1`: the reader leaves after the first line, while the
    teardown is held at its DELETE of the Service; every later write meets EPIPE. The run still
    tears down and forges afresh, ending forged with every object in place."""
    forged(norn, cluster)
    stderr = tmp_path / "stderr"
    with Gate(cluster, "DELETE", "/services/") as gate, stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "norn", "forge", "web", "--force", "--yes", "--output", output],
            cwd=norn.cwd, env=norn.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
        )
        first = process.stdout.readline()
        process.stdout.close()  # what head -1 does after its line
        assert gate.caught.wait(STEP_TIMEOUT), "the teardown never reached delete-service"
        gate.release(drop=False)
        code = process.wait(timeout=STEP_TIMEOUT)
    assert first.strip()
    text = stderr.read_text()
    assert code == 0, text
    assert "Traceback" not in text and "Broken pipe" not in text and "Exception ignored" not in text
    state = norn.state("web")
    assert state["status"] == "forged" and state["operation"] == "forge"
    assert [s["status"] for s in state["steps"]] == ["completed"] * 5
    assert cluster.get_object("services", "default", "web-svc") is not None
    assert cluster.get_object("deployments", "default", "web", "apps") is not None
    assert cluster.count("DELETE", "/services/web-svc") == 1 and cluster.count("POST", "/services") == 1


def closed_pipe() -> int:
    """The write end of a pipe whose read end is already closed: every write meets EPIPE."""
    read, write = os.pipe()
    os.close(read)
    return write


def run_into_closed_pipe(norn: Norn, tmp_path: Path, *args: str) -> tuple[int, str]:
    write = closed_pipe()
    with (tmp_path / "stderr").open("w") as err:
        code = subprocess.run(
            [sys.executable, "-m", "norn", *args], cwd=norn.cwd, env=norn.env(), stdin=subprocess.DEVNULL,
            stdout=write, stderr=err, timeout=STEP_TIMEOUT,
        ).returncode
    os.close(write)
    return code, (tmp_path / "stderr").read_text()


def test_a_forge_into_a_closed_pipe_forges(norn, cluster, tmp_path):
    norn.write_spec(WEB_SPEC)
    code, stderr = run_into_closed_pipe(norn, tmp_path, "forge", "web")
    assert code == 0 and stderr == ""
    assert norn.state("web")["status"] == "forged"


@pytest.mark.parametrize(
    "args, expected",
    [
        (("status",), 0),
        (("status", "web"), 0),
        (("status", "web", "--output", "json"), 0),
        (("validate",), 0),
        (("plan", "web"), 0),
        (("plan", "web", "--output", "yaml"), 0),
    ],
)
def test_read_only_commands_into_a_closed_pipe_exit_as_they_would_and_quietly(norn, cluster, tmp_path, args, expected):
    norn.write_spec(WEB_SPEC)
    code, stderr = run_into_closed_pipe(norn, tmp_path, *args)
    assert (code, stderr) == (expected, "")


def test_validate_into_a_closed_pipe_still_reports_an_invalid_file_by_its_exit_code(norn, tmp_path):
    norn.write_spec(WEB_SPEC.replace("replicas", "replcas"), folder="web")
    code, stderr = run_into_closed_pipe(norn, tmp_path, "validate")
    assert (code, stderr) == (2, "")


# --- other things a user's input or setup can cause ------------------------------------------------


@pytest.mark.parametrize("args", [("forge", "web"), ("validate",), ("plan", "web")])
def test_a_deleted_current_folder_exits_2_with_one_line(norn, cluster, tmp_path, args):
    norn.write_spec(WEB_SPEC)
    gone = tmp_path / "gone"
    gone.mkdir()
    # The child starts in the folder, which is removed before it asks for it (as when another
    # shell deletes the folder this one is in): Popen's cwd must exist, so remove it from a
    # process that starts there and deletes it, then runs norn.
    done = subprocess.run(
        [sys.executable, "-c",
         "import os, sys; os.rmdir(os.getcwd()); os.execv(sys.executable, [sys.executable, '-m', 'norn', *sys.argv[1:]])",
         *args],
        cwd=gone, env=norn.env(), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=STEP_TIMEOUT,
    )
    assert not gone.exists()
    from tests.integration.conftest import Run

    assert_refused(Run(done.returncode, done.stdout, done.stderr), "current folder")
    assert cluster.requests == []


@pytest.mark.parametrize("args", [("forge", "web"), ("plan", "web"), ("validate", "web")])
def test_an_app_folder_norn_may_not_read_exits_2_naming_it(norn, cluster, args):
    """An app folder of another user under NORN_APPS_DIR: finding the app by name reads
    every */infraspec.yaml, and one it may not read was a PermissionError traceback."""
    prefix = without_file_access_override()
    private = norn.write_spec(WEB_SPEC, folder="web").parent
    if os.geteuid() == 0:
        os.chown(private, 65534, 65534)
    private.chmod(0o700)
    try:
        run = run_as(prefix, norn, *args)
        debug = run_as(prefix, norn, *args, "--debug")
    finally:
        private.chmod(0o755)
    assert_refused(run, str(private / "infraspec.yaml"), "Permission denied")
    assert debug.code == 2 and "Traceback" in debug.stderr
    assert cluster.requests == []
