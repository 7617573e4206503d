"""Pure text helpers every view shares: durations, stored times, terminal columns, and the
kubectl-style grid the plain printer lays rows out in. No rich here: a pipe never imports it."""

from __future__ import annotations

from datetime import datetime
from unicodedata import east_asian_width

from norn.events import now

NO_VALUE = "—"


def format_duration(ms: int) -> str:
    """'120 ms', '1.4 s', '2 min 5 s': exact when short, readable when long."""
    if ms < 1000:
        return f"{ms} ms"
    seconds = round(ms / 1000, 1)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def running_for(seconds: float) -> str:
    """A running step's time so far, in whole seconds: it ticks once a second on a terminal."""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def elapsed(start: datetime | None, end: datetime) -> str | None:
    return None if start is None else format_duration(round((end - start).total_seconds() * 1000))


def lines_of(text: str | None) -> list[str]:
    """A step's output or an error as lines, without the blank ends."""
    return (text or "").strip("\n").splitlines()


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return f"{days} day ago" if days == 1 else f"{days} days ago"


def human_time(value: str | None) -> str:
    """A stored RFC 3339 time as local wall-clock time and how long ago, e.g.
    '2024-05-01 14:03:12 (3 min ago)'. Text that does not parse is shown as stored."""
    if not value:
        return NO_VALUE
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return f"{moment.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({_ago((now() - moment).total_seconds())})"


def cells(text: str) -> int:
    """Terminal columns of a line: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if east_asian_width(char) in "WF" else 1 for char in text)


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` columns, an ellipsis marking a cut."""
    if cells(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        used += cells(char)
        if used > width - 1:
            break
        kept.append(char)
    return "".join(kept) + "…"


def _pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * (width - cells(text))
    return fill + text if right else text + fill


def grid(rows: list[tuple[str, ...]], *, indent: str = "", right: frozenset[int] = frozenset()) -> list[str]:
    """Rows as lines, columns two spaces apart as kubectl lays them out. A cell of
    several lines continues under its column; trailing spaces are dropped."""
    split = [[cell.splitlines() or [""] for cell in row] for row in rows]
    widths = [max(cells(line) for row in split for line in row[i]) for i in range(len(rows[0]))]
    lines = []
    for row in split:
        for depth in range(max(len(cell) for cell in row)):
            parts = [
                _pad(cell[depth] if depth < len(cell) else "", width, i in right)
                for i, (cell, width) in enumerate(zip(row, widths))
            ]
            lines.append((indent + "  ".join(parts)).rstrip())
    return lines
