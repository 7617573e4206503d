"""`norn status [APP]`: where each app stands, from the recorded state alone (no cluster, no
kubernetes client, no pydantic: it is benchmarked against kubectl)."""

from __future__ import annotations

import json
from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.exits import handled
from norn.cli.known import check_known
from norn.cli.printing import out, show_status
from norn.cli.shown_state import as_seen, report_problems
from norn.cli.wiring import cwd, settings_for, store_for

EPILOG = "Examples: norn status · norn status web · norn status web --output json · norn status --live"


def status(
    app_name: Optional[str] = typer.Argument(None, metavar="[APP]", help="One app; all apps when left out."),
    live: bool = typer.Option(False, "--live", help="Also ask the cluster how each object is now, and report drift."),
    context: Optional[str] = o.ContextOption,
    output: o.Output = o.OutputOption,
    debug: bool = o.DebugOption,
    state_backend: Optional[o.Backend] = o.StateBackendOption,
) -> None:
    with handled(debug):
        from norn.output.rows import status_json
        from norn.state import ForgeState

        settings = settings_for(None, context, state_backend)
        store = store_for(settings)
        if app_name is not None:
            from norn.names import check_app_name

            check_app_name(app_name)
            if (recorded := store.load(app_name)) is None:
                check_known(app_name, store, settings, cwd())
        if live:
            from norn.cli.status_live import status_live

            return status_live(app_name, settings, store, output)
        if app_name is not None:
            state = as_seen(store, recorded or ForgeState(app_name))
            if output is o.Output.json:
                out(json.dumps(status_json(state), indent=2))
            else:
                show_status(state)
            return
        states, problems = store.list()
        states = [as_seen(store, state) for state in states]
        if output is o.Output.json:
            out(json.dumps(status_json(states), indent=2))
        else:
            show_status(states)
        report_problems(problems)

