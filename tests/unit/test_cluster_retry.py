"""The retry arithmetic of the Kubernetes adapter, and the settings that bound it."""

from __future__ import annotations

import email.utils
import time

import pytest

from norn import retry, settings
from norn.errors import UsageError
from norn.kube.cluster import BACKOFF_CAP, BACKOFF_FIRST, backoff
from norn.retry import retry_after as _retry_after


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_grows_exponentially_with_jitter_up_to_a_cap(attempt):
    ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt)
    waits = {backoff(attempt, None) for _ in range(50)}
    assert all(ceiling / 2 <= w <= ceiling for w in waits)
    assert len(waits) > 1  # jitter


def test_retry_after_wins_when_longer():
    assert backoff(0, 7.0) == 7.0
    assert backoff(10, 0.0) >= BACKOFF_CAP / 2


def test_retry_after_parses_seconds_and_http_dates():
    assert _retry_after("3") == 3.0
    assert _retry_after(None) is None and _retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= _retry_after(later) <= 61


def test_retry_budget_and_timeouts_come_from_the_environment():
    loaded = settings.load({"NORN_API_RETRY_SECONDS": "5", "NORN_API_TIMEOUT": "2.5", "NORN_CLOUDFLARED_TIMEOUT": "9"})
    assert (loaded.api_retry_seconds, loaded.api_timeout, loaded.cloudflared_timeout) == (5.0, 2.5, 9.0)
    defaults = settings.load({})
    assert (defaults.api_retry_seconds, defaults.api_timeout, defaults.cloudflared_timeout) == (30.0, 30.0, 60.0)


@pytest.mark.parametrize("name, value", [("NORN_API_TIMEOUT", "0"), ("NORN_API_RETRY_SECONDS", "-1"), ("NORN_CLOUDFLARED_TIMEOUT", "x"), ("NORN_PG_PORT", "99999")])
def test_bad_numbers_in_the_environment_are_usage_errors(name, value):
    with pytest.raises(UsageError) as err:
        settings.load({name: value})
    assert name in err.value.message


# --- norn/retry.py: the one loop the cluster, the Cloudflare API and the ConfigMap's conflicts use ---------


class Busy(Exception):
    pass


def _flaky(failures: int, result: str = "ok"):
    calls = []

    def attempt(n: int) -> str:
        calls.append(n)
        if len(calls) <= failures:
            raise Busy(len(calls))
        return result

    return attempt, calls


def test_run_retries_what_is_retryable_and_counts_each_retry():
    attempt, calls = _flaky(2)
    slept, counted = [], []
    got = retry.run(
        attempt, retryable=lambda e: isinstance(e, Busy), wait=lambda n, e: n * 0.5,
        give_up=lambda n, elapsed, wait: False, sleep=slept.append, on_retry=lambda: counted.append(1),
    )
    assert got == "ok" and calls == [0, 1, 2] and slept == [0.5, 1.0] and len(counted) == 2


def test_run_raises_what_is_not_retryable_at_once():
    attempt, calls = _flaky(5)
    with pytest.raises(Busy):
        retry.run(attempt, retryable=lambda e: False, wait=lambda n, e: 1.0, give_up=lambda *a: False, sleep=pytest.fail)
    assert calls == [0]


def test_run_gives_up_without_sleeping_and_hands_over_the_last_error():
    attempt, calls = _flaky(10)
    slept = []
    with pytest.raises(Busy) as caught:
        retry.run(attempt, retryable=lambda e: True, wait=lambda n, e: 1.0, give_up=lambda n, *a: n >= 3, sleep=slept.append)
    assert caught.value.args == (3,) and len(calls) == 3 and slept == [1.0, 1.0]
    got = retry.run(
        _flaky(10)[0], retryable=lambda e: True, wait=lambda n, e: 0.0, give_up=lambda n, *a: n >= 2,
        gave_up=lambda error, n, elapsed: f"gave up on {error.args[0]} after {n}", sleep=slept.append,
    )
    assert got == "gave up on 2 after 2"


def test_the_cluster_gives_up_when_the_next_wait_passes_its_budget_and_says_how_many_retries(monkeypatch):
    from norn.errors import ClusterError
    from norn.kube.cluster import Cluster

    class Api:
        configuration = type("C", (), {"host": "http://k.invalid"})()

    cluster = Cluster(Api(), "ctx", retry_seconds=2.0, sleep=lambda s: None)
    sent = []

    def send(*args):
        sent.append(args)
        error = ClusterError("GET /x: busy (HTTP 429)", status=429)
        error.transient, error.retry_after = True, 0.9
        raise error

    monkeypatch.setattr(cluster, "_send", send)
    monkeypatch.setattr(retry.time, "monotonic", iter(range(0, 100)).__next__)  # one second per look at the clock
    with pytest.raises(ClusterError) as caught:
        cluster._request("GET", "/x")
    assert caught.value.message == "GET /x: busy (HTTP 429) (gave up after 1 retries in 2 s)"
    assert len(sent) == 2 and cluster.retries == 1
