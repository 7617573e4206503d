"""`norn validate [PATH|APP]...`: check infraspec files without a cluster."""

from __future__ import annotations

from typing import Optional

import typer

from norn.cli import options as o
from norn.cli.exits import Exit, handled
from norn.cli.printing import out, out_document
from norn.cli.wiring import cwd, settings_for

EPILOG = "Examples: norn validate · norn validate ./infraspec.yaml · norn validate web worker -o json"


def validate(
    targets: Optional[list[str]] = typer.Argument(
        None, metavar="[PATH|APP]...", help="Files, app folders or app names [default: every app under NORN_APPS_DIR]."
    ),
    output: o.DocOutput = o.DocOutputOption,
    debug: bool = o.DebugOption,
) -> None:
    with handled(debug):
        from norn.operations import validation

        settings = settings_for(None, None)
        here = cwd()
        if targets:
            results = [validation.check_arg(arg, settings.apps_dir, here) for arg in targets]
        else:
            results = [validation.check_file(path) for path in validation.default_targets(settings.apps_dir)]
        results = validation.with_conflicts(results, settings.apps_dir)
        if output is not o.DocOutput.text:
            out_document([r.to_json() for r in results], output.value)
        else:
            for result in results:
                for line in validation.lines(result):
                    out(line)
        if not all(r.ok for r in results):
            raise SystemExit(Exit.USAGE)
