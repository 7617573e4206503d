"""Shell completion through the protocol the shells' scripts use, as a shell runs norn at each TAB.

Typer's own mechanism (typer >= 0.19; typer/_completion_classes.py): the script that
`norn --show-completion` prints calls norn with `_NORN_COMPLETE=complete_bash` and click's
`COMP_WORDS`/`COMP_CWORD` (bash), or `_NORN_COMPLETE=complete_zsh`/`complete_fish` with
`_TYPER_COMPLETE_ARGS` (the command line so far) and, for fish, `_TYPER_COMPLETE_FISH_ACTION`.
The variable's name comes from the program's name (click's `_{PROG_NAME}_COMPLETE`).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.conftest import Norn

HEAVY = ("kubernetes", "pydantic", "yaml", "rich")


@pytest.fixture
def apps(tmp_path) -> Norn:
    norn = Norn(tmp_path)
    norn.write_spec("app: web\nrole: worker\n")
    norn.write_spec("# the shop\napp: 'shop'\nrole: worker\n", folder="shop-folder")  # the key, not the folder
    norn.state_dir.mkdir()
    (norn.state_dir / "old-app.json").write_text("{}")  # a record whose infraspec is gone
    (norn.state_dir / "web.lock").write_text("")
    return norn


def bash(norn: Norn, line: str, **env: str) -> list[str]:
    words = line.split(" ")
    run = norn(_NORN_COMPLETE="complete_bash", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1), **env)
    assert run.code == 0, run.stderr
    return run.stdout.splitlines()


def test_bash_completes_commands_flags_and_app_names(apps):
    assert bash(apps, "norn ") == ["forge", "teardown", "status", "validate", "plan", "serve", "forget", "state"]
    assert bash(apps, "norn st") == ["status", "state"]
    assert bash(apps, "norn state ") == ["migrate"]
    assert {"--live", "--exit-code", "--namespace", "--kubeconfig", "--output"} <= set(bash(apps, "norn status --"))
    assert bash(apps, "norn status -o ") == ["text", "json", "yaml"]
    for command in ("forge", "plan", "teardown", "status"):
        assert bash(apps, f"norn {command} ") == ["old-app", "shop", "web"]
    assert bash(apps, "norn forge s") == ["shop"]
    assert bash(apps, "norn teardown --yes w") == ["web"]


def test_zsh_and_fish_complete_app_names(apps):
    zsh = apps(_NORN_COMPLETE="complete_zsh", _TYPER_COMPLETE_ARGS="norn teardown w")
    assert zsh.stdout.strip() == "_arguments '*: :((\"web\"))'"
    fish = apps(_NORN_COMPLETE="complete_fish", _TYPER_COMPLETE_ARGS="norn plan ", _TYPER_COMPLETE_FISH_ACTION="get-args")
    assert fish.stdout.splitlines() == ["old-app", "shop", "web"]


def test_completion_imports_neither_the_kubernetes_client_nor_pydantic(apps):
    """A shell waits on this at every TAB (docs/performance.md: the start-up budget)."""
    run = apps(_NORN_COMPLETE="complete_bash", COMP_WORDS="norn forge ", COMP_CWORD="2", PYTHONPROFILEIMPORTTIME="1")
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert run.stdout.splitlines() == ["old-app", "shop", "web"]
    assert {name for name in imported if name.split(".")[0] in HEAVY} == set()


def test_a_kubernetes_backend_completes_from_the_infraspecs_only(apps, cluster):
    """Listing its records would be a request: completion never makes one."""
    assert bash(apps, "norn status ", NORN_STATE_BACKEND="kubernetes") == ["shop", "web"]
    assert cluster.requests == []


def test_bad_settings_complete_nothing_and_say_nothing(apps):
    run = apps(_NORN_COMPLETE="complete_bash", COMP_WORDS="norn forge ", COMP_CWORD="2", NORN_PG_PORT="nope")
    assert (run.code, run.stdout.strip(), run.stderr) == (0, "", "")


@pytest.mark.parametrize("shell, says", [
    ("bash", "complete -o default -F _norn_completion norn"),
    ("zsh", "#compdef norn"),
    ("fish", "complete --command norn"),
])
def test_the_completion_script_of_each_shell_calls_norn_with_its_variable(apps, shell, says):
    run = apps(_NORN_COMPLETE=f"source_{shell}")  # what --show-completion prints for that shell
    assert run.code == 0, run.stderr
    assert says in run.stdout and f"_NORN_COMPLETE=complete_{shell}" in run.stdout


def test_show_and_install_completion_in_bash(apps, tmp_path):
    """Run from bash, as a user does: typer finds the shell (shellingham) and writes to HOME."""
    home = tmp_path / "home"
    home.mkdir()
    env = apps.env(HOME=str(home))
    norn = f"{sys.executable} -m norn"
    shown = subprocess.run(["bash", "-c", f"{norn} --show-completion; true"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert "complete -o default -F _norn_completion norn" in shown.stdout, shown.stderr
    installed = subprocess.run(["bash", "-c", f"{norn} --install-completion; true"], env=env, capture_output=True,
                               text=True, timeout=60)
    assert "bash completion installed in" in installed.stdout, installed.stderr
    assert "_NORN_COMPLETE=complete_bash" in (home / ".bash_completions" / "norn.sh").read_text()
    assert "norn.sh" in (home / ".bashrc").read_text()


def test_help_lists_the_completion_options(apps):
    text = apps("--help").stdout
    assert "--install-completion" in text and "--show-completion" in text
