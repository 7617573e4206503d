"""Route a public hostname through the cloudflared tunnel by editing its config text.

The operator owns the cloudflared ConfigMap, so its comments, key order, quoting,
blank lines and line endings must survive norn's edits. The YAML is therefore never
re-dumped: it is parsed only to *locate* things (``yaml.compose`` node marks and the
scanner's tokens), and an edit splices whole lines into or out of the original text,
or (replace_rule) a rule's values where they are written. The text helpers are in
ingress_edit.py, the checks of whose rule it is in ingress_owners.py.
Every edit is parsed again and compared with the intended result before it is
returned, so a layout misjudged here fails loudly instead of breaking the tunnel.

Supported: a block-style ``ingress:`` list, indented (``ingress:\\n  - ...``) or
not (``ingress:\\n- ...``), with rules written as block or flow mappings. A
flow-style list (``ingress: [...]``) is read but never edited: an edit that would
change it raises IngressError.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import yaml

from norn.cloudflare import ingress_owners as owners
from norn.cloudflare.ingress_edit import (
    BLANK,
    HINT,
    IngressError,
    line_start,
    rule_lines,
    scalar,
    splice,
    unsupported,
    value_span,
)


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


def routed_elsewhere(config_text: str, hostname: str, services: list[str]) -> str | None:
    """The service of the first rule of `hostname`'s DNS name (any spelling, path rules too) that is not one
    remove_recorded takes as norn's (a path-less rule of `hostname` to one of `services`); None when none is.
    Such a rule still needs the hostname's CNAME (cloudflared sends a request to the first rule that matches,
    ingress/ingress.go FindMatchingRule)."""
    cfg = _parse(config_text)
    mine = {i for i in _hits(cfg.rules, hostname) if cfg.rules[i].get("service") in services}
    for i, rule in enumerate(cfg.rules[:-1]):
        spelled = rule.get("hostname")
        if i not in mine and isinstance(spelled, str) and owners.dns_name(spelled) == owners.dns_name(hostname):
            return str(rule.get("service"))
    return None


def add_rule(config_text: str, hostname: str, service: str) -> tuple[str, bool]:
    """Route `hostname` to `service` with a rule inserted just before the catch-all.

    Returns (text, changed). The same rule already present is not an error (so a
    re-run is a no-op); the hostname routed elsewhere is, since norn would
    otherwise steal a hostname the operator gave to something else.
    """
    return _add(_parse(config_text), hostname, service)


def add_rules(config_text: str, routes: list[tuple[str, str]]) -> tuple[str, list[bool], dict[int, IngressError]]:
    """add_rule of each (hostname, service) of `routes` in turn, with one parse and one check for them all.

    A many-app run adds its apps' rules this way: each parse reads every rule, so adding fifty one at a
    time grows as the square (about 440 ms for fifty, against 20 ms in one pass). Returns the text, whether
    each route changed it, and the routes refused by index (as add_rule would refuse them), which the
    others go on without. A config norn cannot edit raises IngressError, as add_rule does: it is every route's.
    """
    return _add_all(_parse(config_text), routes)


def remove_rule(config_text: str, hostname: str, service: str | None = None) -> tuple[str, bool]:
    """Remove the rule(s) routing `hostname` (without `path`); returns (text, changed).

    Only the rule's own lines go: comments above the next rule stay. With `service`
    given, a rule pointing elsewhere is someone else's and is kept (IngressError).
    """
    cfg = _parse(config_text)
    hits = _hits(cfg.rules, hostname)
    if not hits:
        return config_text, False
    if service is not None:
        owners.refuse_others(cfg.rules, hits, hostname, service)
    return _remove(cfg, hits), True


def remove_recorded(config_text: str, removals: list[list[tuple[str, list[str]]]]) -> tuple[str, list[bool], dict[int, IngressError]]:
    """Each removal of `removals` (one app's rules: each hostname with the services recorded for it) in turn,
    with one parse and one check for them all, as a many-app teardown makes them.

    A hostname goes when its rules route to one of its services (the first of them when they route elsewhere,
    which refuses it as remove_rule does). A removal refused for one of its hostnames changes nothing; the
    others go on without it. Returns the text, whether each removal changed it, and the refused ones by index.
    """
    cfg = _parse(config_text)
    gone: set[int] = set()
    changed: list[bool] = []
    refused: dict[int, IngressError] = {}
    for n, removal in enumerate(removals):
        mine: set[int] = set()
        try:
            for hostname, services in removal:
                hits = [i for i in _hits(cfg.rules, hostname) if i not in gone | mine]
                if hits:
                    routed = cfg.rules[hits[0]].get("service")
                    owners.refuse_others(cfg.rules, hits, hostname, routed if routed in services else services[0])
                    mine.update(hits)
        except IngressError as exc:
            refused[n] = exc
            mine = set()
        gone |= mine
        changed.append(bool(mine))
    return (_remove(cfg, sorted(gone)) if gone else config_text), changed, refused


def replace_rule(
    config_text: str, old_hostname: str, new_hostname: str, new_service: str, *, old_service: str | None = None
) -> tuple[str, bool]:
    """Point the rule for `old_hostname` (as remove_rule finds it) at `new_hostname` and `new_service`, in one edit.

    With `old_service`, only a rule of `old_hostname` that routes to it is the old rule (norn's, as it recorded
    it): one that now routes elsewhere is someone else's and stays as it is, and the new rule is added.

    cloudflared takes the first rule that matches (ingress/ingress.go FindMatchingRule), so the rule keeps its
    place: only its two values change, its other keys and comments and the rules around it stay. Returns
    (text, changed); changed is False when the rule already reads so. Further rules for `old_hostname` go,
    as remove_rule removes them (the next one would otherwise start routing the old hostname).

    - No rule for `old_hostname` (a rerun after the write, or removed by hand): the new rule is added as
      add_rule adds it, just before the catch-all; a no-op when it is there already.
    - Another rule already routes `new_hostname` to `new_service`: it stays and the old rule goes.
    - `new_hostname` routed elsewhere, in any spelling of the same DNS name: IngressError, as add_rule.
    - A rule below with a path that matches `new_hostname` and not the old one: norn's rule, above it,
      would take its requests; IngressError.
    """
    _check_args(new_hostname, new_service)
    cfg = _parse(config_text)
    old = [i for i in _hits(cfg.rules, old_hostname) if old_service is None or cfg.rules[i].get("service") == old_service]
    there = [i for i in _hits(cfg.rules, new_hostname) if i not in old]
    if there or not old:
        text, added = _add(cfg, new_hostname, new_service)  # with `there`: a no-op, or the clash
        return (_remove(cfg, old), True) if old else (text, added)
    owners.refuse_clash(cfg.rules, new_hostname, new_service, skip=old)
    first, rule = old[0], cfg.rules[old[0]]
    if len(old) == 1 and rule["hostname"] == new_hostname and rule.get("service") == new_service:
        return config_text, False
    owners.refuse_shadowing(cfg.rules, first, rule["hostname"], new_hostname)
    _require_block(cfg)
    dashes, end_before = _spans(cfg)
    edits = _retarget(cfg, first, dashes, {"hostname": new_hostname, "service": new_service})
    edits += [(*rule_lines(cfg.text, dashes[i], end_before(dashes[i + 1])), "") for i in old[1:]]
    rules = [r for i, r in enumerate(cfg.rules) if i not in old[1:]]
    rules[first] = {**rule, "hostname": new_hostname, "service": new_service}
    return _checked(splice(cfg.text, edits), cfg, rules), True


# --- reading -----------------------------------------------------------------


def _parse(text: str) -> _Config:
    """Load and validate the config: a mapping whose `ingress` list ends in a catch-all."""
    loader = yaml.SafeLoader(text)
    try:  # one parse for both the data and the node marks (what safe_load and compose each do)
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except yaml.YAMLError as exc:
        problem = yaml_problem(exc)
        raise IngressError(f"the cloudflared config is not valid YAML: {problem}", hint=HINT) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise IngressError("the cloudflared config is not a YAML mapping", hint=HINT)
    if "ingress" not in data:
        raise IngressError("the cloudflared config has no `ingress` rules", hint=HINT)
    rules = data["ingress"]
    if not isinstance(rules, list):
        raise IngressError("`ingress` in the cloudflared config is not a list", hint=HINT)
    for n, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            raise IngressError(f"ingress rule {n} in the cloudflared config is not a mapping", hint=HINT)
    if not rules or not _is_catch_all(rules[-1]):
        raise IngressError(
            "the last ingress rule in the cloudflared config is not a catch-all (a rule without hostname or path)",
            hint=HINT,
        )
    seqs = [v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "ingress"]
    if not seqs or not isinstance(seqs[-1], yaml.SequenceNode) or len(seqs[-1].value) != len(rules):
        raise unsupported()  # e.g. `ingress` coming from a merge key
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
        raise unsupported()  # e.g. a rule written as an alias (*anchor)

    def end_before(pos: int) -> int:
        end = tokens[bisect_left(starts, pos) - 1][1]
        while cfg.text[end - 1] in BLANK:  # a block scalar swallows the blank lines after it
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


def _add(cfg: _Config, hostname: str, service: str) -> tuple[str, bool]:
    text, changed, refused = _add_all(cfg, [(hostname, service)])
    if refused:
        raise refused[0]
    return text, changed[0]


def _add_all(cfg: _Config, routes: list[tuple[str, str]]) -> tuple[str, list[bool], dict[int, IngressError]]:
    rules, catch_all_rule = list(cfg.rules[:-1]), cfg.rules[-1]
    changed: list[bool] = []
    refused: dict[int, IngressError] = {}
    for i, (hostname, service) in enumerate(routes):
        try:
            _check_args(hostname, service)
            hits = _hits([*rules, catch_all_rule], hostname)
            present = bool(hits) and rules[hits[0]].get("service") == service
            if not present:
                owners.refuse_clash([*rules, catch_all_rule], hostname, service)
                rules.append({"hostname": hostname, "service": service})
            changed.append(not present)
        except IngressError as exc:
            refused[i] = exc
            changed.append(False)
    added = rules[len(cfg.rules) - 1 :]
    if not added:
        return cfg.text, changed, refused
    _require_block(cfg)
    text = cfg.text
    dashes, end_before = _spans(cfg)
    catch_all = dashes[-1]
    line = line_start(text, catch_all)
    pos = rule_lines(text, catch_all, end_before(catch_all))[1]  # the end of the rule above
    if not 0 < pos <= line:
        raise unsupported()
    nl = "\r\n" if text[pos - 2 : pos] == "\r\n" else text[pos - 1]
    indent = text[line:catch_all]
    item = cfg.seq.value[-1].start_mark.index  # the catch-all's first key: "-" + gap
    gap = item - catch_all if item > catch_all + 1 and not text[catch_all + 1 : item].strip(" ") else 2
    lines = "".join(
        f"{indent}-{' ' * (gap - 1)}hostname: {scalar(rule['hostname'])}{nl}"
        f"{indent}{' ' * gap}service: {scalar(rule['service'])}{nl}"
        for rule in added
    )
    return _checked(text[:pos] + lines + text[pos:], cfg, [*rules, catch_all_rule]), changed, refused


def _remove(cfg: _Config, hits: list[int]) -> str:
    _require_block(cfg)
    dashes, end_before = _spans(cfg)
    cuts = [(*rule_lines(cfg.text, dashes[i], end_before(dashes[i + 1])), "") for i in hits]
    rules = [r for i, r in enumerate(cfg.rules) if i not in hits]
    return _checked(splice(cfg.text, cuts), cfg, rules)


def _retarget(cfg: _Config, i: int, dashes: list[int], values: dict[str, str]) -> list[tuple[int, int, str]]:
    """The splices that give rule `i` these values, each written where its old value was."""
    node = cfg.seq.value[i]
    own = {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}  # the last wins
    nodes = [own.get(key) for key in values]
    end = dashes[i + 1]
    if any(n is None or not dashes[i] < n.start_mark.index < end for n in nodes) or nodes[0] is nodes[1]:
        raise unsupported()  # a key from a merge (<<), a value from an alias (*a) defined elsewhere or shared
    return [
        (*value_span(cfg.text, n), scalar(v, flow=node.flow_style, quote=n.style))
        for n, v in zip(nodes, values.values())
    ]


def _require_block(cfg: _Config) -> None:
    if cfg.seq.flow_style:
        raise IngressError(
            "the cloudflared config writes `ingress` as a flow list ([...]); norn only edits block lists",
            hint="Rewrite it as one `- hostname: ...` item per rule, then retry.",
        )




def _checked(new_text: str, cfg: _Config, rules: list[dict[Any, Any]]) -> str:
    """`new_text`, if it parses to the old document with `rules` as its ingress list."""
    try:
        ok = yaml.safe_load(new_text) == {**cfg.data, "ingress": rules}
    except yaml.YAMLError:
        ok = False
    if not ok:
        raise unsupported()
    return new_text


