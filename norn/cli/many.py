"""`norn forge APP APP ...`, `norn forge --all` and `norn teardown APP APP ...`: the run of many apps,
its plain event lines (NDJSON with --output json), its summary and its exit code, the worst of its apps'."""

from __future__ import annotations

from norn.cli.interrupts import interruptible
from norn.cli.printing import out, sink
from norn.errors import UsageError


def refuse(flags: dict[str, bool]) -> None:
    """Flags that name or show one app; exit 2 with one line naming them."""
    given = [flag for flag, on in flags.items() if on]
    if given:
        raise UsageError(f"{', '.join(given)} works on one app at a time; this run names several",
                         hint="run it for each app on its own")


def checked(find):
    """What ``find()`` returns; exit 2 with one line per problem when the apps cannot all be run."""
    from norn.operations.many import Problems

    try:
        return find()
    except Problems as problems:
        for line in problems.lines:
            out(f"error: {line}", err=True)
        out("nothing was run", err=True)
        raise SystemExit(problems.exit_code) from None


def run(operation: str, start, output: str) -> None:
    """Run ``start(events)`` (many.forge_many or teardown_many), print the summary, exit with the worst code."""
    from norn.operations.many import worst
    from norn.output import summary

    with sink(output, plain=True) as events, interruptible():
        results = start(events)
    out("\n".join(summary.lines(results, operation)), err=output == "json")
    code = worst(results)
    if code:
        raise SystemExit(code)
