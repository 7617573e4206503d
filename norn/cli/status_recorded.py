"""What `norn status [APP]` shows from the recorded state alone: no cluster, no kubernetes client, no
pydantic and no typer (it is benchmarked against kubectl). status.py declares the command for typer;
fastpath.py runs the plain `status APP` straight here; norn serve shares known_state and apps_states."""

from __future__ import annotations

from norn.cli.known import check_known
from norn.cli.printing import out_document, show_status
from norn.cli.shown_state import as_seen, in_namespace, report_problems
from norn.cli.wiring import cwd, store_for


def show_recorded(app_name: str | None, settings, output: str, namespace: str | None) -> None:
    """One app's recorded state, or every app's (in ``namespace``), as text, json or yaml."""
    from norn.output.rows import status_json

    store = store_for(settings)
    if app_name is not None:
        shown = as_seen(store, known_state(app_name, store, settings, cwd()))
        problems = []
    else:
        shown, problems = apps_states(store, namespace)
    if output == "text":
        show_status(shown)
    else:
        out_document(status_json(shown), output)
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
