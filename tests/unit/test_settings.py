"""norn.settings.Settings: immutable, and its repr never shows the Cloudflare API token."""

from __future__ import annotations

import pytest

from norn import settings


def test_the_token_is_never_shown_and_the_settings_do_not_change():
    conf = settings.load({"CLOUDFLARE_API_TOKEN": "cf-secret-token", "NORN_STATE_DIR": "/tmp/norn-state"})
    assert conf.cloudflare_token == "cf-secret-token"
    assert "cf-secret-token" not in repr(conf) and "cf-secret-token" not in str(conf)
    assert "namespace='default'" in repr(conf)
    with pytest.raises(AttributeError):
        conf.namespace = "other"  # type: ignore[misc]
    staging = conf.with_flags(namespace="staging", context="ci")
    assert (staging.namespace, staging.context, conf.namespace, conf.context) == ("staging", "ci", "default", None)
    assert conf.with_flags() is conf
