"""Route a public hostname through the cloudflared tunnel by editing its config text.

The operator owns the cloudflared ConfigMap, so its comments, key order, quoting,
blank lines and line endings must survive norn's edits. The YAML is therefore never
re-dumped: it is parsed only to *locate* things (``yaml.compose`` node marks and the
scanner's tokens), and an edit splices whole lines into or out of the original text.
Every edit is parsed again and compared with the intended result before it is
returned, so a layout misjudged here fails loudly instead of breaking the tunnel.

Supported: a block-style ``ingress:`` list, indented (``ingress:\\n  - ...``) or
not (``ingress:\\n- ...``), with rules written as block or flow mappings. A
flow-style list (``ingress: [...]``) is read but never edited: an edit that would
change it raises IngressError.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import yaml

from norn.errors import StepError

_HINT = "The ConfigMap was left unchanged; fix its config.yaml by hand, then retry."
_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")  # what YAML counts as a line break
_BREAKS = "\r\n\x85\u2028\u2029"
_BLANK = " \t" + _BREAKS


class IngressError(StepError):
    """The cloudflared config cannot take (or give up) the rule asked for."""


@dataclass(frozen=True)
class _Config:
    text: str
    data: dict[Any, Any]  # the document as yaml.safe_load sees it
    rules: list[dict[Any, Any]]  # data["ingress"]; the last one is the catch-all
    seq: yaml.SequenceNode  # the node of that list, for its marks


# --- public API --------------------------------------------------------------


def find_rule(config_text: str, hostname: str) -> str | None:
    """The service `hostname` is routed to (a rule without `path`), else None."""
    cfg = _parse(config_text)
    hit = _hits(cfg.rules, hostname)
    return cfg.rules[hit[0]].get("service") if hit else None


def add_rule(config_text: str, hostname: str, service: str) -> tuple[str, bool]:
    """Route `hostname` to `service` with a rule inserted just before the catch-all.

    Returns (text, changed). The same rule already present is not an error (so a
    re-run is a no-op); the hostname routed elsewhere is, since norn would
    otherwise steal a hostname the operator gave to something else.
    """
    _check_args(hostname, service)
    cfg = _parse(config_text)
    for i in _hits(cfg.rules, hostname):
        other = cfg.rules[i].get("service")
        if other == service:
            return config_text, False
        raise IngressError(
            f"{hostname} is already routed to {other} in the cloudflared config",
            hint="Remove that rule first, or pick another hostname.",
        )
    _require_block(cfg)
    text = config_text
    dashes, end_before = _spans(cfg)
    catch_all = dashes[-1]
    line = _line_start(text, catch_all)
    pos = _rule_lines(text, catch_all, end_before(catch_all))[1]  # the end of the rule above
    if not 0 < pos <= line:
        raise _unsupported()
    nl = "\r\n" if text[pos - 2 : pos] == "\r\n" else text[pos - 1]
    indent = text[line:catch_all]
    item = cfg.seq.value[-1].start_mark.index  # the catch-all's first key: "-" + gap
    gap = item - catch_all if item > catch_all + 1 and not text[catch_all + 1 : item].strip(" ") else 2
    rule = (
        f"{indent}-{' ' * (gap - 1)}hostname: {_scalar(hostname)}{nl}"
        f"{indent}{' ' * gap}service: {_scalar(service)}{nl}"
    )
    rules = [*cfg.rules[:-1], {"hostname": hostname, "service": service}, cfg.rules[-1]]
    return _checked(text[:pos] + rule + text[pos:], cfg, rules), True


def remove_rule(config_text: str, hostname: str, service: str | None = None) -> tuple[str, bool]:
    """Remove the rule(s) routing `hostname` (without `path`); returns (text, changed).

    Only the rule's own lines go: comments above the next rule stay. With `service`
    given, a rule pointing elsewhere is someone else's and is kept (IngressError).
    """
    cfg = _parse(config_text)
    hits = _hits(cfg.rules, hostname)
    if not hits:
        return config_text, False
    for i in hits:
        other = cfg.rules[i].get("service")
        if service is not None and other != service:
            raise IngressError(
                f"{hostname} is routed to {other}, not {service}; norn left that rule in place",
                hint="Remove it by hand if it is really stale.",
            )
    _require_block(cfg)
    text = config_text
    dashes, end_before = _spans(cfg)
    cuts = [_rule_lines(text, dashes[i], end_before(dashes[i + 1])) for i in hits]
    for start, end in reversed(cuts):  # back to front, so earlier offsets stay valid
        text = text[:start] + text[end:]
    rules = [r for i, r in enumerate(cfg.rules) if i not in hits]
    return _checked(text, cfg, rules), True


# --- reading -----------------------------------------------------------------


def _parse(text: str) -> _Config:
    """Load and validate the config: a mapping whose `ingress` list ends in a catch-all."""
    loader = yaml.SafeLoader(text)
    try:  # one parse for both the data and the node marks (what safe_load and compose each do)
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except yaml.YAMLError as exc:
        problem = yaml_problem(exc)
        raise IngressError(f"the cloudflared config is not valid YAML: {problem}", hint=_HINT) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise IngressError("the cloudflared config is not a YAML mapping", hint=_HINT)
    if "ingress" not in data:
        raise IngressError("the cloudflared config has no `ingress` rules", hint=_HINT)
    rules = data["ingress"]
    if not isinstance(rules, list):
        raise IngressError("`ingress` in the cloudflared config is not a list", hint=_HINT)
    for n, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            raise IngressError(f"ingress rule {n} in the cloudflared config is not a mapping", hint=_HINT)
    if not rules or not _is_catch_all(rules[-1]):
        raise IngressError(
            "the last ingress rule in the cloudflared config is not a catch-all (a rule without hostname or path)",
            hint=_HINT,
        )
    seqs = [v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "ingress"]
    if not seqs or not isinstance(seqs[-1], yaml.SequenceNode) or len(seqs[-1].value) != len(rules):
        raise _unsupported()  # e.g. `ingress` coming from a merge key
    return _Config(text, data, rules, seqs[-1])


def yaml_problem(exc: yaml.YAMLError) -> str:
    """One line for the user: PyYAML's own message spans several."""
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    problem = " ".join(p for p in parts if p) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem


def _is_catch_all(rule: dict[Any, Any]) -> bool:
    """cloudflared's own test: no hostname (or "*") and no path."""
    return rule.get("hostname") in (None, "", "*") and not rule.get("path")


def _hits(rules: list[dict[Any, Any]], hostname: str) -> list[int]:
    """Indexes of the path-less rules for `hostname` (DNS names ignore case)."""
    want = hostname.lower()
    return [
        i
        for i, rule in enumerate(rules[:-1])
        if isinstance(rule.get("hostname"), str)
        and rule["hostname"].lower() == want
        and not rule.get("path")
    ]


def _spans(cfg: _Config):
    """Where each rule's `-` is, and a function giving where content before an offset ends.

    Comments are not tokens, so "the end of the last token before the next `-`" is
    where a rule's own text ends; the comment lines after it belong to the next rule.
    """
    tokens = [
        (t.start_mark.index, t.end_mark.index, isinstance(t, yaml.BlockEntryToken))
        for t in yaml.scan(cfg.text)
        if t.end_mark.index > t.start_mark.index  # not the zero-width bookkeeping ones
    ]
    starts = [s for s, _, _ in tokens]
    entries = [s for s, _, dash in tokens if dash]
    # a rule's `-` is the last one before its first key (only spaces, comments, anchors between)
    dashes = [bisect_left(entries, node.start_mark.index) - 1 for node in cfg.seq.value]
    dashes = [entries[i] if i >= 0 else -1 for i in dashes]
    if dashes[0] < 0 or any(a >= b for a, b in zip(dashes, dashes[1:])):
        raise _unsupported()  # e.g. a rule written as an alias (*anchor)

    def end_before(pos: int) -> int:
        end = tokens[bisect_left(starts, pos) - 1][1]
        while cfg.text[end - 1] in _BLANK:  # a block scalar swallows the blank lines after it
            end -= 1
        return end

    return dashes, end_before


# --- writing -----------------------------------------------------------------


def _check_args(hostname: str, service: str) -> None:
    """A blank or "*" hostname would be a second catch-all, not a route."""
    if not isinstance(hostname, str) or hostname.strip() in ("", "*"):
        raise IngressError(f"not a hostname to route: {hostname!r}")
    if not isinstance(service, str) or not service.strip():
        raise IngressError(f"not a service to route {hostname} to: {service!r}")


def _require_block(cfg: _Config) -> None:
    if cfg.seq.flow_style:
        raise IngressError(
            "the cloudflared config writes `ingress` as a flow list ([...]); norn only edits block lists",
            hint="Rewrite it as one `- hostname: ...` item per rule, then retry.",
        )


def _scalar(value: str) -> str:
    """`value` as a YAML scalar: plain when YAML allows it, else quoted by PyYAML."""
    dumped = yaml.safe_dump({"k": value}, width=math.inf, allow_unicode=True)
    return dumped[len("k: ") :].rstrip("\n")


def _checked(new_text: str, cfg: _Config, rules: list[dict[Any, Any]]) -> str:
    """`new_text`, if it parses to the old document with `rules` as its ingress list."""
    try:
        ok = yaml.safe_load(new_text) == {**cfg.data, "ingress": rules}
    except yaml.YAMLError:
        ok = False
    if not ok:
        raise _unsupported()
    return new_text


def _unsupported() -> IngressError:
    return IngressError("norn cannot edit the layout of this cloudflared config's `ingress` list safely", hint=_HINT)


# --- text helpers ------------------------------------------------------------


def _line_start(text: str, pos: int) -> int:
    """Start of the line holding a `-` indicator; only spaces may precede it."""
    start = pos
    while start and text[start - 1] == " ":
        start -= 1
    if start and text[start - 1] not in _BREAKS:
        raise _unsupported()  # e.g. `- - x`: the rule shares its line with something
    return start


def _next_line(text: str, pos: int) -> int:
    """Start of the line after the one holding `pos`."""
    m = _BREAK.search(text, pos)
    return m.end() if m else len(text)


def _rule_lines(text: str, dash: int, content_end: int) -> tuple[int, int]:
    """The lines of the rule whose `-` is at `dash` and whose last token ends at `content_end`.

    They run to the end of that token's line, plus the comment lines after it indented
    deeper than the `-` (commented-out keys of that rule); a comment level with the `-`
    introduces the next rule and stays.
    """
    start = _line_start(text, dash)
    return start, _skip_own_comments(text, _next_line(text, content_end), dash - start)


def _skip_own_comments(text: str, pos: int, column: int) -> int:
    """Step past comment lines indented deeper than the list: they belong to the rule above."""
    while pos < len(text):
        end = _next_line(text, pos)
        line = text[pos:end]
        body = line.lstrip(" ")
        if not body.startswith("#") or len(line) - len(body) <= column:
            break
        pos = end
    return pos
