"""create-dns-route and remove-dns-route: the real norn against the stand-in cluster, cloudflared and Cloudflare API."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.integration.conftest import TEARDOWN_STEPS, WEB_SPEC
from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG, seed_cloudflared

# The id the stand-in cloudflared gives the tunnel named "norn" (a UUID derived from the name).
NORN_TUNNEL = str(uuid.uuid5(uuid.NAMESPACE_DNS, "norn.cfargotunnel.com"))
OTHER_TUNNEL = "6ff42ae2-765d-4adf-8112-31c55c1551ef"


def target(tunnel: str = NORN_TUNNEL) -> str:
    return f"{tunnel}.cfargotunnel.com"


def example_zone(cfapi) -> dict:
    return next(z for z in cfapi.zones.values() if z["name"] == "example.com")


def outputs(run) -> dict[str, str]:
    return {e["payload"]["step"]: e["payload"].get("output", "") for e in run.events() if e["type"].endswith(".step")}


def forge(norn, spec: str = WEB_SPEC) -> None:
    norn.write_spec(spec)
    run = norn("forge", "web")
    assert run.code == 0, run.stdout + run.stderr


def teardown(norn, **env: str):
    run = norn("teardown", "web", "--yes", "--output", "json", **env)
    assert run.code == 0, run.stdout + run.stderr
    assert run.steps() == {step: "completed" for step in TEARDOWN_STEPS}
    assert norn.state("web")["status"] == "unforged"
    return run


def forget_tunnel_id(norn) -> None:
    """A state written before norn recorded the tunnel id."""
    path = norn.state_dir / "web.json"
    state = json.loads(path.read_text())
    del state["resources"]["dnsRoute"]["tunnelId"]
    path.write_text(json.dumps(state))


# --- create-dns-route ---------------------------------------------------------------


def test_forge_records_the_tunnel_id_cloudflared_reports(norn, cluster, cloudflared_bin):
    forge(norn)
    assert norn.state("web")["resources"]["dnsRoute"] == {
        "hostname": "web.example.com",
        "tunnel": "norn",
        "tunnelId": NORN_TUNNEL,
    }


def test_a_route_landing_in_another_zone_fails_and_is_not_recorded(norn, cluster, cloudflared_bin):
    cloudflared_bin.set_mode("other-zone")
    norn.write_spec(WEB_SPEC)
    run = norn("forge", "web", "--output", "json")
    assert run.code == 1
    failed = next(e for e in run.events() if e["type"] == "forge.failed")["payload"]
    assert failed["step"] == "create-dns-route"
    assert failed["error"].startswith(
        "cloudflared routed web.example.com.example.com, not web.example.com: web.example.com is not in the zone "
        "of cloudflared's cert.pem"
    )
    assert "delete the stray record web.example.com.example.com" in failed["error"]
    assert "dnsRoute" not in norn.state("web")["resources"]


# --- create-dns-route under the user's logging settings -----------------------------
# cloudflared says what it routed only in an INFO log line (cmd/cloudflared/tunnel/subcommands.go routeCommand:
# sc.log.Info().Str(LogFieldTunnelID, ...).Msg(res.SuccessSummary())). The user's TUNNEL_LOGLEVEL or config file
# `loglevel` can hide it and TUNNEL_LOG_OUTPUT / TUNNEL_MANAGEMENT_OUTPUT turn it into JSON
# (cmd/cloudflared/cliutil/logger.go ConfigureLoggingFlags; logger/create.go createFromContext). norn passes
# `tunnel --loglevel info` (a flag beats env and config file: urfave/cli altsrc.ApplyInputSource) and reads JSON.

ROUTE_ARGV = ["tunnel", "--loglevel", "info", "route", "dns", "norn", "web.example.com"]


def user_config(tmp_path, text: str) -> str:
    """A HOME whose ~/.cloudflared/config.yml is ``text``; returns the HOME."""
    home = tmp_path / "home"
    (home / ".cloudflared").mkdir(parents=True)
    (home / ".cloudflared" / "config.yml").write_text(text)
    return str(home)


def forge_with(norn, **env: str):
    norn.write_spec(WEB_SPEC)
    return norn("forge", "web", "--output", "json", **env)


@pytest.mark.parametrize(
    "env",
    [
        {"TUNNEL_LOGLEVEL": "warn"},
        {"TUNNEL_LOGLEVEL": "error", "TUNNEL_LOG_OUTPUT": "json"},
        {"TUNNEL_MANAGEMENT_OUTPUT": "json"},
        {"HOME": "loglevel: warn\n"},  # replaced by a HOME with this ~/.cloudflared/config.yml
    ],
    ids=["env-warn", "env-error-json", "management-json", "config-file-warn"],
)
def test_the_route_is_read_whatever_the_users_logging_settings(norn, cluster, cloudflared_bin, tmp_path, env):
    if "HOME" in env:
        env = {"HOME": user_config(tmp_path, env["HOME"])}
    run = forge_with(norn, **env)
    assert run.code == 0, run.stdout + run.stderr
    assert norn.state("web")["resources"]["dnsRoute"]["tunnelId"] == NORN_TUNNEL
    said = outputs(run)["create-dns-route"]
    assert said == f"Added CNAME web.example.com which will route to this tunnel tunnelID={NORN_TUNNEL}"
    assert cloudflared_bin.calls()[-1] == ROUTE_ARGV


@pytest.mark.parametrize("env", [{"TUNNEL_LOGLEVEL": "warn"}, {"TUNNEL_LOG_OUTPUT": "json"}])
def test_the_other_zone_check_runs_under_warn_and_json(norn, cluster, cloudflared_bin, env):
    cloudflared_bin.set_mode("other-zone")
    run = forge_with(norn, **env)
    assert run.code == 1
    failed = next(e for e in run.events() if e["type"] == "forge.failed")["payload"]
    assert failed["error"].startswith("cloudflared routed web.example.com.example.com, not web.example.com")


def test_output_norn_cannot_read_is_said_in_the_steps_output(norn, cluster, cloudflared_bin):
    cloudflared_bin.set_mode("silent-route")
    run = forge_with(norn)
    assert run.code == 0, run.stdout + run.stderr
    said = outputs(run)["create-dns-route"].splitlines()
    assert said[0] == "routed web.example.com to tunnel norn"
    assert said[1].startswith(
        "warning: cloudflared did not say which name it routed, so norn could not check that web.example.com "
        "is in the zone of cloudflared's cert.pem"
    )
    assert said[2].startswith("warning: cloudflared did not report the tunnel id")
    assert "tunnelId" not in norn.state("web")["resources"]["dnsRoute"]


def test_an_unknown_tunnel_name_fails_the_step_with_cloudflareds_words(norn, cluster, cloudflared_bin):
    run = forge_with(norn, NORN_TUNNEL_NAME="nope")
    assert run.code == 1
    failed = next(e for e in run.events() if e["type"] == "forge.failed")["payload"]
    assert failed["step"] == "create-dns-route"
    assert "nope is neither the ID nor the name of any of your tunnels" in failed["error"]
    assert "dnsRoute" not in norn.state("web")["resources"]


# --- remove-dns-route ---------------------------------------------------------------


def test_teardown_deletes_the_tunnels_cname(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)
    record = cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    kept = cfapi.add_record(example_zone(cfapi), "grafana.example.com", target())
    run = teardown(norn)
    assert outputs(run)["remove-dns-route"] == f"deleted the CNAME web.example.com → {target()} in zone example.com"
    assert [r["id"] for r in cfapi.records()] == [kept["id"]]
    assert record["id"] not in {r["id"] for r in cfapi.records()}
    assert not [c for c in cloudflared_bin.calls() if c[:2] == ["tunnel", "info"]]  # the recorded id sufficed
    state_text = (norn.state_dir / "web.json").read_text()
    assert cfapi.token not in run.stdout + run.stderr + state_text


def test_the_zone_is_the_longest_of_several_candidates(norn, cluster, cloudflared_bin, cfapi):
    sub = cfapi.add_zone("sub.example.com")
    forge(norn, WEB_SPEC.replace("web.example.com", "web.sub.example.com"))
    mine = cfapi.add_record(sub, "web.sub.example.com", target())
    shadowed = cfapi.add_record(example_zone(cfapi), "web.sub.example.com", target())
    run = teardown(norn)
    assert "in zone sub.example.com" in outputs(run)["remove-dns-route"]
    assert [r["id"] for r in cfapi.records()] == [shadowed["id"]]
    assert mine["id"] not in {r["id"] for r in cfapi.records()}


def test_a_cname_pointing_elsewhere_is_left_and_the_teardown_goes_on(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)
    cfapi.add_record(example_zone(cfapi), "web.example.com", "lb.example.net")
    run = teardown(norn)
    assert outputs(run)["remove-dns-route"] == (
        "warning: left the CNAME web.example.com in zone example.com alone: it points at lb.example.net, "
        f"not at norn's tunnel ({target()})"
    )
    assert len(cfapi.records()) == 1 and cfapi.count("DELETE") == 0


def test_a_token_without_dns_edit_is_a_warning_naming_the_permission(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)
    cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    cfapi.permissions.dns_edit = False
    run = teardown(norn)
    said = outputs(run)["remove-dns-route"]
    assert said.startswith(f"warning: could not delete the CNAME web.example.com → {target()}: Cloudflare refused")
    assert "9109" in said and "Zone.DNS edit permission" in said and "delete it in Cloudflare's dashboard" in said
    assert len(cfapi.records()) == 1
    assert cluster.get_object("services", "default", "web-svc") is None  # the rest of the teardown ran
    assert cfapi.token not in run.stdout + run.stderr


def test_a_rate_limit_is_waited_out(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)
    cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    cfapi.inject(429, "DELETE", retry_after="1")
    run = teardown(norn)
    assert outputs(run)["remove-dns-route"].startswith("deleted the CNAME web.example.com")
    assert [r.status for r in cfapi.requests if r.method == "DELETE"] == [429, 200]
    assert cfapi.records() == []


def test_an_api_that_is_down_leaves_a_warning_and_the_teardown_completes(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)
    cfapi.stop()
    run = teardown(norn)
    said = outputs(run)["remove-dns-route"]
    assert said.startswith("warning: could not delete the CNAME web.example.com")
    assert "cannot reach the Cloudflare API" in said


def test_without_a_token_the_warning_names_the_record_and_how_to_give_one(
    norn, cluster, cloudflared_bin, cfapi, monkeypatch
):
    forge(norn)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    run = teardown(norn)
    assert outputs(run)["remove-dns-route"] == (
        "warning: no CLOUDFLARE_API_TOKEN, so the CNAME web.example.com (to tunnel norn) is left; delete it in "
        "Cloudflare's dashboard, or set CLOUDFLARE_API_TOKEN to an API token with the Zone.DNS edit permission "
        "on the zone, and norn deletes it at teardown"
    )
    assert cfapi.requests == []


def test_norn_tunnel_id_names_the_tunnel(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)
    cfapi.add_record(example_zone(cfapi), "web.example.com", target(OTHER_TUNNEL))
    run = teardown(norn, NORN_TUNNEL_ID=OTHER_TUNNEL.upper())
    assert outputs(run)["remove-dns-route"].startswith("deleted the CNAME")
    assert cfapi.records() == []


def test_a_tunnel_uuid_in_the_cloudflared_config_names_the_tunnel(norn, cluster, cloudflared_bin, cfapi):
    cluster.remove("configmaps", "cloudflared", "cloudflared")
    cluster.remove("deployments", "cloudflared", "cloudflared", group="apps")
    seed_cloudflared(cluster, config_text=DEFAULT_CLOUDFLARED_CONFIG.replace("tunnel: norn", f"tunnel: {OTHER_TUNNEL}"))
    forge(norn)
    forget_tunnel_id(norn)
    cfapi.add_record(example_zone(cfapi), "web.example.com", target(OTHER_TUNNEL))
    run = teardown(norn)
    assert outputs(run)["remove-dns-route"].startswith("deleted the CNAME")
    assert not [c for c in cloudflared_bin.calls() if c[:2] == ["tunnel", "info"]]


def test_cloudflared_tunnel_info_names_the_tunnel_last(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)  # the config says `tunnel: norn`, a name
    forget_tunnel_id(norn)
    cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    run = teardown(norn)
    assert outputs(run)["remove-dns-route"].startswith("deleted the CNAME")
    assert ["tunnel", "info", "--output", "json", "norn"] in cloudflared_bin.calls()


def test_no_way_to_tell_the_tunnel_id_is_a_warning(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)
    forget_tunnel_id(norn)
    cfapi.add_record(example_zone(cfapi), "web.example.com", target())
    run = teardown(norn, PATH="/usr/bin:/bin")
    said = outputs(run)["remove-dns-route"]
    assert said.startswith("warning: left the CNAME web.example.com: norn cannot tell its tunnel's id")
    assert "set NORN_TUNNEL_ID" in said
    assert len(cfapi.records()) == 1 and cfapi.requests == []


def test_a_failing_tunnel_info_is_a_warning(norn, cluster, cloudflared_bin, cfapi):
    forge(norn)
    forget_tunnel_id(norn)
    cloudflared_bin.set_mode("fail")
    run = teardown(norn)
    said = outputs(run)["remove-dns-route"]
    assert said.startswith("warning: left the CNAME web.example.com: norn cannot tell its tunnel's id")
    assert "cloudflared tunnel info" in said


def test_a_tunnel_id_that_is_not_a_uuid_is_bad_input(norn, cluster):
    forge(norn)
    cluster.clear_log()
    run = norn("teardown", "web", "--yes", NORN_TUNNEL_ID="norn")
    assert run.code == 2 and "NORN_TUNNEL_ID='norn' is not a tunnel id" in run.stderr
    assert cluster.requests == []


def test_a_base_url_that_is_not_http_is_bad_input(norn, cluster):
    forge(norn)
    run = norn("teardown", "web", "--yes", CLOUDFLARE_BASE_URL="api.cloudflare.com")
    assert run.code == 2 and "CLOUDFLARE_BASE_URL='api.cloudflare.com' is not an http(s) URL" in run.stderr
