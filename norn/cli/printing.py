"""Where a command's output goes: plain lines that survive a closed pipe, the event sink for a
run, and the status view drawn by rich on a terminal or as plain lines in a pipe."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager

from norn.cli import gcpause


def out(text: str, nl: bool = True, err: bool = False) -> None:
    """Print and flush (as click's echo did; written here so that `norn status` needs no typer); when
    the reader has gone (a closed pipe: norn status | head -1) the output is dropped, and the command
    goes on to the outcome and exit code it would have had."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # no console at all (pythonw): nothing to print to
        return
    text = f"{text}\n" if nl else text
    try:
        try:
            stream.write(text)
        except UnicodeEncodeError:  # a stream that cannot show a character (PYTHONIOENCODING=ascii): "?" instead
            encoding = stream.encoding or "utf-8"
            stream.write(text.encode(encoding, "replace").decode(encoding))
        stream.flush()
    except OSError:
        from norn.output.guard import discard

        discard(sys.stderr if err else sys.stdout)


@contextmanager
def sink(output: str, plain: bool = False):
    """The event sink for this output ("text" or "json"), closed (live view stopped) before any
    error is printed; ``plain``: lines even on a terminal (many apps). Its first event turns the
    garbage collector back on (gcpause)."""
    from norn.output.guard import Guarded
    from norn.output.sinks import make_sink

    guarded = Guarded(make_sink(output, force_terminal=False if plain else None), sys.stdout)
    try:
        yield gcpause.ResumingSink(guarded)
    finally:
        guarded.close()


def out_document(document, output: str) -> None:
    """One document as JSON, or the same document as YAML: block style, keys in the JSON's order."""
    if output == "yaml":
        import yaml

        out(yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True), nl=False)
    else:
        out(json.dumps(document, indent=2))


def report(outcome, json_output: bool) -> None:
    """A run that did nothing says why: on stderr when stdout carries JSON."""
    if not outcome.ran and outcome.message:
        out(outcome.message, err=json_output)


def show_status(shown) -> None:
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
        out("\n".join(plain.lines(view)))
