"""Dry runs (`plan`, `forge --dry-run`, `teardown --dry-run`): the real operations against recording
adapters, and the plan printed. No lock is taken and nothing is written anywhere."""

from __future__ import annotations

from norn.cli.exits import Exit
from norn.cli.printing import out, out_document
from norn.cli.wiring import connector, cwd, settings_for, store_for


def plan_forge(
    app_name, force, spec, namespace, context, server_dry_run, output, wait_seconds=None, state_backend=None,
    *, repair=False, delete_volumes=False, kubeconfig=None,
) -> None:
    """``forge --dry-run``: the real forge against recording adapters."""
    settings = settings_for(namespace, context, state_backend, kubeconfig)
    found = forge_plan(app_name, settings, spec=spec, force=force, wait_seconds=wait_seconds,
                       repair=repair, delete_volumes=delete_volumes)
    show_plan(found, output, settings if server_dry_run else None)


def forge_plan(app_name, settings, *, spec=None, force=False, wait_seconds=None, repair=False, delete_volumes=False):
    """The plan of ``norn forge APP`` (``norn plan APP``, and norn serve's GET .../plan)."""
    from norn.infraspec.discovery import find_and_load
    from norn.infraspec.loading import check_forgeable
    from norn.names import check_app_name
    from norn.operations import plan as planning

    check_app_name(app_name)
    loaded, path = find_and_load(app_name, spec_path=spec, apps_dir=settings.apps_dir, cwd=cwd())
    check_forgeable(loaded, path)
    return planning.plan_forge(
        loaded, settings, store_for(settings), connector(settings), force=force, wait_seconds=wait_seconds,
        repair=repair, delete_volumes=delete_volumes,
    )


def show_plan(found, output, server_settings, *, yaml_objects: bool = True) -> None:
    """Print a plan; exit 1 when a step would fail. With settings, check each write with dryRun=All first.
    yaml is the objects a forge would create, or (``yaml_objects`` False: a teardown) the JSON document as YAML."""
    from norn.operations import plan as planning
    from norn.output import views

    if server_settings is not None:
        planning.check_with_server(found, connector(server_settings)())
    if output.value == "json" or (output.value == "yaml" and not yaml_objects):
        out_document(found.to_json(), output.value)
    elif output.value == "yaml":
        out(views.plan_yaml(found), nl=False)
    else:
        for line in views.plan_lines(found):
            out(line)
    if found.fails:
        raise SystemExit(Exit.STEP_FAILED)
