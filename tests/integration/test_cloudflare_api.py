"""norn.cloudflare.cfapi and norn.cloudflare.dnsrecords over real HTTP against the stand-in Cloudflare API."""

from __future__ import annotations

import pytest

from norn.cloudflare import dnsrecords
from norn.cloudflare.cfapi import Api, CloudflareError, Unreachable, wait_before_retry
from norn.cloudflare.dnsrecords import (
    Zone,
    dns_record_status,
    find_zone,
    remove_cname,
    tunnel_target,
)

TUNNEL = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
TARGET = f"{TUNNEL}.cfargotunnel.com"


@pytest.fixture
def zone(cfapi) -> dict:
    return next(iter(cfapi.zones.values()))  # example.com


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def api(cfapi, waits) -> Api:
    return Api(cfapi.base_url, cfapi.token, sleep=waits.append)


def zone_queries(cfapi) -> list[str]:
    return [r.query["name"] for r in cfapi.requests if r.path.endswith("/zones")]


# --- finding the zone ---------------------------------------------------------


def test_the_zone_is_the_longest_zone_name_that_ends_the_hostname(cfapi, api, zone):
    sub = cfapi.add_zone("sub.example.com")
    assert find_zone(api, "app.sub.example.com") == Zone(sub["id"], "sub.example.com")
    assert find_zone(api, "app.example.com") == Zone(zone["id"], "example.com")
    assert find_zone(api, "deep.app.example.com") == Zone(zone["id"], "example.com")
    assert zone_queries(cfapi) == [
        "app.sub.example.com",
        "sub.example.com",
        "app.example.com",
        "example.com",
        "deep.app.example.com",
        "app.example.com",
        "example.com",
    ]


def test_a_zone_apex_is_its_own_zone_and_names_ignore_case_and_the_final_dot(cfapi, api, zone):
    assert find_zone(api, "Example.COM.") == Zone(zone["id"], "example.com")


def test_no_zone_holds_a_hostname_of_another_domain(cfapi, api):
    assert find_zone(api, "app.example.org") is None
    assert zone_queries(cfapi) == ["app.example.org", "example.org"]  # never the bare TLD


def test_an_active_zone_wins_over_a_pending_one_of_the_same_name(cfapi, api, zone):
    cfapi.zones.pop(zone["id"])
    cfapi.add_zone("example.com", status="pending")
    active = cfapi.add_zone("example.com")
    assert find_zone(api, "app.example.com").id == active["id"]


# --- removing the CNAME ---------------------------------------------------------


def test_only_the_cname_to_the_tunnel_at_the_hostname_is_deleted(cfapi, api, zone):
    sub = cfapi.add_zone("sub.example.com")
    mine = cfapi.add_record(sub, "app.sub.example.com", TARGET)
    shadowed = cfapi.add_record(zone, "app.sub.example.com", TARGET)  # in the parent zone: not served
    other = cfapi.add_record(sub, "other.sub.example.com", TARGET)
    outcome = remove_cname(api, "app.sub.example.com", TUNNEL)
    assert outcome == dnsrecords.Outcome(f"deleted the CNAME app.sub.example.com → {TARGET} in zone sub.example.com")
    left = {r["id"] for r in cfapi.records()}
    assert mine["id"] not in left and {shadowed["id"], other["id"]} <= left
    [delete] = [r for r in cfapi.requests if r.method == "DELETE"]
    assert delete.path == f"/client/v4/zones/{sub['id']}/dns_records/{mine['id']}"


def test_a_target_written_in_capitals_with_a_final_dot_is_the_tunnel(cfapi, api, zone):
    cfapi.add_record(zone, "app.example.com", TARGET.upper() + ".")
    assert not remove_cname(api, "app.example.com", TUNNEL).left
    assert cfapi.records() == []


def test_a_cname_pointing_elsewhere_is_left_alone(cfapi, api, zone):
    cfapi.add_record(zone, "app.example.com", "lb.example.net")
    outcome = remove_cname(api, "app.example.com", TUNNEL)
    assert outcome.left
    assert outcome.message == (
        f"left the CNAME app.example.com in zone example.com alone: it points at lb.example.net, "
        f"not at norn's tunnel ({TARGET})"
    )
    assert len(cfapi.records()) == 1 and cfapi.count("DELETE") == 0


def test_another_tunnels_cname_is_left_alone(cfapi, api, zone):
    cfapi.add_record(zone, "app.example.com", tunnel_target("0" * 8 + "-0000-0000-0000-" + "0" * 12))
    assert remove_cname(api, "app.example.com", TUNNEL).left and cfapi.count("DELETE") == 0


def test_no_cname_means_nothing_to_delete(cfapi, api, zone):
    cfapi.add_record(zone, "app.example.com", "192.0.2.1", type="A")
    outcome = remove_cname(api, "app.example.com", TUNNEL)
    assert outcome == dnsrecords.Outcome("no CNAME app.example.com in zone example.com; nothing to delete")
    assert len(cfapi.records()) == 1


def test_no_zone_leaves_the_record_to_a_person(cfapi, api):
    outcome = remove_cname(api, "app.example.org", TUNNEL)
    assert outcome.left and "no Cloudflare zone the token can see holds app.example.org" in outcome.message


def test_a_record_deleted_meanwhile_counts_as_deleted(cfapi, api, zone):
    cfapi.add_record(zone, "app.example.com", TARGET)
    cfapi.inject(404, "DELETE", code=81044, message="Record does not exist.")
    assert not remove_cname(api, "app.example.com", TUNNEL).left


# --- failures and retries ---------------------------------------------------------


def test_a_429_is_retried_after_the_retry_after_it_gives(cfapi, api, waits, zone):
    cfapi.add_record(zone, "app.example.com", TARGET)
    cfapi.inject(429, "DELETE", retry_after="2")
    assert not remove_cname(api, "app.example.com", TUNNEL).left
    assert waits == [2.0]
    assert [r.status for r in cfapi.requests if r.method == "DELETE"] == [429, 200]


def test_a_429_that_does_not_stop_is_an_error_after_four_attempts(cfapi, api, waits):
    cfapi.inject(429, "GET", times=None, retry_after="1")
    with pytest.raises(CloudflareError) as caught:
        api.get("/zones")
    assert caught.value.status == 429 and caught.value.codes == (971,)
    assert waits == [1.0, 1.0, 1.0] and cfapi.count("GET") == 4
    assert dnsrecords.explain(caught.value).startswith("Cloudflare kept rate-limiting norn: HTTP 429 (971: Please wait")


def test_a_503_without_retry_after_is_retried_with_backoff(cfapi, api, waits):
    cfapi.inject(503, "GET", times=2)
    assert api.get("/zones")[0] is not None
    assert waits == [1.0, 2.0]


def test_a_500_is_not_retried(cfapi, api, waits):
    cfapi.inject(500, "GET")
    with pytest.raises(CloudflareError, match=r"HTTP 500 \(10500: injected HTTP 500\)"):
        api.get("/zones")
    assert waits == []


def test_a_page_that_is_not_the_api_envelope_is_an_error(cfapi, api):
    cfapi.inject(520, "GET", html="<html><body>Web server is returning an unknown error</body></html>")
    with pytest.raises(CloudflareError, match="GET /zones: HTTP 520 without a Cloudflare API answer"):
        api.get("/zones", name="example.com")


def test_a_token_that_may_not_edit_dns_names_the_permission(cfapi, api, zone):
    cfapi.add_record(zone, "app.example.com", TARGET)
    cfapi.permissions.dns_edit = False
    with pytest.raises(CloudflareError) as caught:
        remove_cname(api, "app.example.com", TUNNEL)
    assert (caught.value.status, caught.value.codes) == (403, (9109,))
    assert dnsrecords.explain(caught.value) == (
        "Cloudflare refused the token with HTTP 403 (9109: Unauthorized to access requested resource): "
        "it needs the Zone.DNS edit permission on the zone (and Zone.Zone read to find it)"
    )
    assert len(cfapi.records()) == 1


def test_an_unknown_token_is_refused_and_never_shown(cfapi):
    secret = "not-the-token-" + "x" * 20
    api = Api(cfapi.base_url, secret)
    with pytest.raises(CloudflareError) as caught:
        api.get("/zones")
    assert caught.value.codes == (10000,)
    assert secret not in str(caught.value) and secret not in repr(api)
    assert cfapi.requests[-1].authorization == f"Bearer {secret}"  # it went where it belongs


def test_an_api_that_is_down_is_unreachable(cfapi, api, waits):
    cfapi.stop()
    with pytest.raises(Unreachable, match=r"cannot reach the Cloudflare API at .*Connection refused"):
        api.get("/zones")
    assert waits == []


def test_the_proxy_of_the_environment_is_used(cfapi, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{cfapi.port}")  # the stand-in answers as the proxy too
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    api = Api("http://api.cloudflare.test/client/v4", cfapi.token)
    assert api.get("/zones", name="example.com")[0][0]["name"] == "example.com"
    assert cfapi.requests[-1].proxied


def test_no_proxy_skips_the_proxy(cfapi, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    Api(cfapi.base_url, cfapi.token).get("/zones")
    assert not cfapi.requests[-1].proxied


@pytest.mark.parametrize(
    ("header", "attempt", "wait"),
    [("3", 1, 3.0), ("0", 1, 0.0), (None, 1, 1.0), (None, 3, 4.0), ("junk", 2, 2.0), ("999", 1, 30.0), ("-5", 1, 0.0)],
)
def test_retry_after_is_seconds_capped_else_backoff(header, attempt, wait):
    assert wait_before_retry(header, attempt) == wait


def test_retry_after_as_an_http_date_in_the_past_means_now():
    assert wait_before_retry("Wed, 21 Oct 2015 07:28:00 GMT", 1) == 0.0


# --- dns_record_status, for norn status --live ---------------------------------------------


def test_status_of_a_record_pointing_at_the_tunnel(cfapi, zone):
    cfapi.add_record(zone, "app.example.com", TARGET)
    assert dns_record_status("app.example.com", TUNNEL, cfapi.token, cfapi.base_url) == (
        f"ok: CNAME app.example.com → {TARGET}"
    )


def test_status_of_a_record_pointing_elsewhere(cfapi, zone):
    cfapi.add_record(zone, "app.example.com", "lb.example.net")
    assert dns_record_status("app.example.com", TUNNEL, cfapi.token, cfapi.base_url) == (
        f"elsewhere: CNAME app.example.com → lb.example.net, not the tunnel ({TARGET})"
    )


def test_status_without_a_tunnel_id_shows_the_target(cfapi, zone):
    cfapi.add_record(zone, "app.example.com", "lb.example.net")
    assert dns_record_status("app.example.com", None, cfapi.token, cfapi.base_url) == (
        "present: CNAME app.example.com → lb.example.net (the tunnel id is unknown, so not compared)"
    )


def test_status_of_a_missing_record_and_of_a_missing_zone(cfapi):
    assert dns_record_status("app.example.com", TUNNEL, cfapi.token, cfapi.base_url) == (
        "missing: no CNAME app.example.com in zone example.com"
    )
    assert dns_record_status("app.example.org", TUNNEL, cfapi.token, cfapi.base_url) == (
        "unknown: no Cloudflare zone the token can see holds app.example.org"
    )


def test_status_never_raises_for_what_the_api_says(cfapi):
    cfapi.permissions.dns_read = False
    status = dns_record_status("app.example.com", TUNNEL, cfapi.token, cfapi.base_url)
    assert status.startswith("unknown: Cloudflare refused the token") and "Zone.DNS edit" in status
    cfapi.stop()
    status = dns_record_status("app.example.com", TUNNEL, cfapi.token, cfapi.base_url)
    assert status.startswith("unknown: cannot reach the Cloudflare API")
