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
from norn.cli.printing import out, report, sink
from norn.cli.wiring import connector, cwd, settings_for, store_for, wait_seconds
from norn.errors import UsageError

EPILOG = ("Examples: norn forge web · norn forge web --force --yes · norn forge web --output json · "
          "norn forge web api mail · norn forge --all")


def forge(
    app_names: Optional[list[str]] = typer.Argument(
        None, metavar="APP...", help="The apps' names (their infraspecs' app keys); several run together.",
        autocompletion=o.complete_app),
    all_apps: bool = typer.Option(False, "--all", help="Forge every app with an infraspec under NORN_APPS_DIR."),
    force: bool = typer.Option(False, "--force", help="Tear the app down first, then forge it afresh."),
    repair: bool = o.RepairOption,
    delete_volumes: bool = o.UpdateDeleteVolumesOption,
    yes: bool = o.YesOption,
    spec: Optional[Path] = o.SpecOption,
    namespace: Optional[str] = o.NamespaceOption,
    context: Optional[str] = o.ContextOption,
    kubeconfig: Optional[str] = o.KubeconfigOption,
    dry_run: bool = o.DryRunOption,
    server_dry_run: bool = o.ServerDryRunOption,
    wait: bool = o.WaitOption,
    timeout: str = o.TimeoutOption,
    output: o.PlanOutput = o.PlanOutputOption,
    debug: bool = o.DebugOption,
    state_backend: Optional[o.Backend] = o.StateBackendOption,
) -> None:
    # A failed --force is resumed without it: the same command would tear down again.
    named = "--all" if all_apps else " ".join(app_names or [])
    with handled(debug, resume=f"run norn forge {named} without --force" if force else None):
        from norn.infraspec.discovery import find_and_load
        from norn.infraspec.loading import check_forgeable
        from norn.names import check_app_name
        from norn.operations import lifecycle

        if force and repair:
            raise UsageError("--force and --repair do not go together",
                             hint="--repair changes the app in place; --force tears it down and forges it afresh")
        if all_apps or len(app_names or []) != 1:
            return forge_many(app_names or [], all_apps, force, repair, delete_volumes, yes, namespace, context,
                              timeout if wait else None, output, state_backend, kubeconfig,
                              one_app_flags={"--spec": spec is not None, "--dry-run": dry_run,
                                             "--server-dry-run": server_dry_run,
                                             "--output yaml": output is o.PlanOutput.yaml})
        app_name = app_names[0]
        if dry_run or server_dry_run:
            waiting = wait_seconds(timeout) if wait else None
            return plan_forge(app_name, force, spec, namespace, context, server_dry_run, output, waiting, state_backend,
                              repair=repair, delete_volumes=delete_volumes, kubeconfig=kubeconfig)
        if output is o.PlanOutput.yaml:
            raise UsageError("--output yaml shows the objects a dry run would create", hint="add --dry-run")
        waiting = wait_seconds(timeout) if wait else None
        settings = settings_for(namespace, context, state_backend, kubeconfig)
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


def forge_many(apps, all_apps, force, repair, delete_volumes, yes, namespace, context, timeout, output,
               state_backend, kubeconfig, one_app_flags) -> None:
    """Several apps (or --all) in one run: one config write and one cloudflared restart for them all."""
    from norn.cli import many as cli_many
    from norn.operations import many

    if all_apps == bool(apps):
        raise UsageError("name the apps to forge, or pass --all, not both" if apps else "no app named",
                         hint="norn forge APP [APP ...], or norn forge --all for every app under NORN_APPS_DIR")
    cli_many.refuse(one_app_flags)
    waiting = wait_seconds(timeout) if timeout else None
    settings = settings_for(namespace, context, state_backend, kubeconfig)
    if all_apps:
        specs, notes = cli_many.checked(lambda: many.all_specs(cwd() / settings.apps_dir))
        for note in notes:
            out(f"note: {note}", err=True)
    else:
        specs = cli_many.checked(lambda: many.find_specs(apps, settings.apps_dir, cwd()))
    store = store_for(settings)
    if force:
        confirm(yes, lambda: f"Tear down {len(specs)} apps and forge them afresh (volumes are kept)?", "--force")
    cli_many.run("forge", lambda events: many.forge_many(
        specs, settings, store, events, connector(settings), force=force, repair=repair,
        delete_volumes=delete_volumes, wait_seconds=waiting), output.value)
