"""The WebSocket fan-out: a slow client is dropped with 1008, never slowing a run or the other clients."""

from __future__ import annotations

import asyncio

from norn.serve.bus import GOING_AWAY, TOO_SLOW, Bus


class FakeSocket:
    """A client: ``stuck`` never takes a message (its send never returns), as one that stopped reading."""

    def __init__(self, stuck: bool = False) -> None:
        self.stuck = stuck
        self.sent: list[str] = []
        self.closed: tuple[int, str] | None = None
        self.gone = asyncio.Event()

    async def send_text(self, text: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(text)

    async def receive(self) -> dict:
        await self.gone.wait()
        return {"type": "websocket.disconnect"}

    async def accept(self) -> None:
        pass

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)


def event(app: str, n: int) -> dict:
    return {"type": "forge.step", "app": app, "time": "t", "payload": {"n": n}}


async def _fan_out(bound: int, count: int):
    bus = Bus(bound)
    bus.bind(asyncio.get_running_loop())
    slow, fast, other = FakeSocket(stuck=True), FakeSocket(), FakeSocket()
    clients = [asyncio.create_task(bus.serve(slow, None)), asyncio.create_task(bus.serve(fast, "web")),
               asyncio.create_task(bus.serve(other, "api"))]
    await asyncio.sleep(0)
    for n in range(count):
        bus.publish(event("web", n))  # from a run's thread in the server; it returns at once
        await asyncio.sleep(0)
    bus.publish(event("api", 0))
    await asyncio.sleep(0)
    bus.end_all()
    await asyncio.wait_for(asyncio.gather(*clients[1:]), 5)
    if bound < count:
        await asyncio.wait_for(clients[0], 5)  # dropped
    else:
        clients[0].cancel()
    return slow, fast, other


def test_a_client_that_does_not_keep_up_is_dropped_with_1008_and_the_others_get_everything():
    # RFC 6455 section 7.4.1: 1008 "policy violation", the generic code for an endpoint ending a connection
    # over a rule of its own (here: keep up); 1011 is kept for a server's unexpected condition.
    slow, fast, other = asyncio.run(_fan_out(bound=3, count=10))
    assert slow.closed[0] == TOO_SLOW and slow.sent == []
    assert len(fast.sent) == 10 and fast.closed[0] == GOING_AWAY  # in order, then 1001 at shutdown
    assert [text for text in fast.sent] == sorted(fast.sent, key=lambda t: int(t.split('"n": ')[1][:-2]))
    assert len(other.sent) == 1  # ?app= filters


def test_a_client_behind_by_less_than_the_bound_is_not_dropped():
    slow, fast, other = asyncio.run(_fan_out(bound=50, count=10))
    assert slow.closed is None and fast.closed[0] == GOING_AWAY and len(fast.sent) == 10


def test_an_event_published_while_the_handshake_completes_reaches_the_client():
    """A client that starts a run as soon as its handshake is answered must see the run's first event."""

    async def scenario():
        bus = Bus()
        bus.bind(asyncio.get_running_loop())
        client = FakeSocket()

        async def accept() -> None:  # the 101 reaches the client, which POSTs at once
            bus.publish(event("web", 0))
            await asyncio.sleep(0)

        client.accept = accept
        serving = asyncio.create_task(bus.serve(client, None))
        for _ in range(5):
            await asyncio.sleep(0)
        bus.end_all()
        await asyncio.wait_for(serving, 5)
        return client

    assert len(asyncio.run(scenario()).sent) == 1
