"""patch-cloudflared / unpatch-cloudflared validate the new config before writing it, and check the write."""

from __future__ import annotations

from tests.integration.conftest import WEB_SPEC, configmap_text
from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG, seed_cloudflared


def reseed(cluster, text: str) -> None:
    cluster.remove("configmaps", "cloudflared", "cloudflared")
    cluster.remove("deployments", "cloudflared", "cloudflared", group="apps")
    seed_cloudflared(cluster, config_text=text)


def failure(run) -> dict:
    return next(e for e in run.events() if e["type"].endswith(".failed"))["payload"]


def configmap_puts(cluster) -> int:
    return cluster.count("PUT", "/configmaps/cloudflared")


def test_cloudflared_rejecting_the_new_config_leaves_the_configmap_untouched(norn, cluster, cloudflared_bin):
    cloudflared_bin.set_mode("reject-ingress")
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    error = failure(run)
    assert error["step"] == "patch-cloudflared"
    assert "cloudflared rejected the new config" in error["error"] and "Validation failed" in error["error"]
    assert "ConfigMap was left unchanged" in error["error"]
    assert configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG
    assert configmap_puts(cluster) == 0
    [checked] = cloudflared_bin.validated()  # it was shown the config with norn's rule in it
    assert "web.example.com" in checked and "grafana.example.com" in checked
    assert "ingressRule" not in norn.state("web")["resources"]


def test_unpatch_is_validated_too(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    forged = configmap_text(cluster)
    cloudflared_bin.set_mode("reject-ingress")
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 1
    assert failure(run)["step"] == "unpatch-cloudflared"
    assert configmap_text(cluster) == forged
    assert "web.example.com" not in cloudflared_bin.validated()[-1]  # the config without the rule was checked
    assert norn.state("web")["resources"]["ingressRule"]["hostname"] == "web.example.com"  # a rerun retries


def test_a_structurally_invalid_result_is_refused_before_cloudflared_is_asked(norn, cluster, cloudflared_bin):
    broken = DEFAULT_CLOUDFLARED_CONFIG.replace("http://grafana.monitoring.svc.cluster.local:80", "grafana:80")
    reseed(cluster, broken)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    error = failure(run)
    assert error["step"] == "patch-cloudflared"
    # cloudflared ingress/ingress.go validateIngress: url.Parse("grafana:80") has a scheme and no hostname
    assert "rule 1: service 'grafana:80' has no scheme or no host" in error["error"]
    assert "already invalid before norn's change" in error["error"]
    assert configmap_text(cluster) == broken and configmap_puts(cluster) == 0
    assert cloudflared_bin.validated() == []


def test_norns_own_checks_run_without_cloudflared_on_path(norn, cluster, cloudflared_bin):
    # cloudflared ingress/ingress.go validateIngress compiles a rule's path with Go's regexp, which has no lookahead
    lookahead = DEFAULT_CLOUDFLARED_CONFIG.replace(
        "  # everything else: 404\n",
        "  - hostname: grafana.example.com\n    path: ^/(?=x)\n    service: http://other:80\n  # everything else: 404\n",
    )
    reseed(cluster, lookahead)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json", PATH="/usr/bin:/bin")
    assert run.code == 1
    assert "rule 2: path '^/(?=x)' is not a valid Go (RE2) regular expression" in failure(run)["error"]
    assert configmap_text(cluster) == lookahead and configmap_puts(cluster) == 0


def test_the_rule_missing_from_what_the_server_returns_fails_the_step(norn, cluster, cloudflared_bin):
    def revert(kind: str, obj: dict) -> None:  # a webhook that restores the operator's text
        if kind == "ConfigMap" and obj["metadata"]["name"] == "cloudflared":
            obj["data"]["config.yaml"] = DEFAULT_CLOUDFLARED_CONFIG

    cluster.store.mutators.append(revert)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    error = failure(run)
    assert error["step"] == "patch-cloudflared"
    assert "returned does not route web.example.com" in error["error"]
    assert "ingressRule" not in norn.state("web")["resources"]


def test_the_rule_still_in_what_the_server_returns_fails_unpatch(norn, cluster, cloudflared_bin):
    norn.write_spec(WEB_SPEC)
    assert norn("forge", "web").code == 0
    forged = configmap_text(cluster)

    def keep(kind: str, obj: dict) -> None:
        if kind == "ConfigMap" and obj["metadata"]["name"] == "cloudflared":
            obj["data"]["config.yaml"] = forged

    cluster.store.mutators.append(keep)
    run = norn("teardown", "web", "--yes", "--output", "json")
    assert run.code == 1
    error = failure(run)
    assert error["step"] == "unpatch-cloudflared" and "still routes web.example.com" in error["error"]
    assert norn.state("web")["resources"]["ingressRule"]["hostname"] == "web.example.com"


def test_a_restart_annotation_the_server_drops_fails_the_step(norn, cluster, cloudflared_bin):
    def drop(kind: str, obj: dict) -> None:  # a webhook that strips pod-template annotations
        if kind == "Deployment" and obj["metadata"]["name"] == "cloudflared":
            obj["spec"]["template"].get("metadata", {}).pop("annotations", None)

    cluster.store.mutators.append(drop)
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    error = failure(run)
    assert error["step"] == "restart-cloudflared"
    assert "did not keep the restart annotation kubectl.kubernetes.io/restartedAt" in error["error"]
    assert norn.state("web")["resources"]["cloudflaredRestartPending"] is True
