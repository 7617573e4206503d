"""uvicorn, with a shutdown that drains: SIGTERM or SIGINT stops new runs (503), lets each running step
finish (at most DRAIN_SECONDS), closes the WebSockets (1001), then exits 0. A second signal exits at once.
"""

from __future__ import annotations

import logging
import socket
import threading

import uvicorn

from norn.serve.bus import Bus
from norn.serve.runs import Runs

DRAIN_SECONDS = 30.0
CLOSE_SECONDS = 5.0
log = logging.getLogger("norn.serve")


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, runs: Runs, bus: Bus) -> None:
        super().__init__(config)
        self._runs, self._bus = runs, bus
        self._draining = False

    def handle_exit(self, sig, frame) -> None:  # uvicorn's signal handler
        # Not uvicorn's own: it would re-raise the signal after shutdown, and the exit code would not be 0.
        if self._draining:
            self.should_exit = self.force_exit = True
            return
        self._draining = True
        self._runs.stop()
        threading.Thread(target=self._drain, name="norn-serve-drain", daemon=True).start()

    def _drain(self) -> None:
        if not self._runs.wait_idle(DRAIN_SECONDS):
            log.warning("runs still at work after %.0f s; stopping anyway (the next forge resumes them)",
                        DRAIN_SECONDS)
        self._bus.end_all()
        self._bus.wait_closed(CLOSE_SECONDS)  # a client too slow to take its last events is left to uvicorn
        self.should_exit = True


def serve(app, listener: socket.socket, runs: Runs, bus: Bus) -> None:
    """Serve on the bound ``listener`` until a signal; one plain access-log line per request (uvicorn's:
    method, path and status, never a header, so never the token)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    config = uvicorn.Config(app, log_level="info", access_log=True, use_colors=False, ws="auto",
                            timeout_graceful_shutdown=CLOSE_SECONDS, server_header=False)
    host, port = listener.getsockname()[:2]
    log.info("norn serve: listening on http://%s:%s", host, port)
    DrainingServer(config, runs, bus).run(sockets=[listener])
