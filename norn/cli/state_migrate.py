"""`norn state migrate --to BACKEND [APP]...`: copy apps' state from one backend to the other."""

from __future__ import annotations

import json
from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.exits import Exit, handled
from norn.cli.printing import out
from norn.cli.wiring import settings_for

EPILOG = (
    "Examples: norn state migrate --to kubernetes · norn state migrate --to local web · "
    "NORN_STATE_NAMESPACE=norn norn state migrate --to kubernetes"
)


def migrate(
    apps: Optional[list[str]] = typer.Argument(None, metavar="APP", help="Apps to copy (default: every app the source holds)."),
    to: o.Backend = typer.Option(..., "--to", help="The backend to copy into; the other one is the source."),
    context: Optional[str] = o.ContextOption,
    kubeconfig: Optional[str] = o.KubeconfigOption,
    output: o.Output = o.OutputOption,
    debug: bool = o.DebugOption,
) -> None:
    with handled(debug):
        from norn.names import check_app_name
        from norn.store import migrate as migration
        from norn.store import open_store

        settings = settings_for(None, context, kubeconfig=kubeconfig)
        for name in apps or []:
            check_app_name(name)
        source_backend = o.Backend.local if to is o.Backend.kubernetes else o.Backend.kubernetes
        source = open_store(settings, source_backend.value)
        results = migration.migrate(source, migration.targets(settings, to.value), apps or None, to.value)
        if output is o.Output.json:
            out(json.dumps([r.to_json() for r in results], indent=2))
        elif not results:
            out(f"nothing to migrate: no state in {source.where()}")
        else:
            for result in results:
                out(result.line())
            copied = sum(r.outcome == migration.COPIED for r in results)
            out(f"copied {copied} of {len(results)} app{'s' if len(results) != 1 else ''}")
        if not all(r.ok for r in results):
            raise SystemExit(Exit.STEP_FAILED)
