"""`norn teardown APP`: remove what forge created, in reverse."""

from __future__ import annotations

from functools import cache
from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.confirm import confirm, target
from norn.cli.dry_run import show_plan
from norn.cli.exits import handled
from norn.cli.interrupts import interruptible
from norn.cli.known import check_known
from norn.cli.printing import out, report, sink
from norn.cli.wiring import connector, cwd, settings_for, store_for

EPILOG = "Examples: norn teardown web · norn teardown web --yes --delete-volumes"


def teardown(
    app_name: str = typer.Argument(..., metavar="APP", help="The app to tear down."),
    yes: bool = o.YesOption,
    delete_volumes: bool = typer.Option(False, "--delete-volumes", help="Also delete the app's PersistentVolumeClaims and their data."),
    namespace: Optional[str] = o.NamespaceOption,
    context: Optional[str] = o.ContextOption,
    dry_run: bool = o.DryRunOption,
    server_dry_run: bool = o.ServerDryRunOption,
    output: o.Output = o.OutputOption,
    debug: bool = o.DebugOption,
    state_backend: Optional[o.Backend] = o.StateBackendOption,
) -> None:
    with handled(debug):
        from norn.names import check_app_name
        from norn.operations import lifecycle

        settings = settings_for(None, context, state_backend)
        check_app_name(app_name)
        store = store_for(settings.with_flags(namespace=namespace))  # the state lives with the app by default
        peek = store.load(app_name)
        if peek is None:
            check_known(app_name, store, settings, cwd())
        if dry_run or server_dry_run:
            from norn.operations import plan as planning

            found = planning.plan_teardown(
                app_name, settings, store, connector(settings), delete_volumes=delete_volumes, namespace_flag=namespace
            )
            return show_plan(found, output, settings if server_dry_run else None)
        if peek is None and not store.is_running(app_name):  # no lock is taken, so none is left behind
            return out(f"{app_name}: nothing to tear down (it is not forged)", err=output is o.Output.json)
        lifecycle.refuse_moved(peek, settings)
        connect = cache(connector(settings))  # the prompt names the context this run then uses
        if peek is not None and lifecycle.has_work_to_undo(peek):
            where = peek.resources.namespace or namespace or settings.namespace
            what = ", and delete its volumes" if delete_volumes else " (volumes are kept)"
            confirm(yes, lambda: f"Tear down {target(app_name, where, connect())}{what}?", "teardown")
        with sink(output.value) as events, interruptible():
            outcome = lifecycle.teardown(
                app_name, settings, store, events, connect,
                delete_volumes=delete_volumes, namespace_flag=namespace,
            )
        report(outcome, json_output=output is o.Output.json)
