"""The app names completion offers, read cheaply from the state folder and the infraspecs."""

from __future__ import annotations

import pytest

from norn.cli import completion


@pytest.mark.parametrize("text, app", [
    ("app: web\n", "web"),
    ("# comment\nrole: worker\napp: 'shop'  # the shop\n", "shop"),
    ('app: "mail-agent"\n', "mail-agent"),
    ("  app: nested\n", None),  # not the top-level key
    ("app: {a: b}\n", None),  # not written plainly: the folder's name is used
    ("apps: web\n", None),
])
def test_app_key_is_the_top_level_app_value(text, app):
    assert completion.app_key(text) == app


def test_declared_apps_take_the_key_else_the_folder(tmp_path):
    for folder, text in {"web": "app: web\n", "renamed": "app: shop\n", "odd": "app: &a x\n", "empty": ""}.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "infraspec.yaml").write_text(text)
    (tmp_path / "no-spec").mkdir()
    assert completion.declared_apps(tmp_path) == {"web", "shop", "odd", "empty"}
    assert completion.declared_apps(tmp_path / "missing") == set()


def test_recorded_apps_are_the_json_records(tmp_path):
    for name in ("web.json", "web.lock", ".tmp.json", "api.json"):
        (tmp_path / name).write_text("{}")
    assert completion.recorded_apps(tmp_path) == {"web", "api"}


def test_complete_app_filters_by_prefix_and_drops_what_is_no_app_name(tmp_path, monkeypatch):
    (tmp_path / "state").mkdir()
    for name in ("web.json", "Bad_Name.json", "worker.json"):
        (tmp_path / "state" / name).write_text("{}")
    monkeypatch.setenv("NORN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("NORN_APPS_DIR", str(tmp_path / "apps"))
    monkeypatch.delenv("NORN_STATE_BACKEND", raising=False)
    assert completion.complete_app("w") == ["web", "worker"]
    assert completion.complete_app("") == ["web", "worker"]
