"""Which command lines norn answers without typer: `status APP` alone (norn/cli/fastpath.py)."""

import pytest

from norn.cli.fastpath import plain_status


@pytest.mark.parametrize("argv", [["status", "web"], ["status", "status"], ["status", ""]])
def test_the_plain_form_is_answered_without_typer(argv, monkeypatch):
    monkeypatch.delenv("_NORN_COMPLETE", raising=False)
    assert plain_status(argv)


@pytest.mark.parametrize("argv", [
    [], ["status"], ["--help"], ["--version"], ["forge", "web"], ["status", "--help"], ["status", "-h"], ["status", "web", "-o", "json"],
    ["status", "-o", "json"], ["status", "--live"], ["status", "web", "--debug"], ["status", "a", "b"],
    ["status", "--", "web"], ["status", "-"], ["statu"], ["Status"], ["validate"],
])
def test_anything_else_goes_to_typer(argv, monkeypatch):
    monkeypatch.delenv("_NORN_COMPLETE", raising=False)
    assert not plain_status(argv)


def test_shell_completion_goes_to_typer(monkeypatch):
    monkeypatch.setenv("_NORN_COMPLETE", "complete_bash")
    assert not plain_status(["status", "web"])
