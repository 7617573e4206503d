"""What a plan records is what the real command then sends: method, path and body of every write.

The plan's recorded writes are read off the stand-in's request log through
``--server-dry-run``, which sends each of them with ``dryRun=All`` (and stores
nothing); the real command's writes follow on the same cluster. One field is
volatile and set aside: the restartedAt annotation, a timestamp in seconds;
and in a forced re-forge the second replace of the cloudflared ConfigMap carries
the resourceVersion the server gave the first, which only the server knows, so
resourceVersion is set aside as well. Of
the real command's writes, those the server refused as AlreadyExists are set
aside too: forge POSTs an object it kept (a volume) to find it is there, while
the plan, which has read it, knows and records no write.
"""

from __future__ import annotations

from tests.integration.conftest import WEB_SPEC

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def sent(requests) -> list[tuple[str, str, object]]:
    return [(r.method, r.path, _steady(r.body)) for r in requests if r.method != "GET"]


def _steady(body):
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
        body["metadata"].pop("resourceVersion", None)
    annotations = (((body or {}).get("spec") or {}).get("template") or {}).get("metadata", {}).get("annotations")
    if isinstance(annotations, dict) and RESTARTED_AT in annotations:
        annotations[RESTARTED_AT] = "(a timestamp)"
    return body


def planned_then_real(norn, cluster, plan_args, real_args):
    cluster.clear_log()
    plan = norn(*plan_args, "--server-dry-run")
    assert plan.code == 0, plan.stdout + plan.stderr
    recorded = cluster.writes()
    assert recorded and all(r.query == {"dryRun": "All"} for r in recorded)
    cluster.clear_log()
    real = norn(*real_args)
    assert real.code == 0, real.stdout + real.stderr
    return sent(recorded), sent(r for r in cluster.writes() if r.status is not None and r.status < 300)


def test_a_fresh_forge_sends_what_its_plan_recorded(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    planned, real = planned_then_real(norn, cluster, ("plan", "web"), ("forge", "web"))
    assert planned == real
    assert [m for m, _, _ in real] == ["POST", "POST", "POST", "PUT", "PATCH"]


def test_a_resumed_forge_sends_what_its_plan_recorded(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    cloudflared_bin.set_mode("fail")
    assert norn("forge", "web").code == 1
    cloudflared_bin.set_mode("ok")
    planned, real = planned_then_real(norn, cluster, ("plan", "web"), ("forge", "web"))
    assert planned == real and [m for m, _, _ in real] == ["PATCH"]


def test_a_teardown_sends_what_its_plan_recorded(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    planned, real = planned_then_real(
        norn, cluster, ("teardown", "web", "--delete-volumes"), ("teardown", "web", "--yes", "--delete-volumes")
    )
    assert planned == real
    assert [m for m, _, _ in real] == ["PUT", "PATCH", "DELETE", "DELETE", "DELETE"]


def test_a_forced_reforge_sends_what_its_plan_recorded(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    planned, real = planned_then_real(norn, cluster, ("plan", "web", "--force"), ("forge", "web", "--force", "--yes"))
    assert planned == real
    assert [m for m, _, _ in real] == ["PUT", "PATCH", "DELETE", "DELETE", "POST", "POST", "PUT", "PATCH"]


def test_an_update_sends_what_its_plan_recorded(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    norn.write_spec(WEB_SPEC.replace("replicas: 2", "replicas: 3").replace("internal: web-svc", "internal: web-api"))
    planned, real = planned_then_real(norn, cluster, ("plan", "web"), ("forge", "web"))
    assert planned == real
    assert [m for m, _, _ in real] == ["PATCH", "POST", "PUT", "PATCH", "DELETE"]
