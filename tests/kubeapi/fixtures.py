"""Pytest fixtures for the stand-in API server and the stand-in cloudflared.

Load them with ``pytest_plugins = ["tests.kubeapi.fixtures"]``. Tests reach both
stand-ins the way a user's norn would: through ``KUBECONFIG`` and ``PATH``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kubeapi.server import KubeAPI, seed_cloudflared

BIN_DIR = Path(__file__).resolve().parent.parent / "bin"


@pytest.fixture
def kubeapi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[KubeAPI]:
    """A running stand-in API server, with ``KUBECONFIG`` pointing at it (``kubeapi.kubeconfig``)."""
    with KubeAPI() as server:
        path = server.write_kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("KUBECONFIG", str(path))
        yield server


@pytest.fixture
def cluster(kubeapi: KubeAPI) -> KubeAPI:
    """``kubeapi`` with the operator's cloudflared ConfigMap and Deployment in place."""
    seed_cloudflared(kubeapi)
    return kubeapi


class CloudflaredStandin:
    """The stand-in cloudflared of one test: what it was asked, and how it should answer.

    The state file is ``{"mode": MODE, "routes": {HOSTNAME: TUNNEL}, "validated": [TEXT]}``,
    shared with ``tests/bin/cloudflared``.
    """

    def __init__(self, log_path: Path, state_path: Path) -> None:
        self.executable = BIN_DIR / "cloudflared"
        self.log_path = log_path
        self.state_path = state_path

    def calls(self) -> list[list[str]]:
        """The arguments of every run so far (without the program name), oldest first."""
        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def set_mode(self, mode: str) -> None:
        """Make the next runs answer as ``mode``: ok, exists-elsewhere, fail, hang, other-zone, no-cert or
        reject-ingress."""
        self._write({**self._state(), "mode": mode})

    def routes(self) -> dict[str, str]:
        """Hostname → tunnel, for every DNS route created so far."""
        return dict(self._state().get("routes", {}))

    def validated(self) -> list[str]:
        """The text of every config ``tunnel ingress validate`` was given, oldest first."""
        return list(self._state().get("validated", []))

    def add_route(self, hostname: str, tunnel: str = "norn") -> None:
        """Pretend ``hostname`` already routes to ``tunnel``, as if routed in an earlier run."""
        state = self._state()
        self._write({**state, "routes": {**state.get("routes", {}), hostname: tunnel}})

    def _state(self) -> dict:
        return json.loads(self.state_path.read_text()) if self.state_path.exists() else {}

    def _write(self, state: dict) -> None:
        self.state_path.write_text(json.dumps(state, indent=2))


@pytest.fixture
def cloudflared_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CloudflaredStandin:
    """The stand-in ``cloudflared`` first on ``PATH``, logging to and keeping state in ``tmp_path``."""
    standin = CloudflaredStandin(tmp_path / "cloudflared-calls.jsonl", tmp_path / "cloudflared-state.json")
    # The test interpreter's directory next, so the script's `env python3` skips slow shims (pyenv: ~0.25 s a run).
    path = [str(BIN_DIR), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
    monkeypatch.setenv("PATH", os.pathsep.join(path))
    monkeypatch.setenv("CLOUDFLARED_STANDIN_LOG", str(standin.log_path))
    monkeypatch.setenv("CLOUDFLARED_STANDIN_STATE", str(standin.state_path))
    monkeypatch.delenv("CLOUDFLARED_STANDIN_MODE", raising=False)
    return standin
