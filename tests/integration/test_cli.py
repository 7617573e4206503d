"""The command-line contract: bad input, cloudflared's answers, status, help, start-up cost."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.integration.conftest import CRON_SPEC, WEB_SPEC


def no_writes_and_no_state(norn, cluster):
    assert cluster.requests == []
    assert not (norn.state_dir / "web.json").exists()


@pytest.mark.parametrize(
    "spec, words",
    [
        (WEB_SPEC.replace("replicas", "replcas"), ["replcas", "did you mean 'replicas'"]),
        (WEB_SPEC.replace("port: 8080", "port: 70000"), ["port", "65535"]),
        ("app: web\nrole: function\n", ["function"]),
        ("app: web\nrole: webserver\n", ["port"]),
        ("app: web\nrole: [unclosed\n", ["infraspec.yaml"]),
    ],
)
def test_bad_infraspec_exits_2_with_one_line_and_changes_nothing(norn, cluster, spec, words):
    norn.write_spec(spec, folder="web")
    run = norn("forge", "web")
    assert run.code == 2
    assert "Traceback" not in run.stderr
    first = run.stderr.splitlines()[0]
    assert "infraspec.yaml" in first or "function" in first
    for word in words:
        assert word in run.stderr
    no_writes_and_no_state(norn, cluster)


def test_role_function_is_not_forged(norn, cluster):
    norn.write_spec("app: web\nrole: function\n", folder="web")
    run = norn("forge", "web")
    assert run.code == 2 and "does not provision functions" in run.stderr


def test_spec_not_found_lists_where_it_looked(norn, cluster):
    run = norn("forge", "web")
    assert run.code == 2
    assert str(norn.apps_dir) in run.stderr
    no_writes_and_no_state(norn, cluster)


def test_bad_app_name_exits_2(norn, cluster):
    run = norn("forge", "Not_An_App")
    assert run.code == 2 and "Not_An_App" in run.stderr
    assert cluster.requests == []


def test_debug_shows_the_traceback(norn, cluster):
    run = norn("forge", "web", "--debug")
    assert run.code == 2 and "Traceback" in run.stderr


def test_usage_error_exits_2(norn):
    assert norn("forge").code == 2
    assert norn("forge", "web", "--output", "yaml").code == 2


def test_missing_kubeconfig_exits_2_before_any_state(norn, tmp_path):
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", KUBECONFIG=str(tmp_path / "nope"))
    assert run.code == 2 and "nope" in run.stderr
    assert not (norn.state_dir / "web.json").exists()


def test_context_flag_selects_the_kubeconfig_context(norn, cluster):
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--context", "no-such-context")
    assert run.code == 2 and "no-such-context" in run.stderr
    assert norn("forge", "web", "--context", "standin").code == 0


@pytest.mark.parametrize(
    "mode, words",
    [
        ("exists-elsewhere", ["1003", "does not point at this tunnel"]),
        ("fail", ["cloudflared exited 1"]),
    ],
)
def test_cloudflared_failures_fail_the_step_with_its_message(norn, cluster, cloudflared_bin, mode, words):
    norn.write_spec(WEB_SPEC)
    cloudflared_bin.set_mode(mode)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    failed = [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]
    assert failed["step"] == "create-dns-route"
    for word in words:
        assert word in failed["error"]


def test_cloudflared_incorrect_usage_counts_as_failure(norn, cluster, cloudflared_bin, tmp_path, monkeypatch):
    # A cloudflared that validates configs but exits 0 after printing Incorrect Usage for a route.
    fake = tmp_path / "bin" / "cloudflared"
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\ncase "$*" in *validate*) echo OK; exit 0;; esac\n'
        "echo 'Incorrect Usage: flag provided but not defined: -x' >&2\nexit 0\n"
    )
    fake.chmod(0o755)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json", PATH=f"{fake.parent}:/usr/bin:/bin")
    assert run.code == 1
    assert run.steps()["create-dns-route"] == "failed"
    assert "Incorrect Usage" in run.stdout


def test_cloudflared_route_already_there_is_success(norn, cluster, cloudflared_bin):
    cloudflared_bin.add_route("web.example.com")
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 0
    assert run.steps()["create-dns-route"] == "completed"


def test_a_hung_cloudflared_times_out(norn, cluster, cloudflared_bin):
    cloudflared_bin.set_mode("hang")
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json", NORN_CLOUDFLARED_TIMEOUT="1")
    assert run.code == 1
    assert "did not finish within 1 s" in [e for e in run.events() if e["type"] == "forge.failed"][0]["payload"]["error"]


def test_status_of_one_app_as_json(norn):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    run = norn("status", "web", "--output", "json")
    assert run.code == 0
    data = json.loads(run.stdout)
    assert set(data) == {"app", "status", "steps", "resources", "error", "startedAt", "finishedAt"}
    assert data["status"] == "forged" and data["app"] == "web"
    assert all(set(s) == {"step", "status", "output", "durationMs"} for s in data["steps"])


def test_status_of_all_apps(norn):
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    assert norn("forge", "web").code == 0
    assert norn("forge", "nightly").code == 0
    listed = json.loads(norn("status", "--output", "json").stdout)
    assert [d["app"] for d in listed] == ["nightly", "web"]
    text = norn("status").stdout
    assert "web" in text and "nightly" in text and "forged" in text


def test_status_text_of_one_app_shows_steps_and_resources(norn):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    text = norn("status", "web").stdout
    for word in ("forged", "create-deployment", "restart-cloudflared", "web-svc", "web.example.com"):
        assert word in text


def test_status_of_an_app_never_forged_is_unforged(norn):
    norn.write_spec(WEB_SPEC)
    run = norn("status", "web", "--output", "json")
    assert run.code == 0 and json.loads(run.stdout)["status"] == "unforged"
    unknown = norn("status", "ghost", "--output", "json")  # no record, no infraspec: test_cli_conventions
    assert unknown.code == 1 and unknown.stdout == ""


def test_status_with_no_apps(norn):
    run = norn("status", "--output", "json")
    assert run.code == 0 and json.loads(run.stdout) == []


def test_version_and_help(norn):
    from norn import __version__

    assert norn("--version").stdout.strip() == f"norn {__version__}"
    text = norn("--help").stdout
    for word in ("forge", "teardown", "status", "Examples"):
        assert word in text


START_UP = {"kubernetes", "pydantic", "rich", "yaml", "hashlib", "dataclasses", "tempfile"}
SERVER = {"fastapi", "starlette", "uvicorn", "websockets"}


@pytest.mark.parametrize("args, forbidden", [
    (["--help"], START_UP | SERVER), (["status"], START_UP | SERVER), (["status", "web"], START_UP | SERVER),
    # A command's own --help: typer at its floor (0.19) draws it with rich; the server's libraries still stay out.
    (["serve", "--help"], SERVER | {"kubernetes", "pydantic"}),
])
def test_help_and_status_do_not_import_the_kubernetes_client(tmp_path, args, forbidden):
    """Nor, writing to a pipe, pydantic (typer 0.29 imports it for every option)
    or rich: each costs more than the rest of the command (docs/performance.md); nor hashlib (OpenSSL's
    initialisation, about 3 ms: the local store compares a state file's bytes, not their digest), dataclasses
    (the state's records are plain classes) or tempfile (loaded by the first save); nor norn serve's libraries."""
    code = (
        "import sys; from norn.cli import app\n"
        "try:\n    app(%r)\nexcept SystemExit:\n    pass\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & set(%r)\n"
        "assert not heavy, f'imported {sorted(heavy)}'\n"
    ) % (args, sorted(forbidden))
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"NORN_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr


def on_a_terminal(norn, *args: str) -> str:
    """Run norn with its stdout on a pseudo-terminal, 100 columns wide; what it drew."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = norn.env(NO_COLOR="1", COLUMNS="100", TERM="xterm")
    process = subprocess.Popen([sys.executable, "-m", "norn", *args], cwd=norn.cwd, env=env, stdout=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode()


@pytest.mark.parametrize("args", [["status", "web"], ["status"]])
def test_status_on_a_terminal_is_rich_and_in_a_pipe_plain(norn, cluster, cloudflared_bin, args):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    drawn = re.sub(r"\x1b\[[0-9;]*m", "", on_a_terminal(norn, *args)).replace("\r\n", "\n")
    piped = norn(*args).stdout
    for text in (drawn, piped):
        assert "forged" in text and "web" in text
    assert all(line == line.rstrip() for line in piped.splitlines())  # never padded to a width
    if args == ["status", "web"]:
        assert "─" in drawn and "─" not in piped  # rich's rule under the steps' header, on a terminal only
        assert "create-deployment" in piped and "Resources" in piped
    assert max(len(line) for line in drawn.splitlines()) <= 100
