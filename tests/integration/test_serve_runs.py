"""`norn serve`: the token, runs excluding CLIs (and back), the queue, and a SIGTERM in the middle of a run."""

from __future__ import annotations

import signal
import socket
import subprocess

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.conftest import CRON_SPEC, WEB_SPEC, start_held
from tests.integration.test_serve_support import NORN, TOKEN, free_port, serve, until, wait_for  # noqa: F401

ENDPOINTS = [("GET", "/v1/apps"), ("GET", "/v1/apps/web"), ("GET", "/v1/apps/web/plan"),
             ("POST", "/v1/apps/web/forge"), ("DELETE", "/v1/apps/web/forge"), ("GET", "/v1/runs/x"),
             ("GET", "/v1/openapi.json")]


def test_every_endpoint_but_healthz_needs_the_token(norn, cluster, serve):
    norn.write_spec(WEB_SPEC)
    server = serve()
    for method, path in ENDPOINTS:
        for token in (None, "wrong", TOKEN[:-1], TOKEN + "x"):
            status, body = server.request(method, path, token=token)
            assert status == 401 and set(body) == {"error"}, (method, path, token)
    for method in ("POST", "DELETE"):  # the token first: a body that does not parse says nothing more
        assert server.request(method, "/v1/apps/web/forge", token=None, raw=b"{bad")[0] == 401
    assert server.request("GET", "/v1/apps/web/plan?force=maybe", token=None)[0] == 401
    assert server.request("GET", "/healthz", token=None) == (200, {"status": "ok"})
    for docs in ("/docs", "/redoc", "/openapi.json"):  # no docs UI, no document outside /v1 and its token
        assert server.request("GET", docs)[0] == 404
    assert '"GET /v1/apps HTTP/1.1" 401' in server.log()  # one plain line per request, without headers
    # A close before accept is answered HTTP 403, no WebSocket opened: the ASGI spec's websocket.close
    # (asgiref docs/specs/www.rst), as uvicorn implements it (uvicorn/protocols/websockets/
    # websockets_sansio_impl.py, WebSocketsSansIOProtocol.send: "websocket.close" before the handshake).
    for token in (None, "wrong"):
        with pytest.raises(InvalidStatus) as refused:
            server.events(token=token).close()
        assert refused.value.response.status_code == 403
    assert cluster.writes() == []


def test_a_short_token_or_bad_settings_exit_2_before_binding(norn, cluster, tmp_path):
    port = free_port()
    for env, args in (({"NORN_SERVE_TOKEN": "x" * 31}, []), ({}, []),
                      ({}, ["--token-file", str(tmp_path / "missing")]),
                      ({"NORN_SERVE_TOKEN": TOKEN, "NORN_SERVE_WORKERS": "0"}, []),
                      ({"NORN_SERVE_TOKEN": TOKEN}, ["--kubeconfig", str(tmp_path / "missing")]),
                      ({"NORN_SERVE_TOKEN": TOKEN}, ["--context", "nowhere"])):
        done = subprocess.run([NORN, "serve", "--port", str(port), *args], env=norn.env(**env), cwd=norn.cwd,
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr and "x" * 31 not in done.stderr
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # the port stayed free


def test_the_token_file_is_read_with_its_newline_stripped(norn, cluster, serve, tmp_path):
    token = "f" * 40
    (tmp_path / "token").write_text(token + "\n")
    server = serve("--token-file", str(tmp_path / "token"), NORN_SERVE_TOKEN="")
    assert server.request("GET", "/v1/apps", token=token)[0] == 200
    assert server.request("GET", "/v1/apps", token=TOKEN)[0] == 401
    assert server.stop() == 0
    assert token not in server.log()


def test_a_cli_run_holds_the_app_against_the_api_with_409(norn, cluster, serve):
    norn.write_spec(WEB_SPEC)
    server = serve()
    cli = start_held(norn, cluster, "POST", "/services", "forge", "web")
    status, body = server.request("POST", "/v1/apps/web/forge")
    assert status == 409 and "already in progress" in body["error"]
    assert server.request("DELETE", "/v1/apps/web/forge")[0] == 409
    cluster.clear_faults()
    cli.kill()
    cli.wait(timeout=60)


def test_an_api_run_holds_the_app_against_a_cli_and_the_api_from_its_202(norn, cluster, serve):
    norn.write_spec(WEB_SPEC)
    server = serve()
    cluster.inject(method="POST", path_contains="/services", delay=5)
    status, accepted = server.request("POST", "/v1/apps/web/forge")
    assert status == 202
    cli = norn("forge", "web")  # started after the 202, whether or not the run is at work yet
    assert cli.code == 3 and "already in progress" in cli.stderr
    assert server.request("POST", "/v1/apps/web/forge")[0] == 409
    assert server.request("DELETE", "/v1/apps/web/forge")[0] == 409
    assert server.finished(accepted["run"])["status"] == "completed"
    assert norn("teardown", "web", "--yes").code == 0  # freed once the run ended


def test_with_one_worker_runs_are_queued_in_order(norn, cluster, serve):
    norn.write_spec(WEB_SPEC)
    norn.write_spec(CRON_SPEC)
    server = serve(NORN_SERVE_WORKERS="1")
    cluster.inject(method="POST", path_contains="/services", delay=6)
    with server.events() as socket:
        first = server.request("POST", "/v1/apps/web/forge")[1]["run"]
        second = server.request("POST", "/v1/apps/nightly/forge")[1]["run"]
        assert server.run_document(second)["status"] == "queued"
        assert [e["type"] for e in server.run_document(second)["events"]] == ["forge.queued"]
        events = until(socket, "forge.completed") + until(socket, "forge.completed")
    # web's steps may start before nightly's POST arrives: what is fixed is that nightly is queued second and
    # that every event of its run comes after web's run has ended.
    queued = [e["app"] for e in events if e["type"] == "forge.queued"]
    assert queued == ["web", "nightly"]
    order = [e["app"] for e in events if e["type"] != "forge.queued"]
    assert order == sorted(order, key=lambda app: app != "web")  # every event of web before nightly's
    assert sum(1 for e in events if e["type"] == "forge.completed" and e["app"] == "web") == 1
    assert server.finished(first)["status"] == server.finished(second)["status"] == "completed"


def test_sigterm_lets_the_running_step_finish_then_a_cli_forge_resumes(norn, cluster, serve):
    norn.write_spec(WEB_SPEC)
    server = serve()
    cluster.inject(method="POST", path_contains="/services", delay=6)
    with server.events("web") as socket:
        run = server.request("POST", "/v1/apps/web/forge")[1]["run"]
        wait_for(lambda: cluster.count("POST", "/services"), what="create-service at work")
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: server.request("GET", "/healthz", token=None)[1]["status"] == "stopping", what="draining")
        assert server.request("POST", "/v1/apps/nightly/forge")[0] == 503
        events = until(socket, "forge.failed")
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=30)
        assert closed.value.rcvd.code == 1001  # RFC 6455 section 7.4.1: 1001 "going away", a server going down
    assert server.process.wait(timeout=60) == 0
    steps = {e["payload"]["step"]: e["payload"]["status"] for e in events if e["type"] == "forge.step"}
    assert steps["create-service"] == "completed" and steps["patch-cloudflared"] == "failed"
    assert "create-dns-route" not in steps
    state = norn.state("web")
    assert state["status"] == "forge_failed" and state["error"].startswith("patch-cloudflared: interrupted")
    assert run
    resumed = norn("forge", "web", "--output", "json")
    assert resumed.code == 0, resumed.stderr
    assert resumed.steps()["create-service"] == "skipped" and resumed.steps()["patch-cloudflared"] == "completed"


def test_with_the_kubernetes_state_backend_the_lease_excludes_a_cli(norn, cluster, serve):
    norn.write_spec(WEB_SPEC)
    server = serve("--state-backend", "kubernetes")
    cluster.inject(method="POST", path_contains="/services", delay=6)
    status, accepted = server.request("POST", "/v1/apps/web/forge")
    assert status == 202
    cli = norn("forge", "web", NORN_STATE_BACKEND="kubernetes")
    assert cli.code == 3, cli.stderr
    assert server.finished(accepted["run"])["status"] == "completed"
    assert server.request("GET", "/v1/apps/web")[1]["status"] == "forged"
    assert not (norn.state_dir / "web.json").exists()  # kept in the cluster, not in a local file


def test_of_simultaneous_posts_for_one_app_one_is_accepted_the_others_409(norn, cluster, serve):
    from concurrent.futures import ThreadPoolExecutor

    norn.write_spec(CRON_SPEC)
    server = serve()
    cluster.inject(method="POST", path_contains="/cronjobs", delay=5)  # the run holds the app meanwhile
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: server.request("POST", "/v1/apps/nightly/forge"), range(6)))
    assert sorted(status for status, _ in answers) == [202, 409, 409, 409, 409, 409]
    accepted = next(body for status, body in answers if status == 202)
    assert server.finished(accepted["run"])["status"] == "completed"
    assert cluster.count("POST", "/cronjobs") == 1
