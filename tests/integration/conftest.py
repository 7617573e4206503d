"""Integration fixtures: the real norn, as a process, against the stand-ins.

norn reaches the stand-in API server through KUBECONFIG and the stand-in
cloudflared through PATH, exactly as a user's norn reaches theirs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

WEB_SPEC = """\
app: web
role: webserver
port: 8080
healthcheck: /health
replicas: 2
hosts:
  external: web.example.com
  internal: web-svc
services:
  postgres:
    database: web_db
secrets:
  - API_KEY
env:
  LOG_LEVEL: info
volumes:
  - name: data
    mountPath: /data
    size: 1Gi
"""

CRON_SPEC = """\
app: nightly
role: cron
schedule: "0 3 * * *"
command: python -m report
timeout: 600
"""

WEB_STEPS = ["create-deployment", "create-service", "patch-cloudflared", "create-dns-route", "restart-cloudflared"]
TEARDOWN_STEPS = ["remove-dns-route", "unpatch-cloudflared", "restart-cloudflared", "delete-service", "delete-deployment"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def steps(self) -> dict[str, str]:
        """step -> its final status, from NDJSON output."""
        return {e["payload"]["step"]: e["payload"]["status"] for e in self.events() if e["type"].endswith(".step")}


class Norn:
    """Runs ``python -m norn`` in a child process with the test's environment."""

    def __init__(self, tmp_path: Path) -> None:
        self.state_dir = tmp_path / "state"
        self.apps_dir = tmp_path / "apps"
        self.apps_dir.mkdir()
        self.cwd = tmp_path

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(NORN_STATE_DIR=str(self.state_dir), NORN_APPS_DIR=str(self.apps_dir))
        env.pop("NO_COLOR", None)
        env.update(extra)
        return env

    def __call__(self, *args: str, timeout: float = 60, **extra_env: str) -> Run:
        done = subprocess.run(
            [sys.executable, "-m", "norn", *args],
            cwd=self.cwd,
            env=self.env(**extra_env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str, **extra_env: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "norn", *args],
            cwd=self.cwd,
            env=self.env(**extra_env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def write_spec(self, text: str, folder: str | None = None) -> Path:
        folder = folder or text.split("app:", 1)[1].split()[0]
        path = self.apps_dir / folder / "infraspec.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def state(self, app: str) -> dict:
        return json.loads((self.state_dir / f"{app}.json").read_text())


@pytest.fixture(autouse=True)
def _no_real_cloudflare(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own Cloudflare token or tunnel never reaches a test (``cfapi`` sets its own)."""
    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_BASE_URL", "NORN_TUNNEL_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def norn(tmp_path: Path, cluster, cloudflared_bin) -> Norn:
    """A norn wired to a stand-in cluster with cloudflared deployed, and the stand-in cloudflared."""
    return Norn(tmp_path)


def configmap_text(server) -> str:
    return server.get_object("configmaps", "cloudflared", "cloudflared")["data"]["config.yaml"]


def app_objects(server) -> dict:
    """What an app forge leaves in the cluster, without volatile metadata."""
    result = {}
    for plural, group in [
        ("deployments", "apps"),
        ("services", ""),
        ("persistentvolumeclaims", ""),
        ("cronjobs", "batch"),
    ]:
        for obj in server.objects(plural, group):
            if obj["metadata"].get("namespace") == "cloudflared":
                continue
            spec = {k: v for k, v in (obj.get("spec") or {}).items() if k not in ("clusterIP", "clusterIPs")}
            result[f"{plural}/{obj['metadata']['namespace']}/{obj['metadata']['name']}"] = spec
    return result


def start_held(norn: Norn, cluster, method: str, path: str, *args: str) -> subprocess.Popen:
    """Start ``norn *args`` and return once the server holds its first ``method`` request to ``path``."""
    cluster.inject(method=method, path_contains=path, delay=30)
    process = norn.popen(*args)
    deadline = time.monotonic() + 20
    while not cluster.count(method, path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return process


def unreachable_kubeconfig(path: Path) -> tuple[Path, int]:
    """A kubeconfig whose server is a localhost port nobody listens on, and that port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: down\n"
        f"clusters: [{{name: down, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: me, user: {token: t}}]\n"
        "contexts: [{name: down, context: {cluster: down, user: me}}]\n"
    )
    return path, port
