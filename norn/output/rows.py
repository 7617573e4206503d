"""The row models: what each status view shows, decided once, whatever draws it.

One model per view: one app's status (``norn status APP``), the table of all apps (``norn
status``) and the cluster's side of ``norn status --live``. The rich printer (a terminal) and
the plain printer (a pipe, a CI log) draw the same model, so the two looks cannot drift apart.
A style is a rich style name; the plain printer ignores it. Pure: no rich, no pydantic.
The models are NamedTuples, not dataclasses: a dataclass costs every `norn status` about 0.3 ms
to define (its methods are compiled at import), a NamedTuple a fifth of that, and a NamedTuple
is about as quick to build as a slotted dataclass, where a frozen dataclass is four times slower (the
table of 1,000 apps builds 2,000; docs/performance.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from norn.events import COMPLETED, FAILED, RUNNING, SKIPPED
from norn.output.text import NO_VALUE, format_duration, human_time, lines_of
from norn.resources import Resources
from norn.state import ForgeState, ForgeStatus

if TYPE_CHECKING:
    from norn.operations.drift import Live

# Mark and colour of a finished step, shared by the live view and `norn status`.
# A stored step can still say "running" when its run died, hence that entry.
STEP_MARKS = {
    COMPLETED: ("✓", "green"),
    SKIPPED: ("↷", "yellow"),
    FAILED: ("✗", "red"),
    RUNNING: ("…", "yellow"),
}

STATUS_STYLES = {
    ForgeStatus.FORGED: "green",
    ForgeStatus.FORGE_FAILED: "red",
    ForgeStatus.FORGING: "yellow",
    ForgeStatus.TEARING_DOWN: "yellow",
    ForgeStatus.UNFORGED: "dim",
    ForgeStatus.MOVED: "dim",
}

TABLE_HEADERS = ("APP", "STATUS", "LAST RUN", "FINISHED", "RESOURCES", "ERROR")
ERROR_MAX_WIDTH = 40  # the table's ERROR column, so that each app keeps to one line


class Styled(NamedTuple):
    text: str
    style: str = ""


class StepRow(NamedTuple):
    step: str
    status: Styled  # mark and status, e.g. "✓ completed" in green
    duration: str
    output: str


class AppStatus(NamedTuple):
    """``norn status APP``: facts about the last run, its steps, what norn created."""

    facts: list[tuple[str, Styled]]
    steps: list[StepRow]
    resources: list[tuple[str, str]]


class AppRow(NamedTuple):
    """One app's line in the table. ``error`` is the first line, whole: each printer cuts it to its room."""

    app: str
    status: Styled
    last_run: str
    finished: str
    resources: str
    error: str

    def cells(self) -> tuple[str, str, str, str, str, str]:
        return (self.app, self.status.text, self.last_run, self.finished, self.resources, self.error)


class StatusTable(NamedTuple):
    """``norn status``: one row per app, enough to see which needs attention."""

    rows: list[AppRow]


class LiveStatus(NamedTuple):
    """``norn status --live``: how each recorded object is now, then each drift with its fix."""

    title: str
    objects: list[tuple[str, str]]
    drift: list[tuple[str, str]]  # (what, fix)


def _status(status: ForgeStatus) -> Styled:
    return Styled(str(status), STATUS_STYLES.get(status, ""))


def app_status(state: ForgeState) -> AppStatus:
    facts = [
        ("App", Styled(state.app)),
        ("Status", _status(state.status)),
        ("Last run", Styled(state.operation or NO_VALUE)),
        ("Started", Styled(human_time(state.started_at))),
        ("Finished", Styled(human_time(state.finished_at))),
    ]
    if state.error:
        facts.append(("Error", Styled(state.error, "red")))
    if state.moved_to:
        facts.append(("Moved to", Styled(f"the {state.moved_to} backend ({_moved(state)})")))
    steps = []
    for record in state.steps:
        mark, colour = STEP_MARKS.get(record.status, ("?", ""))
        duration = format_duration(record.duration_ms) if record.duration_ms is not None else ""
        steps.append(StepRow(record.step, Styled(f"{mark} {record.status}", colour), duration, record.output or ""))
    return AppStatus(facts, steps, _resource_lines(state.resources))


def status_table(states: list[ForgeState]) -> StatusTable:
    rows = []
    for state in states:
        error = [_moved(state)] if state.moved_to else lines_of(state.error)
        rows.append(
            AppRow(
                state.app,
                _status(state.status),
                state.operation or NO_VALUE,
                human_time(state.finished_at),
                _resource_summary(state.resources),
                error[0] if error else "",
            )
        )
    return StatusTable(rows)


def _moved(state: ForgeState) -> str:
    return f"use --state-backend {state.moved_to}"


def live_status(live: Live, title: str = "Live") -> LiveStatus:
    return LiveStatus(title, list(live.lines), [(drift.what, drift.fix) for drift in live.drift])


def status_json(states: ForgeState | list[ForgeState]) -> Any:
    """The JSON value of ``norn status --output json``: one object or a list."""
    if isinstance(states, ForgeState):
        return states.to_status_json()
    return [state.to_status_json() for state in states]


def _resource_lines(resources: Resources) -> list[tuple[str, str]]:
    """The resources norn recorded, as (label, value) pairs in reading order."""
    lines: list[tuple[str, str]] = []
    if resources.namespace:
        lines.append(("Namespace", resources.namespace))
    if resources.deployment:
        lines.append(("Deployment", resources.deployment))
    if resources.persistent_volume_claims:
        lines.append(("Volumes", ", ".join(resources.persistent_volume_claims)))
    if resources.service:
        lines.append(("Service", resources.service))
    if rule := resources.ingress_rule:
        lines.append(("Ingress rule", f"{rule.hostname} → {rule.service} (ConfigMap {rule.config_map})"))
    if route := resources.dns_route:
        lines.append(("DNS route", f"{route.hostname} → tunnel {route.tunnel}"))
    if resources.cron_job:
        lines.append(("CronJob", resources.cron_job))
    if resources.kept_volumes:
        lines.append(("Kept volumes", ", ".join(resources.kept_volumes)))
    if replaced := resources.replaced:
        pending = replaced.services + [f"CNAME {r.hostname}" for r in replaced.dns_routes] + replaced.volumes
        lines.append(("Replaced", f"{', '.join(pending)} (removed when the update finishes)"))
    if resources.cloudflared_restart_pending:
        lines.append(("cloudflared", "restart pending (tunnel config changed since)"))
    return lines


# Short names for the status table's RESOURCES column, in reading order.
_RESOURCE_ABBREVIATIONS = (
    ("deployment", "deploy"),
    ("persistentVolumeClaims", "pvc"),
    ("service", "svc"),
    ("ingressRule", "rule"),
    ("dnsRoute", "dns"),
    ("cronJob", "cronjob"),
    ("keptVolumes", "kept pvc"),
)


def _resource_summary(resources: Resources) -> str:
    """'deploy, 2 pvc, svc, rule, dns': what exists, at a glance."""
    recorded = resources.to_json()
    parts = []
    for key, short in _RESOURCE_ABBREVIATIONS:
        value = recorded.get(key)
        if value:
            many = isinstance(value, list) and len(value) > 1
            parts.append(f"{len(value)} {short}" if many else short)
    return ", ".join(parts) or NO_VALUE
