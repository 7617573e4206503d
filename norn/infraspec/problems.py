"""One line per problem, ``<file>:<line>: <key.path>: <problem>``, and the error that carries them."""

from __future__ import annotations

import re

from norn.errors import SpecError

Loc = tuple[str | int, ...]


class InfraspecInvalid(SpecError):
    """An infraspec with problems: the message is the first, `problems` has them all."""

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more, hint)
        self.problems = list(problems)


def dotted(loc: Loc) -> str:
    """`volumes[1].mountPath`; odd keys quoted so the line stays readable."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if re.fullmatch(r"[\w-]+", part) else repr(part)
            text += f".{name}" if text else name
    return text


def one_line(text: str) -> str:
    return " ".join(text.split("\n"))


def problem(name: str, line: int, loc: Loc, message: str) -> str:
    where = f"{dotted(loc)}: " if loc else ""
    return one_line(f"{name}:{line}: {where}{message}")
