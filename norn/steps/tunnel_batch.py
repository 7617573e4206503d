"""The shared tunnel in a many-app run: every app's config edit in one write, one restart for all.

Each app of the run works in its own thread. When a step reaches a point that touches the shared
tunnel (a READ or an EDIT of the cloudflared config, a RESTART of cloudflared), it waits there until every
other app of the run has either reached the same point or can no longer reach it: its run ended,
or the steps it has left have no such point (the pipeline says which steps an app runs and which
it has passed). Then one of the waiting threads carries out the point for all of them at once,
and each goes on with its own result. Edits come before restarts: an app waiting at a restart
still has no edit left, one waiting at an edit still has its restart to come.

At most ``parallel`` apps work at once (cloudflared processes included); an app waiting at a
point gives its place up to another. Once the run is interrupted (``stop``), an app not yet at work
does not start, and one reaching a point that was not carried out for it yet stops there, as a
step interrupted by Ctrl-C does: recorded as interrupted, its state saved and its lock freed.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from norn.steps.tunnel import POINTS


class _Waiter:
    def __init__(self, app: str, ctx: Any, item: Any) -> None:
        self.app, self.ctx, self.item = app, ctx, item
        self.done = False
        self.result: Any = None


class Gathering:
    """The coordinator of a many-app run (``Tools.tunnel``); ``pipeline.Alone`` is the one-app one."""

    def __init__(self, apps: list[str], parallel: int) -> None:
        self._cond = threading.Condition()
        self._slots = threading.Semaphore(parallel)
        self._left: dict[str, list[str] | None] = {app: None for app in apps}  # None: not started, may reach any
        self._waiting: dict[str, list[_Waiter]] = {}
        self._acting = False
        self._stopping = False

    @contextmanager
    def slot(self) -> Iterator[None]:
        """One of the ``parallel`` places to work in, for an app's whole run."""
        with self._slots:
            if self._stopping:
                raise KeyboardInterrupt
            yield

    def stop(self) -> None:
        """The run was interrupted: the apps stop at their next point (see the module's docstring)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def steps(self, app: str, names: list[str]) -> None:
        with self._cond:
            self._left[app] = list(names)
            self._cond.notify_all()

    def passed(self, app: str, name: str) -> None:
        with self._cond:
            left = self._left.get(app) or []
            if name in left:
                left.remove(name)
            self._cond.notify_all()

    def ended(self, app: str) -> None:
        """The app's run is over, whatever its outcome: nobody waits for it any more."""
        with self._cond:
            self._left[app] = []
            self._cond.notify_all()

    def gather(self, kind: str, ctx: Any, item: Any, act: Callable[[list], list]) -> Any:
        """Wait for the point ``kind`` to be carried out for every app at it; this app's result of ``act``."""
        me = _Waiter(ctx.app, ctx, item)
        with self._cond:
            self._waiting.setdefault(kind, []).append(me)
            self._cond.notify_all()
        self._slots.release()  # waiting, this app gives its place up
        try:
            batch = self._wait(kind, me)
            if batch is not None:
                with self._slots:  # the one carrying the point out works in a place like any app
                    results = _acted(act, [(waiter.ctx, waiter.item) for waiter in batch])
                with self._cond:
                    for waiter, result in zip(batch, results):
                        waiter.result, waiter.done = result, True
                    self._acting = False
                    self._cond.notify_all()
        finally:
            self._slots.acquire()
        if isinstance(me.result, BaseException):
            raise me.result
        return me.result

    def _wait(self, kind: str, me: _Waiter) -> list[_Waiter] | None:
        """None once another thread carried the point out for ``me``; the batch when it is this thread's turn."""
        with self._cond:
            while not me.done:
                if self._stopping and me in self._waiting.get(kind, []):  # not in a batch being carried out
                    self._waiting[kind].remove(me)
                    self._cond.notify_all()
                    raise KeyboardInterrupt
                if not self._acting and self._ready(kind):
                    self._acting = True
                    return self._waiting.pop(kind)
                self._cond.wait()
        return None

    def _ready(self, kind: str) -> bool:
        at_point = {waiter.app for waiter in self._waiting.get(kind, [])}
        return bool(at_point) and all(
            app in at_point or (left is not None and all(POINTS.get(name) != kind for name in left))
            for app, left in self._left.items()
        )


def _acted(act: Callable[[list], list], batch: list) -> list:
    """``act``'s results; an error of ``act`` itself (a bug) is every app's, so nobody waits forever."""
    try:
        return act(batch)
    except Exception as exc:
        return [exc] * len(batch)
