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
from norn.errors import UsageError

EPILOG = "Examples: norn teardown web · norn teardown web --yes --delete-volumes · norn teardown web api --yes"


def teardown(
    app_names: list[str] = typer.Argument(
        ..., metavar="APP...", help="The apps to tear down; several run together.", autocompletion=o.complete_app
    ),
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
        if len(app_names) > 1:
            return teardown_many(app_names, settings, yes, delete_volumes, namespace,
                                 {"--dry-run": dry_run, "--server-dry-run": server_dry_run}, output)
        app_name = app_names[0]
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
            return show_plan(found, output, settings if server_dry_run else None, yaml_objects=False)
        if peek is None and not store.is_running(app_name):  # no lock is taken, so none is left behind
            return out(f"{app_name}: nothing to tear down (it is not forged)", err=output is o.DocOutput.json)
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
        report(outcome, json_output=output is o.DocOutput.json)


def teardown_many(apps, settings, yes, delete_volumes, namespace, one_app_flags, output) -> None:
    """Several apps in one run: one config write and one cloudflared restart for them all."""
    from norn.cli import many as cli_many
    from norn.operations import many

    cli_many.refuse(one_app_flags)
    cli_many.checked(lambda: many.check_names(apps))
    store = store_for(settings.with_flags(namespace=namespace))
    what = "and delete their volumes" if delete_volumes else "(volumes are kept)"
    confirm(yes, lambda: f"Tear down {len(apps)} apps ({', '.join(apps)}) {what}?", "teardown")
    cli_many.run("teardown", lambda events: many.teardown_many(
        apps, settings, store, events, connector(settings), delete_volumes=delete_volumes,
        namespace_flag=namespace), output.value)
