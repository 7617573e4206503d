"""Local backend: one JSON file per app under NORN_STATE_DIR, and a lock file.

Writes are atomic (temp file, fsync, rename, fsync of the folder) so a killed
run leaves either the old document or the new one. Files are mode 0600.
The lock is an flock on ``<app>.lock``: the kernel frees it when the holder
dies, so a killed run never blocks the app. A save first checks that the file
still holds what this store last read or wrote (its SHA-256), so a write from
a stale read is refused rather than lost, as in the kubernetes backend.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from norn.errors import Busy, LostRace, StateError
from norn.events import now, rfc3339
from norn.state import ForgeState
from norn.store import decode, describe, encode

HOLDER_WAIT_SECONDS = 1.0  # how long a second run waits for the holder to say who it is


class LocalStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir)
        self._seen: dict[str, str | None] = {}  # app -> digest of the file last read or written, None: no file

    def where(self, app: str | None = None) -> str:
        return str(self._path(app) if app else self.dir)

    def _path(self, app: str) -> Path:
        return self.dir / f"{app}.json"

    def _ensure_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    def load(self, app: str) -> ForgeState | None:
        path = self._path(app)
        data = self._read(path)
        if data is None:
            self._seen[app] = None
            return None
        state = _parse(data, path)
        if state.app != app:
            raise StateError(f"state file {path} is for app {state.app!r}, not {app!r}", hint=_corrupt_hint(path))
        self._seen[app] = _digest(data)
        return state

    def save(self, state: ForgeState) -> None:
        self._ensure_dir()
        path = self._path(state.app)
        found = self._read(path)
        if (None if found is None else _digest(found)) != self._seen.get(state.app):
            raise LostRace(
                f"{state.app}: state file {path} changed since this run read it; nothing was overwritten",
                hint=f"another norn run wrote it; see norn status {state.app}, then rerun",
            )
        data = encode(state)
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
        self._seen[state.app] = _digest(data)

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read state file {path}: {exc.strerror}") from exc

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


def _parse(data: bytes, path: Path) -> ForgeState:
    try:
        return decode(data)
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"state file {path} cannot be read: {describe(exc)}", hint=_corrupt_hint(path)) from exc


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _corrupt_hint(path: Path) -> str:
    return f"norn will not overwrite it; inspect it, then move it aside (mv {path} {path}.bad) to start over"


def _holder(fd: int) -> str:
    """Who holds the lock. The holder writes it just after taking the lock: a run that asks in
    between waits a moment for it rather than answering without the pid."""
    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    while True:
        try:
            info = json.loads(os.pread(fd, 4096, 0) or b"{}")
            return f"pid {info['pid']} since {info['since']}"
        except (ValueError, KeyError, TypeError, OSError):
            if time.monotonic() >= deadline:
                return "by another norn run"
            time.sleep(0.01)


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
