"""Scenarios 3 and 5: many apps against one cloudflared ConfigMap, and two runs racing for one app.

Load (``make test-load``): 50 norn processes forge 50 apps at once against one
stand-in cluster whose every answer is delayed (``latency``), so that their
read-modify-writes of the cloudflared ConfigMap overlap and conflict; then 50
processes tear them down at once. Every rule must be there exactly once, the
config must parse with the catch-all last, and after the teardowns config.yaml
must be byte-identical to the start.

Races: two norn processes start the same command on the same app at once, with
each state backend (the local flock, the kubernetes Lease). Whichever takes the
lock has its first request for the app held at a Gate until the other has
exited, so the two runs overlap however the machine schedules them; the other
must exit 3, and only one may ever run. 10 rounds per backend in ``make test``,
100 in ``make test-load``.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.kubeapi import DEFAULT_CLOUDFLARED_CONFIG
from tests.reliability import figures
from tests.reliability.harness import (
    FORGE,
    TEARDOWN,
    Gate,
    configmap_text,
    ingress_rules,
    wait_until,
)

# --- two runs, one app ---------------------------------------------------------------


# The first request each operation makes for the app itself, after the lock (a state backend's
# own requests, the kubernetes backend's Lease among them, come before and pass).
FIRST_APP_REQUEST = {
    "forge": ("POST", "/namespaces/default/persistentvolumeclaims"),
    "teardown": ("GET", "/configmaps/cloudflared"),
}
GAVE_WAY = {  # what the run that did not get the lock says, by state backend
    "local": ("operation already in progress (pid ",),
    "kubernetes": ("operation already in progress (", "another norn run took the lock at the same moment"),
}


def race(norn, cluster, rounds: int, backend: str) -> None:
    """Alternate forge and teardown rounds of two simultaneous runs on the web app."""
    env = {"NORN_STATE_BACKEND": backend}
    for round_ in range(rounds):
        operation, args = ("forge", FORGE) if round_ % 2 == 0 else ("teardown", TEARDOWN)
        cluster.clear_log()
        # The lock holder waits at the gate until the other run has exited: the two overlap, however
        # the machine schedules them. A holder sends one request at a time, so two held means two holders.
        with Gate(cluster, *FIRST_APP_REQUEST[operation]) as gate:
            runs = [norn.start(*args, **env), norn.start(*args, **env)]
            wait_until(lambda: any(run.popen.poll() is not None for run in runs) or gate.held > 1,
                       "one of the two runs to give way")
            if gate.held > 1:
                figures.count("lock_races_both_ran")
                raise AssertionError(f"round {round_}: both runs reached the app's objects: both took the lock")
            first = next(run for run in runs if run.popen.poll() is not None)
            holder = runs[1 - runs.index(first)]
            gave_way = first.wait()
            gate.release(drop=False)
            ran = holder.wait()
        both_ran = gave_way.code != 3 and any(e["type"].endswith(".queued") for e in gave_way.events())
        figures.count("lock_races")
        if backend == "kubernetes":
            figures.count("lock_races_kubernetes")
        figures.count("lock_races_both_ran", int(both_ran))
        assert not both_ran, f"round {round_}: both ran\n{gave_way.explain()}\n{ran.explain()}"
        assert gave_way.code == 3, f"round {round_}: {gave_way.explain()}"
        assert any(said in gave_way.stderr for said in GAVE_WAY[backend]), gave_way.stderr
        assert gave_way.stdout == ""
        assert ran.code == 0, f"round {round_}: {ran.explain()}"
        assert ran.events()[-1]["type"] == f"{operation}.completed"
        # the holder's requests only: one of each write
        if operation == "forge":
            assert cluster.count("POST", "/persistentvolumeclaims") == 1
        else:
            assert cluster.count("DELETE", "/persistentvolumeclaims/web-data") == 1
        status = norn("status", "web", "--output", "json", **env)
        assert json.loads(status.stdout)["status"] == ("forged" if operation == "forge" else "unforged")
        figures.count("lock_races_exit_3")
        figures.count("scenarios")


@pytest.mark.parametrize("backend", ["local", "kubernetes"])
def test_two_runs_on_the_same_app_one_runs_the_other_exits_3(norn, cluster, backend):
    race(norn, cluster, rounds=10, backend=backend)


@pytest.mark.load
@pytest.mark.parametrize("backend", ["local", "kubernetes"])
def test_two_runs_on_the_same_app_100_times(norn, cluster, backend):
    race(norn, cluster, rounds=100, backend=backend)


# --- 50 apps, one ConfigMap ---------------------------------------------------------------

APPS = 50
LATENCY = 0.1  # seconds the server waits before answering anything: read-modify-writes overlap
# 50 processes on 2 cores take turns at one ConfigMap: the last writer waits 20-30 s, near the 30 s default
# budget for conflicts. The budget bounds waiting; what this run checks is that nothing is lost or doubled.
RETRY_SECONDS = "120"

APP_SPEC = """\
app: {app}
role: webserver
port: 8080
healthcheck: /health
hosts:
  external: {app}.example.com
  internal: {app}-svc
volumes:
  - name: data
    mountPath: /data
    size: 1Gi
"""


def run_all(norn, args_for, apps: list[str]) -> tuple[float, float]:
    """Start one norn process per app at once; wait for all; return the wall time and the slowest config edit."""
    started = time.monotonic()
    processes = {
        app: norn.start(
            *args_for(app),
            CLOUDFLARED_STANDIN_STATE=str(norn.root / "cloudflared" / f"{app}.json"),
            NORN_API_RETRY_SECONDS=RETRY_SECONDS,
        )
        for app in apps
    }
    runs = {app: process.wait(timeout=900) for app, process in processes.items()}
    wall = time.monotonic() - started
    failed = {app: run.explain() for app, run in runs.items() if run.code != 0}
    assert not failed, f"{len(failed)} of {len(apps)} runs failed: {next(iter(failed.values()))}"
    edits = [
        payload.get("durationMs", 0) / 1000
        for run in runs.values()
        for payload in run.steps().values()
        if payload["step"] in ("patch-cloudflared", "unpatch-cloudflared")
    ]
    return wall, max(edits)


def conflicts(cluster) -> int:
    return sum(1 for r in cluster.requests if r.method == "PUT" and "/configmaps/cloudflared" in r.path and r.status == 409)


@pytest.mark.load
def test_fifty_apps_forged_and_torn_down_at_once_keep_the_config_exact(norn, cluster):
    apps = [f"app-{n:02d}" for n in range(APPS)]
    for app in apps:
        norn.write_spec(APP_SPEC.format(app=app), app)
    (norn.root / "cloudflared").mkdir()
    cluster.latency = LATENCY
    cluster.clear_log()

    forge_wall, forge_edit = run_all(norn, lambda app: ("forge", app, "--output", "json"), apps)
    forge_conflicts = conflicts(cluster)
    text = configmap_text(cluster)
    hostnames = [rule.get("hostname") for rule in ingress_rules(text)]  # parses; the catch-all last
    assert sorted(hostnames[:-1]) == sorted(["grafana.example.com"] + [f"{app}.example.com" for app in apps]), text
    for app in apps:
        assert hostnames.count(f"{app}.example.com") == 1
        assert cluster.get_object("deployments", "default", app, group="apps") is not None
        assert cluster.get_object("services", "default", f"{app}-svc") is not None
        assert cluster.get_object("persistentvolumeclaims", "default", f"{app}-data") is not None
    assert forge_conflicts > 0, "the forges' read-modify-writes never overlapped: raise LATENCY"

    cluster.clear_log()
    teardown_wall, teardown_edit = run_all(
        norn, lambda app: ("teardown", app, "--yes", "--delete-volumes", "--output", "json"), apps
    )
    teardown_conflicts = conflicts(cluster)
    assert configmap_text(cluster) == DEFAULT_CLOUDFLARED_CONFIG  # byte-identical to the start
    for plural, group in (("deployments", "apps"), ("services", ""), ("persistentvolumeclaims", "")):
        left = [o["metadata"]["name"] for o in cluster.objects(plural, group) if o["metadata"]["namespace"] == "default"]
        assert left == [], f"{plural} left behind: {left}"

    figures.count("load_apps", APPS)
    figures.count("load_conflicts_forge", forge_conflicts)
    figures.count("load_conflicts_teardown", teardown_conflicts)
    figures.count("objects_lost", 0)
    figures.count("scenarios", 2)
    figures.note("load wall time", f"forge {forge_wall:.1f} s, teardown {teardown_wall:.1f} s "
                 f"({APPS} processes each, server latency {LATENCY:g} s)")
    figures.note("slowest config edit", f"patch-cloudflared {forge_edit:.1f} s, unpatch-cloudflared {teardown_edit:.1f} s "
                 f"(conflicts retried for NORN_API_RETRY_SECONDS={RETRY_SECONDS} s; the default is 30 s)")
