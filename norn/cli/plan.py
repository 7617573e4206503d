"""`norn plan APP`: what forge would do, changing nothing (the same as `norn forge APP --dry-run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.dry_run import plan_forge
from norn.cli.exits import handled
from norn.cli.wiring import wait_seconds

EPILOG = "Examples: norn plan web · norn plan web --force · norn plan web -o yaml · norn plan web --server-dry-run"


def plan(
    app_name: str = o.ForgeAppArgument,
    force: bool = typer.Option(False, "--force", help="Plan a teardown, then a fresh forge."),
    repair: bool = o.RepairOption,
    delete_volumes: bool = o.UpdateDeleteVolumesOption,
    spec: Optional[Path] = o.SpecOption,
    namespace: Optional[str] = o.NamespaceOption,
    context: Optional[str] = o.ContextOption,
    kubeconfig: Optional[str] = o.KubeconfigOption,
    server_dry_run: bool = o.ServerDryRunOption,
    wait: bool = o.WaitOption,
    timeout: str = o.TimeoutOption,
    output: o.PlanOutput = o.PlanOutputOption,
    debug: bool = o.DebugOption,
) -> None:
    with handled(debug):
        waiting = wait_seconds(timeout) if wait else None
        plan_forge(app_name, force, spec, namespace, context, server_dry_run, output, waiting,
                   repair=repair, delete_volumes=delete_volumes, kubeconfig=kubeconfig)
