"""bench/baseline.py: which kubectl the benchmark measures against. No kubectl needed: the binaries
are paths in a dict and their `kubectl version --client` is the text each would print.

How the Google Cloud SDK's dispatcher picks the binary it runs is read from kubernetes' gcloud build,
cmd/kubectl-sdk/pkg/dispatcher/dispatcher.go (Dispatcher.Dispatch: a server of the client's own
major.minor, or none reachable, falls through to the kubectl built in; otherwise it execs
FilepathBuilder.VersionedFilePath, `kubectl.<major>.<minor>` in the directory of the dispatcher's
executable with symlinks resolved, pkg/filepath/filepath.go); GoogleCloudPlatform/kubectl-dispatcher,
pkg/dispatcher/dispatcher.go and pkg/filepath/filepath.go, the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.baseline import Refused, beside_dispatcher, client_version, find, is_dispatcher

SDK = Path("/usr/lib/google-cloud-sdk/bin")
DISPATCHER_OUT = "Client Version: v1.32.4-dispatcher\nKustomize Version: v5.5.0\n"
PLAIN_OUT = "Client Version: v1.32.5\nKustomize Version: v5.5.0\n"
OLD_OUT = (  # kubectl before 1.28 prints the whole version.Info
    'Client Version: version.Info{Major:"1", Minor:"27", GitVersion:"v1.27.16", '
    'GitCommit:"cbb86e0d7f4a049666fac0551e8b02ef3d6c3d9a", GitTreeState:"clean"}\nKustomize Version: v5.0.1\n'
)


def machine(outputs: dict[str, str], on_path: str | None = "/usr/bin/kubectl", links: dict[str, str] | None = None):
    """find()'s arguments for a machine holding ``outputs`` (path -> its version output)."""
    links = links or {"/usr/bin/kubectl": str(SDK / "kubectl")}
    return {
        "which": lambda name: on_path,
        "version": lambda path: outputs[str(path)],
        "resolve": lambda path: Path(links.get(str(path), str(path))),
        "exists": lambda path: str(path) in outputs or str(path) in links,
    }


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (DISPATCHER_OUT, ("v1.32.4-dispatcher", 1, 32)),
        (PLAIN_OUT, ("v1.32.5", 1, 32)),
        (OLD_OUT, ("v1.27.16", 1, 27)),
        ("Client Version: v1.33.1+k3s1\n", ("v1.33.1+k3s1", 1, 33)),
        ("error: unknown flag\n", None),
    ],
)
def test_client_version_reads_both_layouts(output, expected):
    assert client_version(output) == expected


def test_dispatcher_is_told_by_its_version_suffix():
    assert is_dispatcher("v1.32.4-dispatcher")
    assert not is_dispatcher("v1.32.5")


def test_the_plain_binary_of_the_dispatchers_version_sits_beside_it():
    assert beside_dispatcher(SDK / "kubectl", 1, 32) == SDK / "kubectl.1.32"


def test_a_dispatcher_on_path_gives_way_to_the_binary_beside_its_resolved_path():
    outputs = {"/usr/bin/kubectl": DISPATCHER_OUT, str(SDK / "kubectl.1.32"): PLAIN_OUT,
               str(SDK / "kubectl.1.31"): "Client Version: v1.31.9\n"}
    assert find(None, **machine(outputs)) == (SDK / "kubectl.1.32", "v1.32.5")


def test_a_plain_kubectl_on_path_is_the_baseline_as_it_is():
    outputs = {"/usr/local/bin/kubectl": PLAIN_OUT}
    assert find(None, **machine(outputs, on_path="/usr/local/bin/kubectl")) == (Path("/usr/local/bin/kubectl"), "v1.32.5")


def test_kubectl_env_names_the_binary():
    outputs = {"/usr/bin/kubectl": DISPATCHER_OUT, "/opt/kubectl": OLD_OUT}
    assert find("/opt/kubectl", **machine(outputs)) == (Path("/opt/kubectl"), "v1.27.16")


def test_kubectl_env_naming_a_dispatcher_is_refused():
    outputs = {"/usr/bin/kubectl": DISPATCHER_OUT, str(SDK / "kubectl.1.32"): PLAIN_OUT}
    with pytest.raises(Refused, match="KUBECTL=/usr/bin/kubectl is the Google Cloud SDK's dispatcher"):
        find("/usr/bin/kubectl", **machine(outputs))


@pytest.mark.parametrize(
    ("beside", "why"),
    [
        ({}, "kubectl.1.32 does not exist"),  # an SDK without the versioned binaries
        ({str(SDK / "kubectl.1.32"): DISPATCHER_OUT}, "is not a plain kubectl 1.32"),
        ({str(SDK / "kubectl.1.32"): "Client Version: v1.31.9\n"}, "is not a plain kubectl 1.32"),
    ],
)
def test_a_dispatcher_with_no_plain_binary_of_its_version_is_refused(beside, why):
    outputs = {"/usr/bin/kubectl": DISPATCHER_OUT, **beside}
    with pytest.raises(Refused, match=why):
        find(None, **machine(outputs))


def test_no_kubectl_at_all_is_refused():
    with pytest.raises(Refused, match="kubectl is not on PATH and KUBECTL is not set"):
        find(None, **machine({}, on_path=None))
    with pytest.raises(Refused, match="KUBECTL=/nowhere/kubectl does not exist"):
        find("/nowhere/kubectl", **machine({}))
