"""The pure parts of an in-place update: what is refused, and how env values stay out of the state."""

from norn.infraspec.messages import validate
from norn.infraspec.yamlread import parse
from norn.settings import load
from norn.state import ForgeState, ForgeStatus
from norn.steps import _revealed, manifests, redacted
from norn.steps.update import refusals

WEB = """\
app: web
role: webserver
port: 8080
env:
  LOG_LEVEL: info
volumes:
  - name: data
    mountPath: /data
    size: 2Gi
"""


def spec(text: str = WEB):
    return validate(parse(text, "infraspec.yaml"), "infraspec.yaml")


def forged(text: str = WEB) -> ForgeState:
    settings = load({})
    state = ForgeState("web", ForgeStatus.FORGED, resources={"namespace": "default", "deployment": "web",
                                                             "persistentVolumeClaims": ["web-data"]})
    for claim in manifests.persistent_volume_claims(spec(text), "default"):
        state.applied[f"PersistentVolumeClaim/{claim['metadata']['name']}"] = claim
    state.applied["Deployment/web"] = redacted("web", manifests.deployment(spec(text), settings))
    return state


def test_an_edit_that_can_be_made_in_place_is_not_refused():
    assert refusals(forged(), spec(WEB.replace("2Gi", "3Gi")), load({})) == []


def test_a_shrinking_claim_is_refused_by_value():
    assert refusals(forged(), spec(WEB.replace("2Gi", "2048Mi")), load({})) == []
    [said] = refusals(forged(), spec(WEB.replace("2Gi", "1Gi")), load({}))
    assert said == "PersistentVolumeClaim default/web-data would shrink from 2Gi to 1Gi (a claim can only grow)"


def test_a_role_change_and_a_namespace_change_are_refused():
    cron = "app: web\nrole: cron\nschedule: '0 3 * * *'\ncommand: run\n"
    assert refusals(forged(), spec(cron), load({})) == ["the role would change from webserver or worker to cron"]
    assert refusals(forged(), spec(), load({"NORN_NAMESPACE": "staging"})) == [
        "the namespace would change from default to staging"]


def test_env_values_are_kept_as_digests_and_revealed_only_in_a_patch():
    deployment = manifests.deployment(spec(), load({}))
    kept = redacted("web", deployment)
    env = kept["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["name"] == "LOG_LEVEL" and env[0]["value"].startswith("sha256:") and "info" not in str(kept)
    assert redacted("web", kept) == kept  # stable
    assert redacted("other", deployment) != kept  # the digest is the app's
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [dict(env[0])]}]}}}}
    assert _revealed(patch, deployment)["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "info"
