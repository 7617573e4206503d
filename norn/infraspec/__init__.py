"""The infraspec as forge reads it: pydantic models, loading and discovery.

The models are the contract other modules use (attribute names are snake_case;
YAML keys are the camelCase aliases). Every rule of INFRASPEC.md, and every rule
kube-apiserver applies to a field norn fills from the file, is enforced by the
models themselves; `load` adds what only the file knows: the line of each key,
duplicate keys, YAML errors, and one clear line per problem in the form
``<file>:<line>: <key.path>: <problem>``. It reads hostile files cheaply: size
and file type before reading, anchors, aliases, depth and the count of values
as the parser meets them.

Only pydantic, PyYAML and the standard library are imported: this module is on
the fast path of `norn validate`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from norn.errors import SpecError
from norn.names import (  # noqa: F401 (check_app_name is part of this module's API)
    DNS_1035_LABEL,
    DNS_LABEL,
    check_app_name,
    is_dns1035_label,
    is_dns_label,
)

SPEC_NAME = "infraspec.yaml"

Role = Literal["webserver", "worker", "cron", "function"]
ROLES: tuple[str, ...] = get_args(Role)

# What is valid, said once and reused in every message about it.
HOSTNAME = (
    "a DNS hostname (DNS-1123 labels joined by dots, at least two labels, "
    "at most 253 characters, such as mail.example.com)"
)
ENV_NAME = "an env var name (letters, digits and '_', not starting with a digit)"
ABSOLUTE_PATH = "an absolute path (starting with '/')"
QUANTITY = "a Kubernetes quantity such as 10Gi, 500Mi or 1G"
PORT = "a whole number from 1 to 65535"
# Deployment.spec.replicas is an int32 and Job.spec.activeDeadlineSeconds an int64 (k8s.io/api):
# the API server cannot decode a bigger number.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
REPLICAS = f"a whole number from 0 to {INT32_MAX}"
TIMEOUT = f"a whole number of seconds from 1 to {INT64_MAX}"
# The CronJob controller names each Job <cronjob>-<minute>: the API server refuses a longer CronJob name.
CRON_APP_MAX = 52
CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
SCHEDULE = (
    "a 5-field cron expression such as \"0 3 * * *\" (minute hour day-of-month month "
    f"day-of-week) or one of {', '.join(CRON_MACROS)}"
)
ROLE = "one of " + ", ".join(ROLES)


# --- value checks: pure, each returns the problem or None -------------------------

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUANTITY_RE = re.compile(
    r"\+?(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE](?P<exponent>[+-]?[0-9]+))?"
)


def _show(value: Any) -> str:
    """A value as the user wrote it, on one short line."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:60] + "...")
    return str(value)


def _is_whole(value: Any) -> bool:
    """Strict int: YAML `true` and `"80"` are not numbers."""
    return isinstance(value, int) and not isinstance(value, bool)


def _got_number(value: Any) -> str:
    """`got ...` for a field that wants a number, telling how to fix quoted numbers."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?[0-9]+\s*", value):
        return f"got the string {value!r}; write the number without quotes"
    return f"got {_show(value)}"


def _got_text(value: Any) -> str:
    """`got ...` for a field that wants text."""
    if isinstance(value, (bool, int, float)):
        return f"got {_show(value)}, which is not a string"
    return f"got {_show(value)}"


def is_hostname(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 253:
        return False
    labels = value.split(".")
    return len(labels) >= 2 and all(is_dns_label(label) for label in labels)


def is_env_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_ENV_NAME_RE.fullmatch(value))


def _check_dns_label(value: Any) -> str | None:
    return None if is_dns_label(value) else f"must be {DNS_LABEL}, {_got_text(value)}"


def _check_service_name(value: Any) -> str | None:
    return None if is_dns1035_label(value) else f"must be {DNS_1035_LABEL} (it names a Service), {_got_text(value)}"


def _check_hostname(value: Any) -> str | None:
    return None if is_hostname(value) else f"must be {HOSTNAME}, {_got_text(value)}"


def _check_role(value: Any) -> str | None:
    if isinstance(value, str) and value in ROLES:
        return None
    return f"must be {ROLE}, {_got_text(value)}{_did_you_mean(value, ROLES)}"


def _check_whole(low: int, high: int | None, wants: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if _is_whole(value) and value >= low and (high is None or value <= high):
            return None
        return f"must be {wants}, {_got_number(value)}"

    return check


def _is_int32(text: str) -> bool:
    """Whether a quantity's exponent fits the int32 the API server keeps it in.

    The server reads it as an int64 and wraps it to int32 (1e2147483648 becomes 1e-2147483648);
    norn refuses such an exponent rather than send a number that means another.
    """
    digits = text.lstrip("+-").lstrip("0")
    return len(digits) <= 10 and -(2**31) <= int(text) <= INT32_MAX


def _check_healthcheck(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("/"):
        return None
    return f"must be a path starting with '/', such as /health, {_got_text(value)}"


def _check_non_empty(what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and value.strip():
            return None
        return f"must be a non-empty string ({what}), {_got_text(value)}"

    return check


def _check_env_name(value: Any) -> str | None:
    return None if is_env_name(value) else f"must be {ENV_NAME}, {_got_text(value)}"


def _check_absolute(value: Any) -> str | None:
    if not (isinstance(value, str) and value.startswith("/")):
        return f"must be {ABSOLUTE_PATH}, {_got_text(value)}"
    if ".." in value.split("/"):
        return f"must not contain a '..' segment, got {value!r}; write the path without it"
    return None


def _check_quantity(value: Any) -> str | None:
    if isinstance(value, str):
        match = _QUANTITY_RE.fullmatch(value)
        if match and float(match["number"]) > 0 and _is_int32(match["exponent"] or "0"):
            return None
        return f"must be {QUANTITY} (more than 0), got {_show(value)}"
    if _is_whole(value) or isinstance(value, float):
        return f"must be {QUANTITY}, got the bare number {value!r}; give it a unit, such as {value}Gi"
    return f"must be {QUANTITY}, got {_show(value)}"


# --- cron --------------------------------------------------------------------------

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


@dataclass(frozen=True)
class _CronField:
    name: str
    low: int
    high: int
    names: Mapping[str, int]

    def takes(self) -> str:
        names = " or names such as " + next(iter(self.names)).upper() if self.names else ""
        return f"{self.low}-{self.high}{names}, '*', ranges a-b, steps */n and lists a,b"


# The fields Kubernetes (robfig/cron's standard parser) accepts, in order.
_CRON_FIELDS = (
    _CronField("minute", 0, 59, {}),
    _CronField("hour", 0, 23, {}),
    _CronField("day-of-month", 1, 31, {}),
    _CronField("month", 1, 12, {name: i for i, name in enumerate(_MONTHS, 1)}),
    _CronField("day-of-week", 0, 6, {name: i for i, name in enumerate(_DAYS)}),
)


def _cron_value(text: str, cron: _CronField) -> int | None:
    if re.fullmatch(r"[0-9]+", text):
        digits = text.lstrip("0") or "0"
        return int(digits) if len(digits) <= 9 else cron.high + 1  # int() of 5000 digits raises
    return cron.names.get(text.lower())


def _cron_part_problem(part: str, cron: _CronField) -> str | None:
    """One comma-separated entry of a field: `*`, `?`, `a` or `a-b`, each with an optional `/step`."""
    if not part:
        return "an empty list entry"
    span, slash, step = part.partition("/")
    if slash and not re.fullmatch(r"[0-9]+", step):
        return f"the step {step!r} is not a whole number"
    if slash and not step.strip("0"):
        return "a step must be 1 or more, got 0"
    if span in ("*", "?"):
        return None
    first, dash, last = span.partition("-")
    start = _cron_value(first, cron)
    end = _cron_value(last, cron) if dash else (cron.high if slash else start)
    for text, value in ((first, start), (last, end) if dash else (first, end)):
        if value is None:
            return f"{text!r} is not a number" + (" or name" if cron.names else "")
        if not cron.low <= value <= cron.high:
            shown = text if len(text) <= 12 else text[:9] + "..."
            return f"{shown} is outside {cron.low}-{cron.high}"
    if start > end:  # type: ignore[operator]
        return f"the range {span!r} starts after it ends"
    return None


def cron_problem(expression: str) -> str | None:
    """Why Kubernetes would reject this CronJob schedule (one phrase), or None when it is valid."""
    if "TZ" in expression:  # the API server refuses "TZ" anywhere in a schedule, not only TZ=...
        return "a time zone is not allowed in it (Kubernetes has a timeZone field for that)"
    if expression.startswith("@"):  # robfig/cron takes a macro as written: no space around it
        return None if expression in CRON_MACROS else f"{_show(expression)} is not a macro Kubernetes accepts"
    fields = expression.split()
    if len(fields) != 5:
        return f"{_show(expression)} has {len(fields)} fields, not 5"
    for cron, value in zip(_CRON_FIELDS, fields):
        for part in value.split(","):
            problem = _cron_part_problem(part, cron)
            if problem:
                return f"invalid {cron.name} field in {_show(expression)}: {problem}; {cron.name} takes {cron.takes()}"
    return None


def _check_schedule(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be {SCHEDULE}, {_got_text(value)}"
    problem = cron_problem(value)
    if problem is None:
        return None
    if problem.startswith("invalid"):
        return problem
    return f"must be {SCHEDULE}; {problem}"


# --- pydantic glue: checks become validators, rules carry their key path ------------


def _checked(check: Callable[[Any], str | None]) -> PlainValidator:
    """A validator that replaces pydantic's coercion with our strict check and message."""

    def validate(value: Any) -> Any:
        problem = check(value)
        if problem:
            raise ValueError(problem)
        return value

    return PlainValidator(validate)


class _QuoteIt(ValueError):
    """A non-string env value: the loader adds the quoted form the user should write."""

    def __init__(self, value: Any) -> None:
        super().__init__(f"must be a string, got {_show(value)}; quote it")
        self.value = value


def _env_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (Mapping, list)):
        raise ValueError(f"must be a string, got {_show(value)}")
    raise _QuoteIt(value)


class _Rule(ValueError):
    """A rule across keys.

    `loc` is the key path it is reported under, `at` the key whose line to show,
    `about` the keys whose absence it complains of (a typo of one of those
    already says it all).
    """

    def __init__(
        self,
        loc: tuple[str | int, ...],
        message: str,
        at: tuple[str | int, ...] | None = None,
        about: tuple[tuple[str | int, ...], ...] = (),
    ) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.at = loc if at is None else at
        self.about = about

    def under(self, prefix: tuple[str | int, ...]) -> "_Rule":
        about = tuple(prefix + loc for loc in self.about)
        return _Rule(prefix + self.loc, self.message, prefix + self.at, about)


def _raise_first(rules: list[_Rule]) -> None:
    if rules:
        raise rules[0]


AppName = Annotated[str, _checked(_check_dns_label)]
ServiceName = Annotated[str, _checked(_check_service_name)]
VolumeName = Annotated[str, _checked(_check_dns_label)]
Hostname = Annotated[str, _checked(_check_hostname)]
RoleName = Annotated[Role, _checked(_check_role)]
Port = Annotated[int, _checked(_check_whole(1, 65535, PORT))]
Replicas = Annotated[int, _checked(_check_whole(0, INT32_MAX, REPLICAS))]
Timeout = Annotated[int, _checked(_check_whole(1, INT64_MAX, TIMEOUT))]
HealthPath = Annotated[str, _checked(_check_healthcheck)]
DatabaseName = Annotated[str, _checked(_check_non_empty("the database name"))]
Command = Annotated[str, _checked(_check_non_empty("run through /bin/sh -c"))]
EnvName = Annotated[str, _checked(_check_env_name)]
EnvValue = Annotated[str, PlainValidator(_env_value)]
AbsolutePath = Annotated[str, _checked(_check_absolute)]
Quantity = Annotated[str, _checked(_check_quantity)]
Schedule = Annotated[str, _checked(_check_schedule)]


# --- rules across keys: pure, over alias-keyed mappings (raw YAML or a model dump) ---


def _hosts_rules(hosts: Mapping[str, Any]) -> list[_Rule]:
    if hosts.get("external") is not None and hosts.get("internal") is None:
        return [_Rule(("external",), "needs hosts.internal too, the Service the tunnel routes to",
                      about=(("internal",),))]
    return []


def _volume_rules(volume: Mapping[str, Any]) -> list[_Rule]:
    has_size, has_host = volume.get("size") is not None, volume.get("hostPath") is not None
    if has_size and has_host:
        return [_Rule((), "has both size and hostPath; give exactly one: size (a PersistentVolumeClaim) "
                          "or hostPath (a host folder)")]
    if not has_size and not has_host:
        return [_Rule((), "needs exactly one of size (a quantity such as 10Gi: a PersistentVolumeClaim) "
                          "or hostPath (an absolute host folder)", about=(("size",), ("hostPath",)))]
    return []


def _duplicates(items: list[Any], key: str | None, where: str) -> list[_Rule]:
    """A rule for each repeated string (the item itself, or its `key`), naming the earlier one."""
    first: dict[str, int] = {}
    rules = []
    for i, item in enumerate(items):
        if key is None:
            value, loc = item, (i,)
        else:
            value, loc = (item.get(key) if isinstance(item, Mapping) else None), (i, key)
        if not isinstance(value, str):
            continue  # a wrongly typed value is reported by its own check
        if value in first:
            earlier = f"{where}[{first[value]}]" + (f".{key}" if key else "")
            rules.append(_Rule(loc, f"{value!r} is already used by {earlier}; each must be unique"))
        else:
            first[value] = i
    return rules


def _spec_rules(spec: Mapping[str, Any]) -> list[_Rule]:
    """Every rule that spans keys, tolerant of wrongly typed values (they are reported elsewhere)."""
    rules: list[_Rule] = []
    role = spec.get("role")
    app = spec.get("app")
    if role == "cron" and is_dns_label(app) and len(app) > CRON_APP_MAX:
        rules.append(_Rule(("app",), f"a cron app's name must be at most {CRON_APP_MAX} characters, got {len(app)}: "
                                     "Kubernetes names each run's Job <app>-<minute>, which must fit in 63"))
    if role == "webserver" and spec.get("port") is None:
        rules.append(_Rule(("port",), f"required when role is webserver; {PORT}", ("role",), (("port",),)))
    if role == "cron" and spec.get("schedule") is None:
        rules.append(_Rule(("schedule",), f"required when role is cron; {SCHEDULE}", ("role",), (("schedule",),)))
    if role == "cron" and spec.get("command") is None:
        rules.append(_Rule(("command",), "required when role is cron; the command a run executes "
                                         "through /bin/sh -c", ("role",), (("command",),)))
    hosts = spec.get("hosts")
    if isinstance(hosts, Mapping):
        rules += [rule.under(("hosts",)) for rule in _hosts_rules(hosts)]
    secrets = spec.get("secrets")
    if isinstance(secrets, list):
        rules += [rule.under(("secrets",)) for rule in _duplicates(secrets, None, "secrets")]
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        for i, volume in enumerate(volumes):
            if isinstance(volume, Mapping):
                rules += [rule.under(("volumes", i)) for rule in _volume_rules(volume)]
        for key in ("name", "mountPath"):
            rules += [rule.under(("volumes",)) for rule in _duplicates(volumes, key, "volumes")]
    return rules


# --- the models ------------------------------------------------------------------------


class _Strict(BaseModel):
    """Unknown keys are rejected: a typo must not pass silently."""

    model_config = ConfigDict(extra="forbid")


class Hosts(_Strict):
    model_config = ConfigDict(extra="forbid")

    internal: ServiceName | None = None  # name of the ClusterIP Service
    external: Hostname | None = None  # public hostname routed through the tunnel

    @model_validator(mode="after")
    def _external_needs_internal(self) -> "Hosts":
        _raise_first(_hosts_rules(self.model_dump()))
        return self


class Postgres(_Strict):
    database: DatabaseName = Field(description="a non-empty string, the database name")


class Kv(_Strict):
    """Owned by another pipeline: accepted, not acted on."""

    namespace: Any = None


class Events(_Strict):
    """Owned by another pipeline: accepted, not acted on."""

    topics: Any = None


class Storage(_Strict):
    """Owned by another pipeline: accepted, not acted on."""

    bucket: Any = None
    provider: Any = None


class Services(_Strict):
    postgres: Postgres | None = None
    kv: Kv | None = None
    events: Events | None = None
    storage: Storage | None = None

    @field_validator("postgres", mode="before")
    @classmethod
    def _postgres_needs_a_database(cls, value: Any) -> Any:
        # An empty `postgres:` most likely means a forgotten database, not "no database".
        if value is None:
            raise ValueError("must be a mapping with database: <name>; remove postgres if the app needs no database")
        return value


class Volume(_Strict):
    name: VolumeName = Field(description=DNS_LABEL)
    mount_path: AbsolutePath = Field(alias="mountPath", description=ABSOLUTE_PATH)
    size: Quantity | None = None  # a PVC named <app>-<name>
    host_path: AbsolutePath | None = Field(default=None, alias="hostPath")

    @model_validator(mode="after")
    def _exactly_one_source(self) -> "Volume":
        _raise_first(_volume_rules(self.model_dump(by_alias=True)))
        return self


class Build(_Strict):
    """Owned by the build pipeline."""

    dockerfile: Any = None
    test: Any = None


class Repo(_Strict):
    """Owned by the deploy pipeline."""

    url: Any = None
    branch: Any = None
    auto_deploy: Any = Field(default=None, alias="autoDeploy")
    repo_web: Any = Field(default=None, alias="repoWeb")
    webhook_secret: Any = Field(default=None, alias="webhookSecret")


class Migrations(_Strict):
    """Owned by the migrations pipeline."""

    command: Any = None
    database: Any = None


class Artifacts(_Strict):
    retain: Any = None


class Alerts(_Strict):
    window: Any = None
    threshold: Any = None


class FunctionSection(_Strict):
    """Owned by the function pipeline."""

    timeout: Any = None
    trigger: Any = None
    memory: Any = None


class Target(_Strict):
    worker: Any = None
    capabilities: Any = None


class Infraspec(_Strict):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    app: AppName = Field(description=DNS_LABEL)
    role: RoleName = Field(description=ROLE)
    port: Port | None = None
    healthcheck: HealthPath | None = None
    replicas: Replicas = 1
    hosts: Hosts = Field(default_factory=Hosts)
    services: Services = Field(default_factory=Services)
    secrets: list[EnvName] = Field(default_factory=list, description="a list of env var names")
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict, description="a mapping of env var names to strings"
    )
    volumes: list[Volume] = Field(
        default_factory=list, description="a list of volumes, each with name, mountPath and size or hostPath"
    )
    schedule: Schedule | None = None
    command: Command | None = None
    timeout: Timeout = 300

    # Keys other pipelines own: accepted, not acted on.
    core: Any = None
    build: Build | None = None
    repo: Repo | None = None
    migrations: Migrations | None = None
    artifacts: Artifacts | None = None
    alerts: Alerts | None = None
    runtime: Any = None
    deploy: Any = None
    function: FunctionSection | None = None
    target: Target | None = None

    @model_validator(mode="after")
    def _rules_across_keys(self) -> "Infraspec":
        # Other pipelines' sections are not dumped: they hold anything, at any size.
        _raise_first(_spec_rules(self.model_dump(by_alias=True, exclude=set(_OTHER_PIPELINES))))
        return self

    @property
    def is_cron(self) -> bool:
        return self.role == "cron"


# --- errors ----------------------------------------------------------------------------


class InfraspecInvalid(SpecError):
    """An infraspec with problems: the message is the first, `problems` has them all."""

    def __init__(self, problems: list[str], hint: str | None = None) -> None:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more, hint)
        self.problems = list(problems)


Loc = tuple[str | int, ...]


def _dotted(loc: Loc) -> str:
    """`volumes[1].mountPath`; odd keys quoted so the line stays readable."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = part if re.fullmatch(r"[\w-]+", part) else repr(part)
            text += f".{name}" if text else name
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


# --- from YAML to data, with the line of every key ------------------------------------

# libyaml's parser when PyYAML was built with it (about 30 times faster: a 1 MiB file in a
# fraction of a second), else PyYAML's own; both give the same events.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MAPPING_TAG = yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG
_SEQUENCE_TAG = yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG
_NULL_TAG = "tag:yaml.org,2002:null"
# An infraspec nests 3 levels and holds a few dozen values; other pipelines' free sections may
# hold more, but not this much. Both bounds keep a hostile file cheap: it is refused part-read.
MAX_DEPTH = 32
MAX_VALUES = 10_000
# No rule reports a key deeper than this (volumes[0].name is 3 deep): deeper lines and texts are not
# kept, which keeps a big free section (deploy: ...) cheap.
NOTED_DEPTH = 3
NO_REUSE = "are not allowed in an infraspec; write the value out where it is used"


class _YamlProblem(Exception):
    def __init__(self, event: yaml.Event, message: str, loc: Loc = ()) -> None:
        super().__init__(message)
        self.line = event.start_mark.line + 1
        self.message = message
        self.loc = loc


@dataclass
class _Document:
    """The file's data with, for each key path, its 1-based line and (for scalars) its text."""

    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)
    texts: dict[Loc, str] = field(default_factory=dict)
    duplicates: list[tuple[Loc, int, int]] = field(default_factory=list)

    def line(self, loc: Loc) -> int:
        """The line of `loc`, or of its nearest enclosing key when it is absent."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return 1


def _refuse_reuse(event: yaml.Event, loc: Loc) -> None:
    """Anchors and aliases are refused as the parser meets them, so an alias bomb is never expanded."""
    if isinstance(event, yaml.AliasEvent):
        raise _YamlProblem(event, f"YAML aliases (*{event.anchor}) {NO_REUSE}", loc)
    if getattr(event, "anchor", None) is not None:
        raise _YamlProblem(event, f"YAML anchors (&{event.anchor}) {NO_REUSE}", loc)


class _Builder:
    """Turns the parser's events into plain data, noting lines and duplicate keys on the way.

    Working on events, not on composed nodes, refuses anchors, aliases and deep nesting
    before anything is built. Keys are taken as written (`ON:` is the name "ON", not
    YAML 1.1's true).
    """

    def __init__(self, loader: Any, document: _Document) -> None:
        self._loader = loader
        self._doc = document
        self._values = 0

    def _next(self, loc: Loc) -> yaml.Event:
        """The next value's or key's first event, refused when it reuses a value or is one too many."""
        event = self._loader.get_event()
        _refuse_reuse(event, loc)
        self._values += 1
        if self._values > MAX_VALUES:
            raise _YamlProblem(event, f"more than {MAX_VALUES} values (keys, items and scalars); "
                                      "an infraspec holds a few dozen", loc)
        return event

    def build(self, loc: Loc, depth: int = 0) -> Any:
        event = self._next(loc)
        if isinstance(event, yaml.ScalarEvent):
            return self._scalar(event, loc)
        if depth >= MAX_DEPTH:
            raise _YamlProblem(event, f"nested more than {MAX_DEPTH} levels deep; an infraspec needs a few", loc)
        is_mapping = isinstance(event, yaml.MappingStartEvent)
        if event.tag not in (None, "!", _MAPPING_TAG if is_mapping else _SEQUENCE_TAG):
            raise _YamlProblem(event, f"the YAML tag {event.tag} is not supported here", loc)
        return self._mapping(loc, depth + 1) if is_mapping else self._sequence(loc, depth + 1)

    @staticmethod
    def _note(where: dict[Loc, Any], loc: Loc, value: Any) -> None:
        if len(loc) <= NOTED_DEPTH:
            where[loc] = value

    def _key(self, loc: Loc) -> str:
        event = self._next(loc)
        if not isinstance(event, yaml.ScalarEvent):
            raise _YamlProblem(event, "a key must be a plain name, not a list or mapping", loc)
        if event.value == "<<" and event.tag is None and event.implicit[0]:
            raise _YamlProblem(event, "YAML merge keys (<<) are not allowed in an infraspec; write the keys out", loc)
        return event.value

    def _mapping(self, loc: Loc, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        while not self._loader.check_event(yaml.MappingEndEvent):
            line = self._loader.peek_event().start_mark.line + 1
            name = self._key(loc)
            if name in first_line:
                self._doc.duplicates.append((loc + (name,), line, first_line[name]))
            else:
                first_line[name] = line
            self._note(self._doc.lines, loc + (name,), line)
            result[name] = self.build(loc + (name,), depth)
        self._loader.get_event()
        return result

    def _sequence(self, loc: Loc, depth: int) -> list[Any]:
        items: list[Any] = []
        while not self._loader.check_event(yaml.SequenceEndEvent):
            self._note(self._doc.lines, loc + (len(items),), self._loader.peek_event().start_mark.line + 1)
            items.append(self.build(loc + (len(items),), depth))
        self._loader.get_event()
        return items

    def _scalar(self, event: yaml.ScalarEvent, loc: Loc) -> Any:
        self._note(self._doc.texts, loc, event.value)
        try:
            # construct_document, unlike construct_object, keeps no cache of every node it built
            return self._loader.construct_document(_scalar_node(self._loader, event))
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # int("9" * 5000) raises ValueError
            problem = (getattr(exc, "problem", None) or str(exc)).split(";")[0]  # not Python's advice after ';'
            raise _YamlProblem(event, f"cannot read this value: {problem}", loc) from None


def _scalar_node(loader: Any, event: yaml.ScalarEvent) -> yaml.ScalarNode:
    """The node PyYAML's composer would make of this scalar: its tag resolved as YAML 1.1 does."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)


def _problem(name: str, line: int, loc: Loc, message: str) -> str:
    where = f"{_dotted(loc)}: " if loc else ""
    return _one_line(f"{name}:{line}: {where}{message}")


def _document(loader: Any, name: str) -> _Document:
    """The one document of the stream, built; an empty, non-mapping or second document is a problem."""
    loader.get_event()  # the stream's start
    root = None
    if not loader.check_event(yaml.StreamEndEvent):
        loader.get_event()  # the document's start
        root = loader.peek_event()
    if root is None or (isinstance(root, yaml.ScalarEvent) and _scalar_node(loader, root).tag == _NULL_TAG):
        raise InfraspecInvalid([f"{name}:1: the file is empty; an infraspec needs at least app and role"])
    if isinstance(root, (yaml.ScalarEvent, yaml.SequenceStartEvent)):
        kind = "a list" if isinstance(root, yaml.SequenceStartEvent) else repr(root.value)
        raise InfraspecInvalid(
            [_problem(name, root.start_mark.line + 1, (), f"the top level must be a mapping of keys "
                                                          f"(app: ..., role: ...), got {kind}")]
        )
    document = _Document(data=None, lines={(): root.start_mark.line + 1})
    document.data = _Builder(loader, document).build(())
    loader.get_event()  # the document's end
    if loader.check_event(yaml.DocumentStartEvent):
        line = loader.peek_event().start_mark.line + 1
        raise InfraspecInvalid(
            [f"{name}:{line}: YAML syntax error: a second YAML document starts here; an infraspec is a single document"]
        )
    return document


def _compose(text: str, name: str) -> _Document:
    """YAML text -> data and lines; syntax, anchors, aliases, depth, emptiness and shape are problems."""
    try:
        loader = _Loader(text)  # its reader refuses control characters at once
    except yaml.YAMLError as exc:
        raise InfraspecInvalid([_one_line(f"{name}: YAML error: {exc}")]) from None
    try:
        return _document(loader, name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        what = exc.problem or exc.context or "cannot parse"
        if exc.problem and exc.context:
            started = f" started on line {exc.context_mark.line + 1}" if exc.context_mark else ""
            what = f"{exc.problem} ({exc.context}{started})"
        raise InfraspecInvalid([_one_line(f"{name}{line}: YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InfraspecInvalid([_one_line(f"{name}: YAML error: {exc}")]) from None
    except _YamlProblem as exc:
        raise InfraspecInvalid([_problem(name, exc.line, exc.loc, exc.message)]) from None
    finally:
        loader.dispose()


def _parse(text: str, name: str) -> _Document:
    """`_compose`, with repeated keys as problems too."""
    document = _compose(text, name)
    if document.duplicates:
        raise InfraspecInvalid(
            [
                _problem(name, line, loc, f"duplicate key (first set on line {first}); keep only one")
                for loc, line, first in sorted(document.duplicates, key=lambda dup: dup[1])
            ]
        )
    return document


# --- from pydantic's errors to our lines ----------------------------------------------


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside `X | None`, `list[X]` or `Annotated[X, ...]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        model = _model_in(arg)
        if model is not None:
            return model
    return None


def _keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if (info.alias or name) == key:
            return info
    return None


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Infraspec
    for part in loc:
        if isinstance(part, int):
            continue
        info = _field(model, part) if model is not None else None
        model = _model_in(info.annotation) if info is not None else None
    return model


def _describe(loc: Loc, fallback: str) -> str:
    """What would be valid at `loc`: the field's description, else the keys its mapping takes."""
    parent = _model_at(loc[:-1]) if loc else None
    info = _field(parent, loc[-1]) if parent is not None and isinstance(loc[-1], str) else None
    if info is not None and info.description:
        return info.description
    model = _model_at(loc)
    if model is not None:
        return "a mapping with keys " + ", ".join(_keys(model))
    return fallback


def _closest(word: Any, choices: tuple[str, ...] | list[str]) -> str | None:
    """The choice `word` is most likely a typo of (case-insensitive), if one is close."""
    if not isinstance(word, str):
        return None
    by_lower = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def _did_you_mean(word: Any, choices: tuple[str, ...] | list[str]) -> str:
    meant = _closest(word, choices)
    return f"; did you mean {meant!r}?" if meant else ""


def _unknown_key(loc: Loc) -> tuple[str, str | None]:
    """The message for an unknown key, and the valid key it probably means."""
    model = _model_at(loc[:-1])
    valid = _keys(model) if model is not None else []
    meant = _closest(loc[-1], valid)
    if meant:
        return f"unknown key; did you mean {meant!r}?", meant
    return "unknown key; valid keys here are " + ", ".join(valid), None


_MAPPING_ERRORS = {"model_type", "model_attributes_type", "dict_type", "mapping_type"}


@dataclass(frozen=True)
class _Found:
    loc: Loc
    message: str
    at: Loc
    about: tuple[Loc, ...] = ()  # keys whose absence this is about
    meant: Loc | None = None  # for an unknown key: the valid key it is a typo of


def _from_pydantic(exc: ValidationError, doc: _Document) -> list[_Found]:
    found = []
    for error in exc.errors():
        loc: Loc = tuple(error["loc"])
        if error["type"] != "extra_forbidden" and len(loc) > 1 and loc[-1] == "[key]":
            loc = loc[:-1]  # pydantic's mark of an error about a mapping key; a key named "[key]" stays
        cause = error.get("ctx", {}).get("error")
        value = error.get("input")
        if isinstance(cause, _Rule):
            rule = cause.under(loc)
            found.append(_Found(rule.loc, rule.message, rule.at, rule.about))
            continue
        if isinstance(cause, _QuoteIt):
            text = doc.texts.get(loc, "")
            message = f"{cause}: {loc[-1]}: {json.dumps(text)}"
        elif isinstance(cause, Exception):
            message = str(cause)
        elif error["type"] == "missing":
            found.append(_Found(loc, f"required; {_describe(loc, 'a value')}", loc, about=(loc,)))
            continue
        elif error["type"] == "extra_forbidden":
            message, meant = _unknown_key(loc)
            found.append(_Found(loc, message, loc, meant=loc[:-1] + (meant,) if meant else None))
            continue
        elif error["type"] in _MAPPING_ERRORS:
            message = f"must be {_describe(loc, 'a mapping')}, got {_show(value)}"
        elif error["type"] == "list_type":
            message = f"must be {_describe(loc, 'a list')}, got {_show(value)}"
        else:
            message = error["msg"]
        found.append(_Found(loc, message, loc))
    return found


def _validate(doc: _Document, name: str) -> Infraspec:
    """The model from the data, or InfraspecInvalid with every problem, sorted by line."""
    try:
        return Infraspec.model_validate(doc.data)
    except ValidationError as exc:
        found = _from_pydantic(exc, doc)
    # A model whose fields failed never ran its rules across keys: run them on the raw data.
    found += [_Found(rule.loc, rule.message, rule.at, rule.about) for rule in _spec_rules(doc.data)]
    # `replcas: 2` says "did you mean 'replicas'?"; "replicas: required" would only repeat it.
    meant = {item.meant for item in found if item.meant is not None}
    seen: set[tuple[str, str]] = set()
    lines: list[tuple[int, str]] = []
    for item in found:
        key = (_dotted(item.loc), item.message)
        if key not in seen and not meant.intersection(item.about):
            seen.add(key)
            line = doc.line(item.at)
            lines.append((line, _problem(name, line, item.loc, item.message)))
    lines.sort(key=lambda pair: pair[0])  # stable: same-line problems keep their order
    raise InfraspecInvalid([text for _, text in lines])


# --- public API ----------------------------------------------------------------------------


MAX_BYTES = 1 << 20  # an infraspec is a few hundred bytes: a bigger file is refused before it is read


def _read(path: Path) -> str:
    """The file's text; a folder, FIFO or device, a file over MAX_BYTES or not UTF-8 is a SpecError."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):  # opening a FIFO would wait for a writer
            what = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
            raise SpecError(f"{path}: cannot read it: it is {what}; an infraspec is a YAML file")
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)  # never more, whatever stat said
        if len(data) > MAX_BYTES:
            raise SpecError(f"{path}: is over 1 MiB; an infraspec is a small YAML file (at most {MAX_BYTES} bytes)")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: cannot read it: not UTF-8 text") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except ValueError as exc:  # a path no file can have: an embedded NUL
        raise SpecError(f"{str(path)!r}: cannot read it: {exc}") from None


def load(path: Path) -> Infraspec:
    """Read and validate one infraspec file (raises SpecError; InfraspecInvalid for its content)."""
    name = str(path)
    return _validate(_parse(_read(path), name), name)


def check_forgeable(spec: Infraspec, path: Path) -> None:
    """forge provisions webservers, workers and cron apps; functions go through their own pipeline."""
    if spec.role == "function":
        raise SpecError(
            f"{path}: role is function: forge does not provision functions, "
            "they are deployed by the function pipeline",
            hint="forge handles roles webserver, worker and cron",
        )


# --- discovery -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Peek:
    """What a quick look at a candidate file says, never raising: its app, or why there is none."""

    app: str | None
    note: str


def _peek(path: Path) -> _Peek:
    """Read as `load` reads, so a huge, hostile or odd file costs no more here; repeated keys are load's to report."""
    if not path.exists():
        return _Peek(None, "no such file")
    try:
        data = _compose(_read(path), str(path)).data
    except InfraspecInvalid:
        return _Peek(None, "not valid YAML")
    except SpecError:
        return _Peek(None, "cannot be read")
    app = data.get("app")
    if isinstance(app, str):
        return _Peek(app, f"its app is {app!r}")
    return _Peek(None, "no app key in it")


def _app_mismatch(path: Path, found: str, app: str) -> SpecError:
    return SpecError(
        f"{path}: its app is {found!r}, but the app asked for is {app!r}",
        hint=f"run it for {found!r}, or fix the app key in {path}",
    )


def _given(app: str, spec_path: Path, cwd: Path) -> Path:
    path = cwd / spec_path
    if path.is_dir():
        raise SpecError(
            f"{spec_path}: is a folder; --spec takes the infraspec file itself",
            hint=f"try --spec {spec_path / SPEC_NAME}",
        )
    if not path.exists():
        raise SpecError(f"{spec_path}: no such file (given with --spec)")
    peek = _peek(path)
    if peek.app is not None and peek.app != app:
        raise _app_mismatch(path, peek.app, app)
    return path


def _candidates(apps_dir: Path) -> list[Path]:
    try:
        return sorted(apps_dir.glob(f"*/{SPEC_NAME}"))
    except OSError:
        return []


def find(app: str, *, spec_path: Path | None, apps_dir: Path, cwd: Path) -> Path:
    """Where the infraspec of `app` is, in the order INFRASPEC.md gives (SpecError if nowhere)."""
    check_app_name(app)
    if spec_path is not None:
        return _given(app, spec_path, cwd)
    looked = []

    here = cwd / SPEC_NAME
    peek = _peek(here)
    if peek.app == app:
        return here
    looked.append(f"{here} ({peek.note})")

    apps_dir = cwd / apps_dir.expanduser()
    own = apps_dir / app / SPEC_NAME
    if own.is_file():
        peek = _peek(own)
        if peek.app is not None and peek.app != app:
            raise _app_mismatch(own, peek.app, app)
        return own  # a broken file is reported by load, with its line
    looked.append(f"{own} (no such file)")

    candidates = _candidates(apps_dir)
    matches = [path for path in candidates if _peek(path).app == app]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise SpecError(
            f"app {app!r} is declared by more than one infraspec: " + ", ".join(map(str, matches)),
            hint="pick one with --spec PATH, or fix the app key of the others",
        )
    if not apps_dir.is_dir():
        looked.append(f"{apps_dir}/*/{SPEC_NAME} (no such folder)")
    else:
        looked.append(f"{apps_dir}/*/{SPEC_NAME} ({len(candidates)} files, none with app {app!r})")
    raise SpecError(
        f"no infraspec for app {app!r}; looked at " + "; ".join(looked),
        hint=f"pass --spec PATH, or set NORN_APPS_DIR to the folder holding the app folders (now {apps_dir})",
    )


def find_and_load(app: str, *, spec_path: Path | None, apps_dir: Path, cwd: Path) -> tuple[Infraspec, Path]:
    """Find the infraspec of `app`, load it, and make sure it is that app's."""
    path = find(app, spec_path=spec_path, apps_dir=apps_dir, cwd=cwd)
    spec = load(path)
    if spec.app != app:
        raise _app_mismatch(path, spec.app, app)
    return spec, path


# --- digest ----------------------------------------------------------------------------------

# Keys other pipelines own: changing them changes nothing norn forged.
_OTHER_PIPELINES = ("core", "build", "repo", "migrations", "artifacts", "alerts", "runtime", "deploy", "function", "target")


def spec_digest(spec: Infraspec) -> str:
    """A digest of what forge acts on, stored at forge time so `status --live` can tell the spec changed."""
    data = spec.model_dump(mode="json", by_alias=True, exclude=set(_OTHER_PIPELINES))
    data["services"] = {"postgres": data["services"].get("postgres")}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
