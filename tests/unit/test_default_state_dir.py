"""Where state lives when NORN_STATE_DIR is not set: platformdirs' user data folder.

Here so that make test-floor runs platformdirs' oldest allowed version too.
"""

from __future__ import annotations

import sys

import pytest

from norn import settings


@pytest.mark.skipif(sys.platform != "linux", reason="the XDG base directory rule is Linux's")
def test_the_state_folder_follows_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert settings.default_state_dir() == tmp_path / "data" / "norn" / "state"
    monkeypatch.delenv("NORN_STATE_DIR", raising=False)
    assert settings.load().state_dir == tmp_path / "data" / "norn" / "state"
