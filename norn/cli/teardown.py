"""`norn teardown APP`: remove what forge created, in reverse."""

from __future__ import annotations

from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.confirm import confirm
from norn.cli.dry_run import show_plan
from norn.cli.exits import handled
from norn.cli.interrupts import interruptible
from norn.cli.printing import report, sink
from norn.cli.wiring import connector, settings_for, store_for
from norn.errors import UsageError

EPILOG = "Examples: norn teardown web · norn teardown web --yes --delete-volumes"


def teardown(
    app_name: str = typer.Argument(..., metavar="APP", help="The app to tear down.", autocompletion=o.complete_app),
    yes: bool = o.YesOption,
    delete_volumes: bool = typer.Option(False, "--delete-volumes", help="Also delete the app's PersistentVolumeClaims and their data."),
    namespace: Optional[str] = o.NamespaceOption,
    context: Optional[str] = o.ContextOption,
    kubeconfig: Optional[str] = o.KubeconfigOption,
    dry_run: bool = o.DryRunOption,
    server_dry_run: bool = o.ServerDryRunOption,
    output: o.DocOutput = o.TeardownOutputOption,
    debug: bool = o.DebugOption,
    state_backend: Optional[o.Backend] = o.StateBackendOption,
) -> None:
    with handled(debug):
        from norn.names import check_app_name
        from norn.operations import lifecycle

        if output is o.DocOutput.yaml and not (dry_run or server_dry_run):
            raise UsageError("--output yaml shows the plan of a dry run", hint="add --dry-run")
        settings = settings_for(None, context, state_backend, kubeconfig)
        check_app_name(app_name)
        store = store_for(settings.with_flags(namespace=namespace))  # the state lives with the app by default
        if dry_run or server_dry_run:
            from norn.operations import plan as planning

            found = planning.plan_teardown(
                app_name, settings, store, connector(settings), delete_volumes=delete_volumes, namespace_flag=namespace
            )
            return show_plan(found, output, settings if server_dry_run else None, yaml_objects=False)
        peek = store.load(app_name)
        if peek is not None and lifecycle.has_work_to_undo(peek):
            what = "and delete its volumes" if delete_volumes else "(volumes are kept)"
            confirm(yes, f"Tear down {app_name} {what}?", "teardown")
        with sink(output.value) as events, interruptible():
            outcome = lifecycle.teardown(
                app_name, settings, store, events, connector(settings),
                delete_volumes=delete_volumes, namespace_flag=namespace,
            )
        report(outcome, json_output=output is o.DocOutput.json)
