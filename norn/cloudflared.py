"""The cloudflared adapter: run the binary with an argv list and a timeout.

cloudflared logs to stderr and has quirks worth knowing: it exits 0 when the
CNAME already routes to this tunnel (fine), and also exits 0 after printing
``Incorrect Usage`` (a failure).
"""

from __future__ import annotations

import re
import shutil
import subprocess

from norn.errors import StepError

MAX_OUTPUT = 2000  # characters of cloudflared's output kept in events and state


def find() -> str | None:
    """The cloudflared executable on PATH, or None."""
    return shutil.which("cloudflared")


def route_dns(executable: str, tunnel: str, hostname: str, timeout: float) -> str:
    """``cloudflared tunnel route dns TUNNEL HOSTNAME``; returns what it said."""
    argv = [executable, "tunnel", "route", "dns", tunnel, hostname]
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace", timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise StepError(
            f"cloudflared did not finish within {timeout:g} s",
            hint="check the machine's network and cloudflared's login (cloudflared tunnel login)",
        ) from None
    except OSError as exc:
        raise StepError(f"cannot run {executable}: {exc.strerror}") from exc
    output = clip(_strip_log_prefixes(done.stdout + "\n" + done.stderr))
    if "Incorrect Usage" in output:
        raise StepError(f"cloudflared rejected the command: {first_line(output)}")
    if done.returncode != 0:
        raise StepError(f"cloudflared exited {done.returncode}: {output or 'no output'}", hint=_hint(output, hostname))
    return output


def _hint(output: str, hostname: str) -> str | None:
    if "1003" in output:
        return (
            f"{hostname} already has a DNS record that does not point at this tunnel; "
            "delete or change it in Cloudflare's dashboard, then rerun norn forge"
        )
    if "cert.pem" in output or "origin certificate" in output.lower():
        return "cloudflared is not logged in: run cloudflared tunnel login"
    return None


_LOG_PREFIX = re.compile(r"^\S+ (?:DBG|INF|WRN|ERR|FTL) ")


def _strip_log_prefixes(text: str) -> str:
    """cloudflared's log lines start with a timestamp and a level: keep the message."""
    lines = (_LOG_PREFIX.sub("", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def clip(text: str, limit: int = MAX_OUTPUT) -> str:
    return text if len(text) <= limit else text[: limit - 20] + " … (output cut)"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
