"""Pytest fixture for the stand-in Cloudflare API, reached the way a user's norn reaches the real one.

Load it with ``pytest_plugins = ["tests.cfapi.fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cfapi.server import CloudflareAPI


@pytest.fixture
def cfapi(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudflareAPI]:
    """A running stand-in API with zone example.com; ``CLOUDFLARE_BASE_URL`` and ``CLOUDFLARE_API_TOKEN`` point at it."""
    with CloudflareAPI() as server:
        server.add_zone("example.com")
        monkeypatch.setenv("CLOUDFLARE_BASE_URL", server.base_url)
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", server.token)
        yield server
