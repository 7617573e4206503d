"""The cloudflared adapter: run the binary with an argv list and a timeout.

cloudflared logs to stderr and has quirks worth knowing: it exits 0 when the
CNAME already routes to this tunnel (fine), and also exits 0 after printing
``Incorrect Usage`` (a failure). What ``tunnel route dns`` routed is only said
in an INFO log line, which the user's logging settings can hide or turn into
JSON: norn fixes the level with ``--loglevel info`` and reads both formats.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Callable

from norn.errors import StepError

MAX_OUTPUT = 2000  # characters of cloudflared's output kept in events and state


def find() -> str | None:
    """The cloudflared executable on PATH, or None."""
    return shutil.which("cloudflared")


def route_dns(executable: str, tunnel: str, hostname: str, timeout: float) -> str:
    """``cloudflared tunnel --loglevel info route dns TUNNEL HOSTNAME``; returns what it said.

    ``--loglevel`` belongs to ``tunnel`` and beats TUNNEL_LOGLEVEL and the config file's
    ``loglevel``, which could hide the INFO line that says what was routed. The log format
    is not forced: ``--output`` exists only since cloudflared 2025.6.1 (an older one answers
    Incorrect Usage), so JSON lines (TUNNEL_LOG_OUTPUT=json) are read as well.
    """
    argv = [executable, "tunnel", "--loglevel", "info", "route", "dns", tunnel, hostname]
    return _run(argv, timeout, hint=lambda out: _hint(out, hostname))


def validate_ingress(executable: str, config_text: str, timeout: float) -> str:
    """``cloudflared tunnel --config FILE ingress validate`` on ``config_text`` in a private temporary file.

    ``--config`` belongs to ``tunnel``: after ``validate`` cloudflared would take it
    as an unknown flag. Raises StepError when cloudflared rejects the config.
    """
    with tempfile.TemporaryDirectory(prefix="norn-") as folder:
        path = Path(folder) / "config.yaml"  # the folder is private (0700) and removed afterwards
        path.write_text(config_text)
        return _run(
            [executable, "tunnel", "--config", str(path), "ingress", "validate"],
            timeout,
            hint=lambda _: "The ConfigMap was left unchanged; fix the config's ingress rules, then retry.",
            failed="cloudflared rejected the new config",
        )


def tunnel_id(executable: str, tunnel: str, timeout: float) -> str:
    """The UUID of ``tunnel`` (a name or id), from ``cloudflared tunnel info --output json``."""
    said = _run([executable, "tunnel", "info", "--output", "json", tunnel], timeout, keep_stdout=True)
    try:
        return str(uuid.UUID(json.loads(said)["id"]))
    except (ValueError, TypeError, KeyError):
        raise StepError(f"cloudflared tunnel info gave no tunnel id: {first_line(said) or 'no output'}") from None


# cloudflared's cfapi DNSRouteResult.SuccessSummary: new, updated, unchanged.
class Cloudflared:
    """The binary as steps reach it (through the Context), so a dry run can put a recording one in its place."""

    def find(self) -> str | None:
        return find()

    def route_dns(self, executable: str, tunnel: str, hostname: str, timeout: float) -> str:
        return route_dns(executable, tunnel, hostname, timeout)

    def validate_ingress(self, executable: str, config_text: str, timeout: float) -> str:
        return validate_ingress(executable, config_text, timeout)

    def tunnel_id(self, executable: str, tunnel: str, timeout: float) -> str:
        return tunnel_id(executable, tunnel, timeout)


_ROUTED = re.compile(
    r"^(?:Added CNAME (\S+) which will route|(\S+) updated to route|(\S+) is already configured to route)",
    re.MULTILINE,
)
_TUNNEL_ID = re.compile(r"\btunnelID=([0-9a-fA-F-]{36})\b")


def routed_name(output: str) -> str | None:
    """The DNS name ``tunnel route dns`` says it routed, or None when its output does not say."""
    match = _ROUTED.search(output)
    return next(name for name in match.groups() if name).rstrip(".") if match else None


def reported_tunnel_id(output: str) -> str | None:
    """The tunnel id cloudflared logs with a route (``tunnelID=...``), or None."""
    match = _TUNNEL_ID.search(output)
    return match.group(1).lower() if match else None


def _run(
    argv: list[str],
    timeout: float,
    *,
    hint: Callable[[str], str | None] = lambda _: None,
    failed: str | None = None,
    keep_stdout: bool = False,
) -> str:
    """Run cloudflared; returns its output (stdout alone with ``keep_stdout``), or raises StepError."""
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            preexec_fn=_dies_with_norn(),
        )
    except subprocess.TimeoutExpired:
        raise StepError(
            f"cloudflared did not finish within {timeout:g} s",
            hint="check the machine's network and cloudflared's login (cloudflared tunnel login)",
        ) from None
    except OSError as exc:
        raise StepError(f"cannot run {argv[0]}: {exc.strerror}") from exc
    output = clip(_strip_log_prefixes(done.stdout + "\n" + done.stderr))
    if "Incorrect Usage" in output:
        raise StepError(f"cloudflared rejected the command: {first_line(output)}")
    if done.returncode != 0:
        what = failed or f"cloudflared exited {done.returncode}"
        raise StepError(f"{what}: {output or 'no output'}", hint=hint(output))
    return done.stdout if keep_stdout else output


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _dies_with_norn() -> Callable[[], None] | None:
    """A preexec_fn that has Linux SIGKILL the child when norn dies, even by SIGKILL; None elsewhere.

    Without it a killed norn leaves cloudflared running, possibly still creating a route nobody
    records. libc is looked up here, in the parent: loading a library between fork and exec can
    deadlock.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only when cloudflared runs: norn --help stays quick

    prctl, parent = ctypes.CDLL(None, use_errno=True).prctl, os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # norn died before prctl: nobody would signal us
            os._exit(1)

    return in_child


def _hint(output: str, hostname: str) -> str | None:
    if "1003" in output:
        return (
            f"{hostname} already has a DNS record that does not point at this tunnel; "
            "delete or change it in Cloudflare's dashboard, then rerun norn forge"
        )
    if "cert.pem" in output or "origin certificate" in output.lower():
        return "cloudflared is not logged in: run cloudflared tunnel login"
    return None


_LOG_PREFIX = re.compile(r"^\S+ (?:TRC|DBG|INF|WRN|ERR|FTL|PNC) ")


def _strip_log_prefixes(text: str) -> str:
    """cloudflared's log lines start with a timestamp and a level, or are JSON: keep the message."""
    lines = (_LOG_PREFIX.sub("", _from_json(line)).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _from_json(line: str) -> str:
    """A JSON log line (``--output json``) as the console writes it: the message, then key=value."""
    if not line.startswith("{"):
        return line
    try:
        event = json.loads(line)
    except ValueError:
        return line
    if not isinstance(event, dict) or not isinstance(event.get("message"), str):
        return line
    fields = [f"{key}={value}" for key, value in sorted(event.items()) if key not in ("level", "time", "message")]
    return " ".join([event["message"], *fields])


def clip(text: str, limit: int = MAX_OUTPUT) -> str:
    return text if len(text) <= limit else text[: limit - 20] + " … (output cut)"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
