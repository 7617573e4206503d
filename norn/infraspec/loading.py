"""Read and validate one infraspec file, and say whether forge takes it."""

from __future__ import annotations

from pathlib import Path

from norn.errors import SpecError
from norn.infraspec.messages import validate
from norn.infraspec.model import Infraspec
from norn.infraspec.yamlread import parse, read


def load(path: Path) -> Infraspec:
    """Read and validate one infraspec file (raises SpecError; InfraspecInvalid for its content)."""
    name = str(path)
    return validate(parse(read(path), name), name)


def check_forgeable(spec: Infraspec, path: Path) -> None:
    """forge provisions webservers, workers and cron apps; functions go through their own pipeline."""
    if spec.role == "function":
        raise SpecError(
            f"{path}: role is function: forge does not provision functions, "
            "they are deployed by the function pipeline",
            hint="forge handles roles webserver, worker and cron",
        )
