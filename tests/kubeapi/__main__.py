"""Run the stand-in API server on its own, for the demo and for poking at by hand.

    python -m tests.kubeapi --kubeconfig PATH [--port 0] [--seed-cloudflared] [--ready-file PATH]

It writes the kubeconfig, seeds the cloudflared objects if asked, writes its
URL to the ready file once everything is in place, and serves until SIGTERM or
SIGINT.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from pathlib import Path

from tests.kubeapi.server import KubeAPI, seed_cloudflared


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.kubeapi", description="stand-in Kubernetes API server")
    parser.add_argument("--kubeconfig", required=True, type=Path, help="where to write a kubeconfig for the server")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seed-cloudflared", action="store_true", help="seed the cloudflared ConfigMap and Deployment")
    parser.add_argument("--ready-file", type=Path, help="write the server's URL here once it is ready")
    return parser.parse_args(argv)


def write_atomically(path: Path, text: str) -> None:
    """Whoever polls for the file sees it whole or not at all."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    os.replace(partial, path)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    with KubeAPI(port=args.port) as server:
        server.write_kubeconfig(args.kubeconfig)
        if args.seed_cloudflared:
            seed_cloudflared(server)
        if args.ready_file:
            write_atomically(args.ready_file, server.url + "\n")
        print(f"stand-in Kubernetes API at {server.url}", flush=True)
        stopping.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
