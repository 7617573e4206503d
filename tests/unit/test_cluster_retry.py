"""The retry arithmetic of the Kubernetes adapter, and the settings that bound it."""

from __future__ import annotations

import email.utils
import time

import pytest

from norn import settings
from norn.errors import UsageError
from norn.kube.cluster import BACKOFF_CAP, BACKOFF_FIRST, _backoff, _retry_after


@pytest.mark.parametrize("attempt", range(8))
def test_backoff_grows_exponentially_with_jitter_up_to_a_cap(attempt):
    ceiling = min(BACKOFF_CAP, BACKOFF_FIRST * 2**attempt)
    waits = {_backoff(attempt, None) for _ in range(50)}
    assert all(ceiling / 2 <= w <= ceiling for w in waits)
    assert len(waits) > 1  # jitter


def test_retry_after_wins_when_longer():
    assert _backoff(0, 7.0) == 7.0
    assert _backoff(10, 0.0) >= BACKOFF_CAP / 2


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
