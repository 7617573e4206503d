"""The command table: each command's name, where it lives and its one-line help.

A command's module (and whatever it imports) loads only when that command runs or shows its
help: `norn --help` lists the table as it is and imports none of them. The help here is the
command's whole help text, so it is written once.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

import typer
from typer.core import TyperGroup


class Command:
    """A command: its module is imported only when the command is looked up. (Plain classes, not
    dataclasses: building a dataclass costs `norn --help` about 2 ms.)"""

    def __init__(self, name: str, target: str, help: str) -> None:
        self.name = name
        self.target = target  # "module:function"; the module may set EPILOG
        self.help = help


class Group:
    """A command group over its own table (`norn state ...`)."""

    def __init__(self, name: str, help: str, commands: tuple[Command, ...]) -> None:
        self.name = name
        self.help = help
        self.commands = commands


TOP = (
    Command(
        "forge", "norn.cli.forge:forge",
        "Create the app's Deployment, Service, tunnel rule and DNS route, or its CronJob. Resumes a failed forge.",
    ),
    Command(
        "teardown", "norn.cli.teardown:teardown",
        "Remove what forge created, in reverse: DNS route, tunnel rule, Service, Deployment (volumes are kept).",
    ),
    Command(
        "status", "norn.cli.status:status",
        "Show where each app stands: status, the last run's steps, and what was created.",
    ),
    Command(
        "validate", "norn.cli.validate:validate",
        "Check infraspec files: one line per file, exit 2 if any is invalid. No cluster is needed.",
    ),
    Command(
        "plan", "norn.cli.plan:plan",
        "Show what norn forge APP would do, changing nothing (the same as norn forge APP --dry-run).",
    ),
    Command(
        "serve", "norn.cli.serve:serve",
        "Serve forge and teardown over HTTP, and their events over a WebSocket (needs norn[serve]).",
    ),
    Command("forget", "norn.cli.forget:forget", "Remove the state record of a torn-down app, so norn status stops listing it."),
    Group(
        "state", "Manage where state lives.",
        (
            Command(
                "migrate", "norn.cli.state_migrate:migrate",
                "Copy apps' state from one backend to the other; a newer record is never overwritten.",
            ),
        ),
    ),
)


def build(entry: Command | Group) -> typer.core.TyperCommand | TyperGroup:
    """The click command for an entry, importing its module now."""
    if isinstance(entry, Group):
        group = typer.Typer(
            name=entry.name, help=entry.help, cls=_group_class(entry.commands), no_args_is_help=True,
            rich_markup_mode=None, add_completion=False,
        )
        return typer.main.get_group(group)
    module_name, function = entry.target.split(":")
    module = importlib.import_module(module_name)
    info = typer.models.CommandInfo(
        name=entry.name, callback=getattr(module, function), help=entry.help, epilog=getattr(module, "EPILOG", None)
    )
    return typer.main.get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=None)


class Lazy(Mapping):
    """The group's commands by name, each built the first time it is looked up."""

    def __init__(self, entries) -> None:
        self._entries = {entry.name: entry for entry in entries}
        self._built: dict = {}

    def __getitem__(self, name: str):
        if name not in self._built:
            self._built[name] = build(self._entries[name])
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def help(self, name: str) -> str:
        return self._entries[name].help


class LazyGroup(TyperGroup):
    """A typer group over a table: lookups (and typo suggestions) go through the table, and the
    help lists each command's first sentence from the table, as click would from the command."""

    entries: tuple = ()

    def __init__(self, **attrs) -> None:
        super().__init__(**attrs)
        self.commands = Lazy(self.entries)

    def list_commands(self, ctx) -> list[str]:
        return list(self.commands)  # TyperGroup's walks .items(), which would build every command

    def format_commands(self, ctx, formatter) -> None:
        try:  # typer 0.22 and later carry click inside, as typer._click; earlier ones depend on click
            from typer._click.utils import make_default_short_help
        except ImportError:
            from click.utils import make_default_short_help

        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)  # as TyperGroup.format_commands
        rows = [(name, make_default_short_help(self.commands.help(name), limit).strip()) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _group_class(entries) -> type[LazyGroup]:
    return type("LazyGroup", (LazyGroup,), {"entries": entries})


TopGroup = _group_class(TOP)
