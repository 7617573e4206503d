"""--kubeconfig PATH on every command that talks to a cluster: it wins over KUBECONFIG.

As kubectl's --kubeconfig: client-go's loader (kubernetes/kubernetes,
staging/src/k8s.io/client-go/tools/clientcmd/loader.go, ClientConfigLoadingRules.Load) takes an
ExplicitPath as the one file to read, never merged with or split like KUBECONFIG's list
(NewDefaultClientConfigLoadingRules reads KUBECONFIG only into Precedence, which an ExplicitPath
replaces), and "a missing ExplicitPath file produces an error" (os.Stat, os.IsNotExist). norn
refuses such a file with one line naming it, exit 2, before any request.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.integration.conftest import WEB_SPEC, unreachable_kubeconfig

API_SPEC = "app: api\nrole: worker\n"


@pytest.fixture
def flags(norn, cluster, tmp_path):
    """KUBECONFIG points at a cluster nobody serves; --kubeconfig at the stand-in."""
    good = os.environ["KUBECONFIG"]
    down, _ = unreachable_kubeconfig(tmp_path / "down.yaml")
    norn.write_spec(WEB_SPEC)
    return {"good": good, "env": {"KUBECONFIG": str(down)}}


def test_forge_plan_status_and_teardown_use_the_flag_over_kubeconfig(norn, cluster, flags):
    good, env = flags["good"], flags["env"]
    assert norn("forge", "web", **env).code != 0  # KUBECONFIG alone: the server that is down
    assert cluster.count("POST", "/deployments") == 0

    planned = norn("plan", "web", "--kubeconfig", good, **env)
    assert planned.code == 0, planned.stderr
    forged = norn("forge", "web", "--kubeconfig", good, **env)
    assert forged.code == 0, forged.stderr
    assert norn.state("web")["status"] == "forged"
    assert cluster.get_object("deployments", "default", "web", group="apps") is not None

    live = norn("status", "web", "--live", "-o", "json", "--kubeconfig", good, **env)
    assert live.code == 0, live.stderr
    assert json.loads(live.stdout)["drift"] == []

    dry = norn("teardown", "web", "--dry-run", "--kubeconfig", good, **env)
    assert dry.code == 0, dry.stderr
    torn = norn("teardown", "web", "--yes", "--kubeconfig", good, **env)
    assert torn.code == 0, torn.stderr
    assert norn.state("web")["status"] == "unforged"


def test_the_kubernetes_state_backend_and_state_migrate_use_the_flag(norn, cluster, flags):
    good, env = flags["good"], flags["env"]
    assert norn("forge", "web", "--kubeconfig", good, **env).code == 0  # a local record to copy
    migrated = norn("state", "migrate", "--to", "kubernetes", "-o", "json", "--kubeconfig", good, **env)
    assert migrated.code == 0, migrated.stderr
    assert [r["result"] for r in json.loads(migrated.stdout)] == ["copied"]
    assert cluster.get_object("secrets", "default", "norn-state-web") is not None

    shown = norn("status", "-o", "json", "--state-backend", "kubernetes", "--kubeconfig", good, **env)
    assert shown.code == 0, shown.stderr
    assert [s["app"] for s in json.loads(shown.stdout)] == ["web"]


COMMANDS = {
    "forge": ["forge", "api"],  # not forged yet: a forged, unchanged app is up to date without connecting
    "plan": ["plan", "api"],
    "teardown": ["teardown", "web", "--yes"],
    "status --live": ["status", "--live"],
    "status (kubernetes backend)": ["status", "--state-backend", "kubernetes"],
    "state migrate": ["state", "migrate", "--to", "kubernetes"],
}


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "nowhere" / "config"


def _directory(tmp_path: Path) -> Path:
    (tmp_path / "kube").mkdir()
    return tmp_path / "kube"


@pytest.mark.parametrize("make, says", [(_missing, "does not exist (given with --kubeconfig)"),
                                        (_directory, "is a directory, not a file")], ids=["missing", "a directory"])
@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
def test_a_kubeconfig_flag_norn_cannot_use_exits_2_naming_it_before_any_request(
    norn, cluster, tmp_path, command, make, says
):
    norn.write_spec(WEB_SPEC)
    norn.write_spec(API_SPEC)
    assert norn("forge", "web").code == 0  # KUBECONFIG works: the flag alone is at fault
    cluster.clear_log()
    before = norn.state("web")
    path = make(tmp_path)

    run = norn(*COMMANDS[command], "--kubeconfig", str(path))

    assert run.code == 2, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: kubeconfig {path} {says}"]
    assert "Traceback" not in run.stderr
    assert cluster.requests == []
    assert norn.state("web") == before
    assert not (norn.state_dir / "api.json").exists()


def test_a_kubeconfig_flag_is_one_file_not_a_list(norn, cluster, tmp_path):
    """KUBECONFIG may list files (a:b); an ExplicitPath is one file, so `a:b` names a file that is not there."""
    good = os.environ["KUBECONFIG"]
    norn.write_spec(WEB_SPEC)
    listed = f"{good}{os.pathsep}{good}"
    run = norn("plan", "web", "--kubeconfig", listed)
    assert run.code == 2
    assert f"error: kubeconfig {listed} does not exist (given with --kubeconfig)" in run.stderr
    assert norn("plan", "web", KUBECONFIG=listed).code == 0  # the same list in KUBECONFIG is merged
