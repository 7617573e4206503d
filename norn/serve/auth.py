"""The bearer token: where it comes from, how long it must be, and the constant-time check.

The token is never logged or echoed: errors name the setting, never the value.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from norn.errors import UsageError

MIN_LENGTH = 32
ENV = "NORN_SERVE_TOKEN"


def load_token(env_value: str | None, token_file: Path | None) -> str:
    """The token of ``--token-file`` (one trailing newline stripped) or else of NORN_SERVE_TOKEN."""
    if token_file is not None:
        where = f"--token-file {token_file}"
        try:
            token = token_file.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise UsageError(f"{where}: cannot read the token: {reason}",
                             hint="give a readable file holding the token on one line") from None
    else:
        where, token = ENV, env_value or ""
        if not token:
            raise UsageError(f"no token: set {ENV} or pass --token-file PATH",
                             hint=f"every endpoint but /healthz needs it; at least {MIN_LENGTH} characters, "
                                  "such as: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    check(token, where)
    return token


def check(token: str, where: str) -> None:
    """UsageError naming the setting when the token is too short or not one line of visible text."""
    if len(token) < MIN_LENGTH:
        raise UsageError(f"{where}: the token has {len(token)} characters; at least {MIN_LENGTH} are needed",
                         hint="such as: python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    if not token.isprintable() or token != token.strip() or not token.isascii():
        raise UsageError(f"{where}: the token must be one line of printable ASCII without surrounding spaces",
                         hint="an HTTP header carries it as Authorization: Bearer <token>")


def authorized(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries the token; compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"), token.encode())
