"""The plain printer: any row model as lines of text, for a pipe or a CI log.

Laid out as the rich printer draws the same model, but without rich (whose import and measuring
cost more than the rest of ``norn status``, docs/performance.md) and without padding to a width
no log has: lines are whole, columns two spaces apart as kubectl lays them out.
"""

from __future__ import annotations

from norn.output.rows import (
    ERROR_MAX_WIDTH,
    TABLE_HEADERS,
    AppStatus,
    LiveStatus,
    StatusTable,
)
from norn.output.text import cut, grid


def lines(view: AppStatus | StatusTable | LiveStatus) -> list[str]:
    return _PRINTERS[type(view)](view)


def _app_status(view: AppStatus) -> list[str]:
    out = grid([(label, value.text) for label, value in view.facts])
    if view.steps:
        steps = [("Step", "Status", "Duration", "Output")]
        steps += [(row.step, row.status.text, row.duration, row.output) for row in view.steps]
        out += ["", "Steps", *grid(steps, indent="  ", right=frozenset({2})), ""]
    out.append("Resources")
    out += grid(view.resources, indent="  ") if view.resources else ["  none"]
    return out


def _status_table(view: StatusTable) -> list[str]:
    """One whole line per app, ERROR cut at 40 columns."""
    if not view.rows:
        return ["No apps forged yet."]
    cells = [row.cells() for row in view.rows]
    return grid([TABLE_HEADERS, *(row[:-1] + (cut(row[-1], ERROR_MAX_WIDTH),) for row in cells)])


def _live_status(view: LiveStatus) -> list[str]:
    out = [view.title]
    width = max((len(label) for label, _ in view.objects), default=0)
    out += [f"  {label:<{width}}  {text}" for label, text in view.objects] or ["  nothing recorded"]
    if not view.drift:
        return out + ["No drift."]
    out.append(f"Drift ({len(view.drift)})")
    for what, fix in view.drift:
        out += [f"  ! {what}", f"    fix: {fix}"]
    return out


_PRINTERS = {AppStatus: _app_status, StatusTable: _status_table, LiveStatus: _live_status}
