"""Events to WebSocket clients: a fan-out with a bounded queue per client that never blocks a run.

Runs publish from their worker threads; delivery happens on the server's event loop. A client whose
queue holds QUEUE_BOUND events it has not taken yet is too slow: it is dropped with close code 1008
(policy violation: it did not keep up), and the runs go on unaffected. At shutdown each client gets
the events already published, then close code 1001 (going away).
"""

from __future__ import annotations

import asyncio
import json
import threading
from contextlib import suppress
from typing import Any

QUEUE_BOUND = 1000  # events waiting for one client before it is dropped
TOO_SLOW = 1008
GOING_AWAY = 1001
_END = object()  # after the last event of a shutdown


class Subscriber:
    def __init__(self, app: str | None) -> None:
        self.app = app
        self.queue: asyncio.Queue[Any] = asyncio.Queue()  # bounded by Bus._deliver, so _END always fits
        self.dropped = asyncio.Event()


class Bus:
    def __init__(self, bound: int = QUEUE_BOUND) -> None:
        self.bound = bound
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[Subscriber] = set()
        self._open = threading.Condition()
        self._clients = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def subscribe(self, app: str | None) -> Subscriber:
        subscriber = Subscriber(app)
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    async def serve(self, websocket: Any, app: str | None) -> None:
        """Accept one client and send it events until it leaves, is dropped, or the server stops."""
        subscriber = self.subscribe(app)  # before the handshake completes: a client that then starts a run sees it all
        with self._open:
            self._clients += 1
        try:
            await websocket.accept()
            await pump(websocket, subscriber)
        finally:
            self.unsubscribe(subscriber)
            with self._open:
                self._clients -= 1
                self._open.notify_all()

    def wait_closed(self, timeout: float) -> bool:
        """From any thread: wait until every client is gone (after end_all); False when ``timeout`` passed."""
        with self._open:
            return self._open.wait_for(lambda: self._clients == 0, timeout)

    def publish(self, event: dict) -> None:
        """From any thread: the event goes to every client that wants its app, later, on the loop."""
        if self._loop is not None and not self._loop.is_closed():
            with suppress(RuntimeError):  # the loop closed meanwhile: nobody is listening
                self._loop.call_soon_threadsafe(self._deliver, event)

    def end_all(self) -> None:
        """From any thread: every client gets what was published so far, then close code 1001."""
        if self._loop is not None and not self._loop.is_closed():
            with suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._end_all)

    def _deliver(self, event: dict) -> None:
        for subscriber in list(self._subscribers):
            if subscriber.app not in (None, event["app"]):
                continue
            if subscriber.queue.qsize() >= self.bound:
                self._subscribers.discard(subscriber)
                subscriber.dropped.set()
            else:
                subscriber.queue.put_nowait(event)

    def _end_all(self) -> None:
        for subscriber in self._subscribers:
            subscriber.queue.put_nowait(_END)
        self._subscribers.clear()


async def pump(websocket: Any, subscriber: Subscriber) -> None:
    """Send the subscriber's events as JSON text until the client leaves, is dropped, or the server stops."""
    sender = asyncio.create_task(_send_all(websocket, subscriber))
    listener = asyncio.create_task(_until_gone(websocket))
    dropped = asyncio.create_task(subscriber.dropped.wait())
    done, pending = await asyncio.wait({sender, listener, dropped}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if listener in done or (sender in done and sender.exception() is not None):
        return  # the client went away
    code, reason = (GOING_AWAY, "norn serve is stopping") if sender in done else (TOO_SLOW, "too slow: events dropped")
    with suppress(Exception):  # it may have gone meanwhile
        await websocket.close(code=code, reason=reason)


async def _send_all(websocket: Any, subscriber: Subscriber) -> None:
    while (event := await subscriber.queue.get()) is not _END:
        await websocket.send_text(json.dumps(event))


async def _until_gone(websocket: Any) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
