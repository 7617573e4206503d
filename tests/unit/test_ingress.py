"""norn.cloudflare.ingress: textual edits of the cloudflared config that keep the operator's text."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from norn.cloudflare.ingress import IngressError, add_rule, find_rule, remove_rule
from norn.errors import StepError

APP = "app.example.com"
SVC = "http://app.apps.svc.cluster.local:8080"

BRIEF = """\
# Managed by the platform team. Rules are matched top to bottom.
tunnel: norn
credentials-file: /etc/cloudflared/creds/credentials.json
metrics: 0.0.0.0:2000
no-autoupdate: true
ingress:
  # Grafana
  - hostname: grafana.example.com
    service: http://grafana.monitoring.svc.cluster.local:80
  - service: http_status:404
"""

BRIEF_WITH_APP = """\
# Managed by the platform team. Rules are matched top to bottom.
tunnel: norn
credentials-file: /etc/cloudflared/creds/credentials.json
metrics: 0.0.0.0:2000
no-autoupdate: true
ingress:
  # Grafana
  - hostname: grafana.example.com
    service: http://grafana.monitoring.svc.cluster.local:80
  - hostname: app.example.com
    service: http://app.apps.svc.cluster.local:8080
  - service: http_status:404
"""

FOUR_SPACES = """\
tunnel: norn
ingress:
    -   hostname: "grafana.example.com"   # quoted on purpose
        service: 'http://grafana:80'

    # everything else
    -   service: http_status:404
"""

NO_INDENT = """\
tunnel: norn
ingress:
- hostname: grafana.example.com
  service: http://grafana:80
- service: http_status:404
warp-routing:
  enabled: true
"""

CATCH_ALL_WITH_ORIGIN = """\
tunnel: norn
ingress:
  - hostname: grafana.example.com
    path: /api
    service: http://grafana:80
    originRequest:
      noTLSVerify: true
      # commented-out option of the grafana rule
  # the default
  - service: http_status:404
    originRequest:
      connectTimeout: 10s
originRequest:
  keepAliveTimeout: 30s
"""

NO_TRAILING_NEWLINE = "tunnel: norn\ningress:\n  - hostname: a.example.com\n    service: http://a:80\n  - service: http_status:404"

ONLY_CATCH_ALL = """\
tunnel: norn
ingress: &rules  # anchored, for fun
  # nothing routed yet
  - {service: http_status:404}
"""

MANY_RULES = (
    "tunnel: norn\ningress:\n"
    + "".join(f"  # rule {i}\n  - hostname: r{i}.example.com\n    service: http://r{i}:80\n\n" for i in range(40))
    + "  - service: http_status:404\n"
)

REALISTIC = {
    "brief": BRIEF,
    "crlf": BRIEF.replace("\n", "\r\n"),
    "four-spaces": FOUR_SPACES,
    "no-indent": NO_INDENT,
    "no-indent-crlf": NO_INDENT.replace("\n", "\r\n"),
    "catch-all-with-originRequest": CATCH_ALL_WITH_ORIGIN,
    "no-trailing-newline": NO_TRAILING_NEWLINE,
    "only-catch-all": ONLY_CATCH_ALL,
    "many-rules": MANY_RULES,
    "document-markers": (
        "%YAML 1.1\n---\ningress:\n  - hostname: a.example.com\n    service: http://a\n"
        "  - service: http_status:404\n...\n"
    ),
}


def added(text: str, hostname: str = APP, service: str = SVC) -> str:
    new, changed = add_rule(text, hostname, service)
    assert changed
    return new


def ingress(text: str) -> list:
    return yaml.safe_load(text)["ingress"]


# --- find_rule ----------------------------------------------------------------


def test_find_rule_returns_the_service_of_the_hostname():
    assert find_rule(BRIEF, "grafana.example.com") == "http://grafana.monitoring.svc.cluster.local:80"
    assert find_rule(FOUR_SPACES, "grafana.example.com") == "http://grafana:80"


def test_find_rule_ignores_case():
    assert find_rule(BRIEF, "Grafana.EXAMPLE.com") == "http://grafana.monitoring.svc.cluster.local:80"


def test_find_rule_absent_or_path_rule_is_none():
    assert find_rule(BRIEF, APP) is None
    assert find_rule(BRIEF, "grafana.example") is None
    # a rule with a path only routes part of the hostname: it is not "the" rule
    assert find_rule(CATCH_ALL_WITH_ORIGIN, "grafana.example.com") is None


def test_find_rule_reads_a_flow_list():
    text = "ingress: [{hostname: a.com, service: 'http://a'}, {service: http_status:404}]\n"
    assert find_rule(text, "A.com") == "http://a"


def test_find_rule_returns_the_first_of_duplicates():
    text = "ingress:\n- {hostname: a.com, service: http://one}\n- {hostname: a.com, service: http://two}\n- service: x\n"
    assert find_rule(text, "a.com") == "http://one"


# --- add_rule -----------------------------------------------------------------


def test_add_rule_inserts_just_before_the_catch_all():
    assert add_rule(BRIEF, APP, SVC) == (BRIEF_WITH_APP, True)


def test_add_rule_is_idempotent():
    assert add_rule(BRIEF_WITH_APP, APP, SVC) == (BRIEF_WITH_APP, False)
    assert add_rule(BRIEF_WITH_APP, APP.upper(), SVC) == (BRIEF_WITH_APP, False)


def test_add_rule_refuses_a_hostname_routed_elsewhere():
    with pytest.raises(IngressError) as err:
        add_rule(BRIEF, "GRAFANA.example.com", SVC)
    assert "GRAFANA.example.com" in err.value.message
    assert "http://grafana.monitoring.svc.cluster.local:80" in err.value.message


def test_add_rule_beside_a_path_rule_of_the_same_hostname():
    new = added(CATCH_ALL_WITH_ORIGIN, "grafana.example.com", "http://grafana-ui:80")
    assert [r.get("path") for r in ingress(new)] == ["/api", None, None]
    assert find_rule(new, "grafana.example.com") == "http://grafana-ui:80"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BRIEF,
            "  # Grafana\n  - hostname: grafana.example.com\n"
            "    service: http://grafana.monitoring.svc.cluster.local:80\n"
            f"  - hostname: {APP}\n    service: {SVC}\n  - service: http_status:404\n",
        ),
        (FOUR_SPACES, "        service: 'http://grafana:80'\n"
                      f"    -   hostname: {APP}\n        service: {SVC}\n\n    # everything else\n"),
        (NO_INDENT, f"  service: http://grafana:80\n- hostname: {APP}\n  service: {SVC}\n- service: http_status:404\n"),
        (ONLY_CATCH_ALL, f"ingress: &rules  # anchored, for fun\n  - hostname: {APP}\n    service: {SVC}\n  # nothing routed yet\n"),
    ],
    ids=["two-spaces", "four-spaces", "no-indent", "only-catch-all"],
)
def test_add_rule_follows_the_list_style(text, expected):
    assert expected in added(text)


def test_add_rule_keeps_crlf():
    new = added(BRIEF.replace("\n", "\r\n"))
    assert new == BRIEF_WITH_APP.replace("\n", "\r\n")


def test_add_rule_leaves_comments_of_the_rule_above_with_it():
    new = added(CATCH_ALL_WITH_ORIGIN)
    assert (
        "      # commented-out option of the grafana rule\n"
        f"  - hostname: {APP}\n    service: {SVC}\n"
        "  # the default\n  - service: http_status:404\n"
    ) in new


def test_add_rule_without_trailing_newline():
    new = added(NO_TRAILING_NEWLINE)
    assert new.endswith(f"  - hostname: {APP}\n    service: {SVC}\n  - service: http_status:404")


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("app.example.com", "app.example.com"),
        ("http://app:8080", "http://app:8080"),
        ("*.example.com", "'*.example.com'"),
        ("true", "'true'"),
        ("8080", "'8080'"),
        ("a: b", "'a: b'"),
        ("x #y", "'x #y'"),
    ],
)
def test_add_rule_quotes_only_when_yaml_requires_it(value, written):
    new = added(BRIEF, value, value)
    assert f"  - hostname: {written}\n    service: {written}\n" in new
    assert ingress(new)[1] == {"hostname": value, "service": value}


@pytest.mark.parametrize(("hostname", "service"), [("", SVC), ("*", SVC), ("  ", SVC), (APP, ""), (APP, " ")])
def test_add_rule_refuses_blank_arguments(hostname, service):
    with pytest.raises(IngressError):
        add_rule(BRIEF, hostname, service)


# --- remove_rule --------------------------------------------------------------


def test_remove_rule_removes_only_its_lines():
    assert remove_rule(BRIEF_WITH_APP, APP) == (BRIEF, True)
    # the comment above grafana's rule stays for the next rule
    assert remove_rule(BRIEF, "grafana.example.com") == (
        BRIEF.replace("  - hostname: grafana.example.com\n    service: http://grafana.monitoring.svc.cluster.local:80\n", ""),
        True,
    )


def test_remove_rule_absent_is_a_no_op():
    assert remove_rule(BRIEF, APP) == (BRIEF, False)
    assert remove_rule(BRIEF, APP, SVC) == (BRIEF, False)


def test_remove_rule_checks_the_service_when_given():
    assert remove_rule(BRIEF_WITH_APP, APP.upper(), SVC) == (BRIEF, True)
    with pytest.raises(IngressError) as err:
        remove_rule(BRIEF_WITH_APP, APP, "http://other:80")
    assert APP in err.value.message and SVC in err.value.message


def test_remove_rule_ignores_path_rules():
    assert remove_rule(CATCH_ALL_WITH_ORIGIN, "grafana.example.com") == (CATCH_ALL_WITH_ORIGIN, False)


HAND_WRITTEN = """\
ingress:
  # a: hand-written, flow style
  - {hostname: a.com, service: "http://a:80"}   # keep the comment above b
  # b
  - hostname: b.com
    # why b talks TLS
    originRequest:
      noTLSVerify: true
      httpHostHeader: |
        b.internal

    service: https://b:443
  # catch-all
  - service: http_status:404
"""


def test_remove_rule_written_by_hand_in_flow_style():
    assert remove_rule(HAND_WRITTEN, "a.com") == (
        HAND_WRITTEN.replace('  - {hostname: a.com, service: "http://a:80"}   # keep the comment above b\n', ""),
        True,
    )


def test_remove_rule_with_extra_keys_and_inner_comments():
    start = HAND_WRITTEN.index("  - hostname: b.com")
    end = HAND_WRITTEN.index("  # catch-all")
    assert remove_rule(HAND_WRITTEN, "b.com") == (HAND_WRITTEN[:start] + HAND_WRITTEN[end:], True)


BLOCK_SCALAR_LAST = """\
ingress:
  - hostname: b.com
    service: https://b:443
    originRequest:
      httpHostHeader: |
        b.internal

  # catch-all
  - service: http_status:404
"""


def test_a_block_scalar_does_not_take_the_blank_lines_after_it():
    rule = "  - hostname: b.com\n    service: https://b:443\n    originRequest:\n      httpHostHeader: |\n        b.internal\n"
    assert remove_rule(BLOCK_SCALAR_LAST, "b.com") == (BLOCK_SCALAR_LAST.replace(rule, ""), True)
    assert f"        b.internal\n  - hostname: {APP}\n    service: {SVC}\n\n  # catch-all\n" in added(BLOCK_SCALAR_LAST)


def test_remove_rule_removes_duplicates():
    text = (
        "ingress:\n- {hostname: a.com, service: http://a}\n- {hostname: b.com, service: http://b}\n"
        "- {hostname: A.com, service: http://a}\n- service: x\n"
    )
    assert remove_rule(text, "a.com", "http://a") == (
        "ingress:\n- {hostname: b.com, service: http://b}\n- service: x\n",
        True,
    )


def test_remove_rule_never_removes_the_catch_all():
    text = "ingress:\n  - hostname: '*'\n    service: http_status:404\n"
    assert remove_rule(text, "*") == (text, False)


# --- round trips on realistic configs -----------------------------------------


@pytest.mark.parametrize("text", REALISTIC.values(), ids=REALISTIC.keys())
def test_round_trip_is_byte_identical(text):
    new = added(text)
    assert add_rule(new, APP, SVC) == (new, False)
    assert remove_rule(new, APP) == (text, True)
    assert remove_rule(new, APP, SVC) == (text, True)


@pytest.mark.parametrize("text", REALISTIC.values(), ids=REALISTIC.keys())
def test_add_rule_changes_only_the_ingress_list(text):
    before, after = yaml.safe_load(text), yaml.safe_load(added(text))
    assert after["ingress"] == [*before["ingress"][:-1], {"hostname": APP, "service": SVC}, before["ingress"][-1]]
    assert {k: v for k, v in after.items() if k != "ingress"} == {k: v for k, v in before.items() if k != "ingress"}
    assert find_rule(added(text), APP) == SVC


# --- configs norn refuses -----------------------------------------------------

BROKEN = {
    "not-yaml": "ingress: [\n",
    "tab-indent": "ingress:\n\t- service: x\n",
    "two-documents": "a: 1\n---\ningress:\n- service: x\n",
    "empty": "",
    "a-list": "- service: http_status:404\n",
    "a-scalar": "cloudflared\n",
    "no-ingress": "tunnel: norn\nwarp-routing:\n  enabled: true\n",
    "ingress-null": "ingress:\n",
    "ingress-mapping": "ingress:\n  service: http_status:404\n",
    "ingress-empty": "ingress: []\n",
    "no-catch-all": "ingress:\n  - hostname: a.com\n    service: http://a\n",
    "catch-all-with-path": "ingress:\n  - hostname: a.com\n    service: http://a\n  - path: /x\n    service: http_status:404\n",
    "rule-not-mapping": "ingress:\n  - http://a\n  - service: http_status:404\n",
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_broken_configs_raise(text):
    for call in (lambda: add_rule(text, APP, SVC), lambda: remove_rule(text, APP), lambda: find_rule(text, APP)):
        with pytest.raises(IngressError) as err:
            call()
        assert err.value.message and "\n" not in err.value.message


def test_error_messages_say_what_is_wrong():
    def message(text):
        with pytest.raises(IngressError) as err:
            add_rule(text, APP, SVC)
        return err.value.message

    assert "not valid YAML" in message(BROKEN["not-yaml"]) and "line" in message(BROKEN["not-yaml"])
    assert "not a YAML mapping" in message(BROKEN["a-list"])
    assert "no `ingress`" in message(BROKEN["no-ingress"])
    assert "not a list" in message(BROKEN["ingress-null"])
    assert "catch-all" in message(BROKEN["no-catch-all"])
    assert "rule 1" in message(BROKEN["rule-not-mapping"])


def test_ingress_error_is_a_step_error():
    assert issubclass(IngressError, StepError)


FLOW = "tunnel: norn\ningress: [{hostname: a.com, service: 'http://a'}, {service: http_status:404}]\n"


def test_flow_list_is_read_but_not_edited():
    with pytest.raises(IngressError, match="flow list"):
        add_rule(FLOW, APP, SVC)
    with pytest.raises(IngressError, match="flow list"):
        remove_rule(FLOW, "a.com")
    # nothing to edit: no error
    assert add_rule(FLOW, "a.com", "http://a") == (FLOW, False)
    assert remove_rule(FLOW, APP) == (FLOW, False)


def test_an_edit_that_would_change_other_values_is_refused():
    # `|+` keeps the blank line after "a" in the value: inserting below "a" would drop it
    text = (
        "ingress:\n  - hostname: a.com\n    service: http://a\n    originRequest:\n"
        "      httpHostHeader: |+\n        a\n\n  - service: http_status:404\n"
    )
    assert yaml.safe_load(text)["ingress"][0]["originRequest"]["httpHostHeader"] == "a\n\n"
    with pytest.raises(IngressError, match="cannot edit"):
        add_rule(text, APP, SVC)


def test_an_aliased_rule_is_refused_rather_than_mangled():
    text = "ingress:\n  - &a {hostname: a.com, service: http://a}\n  - *a\n  - service: http_status:404\n"
    with pytest.raises(IngressError, match="cannot edit"):
        remove_rule(text, "a.com")


# --- property: any accepted layout round-trips ---------------------------------

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
HOSTNAMES = st.builds(
    lambda prefix, labels, upper: (prefix + ".".join(labels)).upper() if upper else prefix + ".".join(labels),
    st.sampled_from(["", "", "*."]),
    st.lists(LABEL, min_size=2, max_size=4),
    st.booleans(),
)
SERVICES = st.one_of(
    st.builds(
        "{}://{}:{}".format,
        st.sampled_from(["http", "https", "tcp", "ssh"]),
        LABEL,
        st.integers(1, 65535),
    ),
    # values YAML must quote
    st.sampled_from(["http_status:404", "unix:/run/app.sock", "true", "null", "8080", "a: b", "x #y", "'q'", '"d"', " lead"]),
    # anything printable
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp", "Co", "Cn"]), min_size=1, max_size=20)
    .filter(str.strip),
)


def _quote(value: str, style: str) -> str:
    """An existing rule's value as the operator might have written it."""
    if style == "plain" and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)  # JSON strings are YAML double-quoted scalars


@st.composite
def configs(draw):
    """(text, pieces, rules): a cloudflared config, its parts in order, its ingress list."""
    nl = draw(st.sampled_from(["\n", "\r\n"]))
    indent = " " * draw(st.sampled_from([0, 2, 4]))
    gap = draw(st.sampled_from([2, 4]))
    inner = indent + " " * gap
    dash = indent + "-" + " " * (gap - 1)
    hosts = draw(st.lists(HOSTNAMES.filter(lambda h: not h.startswith("*")), max_size=6, unique_by=str.lower))

    pieces: list[tuple[str, str | None]] = []  # (text, hostname of the rule it is, if one)
    if draw(st.booleans()):
        pieces.append((f"# managed by the platform team{nl}", None))
    pieces.append((f"tunnel: norn{nl}credentials-file: /etc/creds.json{nl}", None))
    pieces.append((f"ingress:{draw(st.sampled_from(['', '  # rules']))}{nl}", None))
    rules = []
    for host in hosts:
        service = draw(SERVICES)
        if draw(st.booleans()):
            pieces.append((f"{indent}# {host}{nl}", None))
        if draw(st.booleans()):
            pieces.append((nl, None))
        q = draw(st.sampled_from(["plain", "double"]))
        h, s = _quote(host, q), _quote(service, "double")
        style = draw(st.sampled_from(["block", "flow", "extra", "service-first"]))
        rule = {"hostname": host, "service": service}
        if style == "block":
            text = f"{dash}hostname: {h}{nl}{inner}service: {s}{nl}"
        elif style == "flow":
            text = f"{dash}{{hostname: {h}, service: {s}}}  # by hand{nl}"
        elif style == "service-first":
            text = f"{dash}service: {s}{nl}{inner}hostname: {h}{nl}"
        else:
            text = (
                f"{dash}hostname: {h}{nl}{inner}service: {s}{nl}{inner}originRequest:{nl}"
                f"{inner}  noTLSVerify: true{nl}{inner}  # a comment of the rule{nl}"
            )
            rule["originRequest"] = {"noTLSVerify": True}
        pieces.append((text, host))
        rules.append(rule)
    if draw(st.booleans()):
        pieces.append((f"{indent}# the catch-all{nl}", None))
    catch_all = {"service": "http_status:404"}
    text = f"{dash}service: http_status:404{nl}"
    if draw(st.booleans()):
        text += f"{inner}originRequest:{nl}{inner}  connectTimeout: 10s{nl}"
        catch_all["originRequest"] = {"connectTimeout": "10s"}
    pieces.append((text, None))
    rules.append(catch_all)
    if draw(st.booleans()):
        pieces.append((f"warp-routing:{nl}  enabled: true{nl}", None))
    if draw(st.booleans()):  # the trailing newline is missing
        last, host = pieces.pop()
        pieces.append((last[: -len(nl)], host))
    return "".join(p for p, _ in pieces), pieces, rules


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), HOSTNAMES, SERVICES)
def test_property_add_then_remove_is_identity(config, hostname, service):
    text, _, rules = config
    if any(r.get("hostname", "").lower() == hostname.lower() for r in rules):
        return
    new, changed = add_rule(text, hostname, service)
    assert changed
    parsed = yaml.safe_load(new)
    assert parsed["ingress"] == [*rules[:-1], {"hostname": hostname, "service": service}, rules[-1]]
    assert {k: v for k, v in parsed.items() if k != "ingress"} == {
        k: v for k, v in yaml.safe_load(text).items() if k != "ingress"
    }
    assert find_rule(new, hostname.swapcase()) == service
    assert add_rule(new, hostname, service) == (new, False)
    with pytest.raises(IngressError):
        add_rule(new, hostname, service + "x")
    assert remove_rule(new, hostname) == (text, True)
    assert remove_rule(new, hostname, service) == (text, True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), st.data())
def test_property_remove_takes_only_the_rule_lines(config, data):
    text, pieces, rules = config
    if len(rules) == 1:
        assert remove_rule(text, "absent.example.com") == (text, False)
        return
    i = data.draw(st.integers(0, len(rules) - 2))
    host = rules[i]["hostname"]
    assert find_rule(text, host) == rules[i]["service"]
    expected = "".join(p for p, h in pieces if h != host)
    assert remove_rule(text, host.swapcase(), rules[i]["service"]) == (expected, True)
    assert yaml.safe_load(expected)["ingress"] == rules[:i] + rules[i + 1 :]


def test_an_edit_reads_the_config_once_and_checks_its_result_once(monkeypatch):
    """The config's data and node marks come from one parse (a real config of many rules
    takes milliseconds to parse in pure Python); the edited text is parsed once more, to check it."""
    parses = []
    real = yaml.composer.Composer.get_single_node  # what safe_load and compose both parse with
    monkeypatch.setattr(yaml.composer.Composer, "get_single_node", lambda self: parses.append(1) or real(self))
    text, changed = add_rule(BRIEF, APP, SVC)
    assert changed and find_rule(text, APP) == SVC
    assert len(parses) == 3  # add_rule: the config, then its result; find_rule: one
