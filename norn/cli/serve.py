"""`norn serve`: the HTTP API and WebSocket events (the serve extra). Bad settings exit 2 before binding."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.exits import handled
from norn.errors import UsageError

EPILOG = ("Examples: norn serve (with NORN_SERVE_TOKEN set) · norn serve --token-file /run/norn/token · "
          "norn serve --host 0.0.0.0 --port 8808 --state-backend kubernetes")
WORKERS_ENV = "NORN_SERVE_WORKERS"


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8808, "--port", min=1, max=65535, help="Port to listen on."),
    token_file: Optional[Path] = typer.Option(
        None, "--token-file", help="File holding the bearer token (one trailing newline stripped), else "
        "NORN_SERVE_TOKEN: at least 32 characters. NORN_SERVE_WORKERS: runs at once (default 4)."),
    context: Optional[str] = o.ContextOption,
    kubeconfig: Optional[str] = o.KubeconfigOption,
    state_backend: Optional[o.Backend] = o.StateBackendOption,
    debug: bool = o.DebugOption,
) -> None:
    with handled(debug):
        from norn.cli import gcpause
        from norn.cli.wiring import connector, cwd, settings_for
        from norn.serve.auth import ENV, load_token

        token = load_token(os.environ.get(ENV), token_file)
        workers = _workers(os.environ.get(WORKERS_ENV, "4"))
        settings = settings_for(None, context, state_backend, kubeconfig)
        folder = cwd()
        connector(settings)()  # credentials loaded, no request: a kubeconfig or context no run could use stops here
        try:
            from norn.serve.app import create_app
            from norn.serve.server import serve as run_server
        except ImportError as exc:
            raise UsageError(f"norn serve needs the serve extra: {exc}", hint="pip install 'norn[serve]'") from None
        from norn.serve.bus import Bus
        from norn.serve.runs import Runs
        from norn.serve.work import Service

        listener = _listen(host, port)
        gcpause.resume()  # a long-lived server collects garbage as any program does

        bus = Bus()
        runs = Runs(workers, bus.publish)
        run_server(create_app(Service(settings, folder, runs), token, bus), listener, runs, bus)


def _workers(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if workers < 1:
        raise UsageError(f"{WORKERS_ENV}={text!r} is not a number of runs", hint="set it to 1 or more (default 4)")
    return workers


def _listen(host: str, port: int):
    """The listening socket, bound now: a port in use is one line and exit 2, as other bad input."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as exc:
        raise UsageError(f"--host {host!r}: {getattr(exc, 'strerror', None) or exc}",
                         hint="an IP address or a name of this machine, such as 127.0.0.1 or 0.0.0.0") from None
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(2048)
    except OSError as exc:
        listener.close()
        raise UsageError(f"--port {port}: cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="pick a free port with --port") from None
    return listener
