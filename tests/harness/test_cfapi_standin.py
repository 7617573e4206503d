"""The stand-in Cloudflare API answers as api.cloudflare.com does, over real HTTP (driven with urllib)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import pytest


def call(cfapi, method: str, path: str, token: str | None = "") -> tuple[int, dict, dict]:
    """(status, envelope, headers); ``token=""`` sends the stand-in's own token, None sends none."""
    request = urllib.request.Request(cfapi.base_url + path, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token or cfapi.token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.load(response), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error), dict(error.headers)


def test_the_fixture_points_the_environment_at_it(cfapi):
    assert os.environ["CLOUDFLARE_BASE_URL"] == cfapi.base_url and os.environ["CLOUDFLARE_API_TOKEN"] == cfapi.token


def test_zones_come_in_the_v4_envelope_with_result_info(cfapi):
    cfapi.add_zone("example.org")
    status, body, _ = call(cfapi, "GET", "/zones?per_page=1&page=2")
    assert status == 200 and body["success"] is True and body["errors"] == [] and body["messages"] == []
    assert [z["name"] for z in body["result"]] == ["example.org"]
    assert body["result_info"] == {"page": 2, "per_page": 1, "count": 1, "total_count": 2, "total_pages": 2}


def test_zones_filter_by_exact_name(cfapi):
    cfapi.add_zone("sub.example.com")
    _, body, _ = call(cfapi, "GET", "/zones?name=sub.example.com")
    assert [z["name"] for z in body["result"]] == ["sub.example.com"]
    assert call(cfapi, "GET", "/zones?name=example")[1]["result"] == []


def test_dns_records_filter_by_type_and_name_without_case(cfapi):
    zone = next(iter(cfapi.zones.values()))
    cname = cfapi.add_record(zone, "App.example.com", "t.cfargotunnel.com")
    cfapi.add_record(zone, "app.example.com", "192.0.2.1", type="A")
    _, body, _ = call(cfapi, "GET", f"/zones/{zone['id']}/dns_records?type=CNAME&name=app.example.com")
    assert [r["id"] for r in body["result"]] == [cname["id"]]
    assert body["result"][0]["zone_name"] == "example.com"


def test_delete_answers_the_id_then_81044(cfapi):
    zone = next(iter(cfapi.zones.values()))
    record = cfapi.add_record(zone, "app.example.com", "t.cfargotunnel.com")
    path = f"/zones/{zone['id']}/dns_records/{record['id']}"
    answer = {"success": True, "errors": [], "messages": [], "result": {"id": record["id"]}}
    assert call(cfapi, "DELETE", path)[:2] == (200, answer)
    status, body, _ = call(cfapi, "DELETE", path)
    gone = [{"code": 81044, "message": "Record does not exist."}]
    assert (status, body["success"], body["errors"]) == (404, False, gone)


@pytest.mark.parametrize(
    ("path", "token", "status", "code"),
    [
        ("/zones", None, 400, 9106),
        ("/zones", "wrong", 403, 10000),
        ("/zones/nope/dns_records", "", 404, 7003),
        ("/accounts", "", 404, 7000),
    ],
)
def test_errors_carry_cloudflares_codes(cfapi, path, token, status, code):
    got, body, _ = call(cfapi, "GET", path, token)
    assert got == status and body["success"] is False and body["errors"][0]["code"] == code and body["result"] is None


def test_permissions_refuse_reading_and_editing_dns(cfapi):
    zone = next(iter(cfapi.zones.values()))
    record = cfapi.add_record(zone, "app.example.com", "t.cfargotunnel.com")
    cfapi.permissions.dns_edit = False
    status, body, _ = call(cfapi, "DELETE", f"/zones/{zone['id']}/dns_records/{record['id']}")
    assert (status, body["errors"][0]["code"]) == (403, 9109)
    cfapi.permissions.dns_read = False
    status, body, _ = call(cfapi, "GET", f"/zones/{zone['id']}/dns_records")
    assert (status, body["errors"][0]["code"]) == (403, 10000)


def test_an_injected_429_has_retry_after_and_code_971(cfapi):
    cfapi.inject(429, "GET", "/zones", retry_after="7")
    status, body, headers = call(cfapi, "GET", "/zones")
    assert status == 429 and headers["Retry-After"] == "7" and body["errors"][0]["code"] == 971
    assert call(cfapi, "GET", "/zones")[0] == 200  # once only
    assert [r.status for r in cfapi.requests] == [429, 200]


def test_stop_refuses_connections(cfapi):
    cfapi.stop()
    with pytest.raises(urllib.error.URLError):
        call(cfapi, "GET", "/zones")
