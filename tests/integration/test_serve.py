"""`norn serve` end to end: a real server process, real HTTP, a real WebSocket, the stand-in cluster.

The contract is issue 18's: paths, methods, status codes, JSON keys.
"""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import CRON_SPEC, TEARDOWN_STEPS, WEB_SPEC, WEB_STEPS
from tests.integration.test_serve_support import TOKEN, serve, shape, until  # noqa: F401  (serve: a fixture)


def test_a_forge_and_a_teardown_watched_over_the_websocket_are_the_cli_events(norn, cluster, serve):
    norn.write_spec(WEB_SPEC)
    server = serve()
    # Many clients: one for web, one for every app, and one that never reads (it must not slow anything).
    with server.events("web") as socket, server.events() as everything, server.idle_client():
        status, accepted = server.request("POST", "/v1/apps/web/forge")
        assert status == 202
        assert accepted == {"run": accepted["run"], "app": "web", "operation": "forge",
                            "events": "/v1/events?app=web"}
        forged = until(socket, "forge.completed")
        status, accepted_teardown = server.request("DELETE", "/v1/apps/web/forge", {"deleteVolumes": False})
        assert status == 202 and accepted_teardown["operation"] == "teardown"
        torn_down = until(socket, "teardown.completed")
        assert until(everything, "teardown.completed") == forged + torn_down
    assert forged[0]["type"] == "forge.queued" and forged[0]["payload"] == {"app": "web"}
    assert [e["type"] for e in forged].count("forge.queued") == 1  # sent on accept, not again when it starts
    assert [e["payload"]["step"] for e in forged if e["payload"].get("status") == "completed"] == WEB_STEPS
    assert [e["payload"]["step"] for e in torn_down if e["payload"].get("status") == "completed"] == TEARDOWN_STEPS
    # A client that connects late catches up: the run holds every event the socket got, in order.
    assert server.finished(accepted["run"]) == {"run": accepted["run"], "app": "web", "operation": "forge",
                                                "status": "completed", "events": forged}
    assert server.finished(accepted_teardown["run"])["events"] == torn_down

    # The same objects `norn forge web -o json` and `norn teardown web -o json` print.
    cli_forge = norn("forge", "web", "--output", "json")
    cli_teardown = norn("teardown", "web", "--yes", "--output", "json")
    assert cli_forge.code == 0 and cli_teardown.code == 0, cli_forge.stderr + cli_teardown.stderr
    assert shape(forged) == shape(cli_forge.events())
    assert shape(torn_down) == shape(cli_teardown.events())
    assert all(set(e) == {"type", "app", "time", "payload"} for e in forged + torn_down)


def test_nothing_to_do_is_200_decided_as_the_cli_decides(norn, cluster, serve):
    norn.write_spec(CRON_SPEC)
    server = serve()
    assert server.request("DELETE", "/v1/apps/nightly/forge") == (
        200, {"ran": False, "message": "nightly: nothing to tear down (it is not forged)"})
    status, accepted = server.request("POST", "/v1/apps/nightly/forge", {})
    assert status == 202
    assert server.finished(accepted["run"])["status"] == "completed"
    cluster.clear_log()
    assert server.request("POST", "/v1/apps/nightly/forge", raw=b"") == (
        200, {"ran": False, "message": "nightly is forged and up to date"})
    assert cluster.count() == 0  # decided from the state alone, as the CLI does
    status, accepted = server.request("POST", "/v1/apps/nightly/forge", {"force": True})
    assert status == 202
    assert [e["type"] for e in server.finished(accepted["run"])["events"]][:2] == ["forge.queued", "teardown.queued"]


def test_the_status_and_plan_documents_are_the_clis(norn, cluster, serve):
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    assert norn("forge", "nightly").code == 0
    server = serve()
    assert server.request("GET", "/v1/apps") == (200, json.loads(norn("status", "-o", "json").stdout))
    assert server.request("GET", "/v1/apps/nightly") == (200, json.loads(norn("status", "nightly", "-o", "json").stdout))
    assert server.request("GET", "/v1/apps/web") == (200, json.loads(norn("status", "web", "-o", "json").stdout))
    for query, flags in (("", []), ("?force=false", []), ("?force=true", ["--force"])):
        assert server.request("GET", f"/v1/apps/web/plan{query}") == (
            200, json.loads(norn("plan", "web", "-o", "json", *flags).stdout))


def test_unknown_apps_and_runs_are_404_and_an_invalid_infraspec_is_422_with_validates_problems(norn, cluster, serve):
    path = norn.write_spec("app: broken\nrole: webserver\nreplicas: many\n")
    server = serve()
    for method, route in (("GET", "/v1/apps/nope"), ("GET", "/v1/apps/nope/plan"), ("POST", "/v1/apps/nope/forge"),
                          ("DELETE", "/v1/apps/nope/forge"), ("GET", "/v1/runs/nope")):
        status, body = server.request(method, route)
        assert status == 404 and set(body) == {"error"} and body["error"], (method, route, body)
    assert not list(norn.state_dir.glob("nope*"))  # no lock file left behind for an unknown app
    validated = json.loads(norn("validate", str(path), "-o", "json").stdout)
    expected = [problem for result in validated for problem in result["problems"]]
    for method, route in (("POST", "/v1/apps/broken/forge"), ("GET", "/v1/apps/broken/plan")):
        status, body = server.request(method, route)
        assert status == 422 and set(body) == {"error", "problems"}
        assert [f"{p['file']}:{p['line']}: {p['key'] + ': ' if p['key'] else ''}{p['message']}"
                for p in body["problems"]] == expected
        assert {p["file"] for p in body["problems"]} == {str(path)}
    assert cluster.writes() == []


def test_bad_request_bodies_are_422_and_errors_are_json(norn, cluster, serve):
    norn.write_spec(CRON_SPEC)
    server = serve()
    for body in ({"force": "yes"}, {"wait": 1}, {"timeout": 5}, {"unknown": True}, {"timeout": "soon"}, [1]):
        status, answer = server.request("POST", "/v1/apps/nightly/forge", body)
        assert status == 422 and answer["error"] and isinstance(answer["problems"], list), (body, answer)
    assert server.request("POST", "/v1/apps/nightly/forge", raw=b"{not json")[0] == 422
    assert server.request("DELETE", "/v1/apps/nightly/forge", {"delete_volumes": True})[0] == 422
    assert server.request("GET", "/v1/apps/nightly/plan?force=maybe")[0] == 422
    assert server.request("GET", "/v1/apps/Not_A_Name")[0] == 422
    assert cluster.writes() == []
    assert "Traceback" not in server.log()


def test_a_body_that_is_not_json_says_so(norn, cluster, serve):
    norn.write_spec(CRON_SPEC)
    server = serve()
    import urllib.error
    import urllib.request

    request = urllib.request.Request(server.url + "/v1/apps/nightly/forge", data=b'{"force": true}', method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}",
                                              "Content-Type": "application/x-www-form-urlencoded"})  # curl -d's
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 422
    assert "Content-Type: application/json" in json.loads(refused.value.read())["error"]
    assert cluster.writes() == []
