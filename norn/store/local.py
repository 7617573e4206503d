"""Local backend: one JSON file per app under NORN_STATE_DIR, and a lock file.

Writes are atomic (temp file, fsync, rename, fsync of the folder) so a killed
run leaves either the old document or the new one. Files are mode 0600.
The lock is an flock on ``<app>.lock``: the kernel frees it when the holder
dies, so a killed run never blocks the app. A save first checks that the file
still holds the bytes this store last read or wrote, so a write from
a stale read is refused rather than lost, as in the kubernetes backend.

A folder norn cannot use (a file in its place, not writable, wrong owner) and
a state file it cannot read are StateErrors naming the path (and NORN_STATE_DIR),
found when the state is read or the lock taken: before any request, so a run
that could not keep its state changes nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from norn.errors import Busy, LostRace, StateError
from norn.events import now, rfc3339
from norn.state import ForgeState
from norn.store.document import decode, describe, encode

HOLDER_WAIT_SECONDS = 1.0  # how long a second run waits for the holder to say who it is
# The most a Secret holds (kube-apiserver's ValidateSecret: MaxSecretSize, 1 MiB), so the most
# a state can be and still move to the kubernetes backend; norn writes a few KiB.
MAX_STATE_BYTES = 1024 * 1024


class LocalStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir)
        # app -> the bytes of the file last read or written (at most MAX_STATE_BYTES), None: no file. Kept whole
        # rather than as a digest: comparing a few KiB costs less than loading hashlib on every command.
        self._seen: dict[str, bytes | None] = {}

    def where(self, app: str | None = None) -> str:
        return str(self._path(app) if app else self.dir)

    def _path(self, app: str) -> Path:
        return self.dir / f"{app}.json"

    def _ensure_dir(self) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise _unusable(self.dir, exc) from exc

    def _check_writable(self) -> None:
        """Create and remove a file, as a save will: found now, before any request, not after a step ran."""
        self._ensure_dir()
        try:
            fd, probe = _mkstemp(prefix=".probe.", suffix=".tmp", dir=self.dir)
        except OSError as exc:
            raise _unusable(self.dir, exc) from exc
        os.close(fd)
        _remove_quietly(probe)

    def load(self, app: str) -> ForgeState | None:
        path = self._path(app)
        data = self._read(path)
        if data is None:
            self._seen[app] = None
            return None
        state = _parse(data, path)
        if state.app != app:
            raise StateError(f"state file {path} is for app {state.app!r}, not {app!r}", hint=_corrupt_hint(path))
        self._seen[app] = data
        return state

    def save(self, state: ForgeState) -> None:
        self._ensure_dir()
        path = self._path(state.app)
        self._check_unchanged(state.app, path)
        data = encode(state)
        try:
            fd, tmp = _mkstemp(prefix=f".{state.app}.", suffix=".tmp", dir=self.dir)
        except OSError as exc:
            raise _unusable(self.dir, exc) from exc
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            _remove_quietly(tmp)
            if isinstance(exc, OSError):
                raise _unusable(self.dir, exc) from exc
            raise
        _fsync_dir(self.dir)
        self._seen[state.app] = data

    def delete(self, app: str) -> None:
        path = self._path(app)
        self._check_unchanged(app, path)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise _unusable(self.dir, exc) from exc
        _fsync_dir(self.dir)
        self._seen[app] = None

    def _check_unchanged(self, app: str, path: Path) -> None:
        """LostRace when the file no longer holds what this store last read or wrote."""
        found = self._read(path)
        if found != self._seen.get(app):
            raise LostRace(
                f"{app}: state file {path} changed since this run read it; nothing was overwritten",
                hint=f"another norn run wrote it; see norn status {app}, then rerun",
            )

    def _read(self, path: Path) -> bytes | None:
        """The file's bytes, None when there is none; a StateError for anything norn would not write."""
        try:
            # O_NONBLOCK: a FIFO in the file's place is refused below instead of blocking the open.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if not os.access(self.dir, os.X_OK):  # the folder's fault: a file in its way, not ours to enter
                raise _unusable(self.dir, exc, reading=True) from exc
            raise StateError(f"cannot read state file {path}: {exc.strerror}", hint=_corrupt_hint(path)) from exc
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StateError(f"state file {path} is not a regular file", hint=_corrupt_hint(path))
            data = _read_at_most(fd, MAX_STATE_BYTES + 1)  # never more: a huge file is refused, not loaded
        except OSError as exc:
            raise StateError(f"cannot read state file {path}: {exc.strerror}", hint=_corrupt_hint(path)) from exc
        finally:
            os.close(fd)
        if len(data) > MAX_STATE_BYTES:
            raise StateError(
                f"state file {path} is over 1 MiB, the most a Secret holds; norn writes a few KiB",
                hint=_corrupt_hint(path),
            )
        return data

    def list(self) -> tuple[list[ForgeState], list[str]]:
        states: list[ForgeState] = []
        problems: list[str] = []
        try:
            names = sorted(entry.name for entry in os.scandir(self.dir))
        except FileNotFoundError:
            return states, problems  # nothing forged yet
        except OSError as exc:
            raise _unusable(self.dir, exc, reading=True) from exc
        for name in names:
            if name.startswith(".") or not name.endswith(".json"):
                continue
            path = self.dir / name
            try:
                data = self._read(path)
                if data is not None:  # else removed since the listing
                    states.append(_parse(data, path))
            except StateError as exc:
                problems.append(exc.message)
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
        self._check_writable()
        path = self.dir / f"{app}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(
                f"cannot open the lock file {path}: {exc.strerror}", hint=f"move it away (mv {path} {path}.bad)"
            ) from exc
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


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit and (chunk := os.read(fd, limit - size)):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _in_the_way(directory: Path) -> Path | None:
    """The file standing where the folder or one of its parents should be, if any."""
    for path in (directory, *directory.parents):
        if os.path.lexists(path):
            return None if os.path.isdir(path) else path
    return None


def _unusable(directory: Path, exc: OSError, reading: bool = False) -> StateError:
    """One line on why the state folder cannot be used, naming the setting that chose it and what to do."""
    blocker = _in_the_way(directory)
    if blocker is not None:
        where = "is a file" if blocker == directory else f"is under {blocker}, which is a file"
        return StateError(
            f"state folder {directory} (NORN_STATE_DIR) {where}, not a folder",
            hint="set NORN_STATE_DIR to a folder, or move that file away",
        )
    verb = "read" if reading else "written"
    return StateError(
        f"state folder {directory} (NORN_STATE_DIR) cannot be {verb}: {exc.strerror or exc}",
        hint="set NORN_STATE_DIR to a folder you own and can write, or make this one yours (chown, chmod u+rwx)",
    )


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


def _mkstemp(**where: str) -> tuple[int, str]:
    """tempfile.mkstemp, its module loaded by the first save: a command that only reads never pays for it."""
    import tempfile

    return tempfile.mkstemp(**where)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
