"""A many-app run's one connection: the kubeconfig read once, a sibling Cluster per app, each namespace checked once."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from norn.errors import UsageError
from norn.kube.apierrors import NamespaceUnusable
from norn.kube.cluster import Cluster
from norn.operations.many import one_connection


def cluster() -> Cluster:
    api = SimpleNamespace(configuration=SimpleNamespace(host="https://kube.example:6443", proxy=None))
    return Cluster(api, "ctx", "me", retry_seconds=7.0, request_timeout=3.0)


def test_a_sibling_shares_the_connection_and_keeps_its_own_retry_count():
    first = cluster()
    first.retries = 4
    twin = first.sibling()
    assert twin._api is first._api and (twin.context, twin.user, twin.server) == ("ctx", "me", first.server)
    assert (twin.retry_seconds, twin.request_timeout, twin.retries) == (7.0, 3.0, 0)


def test_siblings_check_a_namespace_once_and_only_once_it_was_found_usable():
    first, answers, asked = cluster(), [{"status": {"phase": "Terminating"}}, {"status": {"phase": "Active"}}], []

    def request(method, path, **_):
        asked.append(path)
        return answers.pop(0)

    first._request = request
    with pytest.raises(NamespaceUnusable):
        first.check_namespace("shop")
    twin = first.sibling()
    twin._request = request
    twin.check_namespace("shop")  # being deleted is not remembered: asked again, now usable
    first.check_namespace("shop")
    first.sibling().check_namespace("shop")
    assert asked == ["/api/v1/namespaces/shop"] * 2


def test_the_apps_of_a_run_connect_once_each_with_a_cluster_of_its_own():
    made = []

    def connect():
        made.append(cluster())
        return made[-1]

    each = one_connection(connect)
    got = []
    threads = [threading.Thread(target=lambda: got.append(each())) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(made) == 1 and len({id(c) for c in got}) == 20
    assert all(c._api is made[0]._api for c in got)


def test_a_connect_that_fails_fails_each_app_that_tries_it():
    calls = []

    def connect():
        calls.append(1)
        raise UsageError("kubeconfig /nope: no such file")

    each = one_connection(connect)
    for _ in range(2):
        with pytest.raises(UsageError):
            each()
    assert len(calls) == 2


def test_apps_that_start_together_still_check_their_namespace_once(monkeypatch):
    asked = []

    def request(self, method, path, **_):
        asked.append(path)
        time.sleep(0.05)  # the first check still in flight while the others arrive
        return {"status": {"phase": "Active"}}

    monkeypatch.setattr(Cluster, "_request", request)
    first = cluster()
    threads = [threading.Thread(target=first.sibling().check_namespace, args=("shop",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert asked == ["/api/v1/namespaces/shop"]
