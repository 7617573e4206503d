"""The options several commands share, and the choices they take. Plain typer objects: no command
module needs the others' imports to declare them."""

from __future__ import annotations

from enum import Enum

import typer

from norn.cli.completion import complete_app


class Output(str, Enum):
    text = "text"
    json = "json"


class Backend(str, Enum):
    local = "local"
    kubernetes = "kubernetes"


class DocOutput(str, Enum):
    """A command that prints one document: text, or the document as JSON or YAML."""

    text = "text"
    json = "json"
    yaml = "yaml"


class PlanOutput(str, Enum):
    text = "text"
    json = "json"
    yaml = "yaml"


OutputOption = typer.Option(Output.text, "--output", "-o", help="text for people and CI logs, json for NDJSON events.")
DocOutputOption = typer.Option(
    DocOutput.text, "--output", "-o",
    help="text for people and CI logs; json prints one JSON document; yaml the same document as YAML.",
)
NamespaceOption = typer.Option(None, "--namespace", "-n", help="Namespace of the app's objects [env: NORN_NAMESPACE, default: default].")
ContextOption = typer.Option(None, "--context", help="kubeconfig context to use [default: the current context].")
KubeconfigOption = typer.Option(
    None, "--kubeconfig", metavar="PATH",
    help="The kubeconfig file to use; wins over KUBECONFIG [default: KUBECONFIG, else ~/.kube/config].",
)
YesOption = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (needed when not on a terminal).")
DebugOption = typer.Option(False, "--debug", help="Show tracebacks for errors.")
StateBackendOption = typer.Option(
    None, "--state-backend", help="Where state and locks live: local files or the cluster (env: NORN_STATE_BACKEND, default: local)."
)
TeardownOutputOption = typer.Option(
    DocOutput.text, "--output", "-o",
    help="text for people and CI logs; json for NDJSON events, or with --dry-run one JSON document of the plan; "
    "yaml for that document as YAML (--dry-run only).",
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
SpecOption = typer.Option(None, "--spec", help="The infraspec file [default: found by app name].")
ForgeAppArgument = typer.Argument(
    ..., metavar="APP", help="The app's name (its infraspec's app key).", autocompletion=complete_app
)

RepairOption = typer.Option(
    False, "--repair",
    help="Restore what drifted in norn's own fields (an edited replicas, a deleted Service, a removed ingress rule), "
    "in place, also when the infraspec is unchanged.",
)
UpdateDeleteVolumesOption = typer.Option(
    False, "--delete-volumes",
    help="When an update removes a volume, delete its PersistentVolumeClaim and data (kept otherwise).",
)
