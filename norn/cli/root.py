"""The Typer app: the top command, its help and --version, over the lazy command table."""

from __future__ import annotations

import typer

from norn import __version__
from norn.cli.commands import TopGroup

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
    cls=TopGroup,
    help=HELP,
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=True,  # typer's --install-completion and --show-completion (bash, zsh, fish, powershell)
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
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
