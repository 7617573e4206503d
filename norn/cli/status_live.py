"""`norn status --live`: the recorded state beside what the cluster says, one list call per kind."""

from __future__ import annotations

from norn.cli import options as o
from norn.cli.exits import Exit
from norn.cli.printing import out, out_document, show_status
from norn.cli.shown_state import as_seen, in_namespace, report_problems
from norn.cli.wiring import connector, cwd


def status_live(app_name, settings, store, output, *, namespace=None, exit_code=False) -> None:
    """Print each app's live side and drift; with ``exit_code``, exit 1 when any drifted (after the
    output, whatever its format), as `git diff --exit-code` and `kubectl diff` do."""
    from norn.names import check_app_name
    from norn.operations import drift
    from norn.output import plain
    from norn.output.rows import live_status
    from norn.state import ForgeState, ForgeStatus

    if app_name is not None:
        check_app_name(app_name)
        states, problems = [store.load(app_name) or ForgeState(app_name)], []
    else:
        states, problems = store.list()
        states = in_namespace(states, namespace)
    states = [as_seen(store, state) for state in states]
    # A moved record speaks for nothing here: the other backend's record is the app's (norn state migrate).
    idle = (ForgeStatus.UNFORGED, ForgeStatus.MOVED)
    forged = [s for s in states if s.status not in idle]
    namespaces = {s.resources.namespace or settings.namespace for s in forged}
    apps = [s.app for s in forged]
    observed = drift.observe(connector(settings)(), apps, namespaces, settings) if forged else drift.Observed()
    lives = []
    for state in states:
        if state.status in idle:
            lives.append(drift.Live(state.app))
            continue
        spec, problem = spec_or_problem(state.app, settings)
        lives.append(drift.assess(state, spec, problem, observed, settings))
    if output is not o.DocOutput.text:
        documents = [{**state.to_status_json(), **found.to_json()} for state, found in zip(states, lives)]
        out_document(documents[0] if app_name is not None else documents, output.value)
    elif app_name is not None:
        show_status(states[0])
        out("\n".join(plain.lines(live_status(lives[0]))))
    else:
        show_status(states)
        for found in lives:
            out("\n" + "\n".join(plain.lines(live_status(found, title=found.app))))
    report_problems(problems)
    if exit_code and any(found.drift for found in lives):
        raise SystemExit(Exit.DRIFT)


def spec_or_problem(app_name: str, settings):
    """The app's infraspec as forge would find it, or why there is none."""
    from norn.errors import SpecError
    from norn.infraspec.discovery import find_and_load

    try:
        return find_and_load(app_name, spec_path=None, apps_dir=settings.apps_dir, cwd=cwd())[0], None
    except SpecError as exc:
        return None, exc.message
