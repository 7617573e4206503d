"""The command line: parsing, confirmation, output choice and exit codes. Thin.

Exit codes: 0 done or nothing to do; 1 a step failed; 2 bad input, usage or a
confirmation that could not be given; 3 another norn run holds the app;
130 interrupted.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from norn import __version__
from norn.cli import gcpause
from norn.errors import NornError, StepFailed, UsageError

# Plain help, as click lays it out (\b keeps the examples' lines as written):
# Typer's rich help imports rich's markdown and traceback modules, which doubled
# the time of `norn --help`.
HELP = """Provision an app's Kubernetes infrastructure from its infraspec.yaml.

\b
Examples:
  norn forge mail-agent                 create the Deployment, Service, tunnel route and DNS
  norn forge mail-agent --spec ./infraspec.yaml --namespace staging
  norn forge mail-agent --force --yes   tear down, then forge afresh (no prompt, for CI)
  norn forge mail-agent --wait          ... and wait until it is rolled out (fails fast on a crash loop)
  norn plan mail-agent                  what forge would do, changing nothing (forge --dry-run)
  norn status                           every app and where it stands
  norn status mail-agent --output json  one app's state, for machines
  norn teardown mail-agent --yes        remove what forge created (volumes are kept)
  norn validate                         check every infraspec under NORN_APPS_DIR (no cluster)
  norn state migrate --to kubernetes    copy local state into the cluster, for CI and teammates
"""

app = typer.Typer(
    help=HELP,
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Output(str, Enum):
    text = "text"
    json = "json"


class Backend(str, Enum):
    local = "local"
    kubernetes = "kubernetes"


class PlanOutput(str, Enum):
    text = "text"
    json = "json"
    yaml = "yaml"


class Exit:
    OK = 0
    STEP_FAILED = 1
    USAGE = 2
    BUSY = 3
    INTERRUPTED = 130


class InterruptedAtPrompt(NornError):
    """Ctrl-C at a confirmation prompt: nothing ran, so there is nothing to resume."""

    exit_code = Exit.INTERRUPTED


OutputOption = typer.Option(Output.text, "--output", "-o", help="text for people and CI logs, json for NDJSON events.")
NamespaceOption = typer.Option(None, "--namespace", "-n", help="Namespace of the app's objects [env: NORN_NAMESPACE, default: default].")
ContextOption = typer.Option(None, "--context", help="kubeconfig context to use [default: the current context].")
YesOption = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (needed when not on a terminal).")
DebugOption = typer.Option(False, "--debug", help="Show tracebacks for errors.")
StateBackendOption = typer.Option(
    None, "--state-backend", help="Where state and locks live: local files or the cluster (env: NORN_STATE_BACKEND, default: local)."
)
PlanOutputOption = typer.Option(
    PlanOutput.text, "--output", "-o",
    help="text for people and CI logs, json for machines (NDJSON events when not a dry run), yaml for the objects a dry run would create.",
)
WaitOption = typer.Option(False, "--wait", help="After the steps, wait until the app's Deployment and cloudflared are rolled out.")
TimeoutOption = typer.Option("5m", "--timeout", help="How long --wait waits in all, such as 90s, 5m or 1h.")
DryRunOption = typer.Option(False, "--dry-run", help="Change nothing: show what would run, skip or resume, and why.")
ServerDryRunOption = typer.Option(
    False, "--server-dry-run", help="Dry run, and send each write with dryRun=All so the cluster's validation and admission answer."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"norn {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """Provision an app's Kubernetes infrastructure from its infraspec.yaml."""


@app.command(
    epilog="Examples: norn forge web · norn forge web --force --yes · norn forge web --output json",
)
def forge(
    app_name: str = typer.Argument(..., metavar="APP", help="The app's name (its infraspec's app key)."),
    force: bool = typer.Option(False, "--force", help="Tear the app down first, then forge it afresh."),
    yes: bool = YesOption,
    spec: Optional[Path] = typer.Option(None, "--spec", help="The infraspec file [default: found by app name]."),
    namespace: Optional[str] = NamespaceOption,
    context: Optional[str] = ContextOption,
    dry_run: bool = DryRunOption,
    server_dry_run: bool = ServerDryRunOption,
    wait: bool = WaitOption,
    timeout: str = TimeoutOption,
    output: PlanOutput = PlanOutputOption,
    debug: bool = DebugOption,
    state_backend: Optional[Backend] = StateBackendOption,
) -> None:
    """Create the app's Deployment, Service, tunnel rule and DNS route, or its CronJob. Resumes a failed forge."""
    with _handled(debug):
        from norn.infraspec.discovery import find_and_load
        from norn.infraspec.loading import check_forgeable
        from norn.names import check_app_name
        from norn.operations import lifecycle

        if dry_run or server_dry_run:
            wait_seconds = _wait_seconds(timeout) if wait else None
            return _plan_forge(
                app_name, force, spec, namespace, context, server_dry_run, output, wait_seconds, state_backend
            )
        if output is PlanOutput.yaml:
            raise UsageError("--output yaml shows the objects a dry run would create", hint="add --dry-run")
        output = Output(output.value)
        wait_seconds = _wait_seconds(timeout) if wait else None
        settings = _settings(namespace, context, state_backend)
        check_app_name(app_name)
        loaded, _path = find_and_load(app_name, spec_path=spec, apps_dir=settings.apps_dir, cwd=_cwd())
        check_forgeable(loaded, _path)
        store = _store(settings)
        peek = store.load(app_name)
        if force and peek is not None and lifecycle.has_work_to_undo(peek):
            _confirm(yes, f"Tear down {app_name} and forge it afresh?", "--force")
        with _sink(output) as sink, _interruptible():
            outcome = lifecycle.forge(
                loaded, settings, store, sink, _connector(settings), force=force, wait_seconds=wait_seconds
            )
        _report(outcome, output)


@app.command(epilog="Examples: norn teardown web · norn teardown web --yes --delete-volumes")
def teardown(
    app_name: str = typer.Argument(..., metavar="APP", help="The app to tear down."),
    yes: bool = YesOption,
    delete_volumes: bool = typer.Option(False, "--delete-volumes", help="Also delete the app's PersistentVolumeClaims and their data."),
    namespace: Optional[str] = NamespaceOption,
    context: Optional[str] = ContextOption,
    dry_run: bool = DryRunOption,
    server_dry_run: bool = ServerDryRunOption,
    output: Output = OutputOption,
    debug: bool = DebugOption,
    state_backend: Optional[Backend] = StateBackendOption,
) -> None:
    """Remove what forge created, in reverse: DNS route, tunnel rule, Service, Deployment (volumes are kept)."""
    with _handled(debug):
        from norn.names import check_app_name
        from norn.operations import lifecycle

        settings = _settings(None, context, state_backend)
        check_app_name(app_name)
        store = _store(settings.with_flags(namespace=namespace))  # the state lives with the app by default
        if dry_run or server_dry_run:
            from norn.operations import plan as planning

            found = planning.plan_teardown(
                app_name, settings, store, _connector(settings), delete_volumes=delete_volumes, namespace_flag=namespace
            )
            return _show_plan(found, output, settings if server_dry_run else None)
        peek = store.load(app_name)
        if peek is not None and lifecycle.has_work_to_undo(peek):
            what = "and delete its volumes" if delete_volumes else "(volumes are kept)"
            _confirm(yes, f"Tear down {app_name} {what}?", "teardown")
        with _sink(output) as sink, _interruptible():
            outcome = lifecycle.teardown(
                app_name, settings, store, sink, _connector(settings),
                delete_volumes=delete_volumes, namespace_flag=namespace,
            )
        _report(outcome, output)


@app.command(epilog="Examples: norn status · norn status web · norn status web --output json · norn status --live")
def status(
    app_name: Optional[str] = typer.Argument(None, metavar="[APP]", help="One app; all apps when left out."),
    live: bool = typer.Option(False, "--live", help="Also ask the cluster how each object is now, and report drift."),
    context: Optional[str] = ContextOption,
    output: Output = OutputOption,
    debug: bool = DebugOption,
    state_backend: Optional[Backend] = StateBackendOption,
) -> None:
    """Show where each app stands: status, the last run's steps, and what was created."""
    with _handled(debug):
        import json

        from norn.output.rows import status_json
        from norn.state import ForgeState

        settings = _settings(None, context, state_backend)
        store = _store(settings)
        if live:
            return _status_live(app_name, settings, store, output)
        if app_name is not None:
            from norn.names import check_app_name

            check_app_name(app_name)
            state = _as_seen(store, store.load(app_name) or ForgeState(app_name))
            if output is Output.json:
                _out(json.dumps(status_json(state), indent=2))
            else:
                _show_status(state)
            return
        states, problems = store.list()
        states = [_as_seen(store, state) for state in states]
        if output is Output.json:
            _out(json.dumps(status_json(states), indent=2))
        else:
            _show_status(states)
        for problem in problems:
            _out(f"error: {problem}", err=True)
        if problems:
            raise typer.Exit(Exit.USAGE)


@app.command(epilog="Examples: norn validate · norn validate ./infraspec.yaml · norn validate web worker -o json")
def validate(
    targets: Optional[list[str]] = typer.Argument(
        None, metavar="[PATH|APP]...", help="Files, app folders or app names [default: every app under NORN_APPS_DIR]."
    ),
    output: Output = OutputOption,
    debug: bool = DebugOption,
) -> None:
    """Check infraspec files: one line per file, exit 2 if any is invalid. No cluster is needed."""
    with _handled(debug):
        import json

        from norn.operations import validation

        settings = _settings(None, None)
        cwd = _cwd()
        if targets:
            results = [validation.check_arg(arg, settings.apps_dir, cwd) for arg in targets]
        else:
            results = [validation.check_file(path) for path in validation.default_targets(settings.apps_dir)]
        results = validation.with_conflicts(results, settings.apps_dir)
        if output is Output.json:
            _out(json.dumps([r.to_json() for r in results], indent=2))
        else:
            for result in results:
                for line in validation.lines(result):
                    _out(line)
        if not all(r.ok for r in results):
            raise typer.Exit(Exit.USAGE)


@app.command(epilog="Examples: norn plan web · norn plan web --force · norn plan web -o yaml · norn plan web --server-dry-run")
def plan(
    app_name: str = typer.Argument(..., metavar="APP", help="The app's name (its infraspec's app key)."),
    force: bool = typer.Option(False, "--force", help="Plan a teardown, then a fresh forge."),
    spec: Optional[Path] = typer.Option(None, "--spec", help="The infraspec file [default: found by app name]."),
    namespace: Optional[str] = NamespaceOption,
    context: Optional[str] = ContextOption,
    server_dry_run: bool = ServerDryRunOption,
    wait: bool = WaitOption,
    timeout: str = TimeoutOption,
    output: PlanOutput = PlanOutputOption,
    debug: bool = DebugOption,
) -> None:
    """Show what norn forge APP would do, changing nothing (the same as norn forge APP --dry-run)."""
    with _handled(debug):
        wait_seconds = _wait_seconds(timeout) if wait else None
        _plan_forge(app_name, force, spec, namespace, context, server_dry_run, output, wait_seconds)


state_app = typer.Typer(help="Manage where state lives.", no_args_is_help=True)
app.add_typer(state_app, name="state")


@state_app.command(
    "migrate",
    epilog="Examples: norn state migrate --to kubernetes · norn state migrate --to local web · "
    "NORN_STATE_NAMESPACE=norn norn state migrate --to kubernetes",
)
def migrate(
    apps: Optional[list[str]] = typer.Argument(None, metavar="APP", help="Apps to copy (default: every app the source holds)."),
    to: Backend = typer.Option(..., "--to", help="The backend to copy into; the other one is the source."),
    context: Optional[str] = ContextOption,
    output: Output = OutputOption,
    debug: bool = DebugOption,
) -> None:
    """Copy apps' state from one backend to the other; a newer record is never overwritten."""
    with _handled(debug):
        import json

        from norn.names import check_app_name
        from norn.store import migrate as migration
        from norn.store import open_store

        settings = _settings(None, context)
        for name in apps or []:
            check_app_name(name)
        source = open_store(settings, Backend.local.value if to is Backend.kubernetes else Backend.kubernetes.value)
        results = migration.migrate(source, migration.targets(settings, to.value), apps or None)
        if output is Output.json:
            _out(json.dumps([r.to_json() for r in results], indent=2))
        elif not results:
            _out(f"nothing to migrate: no state in {source.where()}")
        else:
            for result in results:
                _out(result.line())
            copied = sum(r.outcome == migration.COPIED for r in results)
            _out(f"copied {copied} of {len(results)} app{'s' if len(results) != 1 else ''}")
        if not all(r.ok for r in results):
            raise typer.Exit(Exit.STEP_FAILED)


# --- helpers -----------------------------------------------------------------


def _as_seen(store, state):
    """A state left in forging or tearing_down by a run that died shows as what it is: failed.

    Only such a state asks the store who holds the app, so a settled one costs no request.
    """
    from norn.state import ForgeStatus

    if state.status not in (ForgeStatus.FORGING, ForgeStatus.TEARING_DOWN) or store.is_running(state.app):
        return state
    return state.interrupted()


def _plan_forge(
    app_name, force, spec, namespace, context, server_dry_run, output, wait_seconds=None, state_backend=None
) -> None:
    """``forge --dry-run``: the real forge against recording adapters; no lock, nothing written anywhere."""
    from norn.infraspec.discovery import find_and_load
    from norn.infraspec.loading import check_forgeable
    from norn.names import check_app_name
    from norn.operations import plan as planning

    settings = _settings(namespace, context, state_backend)
    check_app_name(app_name)
    loaded, path = find_and_load(app_name, spec_path=spec, apps_dir=settings.apps_dir, cwd=_cwd())
    check_forgeable(loaded, path)
    found = planning.plan_forge(
        loaded, settings, _store(settings), _connector(settings), force=force, wait_seconds=wait_seconds
    )
    _show_plan(found, output, settings if server_dry_run else None)


def _status_live(app_name, settings, store, output) -> None:
    """``status --live``: the recorded state beside what the cluster says, one list call per kind."""
    import json

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
    states = [_as_seen(store, state) for state in states]
    forged = [s for s in states if s.status != ForgeStatus.UNFORGED]
    namespaces = {s.resources.get("namespace") or settings.namespace for s in forged}
    apps = [s.app for s in forged]
    observed = drift.observe(_connector(settings)(), apps, namespaces, settings) if forged else drift.Observed()
    lives = []
    for state in states:
        if state.status == ForgeStatus.UNFORGED:
            lives.append(drift.Live(state.app))
            continue
        spec, problem = _spec_or_problem(state.app, settings)
        lives.append(drift.assess(state, spec, problem, observed, settings))
    if output is Output.json:
        documents = [{**state.to_status_json(), **found.to_json()} for state, found in zip(states, lives)]
        _out(json.dumps(documents[0] if app_name is not None else documents, indent=2))
    elif app_name is not None:
        _show_status(states[0])
        _out("\n".join(plain.lines(live_status(lives[0]))))
    else:
        _show_status(states)
        for found in lives:
            _out("\n" + "\n".join(plain.lines(live_status(found, title=found.app))))
    for problem in problems:
        _out(f"error: {problem}", err=True)
    if problems:
        raise typer.Exit(Exit.USAGE)


def _spec_or_problem(app_name: str, settings):
    """The app's infraspec as forge would find it, or why there is none."""
    from norn.errors import SpecError
    from norn.infraspec.discovery import find_and_load

    try:
        return find_and_load(app_name, spec_path=None, apps_dir=settings.apps_dir, cwd=_cwd())[0], None
    except SpecError as exc:
        return None, exc.message


def _wait_seconds(timeout: str) -> float:
    from norn.kube.rollout import parse_duration

    return parse_duration(timeout)


def _show_plan(found, output, server_settings) -> None:
    """Print a plan; exit 1 when a step would fail. With settings, check each write with dryRun=All first."""
    import json

    from norn.operations import plan as planning
    from norn.output import views

    if server_settings is not None:
        planning.check_with_server(found, _connector(server_settings)())
    if output.value == "json":
        _out(json.dumps(found.to_json(), indent=2))
    elif output.value == "yaml":
        _out(views.plan_yaml(found), nl=False)
    else:
        for line in views.plan_lines(found):
            _out(line)
    if found.fails:
        raise typer.Exit(Exit.STEP_FAILED)


def _settings(namespace: str | None, context: str | None, state_backend: Backend | None = None):
    from norn import settings

    backend = state_backend.value if state_backend else None
    return settings.load().with_flags(namespace=namespace, context=context, state_backend=backend)


def _store(settings):
    from norn.store import open_store

    return open_store(settings)


def _connector(settings):
    def connect():
        from norn.kube.connect import connect as connect_cluster

        return connect_cluster(
            settings.kubeconfig,
            settings.context,
            retry_seconds=settings.api_retry_seconds,
            request_timeout=settings.api_timeout,
        )

    return connect


@contextmanager
def _interruptible():
    """SIGINT and SIGTERM stop the run cleanly: the step in flight is recorded as
    interrupted, the state saved and the lock freed. A second signal exits at once."""

    def exit_now(signum, frame):
        os._exit(Exit.INTERRUPTED)

    def interrupt(signum, frame):
        signal.signal(signal.SIGINT, exit_now)
        signal.signal(signal.SIGTERM, exit_now)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _sink(output: Output):
    """The event sink for this output, closed (live view stopped) before any error is printed."""
    from norn.output.guard import Guarded
    from norn.output.sinks import make_sink

    sink = Guarded(make_sink(output.value), sys.stdout)
    try:
        yield gcpause.ResumingSink(sink)
    finally:
        sink.close()


def _show_status(shown) -> None:
    """One app's status (a ForgeState) or the table of every app (a list), as one row model. A
    terminal gets the rich printer, coloured and fitted to its width; a pipe or a CI log gets the
    plain printer's whole lines, never cut to 80 columns, and norn skips importing rich."""
    from norn.output import plain, rows

    view = rows.status_table(shown) if isinstance(shown, list) else rows.app_status(shown)
    if sys.stdout.isatty():
        from rich.console import Console

        from norn.output import rich_printer
        from norn.output.guard import discard

        try:
            rich_printer.draw(view, Console())
        except OSError:
            discard(sys.stdout)
    else:
        _out("\n".join(plain.lines(view)))


def _confirm(yes: bool, question: str, what: str) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(f"{what} needs confirmation and there is no terminal to ask", hint="pass --yes to confirm")
    # Not typer.confirm: it turns Ctrl-C and Ctrl-D alike into "Aborted!" and exit 1.
    try:  # the prompt inside: a Ctrl-C as soon as it shows is still at the prompt
        _out(f"{question} [y/N]: ", nl=False, err=True)
        answer = sys.stdin.readline()  # "" at Ctrl-D: not confirmed
    except KeyboardInterrupt:
        _out("", err=True)
        raise InterruptedAtPrompt("interrupted at the confirmation; nothing was changed") from None
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("not confirmed; nothing was changed")


def _out(text: str, nl: bool = True, err: bool = False) -> None:
    """Print; when the reader has gone (a closed pipe: norn status | head -1) the output is
    dropped, and the command goes on to the outcome and exit code it would have had."""
    try:
        typer.echo(text, nl=nl, err=err)
    except OSError:
        from norn.output.guard import discard

        discard(sys.stderr if err else sys.stdout)


def _cwd() -> Path:
    try:
        return Path.cwd()
    except OSError as exc:  # the shell's folder was deleted or moved away
        raise UsageError(
            f"the current folder cannot be used: {exc.strerror}", hint="cd to a folder that exists, then rerun"
        ) from exc


def _report(outcome, output: Output) -> None:
    if not outcome.ran and outcome.message:
        _out(outcome.message, err=output is Output.json)


class _handled:
    """Map norn's errors to one line and an exit code; tracebacks only with --debug."""

    def __init__(self, debug: bool) -> None:
        self.debug = debug

    def __enter__(self) -> "_handled":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None or isinstance(exc, (typer.Exit, typer.Abort, SystemExit)):
            return False
        if isinstance(exc, KeyboardInterrupt):
            _out("interrupted; rerun the same command to resume", err=True)
            raise typer.Exit(Exit.INTERRUPTED)
        error = _as_norn_error(exc)
        if error is None:
            return False  # a bug: let the traceback show
        if self.debug:
            import traceback

            traceback.print_exception(exc)
        if isinstance(error, StepFailed):
            # The events already told the story; add how to go on.
            _out(f"hint: fix the cause, then rerun the same command to resume from {error.step}", err=True)
        else:
            _out(f"error: {error.message}", err=True)
            if error.hint:
                _out(f"hint: {error.hint}", err=True)
        raise typer.Exit(error.exit_code)


def _as_norn_error(exc: BaseException) -> NornError | None:
    """The error as norn reports it; None for a bug. A file or folder of the user's that the
    system refuses (an app folder norn may not read, say) is bad input, not a bug."""
    if isinstance(exc, NornError):
        return exc
    if isinstance(exc, OSError) and exc.filename is not None:
        return UsageError(f"{exc.filename}: {exc.strerror or exc}", hint="check its owner and mode, or move it away")
    return None


def main() -> None:
    gcpause.pause()
    try:
        app()
    finally:
        gcpause.at_exit()


if __name__ == "__main__":
    main()
