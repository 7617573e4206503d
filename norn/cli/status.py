"""`norn status [APP]`: where each app stands, from the recorded state alone (no cluster, no
kubernetes client, no pydantic: it is benchmarked against kubectl)."""

from __future__ import annotations

from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.exits import handled
from norn.cli.known import check_known
from norn.cli.printing import out_document, show_status
from norn.cli.shown_state import as_seen, in_namespace, report_problems
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
        from norn.output.rows import status_json

        if exit_code and not live:
            raise UsageError("--exit-code reports drift, which only --live looks for", hint="add --live")
        settings = settings_for(namespace, context, state_backend, kubeconfig)
        store = store_for(settings)
        if app_name is not None:
            recorded = known_state(app_name, store, settings, cwd())
        if live:
            from norn.cli.status_live import status_live

            return status_live(app_name, settings, store, output, namespace=namespace, exit_code=exit_code)
        if app_name is not None:
            state = as_seen(store, recorded)
            if output is o.DocOutput.text:
                show_status(state)
            else:
                out_document(status_json(state), output.value)
            return
        states, problems = apps_states(store, namespace)
        if output is o.DocOutput.text:
            show_status(states)
        else:
            out_document(status_json(states), output.value)
        report_problems(problems)


def apps_states(store, namespace: str | None) -> tuple[list, list[str]]:
    """Every app's state as `norn status` shows it, and the records that cannot be read (norn serve too)."""
    states, problems = store.list()
    return [as_seen(store, state) for state in in_namespace(states, namespace)], problems


def known_state(app_name: str, store, settings, folder):
    """One app's recorded state (unforged when none); UnknownApp for a name norn does not know (norn serve too)."""
    from norn.names import check_app_name
    from norn.state import ForgeState

    check_app_name(app_name)
    if (recorded := store.load(app_name)) is None:
        check_known(app_name, store, settings, folder)
    return recorded or ForgeState(app_name)
