"""The planner is pure given what it reads: a dict stands in for the cluster."""

from norn import settings as settings_module
from norn.infraspec.model import Infraspec
from norn.operations.plan import FAIL, RUN, SKIP, Plan, plan_forge
from norn.state import ForgeState

SETTINGS = settings_module.load({"NORN_STATE_DIR": "/nonexistent"})
CONFIG = "ingress:\n  - service: http_status:404"  # no newline at the end


def look_in(objects: dict):
    return lambda kind, namespace, name: objects.get((kind.name, namespace, name))


def web(**extra) -> Infraspec:
    return Infraspec.model_validate({"app": "web", "role": "webserver", "port": 80,
                                     "hosts": {"internal": "web-svc", "external": "web.example.com"}, **extra})


def test_a_config_without_a_final_newline_diffs_like_git():
    plan = Plan("web", "forge", "", config_name="cf/cf", config_before="a\nb", config_after="a\nc")
    assert plan.config_diff().splitlines()[-4:] == ["-b", "\\ No newline at end of file", "+c", "\\ No newline at end of file"]


def test_restart_follows_the_rule_and_nothing_is_read_twice():
    reads = []
    objects = {("ConfigMap", "cloudflared", "cloudflared"): {"metadata": {}, "data": {"config.yaml": CONFIG + "\n"}},
               ("Deployment", "cloudflared", "cloudflared"): {"metadata": {}}}

    def look(kind, namespace, name):
        reads.append((kind.name, namespace, name))
        return look_in(objects)(kind, namespace, name)

    plan = plan_forge(web(), SETTINGS, ForgeState("web"), look)
    actions = {s.step: s.action for s in plan.steps}
    assert actions["patch-cloudflared"] == RUN and actions["restart-cloudflared"] == RUN
    assert len(reads) == len(set(reads))


def test_a_foreign_object_fails_the_step_and_blocks_the_rest():
    foreign = {("Deployment", "default", "web"): {"metadata": {"labels": {"team": "x"}}}}
    plan = plan_forge(web(), SETTINGS, ForgeState("web"), look_in(foreign))
    assert [s.action for s in plan.steps] == [FAIL, "blocked", "blocked", "blocked", "blocked"]
    assert plan.objects == [] and plan.fails


def test_no_configmap_means_no_rule_and_no_restart():
    plan = plan_forge(web(), SETTINGS, ForgeState("web"), look_in({}))
    actions = {s.step: s.action for s in plan.steps}
    assert actions["patch-cloudflared"] == SKIP and actions["restart-cloudflared"] == SKIP
