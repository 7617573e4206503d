"""`norn status [APP]`: where each app stands, from the recorded state (status_recorded.py), or with
--live beside what the cluster says (status_live.py). This module declares the command for typer."""

from __future__ import annotations

from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.exits import handled
from norn.cli.status_recorded import known_state, show_recorded
from norn.cli.wiring import cwd, settings_for, store_for
from norn.errors import UsageError

EPILOG = (
    "Examples: norn status · norn status -n staging · norn status web --output yaml · "
    "norn status --live · norn status web --live --exit-code"
)


def status(
    app_name: Optional[str] = typer.Argument(
        None, metavar="[APP]", help="One app; all apps when left out.", autocompletion=o.complete_app
    ),
    live: bool = typer.Option(False, "--live", help="Also ask the cluster how each object is now, and report drift."),
    exit_code: bool = typer.Option(
        False, "--exit-code", help="With --live: exit 1 when any drift is found, 0 when none (as git diff --exit-code)."
    ),
    namespace: Optional[str] = typer.Option(
        None, "--namespace", "-n", help="Only the apps forged into this namespace (and, with the kubernetes backend, "
        "the state kept there)."
    ),
    context: Optional[str] = o.ContextOption,
    kubeconfig: Optional[str] = o.KubeconfigOption,
    output: o.DocOutput = o.DocOutputOption,
    debug: bool = o.DebugOption,
    state_backend: Optional[o.Backend] = o.StateBackendOption,
) -> None:
    with handled(debug):
        if exit_code and not live:
            raise UsageError("--exit-code reports drift, which only --live looks for", hint="add --live")
        settings = settings_for(namespace, context, state_backend, kubeconfig)
        if not live:
            return show_recorded(app_name, settings, output.value, namespace)
        from norn.cli.status_live import status_live

        store = store_for(settings)
        if app_name is not None:  # an unknown app is refused before the cluster is asked
            known_state(app_name, store, settings, cwd())
        return status_live(app_name, settings, store, output, namespace=namespace, exit_code=exit_code)
