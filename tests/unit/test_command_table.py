"""The lazy command table: `norn --help` lists every command without importing any, and what it
lists is what click would list from the commands themselves."""

import subprocess
import sys

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from norn.cli import app, commands

COMMAND_MODULES = {
    "norn.cli.forge", "norn.cli.teardown", "norn.cli.status", "norn.cli.status_live",
    "norn.cli.validate", "norn.cli.plan", "norn.cli.state_migrate", "norn.cli.dry_run",
}


def imported_by(args: list[str]) -> set[str]:
    code = (
        "import sys; from norn.cli import app\n"
        "try:\n    app(%r)\nexcept SystemExit:\n    pass\n"
        "print(' '.join(m for m in sys.modules if m.startswith('norn.cli.')))\n"
    ) % (args,)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())


def test_help_imports_no_command_module():
    assert imported_by(["--help"]) & COMMAND_MODULES == set()


def test_a_command_imports_its_own_module_only():
    loaded = imported_by(["validate", "--help"]) & COMMAND_MODULES
    assert loaded == {"norn.cli.validate"}


def entries(table=commands.TOP, prefix=""):
    for entry in table:
        if isinstance(entry, commands.Group):
            yield from entries(entry.commands, f"{prefix}{entry.name} ")
        else:
            yield prefix, entry


@pytest.mark.parametrize("prefix, entry", list(entries()), ids=lambda value: getattr(value, "name", value))
def test_every_entry_builds_the_command_it_names(prefix, entry):
    built = commands.build(entry)
    assert built.name == entry.name
    assert built.help == entry.help
    assert built.epilog and built.epilog.startswith(f"Examples: norn {prefix}{entry.name}")


@pytest.mark.parametrize("width", [50, 80, 200])
def test_the_listed_help_is_what_click_would_cut_from_the_commands(width):
    """The table's help, shortened by the group, reads as TyperGroup would show the built commands."""
    group = typer.main.get_command(app)
    built = TyperGroup(name="norn", commands={name: group.commands[name] for name in group.list_commands(None)})
    lazy_text = _commands_section(group, width)
    click_text = _commands_section(built, width)
    assert lazy_text == click_text
    assert "forge" in lazy_text and "state" in lazy_text


def _commands_section(group, width: int) -> str:
    try:  # typer 0.22 and later carry click inside; earlier ones (the floor, 0.19) depend on it
        import typer._click as click
    except ImportError:
        import click

    ctx = click.Context(group, info_name="norn")
    formatter = click.HelpFormatter(width=width)
    group.format_commands(ctx, formatter)
    return formatter.getvalue()


@pytest.mark.parametrize("args, suggestion", [(["teardwn"], "'teardown'"), (["state", "migrat"], "'migrate'")])
def test_a_mistyped_command_is_still_suggested_from_the_table(args, suggestion):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert f"Did you mean {suggestion}?" in result.output
