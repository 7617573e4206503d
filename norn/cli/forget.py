"""`norn forget APP`: remove the state record of a torn-down app, so `norn status` stops listing it."""

from __future__ import annotations

from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.exits import handled
from norn.cli.known import check_known
from norn.cli.printing import out
from norn.cli.wiring import cwd, settings_for, store_for
from norn.errors import UsageError

EPILOG = "Examples: norn forget web · norn forget web --state-backend kubernetes"


def forget(
    app_name: str = typer.Argument(
        ..., metavar="APP", help="The torn-down app whose state record to remove.", autocompletion=o.complete_app
    ),
    namespace: Optional[str] = o.NamespaceOption,
    context: Optional[str] = o.ContextOption,
    kubeconfig: Optional[str] = o.KubeconfigOption,
    debug: bool = o.DebugOption,
    state_backend: Optional[o.Backend] = o.StateBackendOption,
) -> None:
    with handled(debug):
        from norn.names import check_app_name

        settings = settings_for(None, context, state_backend, kubeconfig)
        check_app_name(app_name)
        store = store_for(settings.with_flags(namespace=namespace))  # where teardown keeps it
        if store.load(app_name) is None:  # looked at before locking: no lock is left behind for it
            check_known(app_name, store, settings, cwd())
            if not store.is_running(app_name):  # else a first forge is under way: the lock says so
                return out(f"{app_name}: no state record to forget")
        with store.lock(app_name):
            state = store.load(app_name)
            if state is None:
                return out(f"{app_name}: no state record to forget")
            refuse_unless_done(state)
            store.delete(app_name)
        out(f"forgot {app_name}: its state record in {store.where(app_name)} is removed")


def refuse_unless_done(state) -> None:
    """Only a record that speaks for nothing in a cluster goes: a torn-down app's, or one moved to the other backend."""
    from norn.state import ForgeStatus

    if state.status not in (ForgeStatus.UNFORGED, ForgeStatus.MOVED):
        raise UsageError(
            f"{state.app} is {state.status}: norn forget removes only the record of a torn-down app; "
            f"this one still tells teardown what to delete",
            hint=f"run norn teardown {state.app} first, then norn forget {state.app}",
        )
