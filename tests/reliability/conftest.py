"""Fixtures of the reliability suite, and its figures in pytest's terminal summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import WEB_SPEC
from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG, KubeAPI, seed_cloudflared
from tests.kubeapi.fixtures import BIN_DIR
from tests.reliability import figures
from tests.reliability.harness import (
    FORGE,
    TEARDOWN,
    Norn,
    Reference,
    configmap_text,
    ingress_rules,
    snapshot,
)


@pytest.fixture
def norn(tmp_path: Path, cluster, cloudflared_bin, monkeypatch: pytest.MonkeyPatch) -> Norn:
    """norn wired to a stand-in cluster (cloudflared deployed) and the stand-in cloudflared, with the web app's spec."""
    monkeypatch.chdir(tmp_path)
    runner = Norn(tmp_path)
    runner.write_spec(WEB_SPEC)
    return runner


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """Forge and tear down the web app once, undisturbed, by real norn processes: what every rerun must equal."""
    tmp = tmp_path_factory.mktemp("reference")
    (tmp / "apps" / "web").mkdir(parents=True)
    (tmp / "apps" / "web" / "infraspec.yaml").write_text(WEB_SPEC)
    with KubeAPI() as server:
        seed_cloudflared(server)
        env = dict(os.environ)
        env.update(
            KUBECONFIG=str(server.write_kubeconfig(tmp / "kubeconfig")),
            PATH=os.pathsep.join([str(BIN_DIR), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            CLOUDFLARED_STANDIN_STATE=str(tmp / "cloudflared-state.json"),
            CLOUDFLARED_STANDIN_LOG=str(tmp / "cloudflared-calls.jsonl"),
            NORN_STATE_DIR=str(tmp / "state"),
            NORN_APPS_DIR=str(tmp / "apps"),
        )
        env.pop("CLOUDFLARED_STANDIN_MODE", None)

        def norn(args: tuple[str, ...]) -> None:
            done = subprocess.run(
                [sys.executable, "-m", "norn", *args], env=env, cwd=tmp, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stdout + done.stderr

        norn(FORGE)
        forged, forged_text = snapshot(server), configmap_text(server)
        norn(TEARDOWN)
        torn_down, torn_down_text = snapshot(server), configmap_text(server)
    assert [rule.get("hostname") for rule in ingress_rules(forged_text)].count("web.example.com") == 1
    assert torn_down_text == DEFAULT_CLOUDFLARED_CONFIG
    return Reference(forged, forged_text, torn_down, torn_down_text)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not figures.counts:
        return
    terminalreporter.section("norn reliability figures")
    for line in figures.lines():
        terminalreporter.write_line(line)
    path = os.environ.get("NORN_FIGURES")
    if path:
        figures.write(path)
        terminalreporter.write_line(f"(written to {path})")
