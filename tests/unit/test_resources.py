"""The typed ``resources`` of a state: files written by earlier versions load and are written back unchanged."""

import json
from pathlib import Path

import pytest

from norn.resources import DnsRoute, IngressRule, Resources
from norn.state import ForgeState

# Written by `norn forge` / `norn teardown` of main at 62853c9 (before resources were typed), against the stand-in.
EARLIER = Path(__file__).parent.parent / "fixtures" / "states-62853c9"


@pytest.mark.parametrize("name", sorted(p.name for p in EARLIER.glob("*.json")))
def test_a_state_file_of_an_earlier_version_loads_and_is_written_back_the_same(name):
    stored = json.loads((EARLIER / name).read_text())
    assert ForgeState.from_json(stored).to_json() == stored


def test_the_recorded_objects_read_as_typed_fields():
    state = ForgeState.from_json(json.loads((EARLIER / "forged-webserver.json").read_text()))
    resources = state.resources
    assert resources.deployment == "mail-agent" and resources.service == "mail-agent-service"
    assert resources.persistent_volume_claims == ["mail-agent-data"]
    assert resources.ingress_rule == IngressRule(
        "mail.example.com", "http://mail-agent-service.default.svc.cluster.local:80", "cloudflared/cloudflared")
    assert resources.dns_route.hostname == "mail.example.com" and resources.dns_route.tunnel_id
    assert set(resources.created_uids) == {
        "PersistentVolumeClaim/mail-agent-data", "Deployment/mail-agent", "Service/mail-agent-service"}


def test_uids_of_earlier_versions_stay_unverified_and_a_pending_restart_is_kept():
    stored = json.loads((EARLIER / "forged-webserver.json").read_text())
    stored["resources"]["uids"] = stored["resources"].pop("createdUids")
    stored["resources"]["cloudflaredRestartPending"] = True
    resources = ForgeState.from_json(stored).resources
    assert resources.created_uids == {} and "Deployment/mail-agent" in resources.unverified_uids
    assert resources.cloudflared_restart_pending
    assert ForgeState.from_json(stored).to_json() == stored


def test_after_teardown_only_the_kept_volumes_stay():
    resources = Resources(namespace="default", deployment="web", service="web-svc", kept_volumes=["web-data"],
                          dns_route=DnsRoute("web.example.com", "norn"), created_uids={"Deployment/web": "u"})
    left = resources.after_teardown()
    assert left.to_json() == {"keptVolumes": ["web-data"]}
    assert left.kept_volumes is not resources.kept_volumes


def test_has_objects_ignores_the_namespace_and_kept_volumes():
    assert not Resources(namespace="default", kept_volumes=["a"]).has_objects()
    assert Resources(namespace="default", cron_job="nightly").has_objects()


def test_an_unforged_app_has_empty_resources():
    assert Resources().to_json() == {}
    assert ForgeState("web").to_status_json()["resources"] == {}


@pytest.mark.parametrize("resources, key", [
    ({"deployment": 3}, "deployment"),
    ({"persistentVolumeClaims": "web-data"}, "persistentVolumeClaims"),
    ({"ingressRule": {"hostname": "a.example.com", "service": "http://x"}}, "ingressRule"),
    ({"dnsRoute": {"hostname": "a.example.com", "tunnel": "t", "tunnelId": 7}}, "dnsRoute.tunnelId"),
    ({"cloudflaredRestartPending": "yes"}, "cloudflaredRestartPending"),
    ({"createdUids": {"Deployment/web": 1}}, "createdUids"),
])
def test_a_key_that_does_not_hold_what_norn_writes_makes_the_file_unreadable(resources, key):
    with pytest.raises(TypeError, match=f"resources.{key} "):
        ForgeState.from_json({"app": "web", "status": "forged", "resources": resources})
