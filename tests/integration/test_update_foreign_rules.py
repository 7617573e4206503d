"""An update never takes over a route someone else set up (issue 16: what others own is kept).

The operator may point the rule of a hostname norn routed at a service of their own. When the app's
`hosts.external` is then renamed, the old hostname's rule is theirs: it stays as they wrote it, the new
hostname gets a rule as forge adds one, and the old hostname's CNAME, which their rule needs, is kept.
cloudflared routes a request by the first rule whose hostname matches (cloudflare/cloudflared
ingress/ingress.go FindMatchingRule), and a hostname reaches the tunnel only through its CNAME to
<tunnel id>.cfargotunnel.com (cloudflared cmd/cloudflared/tunnel/subcommands.go routeDnsCommand).
"""

from __future__ import annotations

import yaml

from tests.integration.conftest import WEB_SPEC, configmap_text
from tests.integration.test_update import forged, outputs, update
from tests.integration.test_live import cluster_resource

OTHERS = "http://blog.other.svc.cluster.local:80"


def point_elsewhere(cluster, hostname: str, service: str) -> None:
    configmap = cluster.get_object("configmaps", "cloudflared", "cloudflared")
    text = configmap["data"]["config.yaml"]
    rules = yaml.safe_load(text)["ingress"]
    mine = next(rule for rule in rules if rule.get("hostname") == hostname)
    configmap["data"]["config.yaml"] = text.replace(f"service: {mine['service']}", f"service: {service}", 1)
    cluster.store.replace(cluster_resource("configmaps", ""), "cloudflared", "cloudflared", configmap)


def test_a_renamed_hostname_leaves_a_rule_pointed_elsewhere_and_its_record(norn, cluster, cloudflared_bin, cfapi):
    forged(norn)
    zone = next(z for z in cfapi.zones.values() if z["name"] == "example.com")
    tunnel = norn.state("web")["resources"]["dnsRoute"]["tunnelId"]
    old = cfapi.add_record(zone, "web.example.com", f"{tunnel}.cfargotunnel.com")
    point_elsewhere(cluster, "web.example.com", OTHERS)
    run = update(norn, cluster, WEB_SPEC.replace("external: web.example.com", "external: www.example.com"),
                 CLOUDFLARE_API_TOKEN="t0ken")
    rules = {rule.get("hostname"): rule["service"] for rule in yaml.safe_load(configmap_text(cluster))["ingress"]}
    assert rules["web.example.com"] == OTHERS  # theirs, untouched
    assert rules["www.example.com"] == "http://web-svc.default.svc.cluster.local:80"
    assert old["id"] in {record["id"] for record in cfapi.records()}  # their rule needs the CNAME
    status, said = outputs(run)["remove-replaced"]
    assert status == "completed" and f"kept the CNAME web.example.com: the cloudflared config still routes it to {OTHERS}" in said
    assert not norn.state("web")["resources"].get("replaced", {}).get("dnsRoutes")
    assert norn.state("web")["status"] == "forged"
