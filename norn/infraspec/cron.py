"""CronJob schedules as Kubernetes reads them (robfig/cron's standard parser). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from norn.infraspec.wording import show

CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class _CronField(NamedTuple):  # a NamedTuple: defined in a tenth of a frozen dataclass's time
    name: str
    low: int
    high: int
    names: Mapping[str, int]

    def takes(self) -> str:
        names = " or names such as " + next(iter(self.names)).upper() if self.names else ""
        return f"{self.low}-{self.high}{names}, '*', ranges a-b, steps */n and lists a,b"


# The fields Kubernetes (robfig/cron's standard parser) accepts, in order.
_CRON_FIELDS = (
    _CronField("minute", 0, 59, {}),
    _CronField("hour", 0, 23, {}),
    _CronField("day-of-month", 1, 31, {}),
    _CronField("month", 1, 12, {name: i for i, name in enumerate(_MONTHS, 1)}),
    _CronField("day-of-week", 0, 6, {name: i for i, name in enumerate(_DAYS)}),
)
def _cron_value(text: str, cron: _CronField) -> int | None:
    if re.fullmatch(r"[0-9]+", text):
        digits = text.lstrip("0") or "0"
        return int(digits) if len(digits) <= 9 else cron.high + 1  # int() of 5000 digits raises
    return cron.names.get(text.lower())


def _cron_part_problem(part: str, cron: _CronField) -> str | None:
    """One comma-separated entry of a field: `*`, `?`, `a` or `a-b`, each with an optional `/step`."""
    if not part:
        return "an empty list entry"
    span, slash, step = part.partition("/")
    if slash and not re.fullmatch(r"[0-9]+", step):
        return f"the step {step!r} is not a whole number"
    if slash and not step.strip("0"):
        return "a step must be 1 or more, got 0"
    if span in ("*", "?"):
        return None
    first, dash, last = span.partition("-")
    start = _cron_value(first, cron)
    end = _cron_value(last, cron) if dash else (cron.high if slash else start)
    for text, value in ((first, start), (last, end) if dash else (first, end)):
        if value is None:
            return f"{text!r} is not a number" + (" or name" if cron.names else "")
        if not cron.low <= value <= cron.high:
            shown = text if len(text) <= 12 else text[:9] + "..."
            return f"{shown} is outside {cron.low}-{cron.high}"
    if start > end:  # type: ignore[operator]
        return f"the range {span!r} starts after it ends"
    return None


def cron_problem(expression: str) -> str | None:
    """Why Kubernetes would reject this CronJob schedule (one phrase), or None when it is valid."""
    if "TZ" in expression:  # the API server refuses "TZ" anywhere in a schedule, not only TZ=...
        return "a time zone is not allowed in it (Kubernetes has a timeZone field for that)"
    if expression.startswith("@"):  # robfig/cron takes a macro as written: no space around it
        return None if expression in CRON_MACROS else f"{show(expression)} is not a macro Kubernetes accepts"
    fields = expression.split()
    if len(fields) != 5:
        return f"{show(expression)} has {len(fields)} fields, not 5"
    for cron, value in zip(_CRON_FIELDS, fields):
        for part in value.split(","):
            problem = _cron_part_problem(part, cron)
            if problem:
                return f"invalid {cron.name} field in {show(expression)}: {problem}; {cron.name} takes {cron.takes()}"
    return None
