"""A teardown never deletes the CNAME that a rule someone else owns still needs (never touch what is not ours).

The operator may point the rule norn added for an app's hostname at a service of their own. At teardown that
rule is theirs: unpatch-cloudflared leaves it and fails, as it does today (ingress.remove_recorded, the refusal
of ingress_owners.refuse_others), and remove-dns-route, which runs before it, keeps the hostname's CNAME, which
their rule needs: cloudflare/cloudflared ingress/ingress.go FindMatchingRule routes a request by the first rule
whose hostname matches (ingress/rule.go Matches, matchHost), path rules included, and the request reaches the
tunnel only through the hostname's CNAME to <tunnel id>.cfargotunnel.com (cmd/cloudflared/tunnel/subcommands.go
routeDnsCommand). A name has one CNAME at most (RFC 1034 3.6.2), so deleting it takes the hostname off the tunnel
for every rule of it.
"""

from __future__ import annotations

import json

import yaml

from tests.integration.conftest import WEB_SPEC, configmap_text
from tests.integration.test_dns_route import example_zone, forge, outputs, target
from tests.integration.test_live import cluster_resource
from tests.integration.test_many_apps import CONFIGMAP, counts, write_apps
from tests.integration.test_update_foreign_rules import OTHERS, point_elsewhere

KEPT = (f"warning: kept the CNAME web.example.com: the cloudflared config still routes it to {OTHERS}, with a rule "
        "that is not norn's (no longer norn's to delete)")


def rules(cluster) -> list[dict]:
    return yaml.safe_load(configmap_text(cluster))["ingress"]


def add_rule_above_catch_all(cluster, rule: str) -> None:
    configmap = cluster.get_object("configmaps", "cloudflared", "cloudflared")
    text = configmap["data"]["config.yaml"]
    catch_all = text.index("  - service: http_status:404")
    configmap["data"]["config.yaml"] = text[:catch_all] + rule + text[catch_all:]
    cluster.store.replace(cluster_resource("configmaps", ""), "cloudflared", "cloudflared", configmap)


def test_a_rule_pointed_elsewhere_keeps_its_cname_and_the_teardown_stops_at_the_rule(norn, cluster, cfapi):
    forge(norn)
    record = cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    point_elsewhere(cluster, "web.example.com", OTHERS)
    before = rules(cluster)
    cluster.clear_log()
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 1, run.stdout + run.stderr  # unpatch-cloudflared refuses their rule, as before this change
    said = outputs(run)
    assert said["remove-dns-route"] == KEPT
    assert said["unpatch-cloudflared"].startswith(
        f"web.example.com is routed to {OTHERS}, not http://web-svc.default.svc.cluster.local:80; "
        "norn left that rule in place")
    assert record["id"] in {r["id"] for r in cfapi.records()} and cfapi.count("DELETE") == 0
    assert not [r for r in cfapi.requests]  # kept before any zone lookup: nothing of theirs is even asked about
    assert rules(cluster) == before  # their rule, and every other, as they were
    assert [(r.method, r.path) for r in cluster.requests if r.method != "GET"] == []
    assert cluster.count("GET", CONFIGMAP) == 2  # remove-dns-route's read, unpatch-cloudflared's
    resources = norn.state("web")["resources"]
    assert "dnsRoute" not in resources  # forgotten, as a record left with a warning: never retried
    rerun = norn("teardown", "web", "--yes", "--output", "json")
    assert outputs(rerun)["remove-dns-route"] == "no DNS route recorded"
    assert record["id"] in {r["id"] for r in cfapi.records()}


def test_a_path_rule_of_theirs_for_the_hostname_keeps_the_cname_and_norns_rule_goes(norn, cluster, cfapi):
    forge(norn)
    record = cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    add_rule_above_catch_all(cluster, f"  - hostname: web.example.com\n    path: ^/blog\n    service: {OTHERS}\n")
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 0, run.stdout + run.stderr
    said = outputs(run)["remove-dns-route"]
    assert said == KEPT
    assert record["id"] in {r["id"] for r in cfapi.records()}
    assert [(r.get("hostname"), r.get("path")) for r in rules(cluster)][-2:] == [("web.example.com", "^/blog"),
                                                                                  (None, None)]
    assert norn.state("web")["status"] == "unforged"


def test_norns_own_rule_unchanged_still_gets_its_cname_deleted(norn, cluster, cfapi):
    forge(norn)
    record = cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    cluster.clear_log()
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 0, run.stdout + run.stderr
    assert outputs(run)["remove-dns-route"] == f"deleted the CNAME web.example.com → {target()} in zone example.com"
    assert record["id"] not in {r["id"] for r in cfapi.records()}
    # one read of the ConfigMap for the ownership check, one for unpatch-cloudflared's read-modify-write
    assert cluster.count("GET", CONFIGMAP) == 2 and cluster.count("PUT", CONFIGMAP) == 1


def test_a_route_an_unfinished_update_replaced_keeps_its_cname_while_their_rule_routes_it(norn, cluster, cfapi):
    forge(norn)
    path = norn.state_dir / "web.json"  # as an update cut off after it renamed old.example.com to web.example.com
    state = json.loads(path.read_text())
    old = {**state["resources"]["dnsRoute"], "hostname": "old.example.com"}
    state["resources"]["replaced"] = {"dnsRoutes": [old]}
    path.write_text(json.dumps(state))
    add_rule_above_catch_all(cluster, f"  - hostname: old.example.com\n    service: {OTHERS}\n")
    zone = example_zone(cfapi)
    mine, theirs = (cfapi.add_record(zone, name, target()) for name in ("web.example.com", "old.example.com"))
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 0, run.stdout + run.stderr
    assert outputs(run)["remove-dns-route"].splitlines() == [
        f"deleted the CNAME web.example.com → {target()} in zone example.com",
        KEPT.replace("web.example.com", "old.example.com"),
    ]
    assert [r["id"] for r in cfapi.records()] == [theirs["id"]]
    assert ("old.example.com", OTHERS) in [(r.get("hostname"), r["service"]) for r in rules(cluster)]
    assert not norn.state("web")["resources"].get("replaced", {}).get("dnsRoutes")


def test_without_a_token_nothing_is_read_for_the_check(norn, cluster, cfapi, monkeypatch):
    forge(norn)
    point_elsewhere(cluster, "web.example.com", OTHERS)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    cluster.clear_log()
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert outputs(run)["remove-dns-route"].startswith("warning: no CLOUDFLARE_API_TOKEN, so the CNAME web.example.com")
    assert cluster.count("GET", CONFIGMAP) == 1  # unpatch-cloudflared's only: without a token nothing is deleted


def test_the_dry_run_says_the_cname_would_be_kept_and_why(norn, cluster, cfapi):
    forge(norn)
    record = cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    point_elsewhere(cluster, "web.example.com", OTHERS)
    run = norn("teardown", "web", "--dry-run")
    lines = run.stdout.splitlines()
    assert (f"      keep the CNAME web.example.com: the cloudflared config still routes it to {OTHERS}, with a rule "
            "that is not norn's") in lines, run.stdout
    assert "Kept:" in lines
    assert (f"  DNS record web.example.com → tunnel norn: the cloudflared config still routes it to {OTHERS}, "
            "with a rule that is not norn's") in lines
    assert not any("delete the CNAME" in line for line in lines)
    assert cfapi.count("DELETE") == 0 and record["id"] in {r["id"] for r in cfapi.records()}


def test_a_many_app_teardown_reads_the_config_once_for_all_its_checks(norn, cluster, cfapi):
    """Each app's check in the one read of the run (the READ point of steps/tunnel_batch.py), then the one write."""
    apps = write_apps(norn, 3)
    assert norn("forge", *apps, timeout=120).code == 0
    zone = example_zone(cfapi)
    tunnel = norn.state(apps[0])["resources"]["dnsRoute"]["tunnelId"]
    records = {app: cfapi.add_record(zone, f"{app}.example.com", target(tunnel)) for app in apps}
    point_elsewhere(cluster, "app-01.example.com", OTHERS)
    cluster.clear_log()
    run = norn("teardown", *apps, "--yes", "--output", "json", timeout=120)
    assert run.code == 1, run.stdout + run.stderr  # app-01's teardown stops at their rule, as it does alone
    said = {e["app"]: e["payload"].get("output", "") for e in run.events()
            if e["type"] == "teardown.step" and e["payload"]["step"] == "remove-dns-route"
            and e["payload"]["status"] == "completed"}
    assert said["app-01"] == KEPT.replace("web.example.com", "app-01.example.com")
    assert {r["id"] for r in cfapi.records()} == {records["app-01"]["id"]}
    assert counts(cluster, CONFIGMAP) == {"GET": 2, "PUT": 1}  # the checks' one read; the edit's read and write
    assert [rule.get("hostname") for rule in rules(cluster)] == ["grafana.example.com", "app-01.example.com", None]
