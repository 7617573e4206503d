"""Pure text helpers of the cloudflared config edit (ingress.py): where a rule's lines are, scalars, splices.

They work on the original text and marks from PyYAML; ingress.py decides what to edit and checks the result.
"""

from __future__ import annotations

import math
import re

import yaml

from norn.errors import StepError

HINT = "The ConfigMap was left unchanged; fix its config.yaml by hand, then retry."
_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")  # what YAML counts as a line break
BREAKS = "\r\n\x85\u2028\u2029"
BLANK = " \t" + BREAKS


class IngressError(StepError):
    """The cloudflared config cannot take (or give up) the rule asked for."""


def unsupported() -> IngressError:
    return IngressError("norn cannot edit the layout of this cloudflared config's `ingress` list safely", hint=HINT)


def scalar(value: str, *, flow: bool = False, quote: str | None = None) -> str:
    """`value` as a YAML scalar: plain when YAML allows it, else quoted by PyYAML.

    `quote` (`'` or `"`) keeps the quoting the operator chose for the value replaced. Inside a flow
    mapping (`{hostname: ..., service: ...}`) `,:[]{}` end a plain scalar, so PyYAML is asked for the
    flow form there.
    """
    if flow or quote in ("'", '"'):
        style = quote if quote in ("'", '"') else None
        dumped = yaml.safe_dump([value], default_flow_style=True, default_style=style, width=math.inf,
                                allow_unicode=True)
        return dumped[1:-2]  # "[value]\n"
    dumped = yaml.safe_dump({"k": value}, width=math.inf, allow_unicode=True)
    return dumped[len("k: ") :].rstrip("\n")


def value_span(text: str, node: yaml.Node) -> tuple[int, int]:
    """Where a value's own text is: a block scalar's marks also take the line breaks after it."""
    start, end = node.start_mark.index, node.end_mark.index
    while end > start and text[end - 1] in BLANK:
        end -= 1
    return start, end


def splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end) span replaced; back to front, so earlier offsets stay valid."""
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def line_start(text: str, pos: int) -> int:
    """Start of the line holding a `-` indicator; only spaces may precede it."""
    start = pos
    while start and text[start - 1] == " ":
        start -= 1
    if start and text[start - 1] not in BREAKS:
        raise unsupported()  # e.g. `- - x`: the rule shares its line with something
    return start


def next_line(text: str, pos: int) -> int:
    """Start of the line after the one holding `pos`."""
    m = _BREAK.search(text, pos)
    return m.end() if m else len(text)


def rule_lines(text: str, dash: int, content_end: int) -> tuple[int, int]:
    """The lines of the rule whose `-` is at `dash` and whose last token ends at `content_end`.

    They run to the end of that token's line, plus the comment lines after it indented
    deeper than the `-` (commented-out keys of that rule); a comment level with the `-`
    introduces the next rule and stays.
    """
    start = line_start(text, dash)
    return start, _skip_own_comments(text, next_line(text, content_end), dash - start)


def _skip_own_comments(text: str, pos: int, column: int) -> int:
    """Step past comment lines indented deeper than the list: they belong to the rule above."""
    while pos < len(text):
        end = next_line(text, pos)
        line = text[pos:end]
        body = line.lstrip(" ")
        if not body.startswith("#") or len(line) - len(body) <= column:
            break
        pos = end
    return pos
