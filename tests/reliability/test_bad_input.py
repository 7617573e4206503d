"""Scenario 4: random and mutated input never makes norn crash, and a refusal never touches the cluster.

hypothesis feeds random text and bytes, random YAML documents and mutations of
a valid infraspec to the loader and to ``norn forge``, ``plan`` and
``validate``; random app names to every command; random and mutated state
files to forge, teardown, status and plan. The
properties: no traceback, exit 0 or 2, and on exit 2 no request that writes to
the cluster and no change to the state file.

norn runs in-process (CliRunner) with cloudflared reported missing, so a valid
example forges quickly; the cluster and the state folder are reset after each
example. Examples are derandomized, so every run tries the same ones.
"""

from __future__ import annotations

import itertools
import json
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import norn.cloudflare.cloudflared
from norn.errors import SpecError
from norn.infraspec.loading import load
from tests.integration.conftest import CRON_SPEC, WEB_SPEC
from tests.kubeapi import seed_cloudflared
from tests.reliability import figures
from tests.reliability.harness import FORGE, Norn

EXAMPLES = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- strategies --------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "web", "web-svc", "0", "1Gi", "/data", "* * * * *", "webserver", "cron", "function",
                     "a" * 300, "-web", "Web", "web.example.com", "http://x", "\x00", "~", "null", "yes"]),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
KNOWN_KEYS = ["app", "role", "port", "healthcheck", "replicas", "hosts", "external", "internal", "services",
              "postgres", "database", "secrets", "env", "volumes", "name", "mountPath", "size", "hostPath",
              "schedule", "command", "timeout", "build", "repo", "replcas", "volume", "host"]
keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(max_size=12))
VALID = [yaml.safe_load(WEB_SPEC), yaml.safe_load(CRON_SPEC)]


@st.composite
def mutated_documents(draw) -> object:
    """A valid infraspec with a few random changes: a key dropped, added or given another value, anywhere."""
    doc = json.loads(json.dumps(draw(st.sampled_from(VALID))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        containers = list(_containers(doc))
        container = draw(st.sampled_from(containers))
        action = draw(st.sampled_from(["drop", "set", "add"]))
        if isinstance(container, dict):
            if action == "drop" and container:
                del container[draw(st.sampled_from(sorted(container, key=str)))]
            elif action == "set" and container:
                container[draw(st.sampled_from(sorted(container, key=str)))] = draw(values)
            else:
                container[draw(keys)] = draw(values)
        elif container:
            index = draw(st.integers(min_value=0, max_value=len(container) - 1))
            if action == "drop":
                del container[index]
            else:
                container[index] = draw(values)
    return doc


def _containers(node):
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        if isinstance(child, (dict, list)):
            yield from _containers(child)


@st.composite
def mutated_text(draw, texts: list[str]) -> str:
    """A valid text with a line dropped, duplicated or cut, or random characters spliced in."""
    text = draw(st.sampled_from(texts))
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=max(0, len(lines) - 1)))
        action = draw(st.sampled_from(["drop", "duplicate", "splice", "cut", "indent"]))
        if not lines:
            break
        if action == "drop":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "cut":
            lines = lines[:index]
        elif action == "indent":
            lines[index] = " " * draw(st.integers(0, 5)) + lines[index].lstrip(" ")
        else:
            line = lines[index]
            at = draw(st.integers(min_value=0, max_value=len(line)))
            noise = draw(st.text(alphabet=string.printable + "äé\u2028\t{}[]:&*!|>'\"%@`#", max_size=6))
            lines[index] = line[:at] + noise + line[at:]
    return "".join(lines)


yaml_texts = st.one_of(
    st.text(max_size=200),
    values.map(lambda v: yaml.safe_dump(v, allow_unicode=True)),
    mutated_documents().map(lambda d: yaml.safe_dump(d, allow_unicode=True, sort_keys=False)),
    mutated_text([WEB_SPEC, CRON_SPEC]),
)

# --- the runs ---------------------------------------------------------------------------


@pytest.fixture
def runs(tmp_path: Path, cluster, monkeypatch: pytest.MonkeyPatch):
    """A fresh Norn (state and apps folders) per example, against a cluster reset after each."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(norn.cloudflare.cloudflared, "find", lambda: None)  # no cloudflared: a valid forge stays quick
    counter = itertools.count()

    def fresh() -> Norn:
        reset(cluster)
        return Norn(tmp_path / f"example-{next(counter)}")

    return fresh


def reset(cluster) -> None:
    """The cluster as the fixture seeded it: the operator's cloudflared objects, nothing of norn's."""
    for plural, group in (("deployments", "apps"), ("services", ""), ("persistentvolumeclaims", ""),
                          ("cronjobs", "batch")):
        for obj in cluster.objects(plural, group):
            if obj["metadata"]["namespace"] != "cloudflared":
                cluster.remove(plural, obj["metadata"]["namespace"], obj["metadata"]["name"], group)
    seed_cloudflared(cluster)
    cluster.clear_faults()
    cluster.clear_log()


def check(run, cluster, state_file: Path | None = None, before: bytes | None = None) -> None:
    """No traceback; exit 0 or 2; on exit 2 an error line, no cluster write and the state file as it was."""
    assert run.traceback is None, run.traceback
    assert "Traceback" not in run.stderr, run.stderr
    assert run.code in (0, 2), run.explain()
    figures.count("bad_inputs")
    figures.count("scenarios")
    if run.code == 2:
        figures.count("bad_inputs_exit_2")
        assert [(r.method, r.path) for r in cluster.writes()] == []
        assert (run.stderr + run.stdout).strip(), "an exit 2 says why"  # validate reports on stdout
        if state_file is not None:
            assert (state_file.read_bytes() if state_file.exists() else None) == before


# --- infraspec ------------------------------------------------------------------------------


@EXAMPLES
@given(text=yaml_texts)
def test_the_loader_accepts_or_refuses_with_a_spec_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("spec") / "infraspec.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load(path)
    except SpecError as error:
        assert str(path) in error.message
    figures.count("bad_inputs")
    figures.count("scenarios")


@EXAMPLES
@given(data=st.binary(max_size=200))
def test_the_loader_refuses_bytes_that_are_not_text(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("spec") / "infraspec.yaml"
    path.write_bytes(data)
    try:
        load(path)
    except SpecError:
        pass
    figures.count("bad_inputs")
    figures.count("scenarios")


@EXAMPLES
@given(text=yaml_texts, command=st.sampled_from(["forge", "plan", "validate"]))
def test_any_infraspec_through_the_cli_exits_0_or_2(runs, cluster, text, command):
    norn = runs()
    norn.write_spec(text)
    args = {"forge": FORGE, "plan": ("plan", "web"), "validate": ("validate", "web")}[command]
    run = norn(*args)
    check(run, cluster, norn.state_path(), None)
    if command != "forge":
        assert cluster.writes() == []


# --- app names ----------------------------------------------------------------------------------

app_names = st.one_of(
    st.text(max_size=70),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-.", min_size=1, max_size=70),
    st.sampled_from(["-", "--", "-web", "web-", "a" * 64, "a" * 63, "Web", "web.app", "../web", "web/x", "web\x00",
                     ".", "..", "--help", "--version"]),
)


@EXAMPLES
@given(name=app_names, command=st.sampled_from(["forge", "teardown", "status", "plan", "validate"]))
def test_any_app_name_exits_0_or_2(runs, cluster, name, command):
    norn = runs()
    norn.write_spec(WEB_SPEC)
    args = [command, name, "--yes"] if command == "teardown" else [command, name]
    run = norn(*args)
    if run.code == 1 and command in ("teardown", "status"):  # a valid name with no record nor infraspec (issue 17)
        assert run.stderr.startswith(f"error: no app named {name}\n") and "Traceback" not in run.stderr
    else:
        check(run, cluster)
    assert [(r.method, r.path) for r in cluster.writes()] == []  # no app of that name was ever forged


# --- state files ----------------------------------------------------------------------------------

FORGED_STATE = {
    "version": 1,
    "app": "web",
    "status": "forged",
    "steps": [{"step": "create-deployment", "status": "completed", "output": "created", "durationMs": 3}],
    "resources": {
        "namespace": "default",
        "deployment": "web",
        "persistentVolumeClaims": ["web-data"],
        "service": "web-svc",
        "ingressRule": {"hostname": "web.example.com", "service": "http://web-svc.default.svc.cluster.local:80",
                        "configMap": "cloudflared/cloudflared"},
        "dnsRoute": {"hostname": "web.example.com", "tunnel": "norn"},
        "uids": {"Deployment/web": "u1", "Service/web-svc": "u2", "PersistentVolumeClaim/web-data": "u3"},
    },
    "error": None,
    "startedAt": "2026-11-27T10:00:00.000Z",
    "finishedAt": "2026-11-27T10:00:01.000Z",
    "operation": "forge",
}
STATES = [FORGED_STATE, {**FORGED_STATE, "status": "forge_failed", "error": "create-service: boom"},
          {**FORGED_STATE, "status": "tearing_down", "operation": "teardown"}]


@st.composite
def mutated_states(draw) -> bytes:
    doc = json.loads(json.dumps(draw(st.sampled_from(STATES))))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        container = draw(st.sampled_from(list(_containers(doc))))
        if isinstance(container, dict) and container:
            key = draw(st.sampled_from(sorted(container)))
            if draw(st.booleans()):
                del container[key]
            else:
                container[key] = draw(values)
        elif isinstance(container, list) and container:
            container[draw(st.integers(0, len(container) - 1))] = draw(values)
    return json.dumps(doc).encode()


@st.composite
def flipped_bytes(draw) -> bytes:
    data = bytearray(json.dumps(draw(st.sampled_from(STATES))).encode())
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(len(data) // 2, len(data)))])


state_bytes = st.one_of(st.binary(max_size=200), mutated_states(), flipped_bytes())


@EXAMPLES
@given(data=state_bytes, command=st.sampled_from(["forge", "teardown", "status", "status-all", "plan"]))
def test_any_state_file_exits_0_or_2_and_is_never_overwritten_on_2(runs, cluster, data, command):
    norn = runs()
    norn.write_spec(WEB_SPEC)
    norn.state_dir.mkdir(parents=True)
    path = norn.state_path()
    path.write_bytes(data)
    args = {"forge": FORGE, "teardown": ("teardown", "web", "--yes"), "status": ("status", "web"),
            "status-all": ("status",), "plan": ("plan", "web")}[command]
    run = norn(*args)
    check(run, cluster, path, data)
