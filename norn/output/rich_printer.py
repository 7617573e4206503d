"""The rich printer: a row model drawn on a terminal, coloured and fitted to its width.

Imported only when stdout is a terminal, so a pipe never pays for rich (docs/performance.md).
``norn status --live``'s report has no rich look: it is plain text on a terminal too.
"""

from __future__ import annotations

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from norn.output.rows import ERROR_MAX_WIDTH, TABLE_HEADERS, AppStatus, StatusTable


def draw(view: AppStatus | StatusTable, console: Console) -> None:
    if isinstance(view, AppStatus):
        _app_status(view, console)
    else:
        _status_table(view, console)


def _app_status(view: AppStatus, console: Console) -> None:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    for label, value in view.facts:
        facts.add_row(label, Text(value.text, style=value.style))
    console.print(facts)

    if view.steps:
        steps = Table(box=box.SIMPLE_HEAD, title="Steps", title_justify="left", title_style="bold")
        steps.add_column("Step")
        steps.add_column("Status")
        steps.add_column("Duration", justify="right")
        steps.add_column("Output", style="dim", overflow="fold")
        for row in view.steps:
            steps.add_row(Text(row.step), Text(row.status.text, style=row.status.style), row.duration, Text(row.output))
        console.print(steps)

    console.print(Text("Resources", style="bold"))
    if not view.resources:
        console.print("  none")
        return
    resources = Table.grid(padding=(0, 2))
    resources.add_column(style="dim")
    resources.add_column()
    for label, value in view.resources:
        resources.add_row(f"  {label}", Text(value))
    console.print(resources)


def _status_table(view: StatusTable, console: Console) -> None:
    """Laid out as rich's borderless table would be (columns two spaces apart, as kubectl does),
    but as padded lines of text: rich's Table measures and renders every cell, which made 1,000
    apps take seconds. Each app keeps to one line: only ERROR narrows to fit (cut with an
    ellipsis, at most 40 columns)."""
    if not view.rows:
        console.print("No apps forged yet.")
        return
    rows = [(row.cells(), ("bold", row.status.style, "", "", "", "red")) for row in view.rows]
    widths = [max(cell_len(cells[i]) for cells in (TABLE_HEADERS, *(cells for cells, _ in rows))) for i in range(6)]
    room = console.width - sum(widths[:-1]) - 2 * (len(widths) - 1)
    widths[-1] = min(widths[-1], ERROR_MAX_WIDTH)
    if room < widths[-1] and room < len(TABLE_HEADERS[-1]):
        _narrow_status_table(view, console)  # too narrow even without ERROR: rich shares out the width
        return
    widths[-1] = min(widths[-1], room)

    table = Text(end="")
    for number, (cells, styles) in enumerate([(TABLE_HEADERS, ("bold",) * 6), *rows]):
        if number:
            table.append("\n")
        for column, (cell, style, width) in enumerate(zip(cells, styles, widths)):
            text = Text(cell, style=style)
            text.truncate(width, overflow="ellipsis", pad=True)
            if column:
                table.append("  ")
            table.append_text(text)
    console.print(table, no_wrap=True, overflow="crop")


def _narrow_status_table(view: StatusTable, console: Console) -> None:
    """The status table when the terminal is too narrow for it: rich narrows every column."""
    table = Table(box=None, pad_edge=False, header_style="bold")
    for header in TABLE_HEADERS[:-1]:
        table.add_column(header, style="bold" if header == "APP" else None, no_wrap=True)
    table.add_column(TABLE_HEADERS[-1], style="red", max_width=ERROR_MAX_WIDTH)
    for row in view.rows:
        table.add_row(
            Text(row.app),
            Text(row.status.text, style=row.status.style),
            Text(row.last_run),
            Text(row.finished),
            Text(row.resources),
            Text(row.error, no_wrap=True, overflow="ellipsis"),
        )
    console.print(table)
