"""The plan is the real operation run against recording adapters: a dict stands in for the cluster."""

from __future__ import annotations

from norn import settings as settings_module
from norn.infraspec.model import Infraspec
from norn.kube.kinds import CONFIGMAP
from norn.operations import lifecycle
from norn.operations.plan import BLOCKED, FAIL, RUN, SKIP, Plan, plan_forge
from norn.state import ForgeState

SETTINGS = settings_module.load({"NORN_STATE_DIR": "/nonexistent"})
CONFIG = "ingress:\n  - service: http_status:404"  # no newline at the end


class Objects:
    """The reads a plan makes, answered from a dict; any write reaching it would be a bug."""

    def __init__(self, objects: dict) -> None:
        self.objects = objects
        self.reads: list[tuple[str, str, str]] = []

    def get(self, kind, namespace, name):
        self.reads.append((kind.name, namespace, name))
        return self.objects.get((kind.name, namespace, name))

    def check_reachable(self) -> None:
        pass

    def check_namespace(self, namespace: str) -> None:
        pass


class Store:
    def __init__(self, state: ForgeState | None = None) -> None:
        self.state = state
        self.saved: list[ForgeState] = []

    def load(self, app):
        return self.state

    def save(self, state):
        self.saved.append(state)

    def lock(self, app):
        raise AssertionError("a plan takes no lock")


def web(**extra) -> Infraspec:
    return Infraspec.model_validate({"app": "web", "role": "webserver", "port": 80,
                                     "hosts": {"internal": "web-svc", "external": "web.example.com"}, **extra})


def plan(objects: dict, spec: Infraspec | None = None, **options) -> tuple[Plan, Objects, Store]:
    cluster, store = Objects(objects), Store()
    return plan_forge(spec or web(), SETTINGS, store, lambda: cluster, **options), cluster, store


def test_a_config_without_a_final_newline_diffs_like_git():
    found = Plan("web", "forge", "", config_name="cf/cf", config_before="a\nb", config_after="a\nc")
    assert found.config_diff().splitlines()[-4:] == ["-b", "\\ No newline at end of file", "+c", "\\ No newline at end of file"]


def test_restart_follows_the_rule_nothing_is_read_twice_and_nothing_is_saved():
    objects = {("ConfigMap", "cloudflared", "cloudflared"): {"metadata": {}, "data": {"config.yaml": CONFIG + "\n"}},
               ("Deployment", "cloudflared", "cloudflared"): {"metadata": {}}}
    found, cluster, store = plan(objects)
    actions = {s.step: s.action for s in found.steps}
    assert actions["patch-cloudflared"] == RUN and actions["restart-cloudflared"] == RUN
    assert len(cluster.reads) == len(set(cluster.reads))
    assert store.saved == []  # the real store is never written
    assert [w.method for w in found.steps[0].writes] == ["POST"]


def test_a_foreign_object_fails_the_step_and_blocks_the_rest():
    foreign = {("Deployment", "default", "web"): {"metadata": {"labels": {"team": "x"}}}}
    found, _, _ = plan(foreign)
    assert [s.action for s in found.steps] == [FAIL, BLOCKED, BLOCKED, BLOCKED, BLOCKED]
    assert found.steps[1].why == "not reached: create-deployment would fail"
    assert found.objects == [] and found.fails


def test_no_configmap_means_no_rule_and_no_restart():
    found, _, _ = plan({})
    actions = {s.step: s.action for s in found.steps}
    assert actions["patch-cloudflared"] == SKIP and actions["restart-cloudflared"] == SKIP


def test_the_waits_of_wait_are_said_not_polled():
    objects = {("Deployment", "cloudflared", "cloudflared"): {"metadata": {}}}
    found, cluster, _ = plan(objects, wait_seconds=90)
    changes = {s.step: s.changes for s in found.steps}
    assert changes["wait-rollout"] == ["wait up to 1m30s for Deployment default/web to roll out"]
    assert changes["wait-cloudflared"] == ["wait up to 1m30s for Deployment cloudflared/cloudflared to roll out"]


class Dummy:
    """A step no plan code knows: it creates a ConfigMap of the app's."""

    name = "create-dummy"

    def skip_reason(self, ctx):
        return None

    def run(self, ctx):
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{ctx.app}-dummy", "namespace": ctx.namespace}}
        ctx.cluster.create(CONFIGMAP, ctx.namespace, body)
        return "created the dummy"


def test_a_step_added_to_forge_is_planned_with_no_plan_code(monkeypatch):
    real_steps = lifecycle.forge_steps
    monkeypatch.setattr(lifecycle, "forge_steps", lambda spec: [*real_steps(spec), Dummy()])
    found, _, _ = plan({})
    dummy = found.steps[-1]
    assert (dummy.step, dummy.action, dummy.why) == ("create-dummy", RUN, "not done yet")
    assert dummy.changes == ["create ConfigMap default/web-dummy"]
    assert found.objects[-1]["metadata"]["name"] == "web-dummy"

