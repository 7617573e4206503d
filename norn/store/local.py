"""Local backend: one JSON file per app under NORN_STATE_DIR, and a lock file.

Writes are atomic (temp file, fsync, rename, fsync of the folder) so a killed
run leaves either the old document or the new one. Files are mode 0600.
The lock is an flock on ``<app>.lock``: the kernel frees it when the holder
dies, so a killed run never blocks the app.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from norn.errors import Busy, StateError
from norn.events import now, rfc3339
from norn.state import ForgeState


class LocalStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir)

    def where(self, app: str | None = None) -> str:
        return str(self._path(app) if app else self.dir)

    def _path(self, app: str) -> Path:
        return self.dir / f"{app}.json"

    def _ensure_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def load(self, app: str) -> ForgeState | None:
        path = self._path(app)
        try:
            text = path.read_bytes()  # bytes: a file that is not UTF-8 is a parse error, said as one
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read state file {path}: {exc.strerror}") from exc
        state = _parse(text, path)
        if state.app != app:
            raise StateError(f"state file {path} is for app {state.app!r}, not {app!r}", hint=_corrupt_hint(path))
        return state

    def save(self, state: ForgeState) -> None:
        self._ensure_dir()
        path = self._path(state.app)
        data = json.dumps(state.to_json(), indent=2, sort_keys=False).encode() + b"\n"
        fd, tmp = tempfile.mkstemp(prefix=f".{state.app}.", suffix=".tmp", dir=self.dir)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            _remove_quietly(tmp)
            raise
        _fsync_dir(self.dir)

    def list(self) -> tuple[list[ForgeState], list[str]]:
        states: list[ForgeState] = []
        problems: list[str] = []
        if not self.dir.is_dir():
            return states, problems
        for path in sorted(self.dir.glob("*.json")):
            try:
                states.append(_parse(path.read_bytes(), path))
            except (StateError, OSError) as exc:
                problems.append(getattr(exc, "message", str(exc)))
        return states, problems

    def is_running(self, app: str) -> bool:
        """Whether a live norn process holds the app (read from the lock file, without locking)."""
        try:
            info = json.loads((self.dir / f"{app}.lock").read_text() or "{}")
            os.kill(int(info["pid"]), 0)
        except (OSError, ValueError, KeyError, TypeError):
            return False  # no lock file, released (emptied), or its process is gone
        return True

    @contextmanager
    def lock(self, app: str) -> Iterator[None]:
        self._ensure_dir()
        path = self.dir / f"{app}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy(
                    f"{app}: operation already in progress ({_holder(fd)})",
                    hint="wait for it to finish; norn frees the lock when that run ends or dies",
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "since": rfc3339(now())}).encode(), 0)
            try:
                yield
            finally:
                os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the descriptor releases the flock


def _parse(text: str | bytes, path: Path) -> ForgeState:
    try:
        return ForgeState.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"state file {path} cannot be read: {_describe(exc)}", hint=_corrupt_hint(path)) from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}"
    return str(exc) or type(exc).__name__


def _corrupt_hint(path: Path) -> str:
    return f"norn will not overwrite it; inspect it, then move it aside (mv {path} {path}.bad) to start over"


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']} since {info['since']}"
    except (ValueError, KeyError, TypeError, OSError):
        return "by another norn run"


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
