"""The infraspec as forge reads it: the pydantic models.

The models are the contract other modules use (attribute names are snake_case;
YAML keys are the camelCase aliases). Every rule of INFRASPEC.md, and every rule
kube-apiserver applies to a field norn fills from the file, is enforced by the
models themselves, through the checks of `checks` and the rules of `rules`;
`loading.load` adds what only the file knows (lines, duplicate keys, YAML errors).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Callable

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    field_validator,
    model_validator,
)

from norn.infraspec import checks
from norn.infraspec.checks import (
    ABSOLUTE_PATH,
    INT32_MAX,
    INT64_MAX,
    OTHER_PIPELINES,
    PORT,
    REPLICAS,
    ROLE,
    TIMEOUT,
    Role,
)
from norn.infraspec.rules import hosts_rules, raise_first, spec_rules, volume_rules
from norn.infraspec.wording import show
from norn.names import DNS_LABEL

# --- pydantic glue: checks become validators -------------------------------------------


def _checked(check: Callable[[Any], str | None]) -> PlainValidator:
    """A validator that replaces pydantic's coercion with our strict check and message."""

    def validate(value: Any) -> Any:
        problem = check(value)
        if problem:
            raise ValueError(problem)
        return value

    return PlainValidator(validate)


class QuoteIt(ValueError):
    """A non-string env value: the loader adds the quoted form the user should write."""

    def __init__(self, value: Any) -> None:
        super().__init__(f"must be a string, got {show(value)}; quote it")
        self.value = value


def _env_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (Mapping, list)):
        raise ValueError(f"must be a string, got {show(value)}")
    raise QuoteIt(value)


AppName = Annotated[str, _checked(checks.check_dns_label)]
ServiceName = Annotated[str, _checked(checks.check_service_name)]
VolumeName = Annotated[str, _checked(checks.check_dns_label)]
Hostname = Annotated[str, _checked(checks.check_hostname)]
RoleName = Annotated[Role, _checked(checks.check_role)]
Port = Annotated[int, _checked(checks.check_whole(1, 65535, PORT))]
Replicas = Annotated[int, _checked(checks.check_whole(0, INT32_MAX, REPLICAS))]
Timeout = Annotated[int, _checked(checks.check_whole(1, INT64_MAX, TIMEOUT))]
HealthPath = Annotated[str, _checked(checks.check_healthcheck)]
DatabaseName = Annotated[str, _checked(checks.check_non_empty("the database name"))]
Command = Annotated[str, _checked(checks.check_non_empty("run through /bin/sh -c"))]
EnvName = Annotated[str, _checked(checks.check_env_name)]
EnvValue = Annotated[str, PlainValidator(_env_value)]
AbsolutePath = Annotated[str, _checked(checks.check_absolute)]
Quantity = Annotated[str, _checked(checks.check_quantity)]
Schedule = Annotated[str, _checked(checks.check_schedule)]


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
        raise_first(hosts_rules(self.model_dump()))
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
        raise_first(volume_rules(self.model_dump(by_alias=True)))
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
        raise_first(spec_rules(self.model_dump(by_alias=True, exclude=set(OTHER_PIPELINES))))
        return self

    @property
    def is_cron(self) -> bool:
        return self.role == "cron"
