"""`norn forge APP`: create the app's objects, or resume a forge that failed."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.confirm import confirm, target
from norn.cli.dry_run import plan_forge
from norn.cli.exits import handled
from norn.cli.interrupts import interruptible
from norn.cli.printing import report, sink
from norn.cli.wiring import connector, cwd, settings_for, store_for, wait_seconds
from norn.errors import UsageError

EPILOG = "Examples: norn forge web · norn forge web --force --yes · norn forge web --output json"


def forge(
    app_name: str = o.ForgeAppArgument,
    force: bool = typer.Option(False, "--force", help="Tear the app down first, then forge it afresh."),
    repair: bool = o.RepairOption,
    delete_volumes: bool = o.UpdateDeleteVolumesOption,
    yes: bool = o.YesOption,
    spec: Optional[Path] = o.SpecOption,
    namespace: Optional[str] = o.NamespaceOption,
    context: Optional[str] = o.ContextOption,
    dry_run: bool = o.DryRunOption,
    server_dry_run: bool = o.ServerDryRunOption,
    wait: bool = o.WaitOption,
    timeout: str = o.TimeoutOption,
    output: o.PlanOutput = o.PlanOutputOption,
    debug: bool = o.DebugOption,
    state_backend: Optional[o.Backend] = o.StateBackendOption,
) -> None:
    # A failed --force is resumed without it: the same command would tear down again.
    with handled(debug, resume=f"run norn forge {app_name} without --force" if force else None):
        from norn.infraspec.discovery import find_and_load
        from norn.infraspec.loading import check_forgeable
        from norn.names import check_app_name
        from norn.operations import lifecycle

        if force and repair:
            raise UsageError("--force and --repair do not go together",
                             hint="--repair changes the app in place; --force tears it down and forges it afresh")
        if dry_run or server_dry_run:
            waiting = wait_seconds(timeout) if wait else None
            return plan_forge(app_name, force, spec, namespace, context, server_dry_run, output, waiting, state_backend,
                              repair=repair, delete_volumes=delete_volumes)
        if output is o.PlanOutput.yaml:
            raise UsageError("--output yaml shows the objects a dry run would create", hint="add --dry-run")
        waiting = wait_seconds(timeout) if wait else None
        settings = settings_for(namespace, context, state_backend)
        check_app_name(app_name)
        loaded, path = find_and_load(app_name, spec_path=spec, apps_dir=settings.apps_dir, cwd=cwd())
        check_forgeable(loaded, path)
        store = store_for(settings)
        peek = store.load(app_name)
        lifecycle.refuse_moved(peek, settings)
        connect = cache(connector(settings))  # the prompt names the context this run then uses
        if force and peek is not None and lifecycle.has_work_to_undo(peek):
            where = peek.resources.namespace or settings.namespace
            what = ", deleting its volumes" if delete_volumes else " (volumes are kept)"
            confirm(yes, lambda: f"Tear down {target(app_name, where, connect())}, and forge it afresh{what}?", "--force")
        with sink(output.value) as events, interruptible():
            outcome = lifecycle.forge(
                loaded, settings, store, events, connect, force=force, repair=repair,
                delete_volumes=delete_volumes, wait_seconds=waiting,
            )
        report(outcome, json_output=output is o.PlanOutput.json)
