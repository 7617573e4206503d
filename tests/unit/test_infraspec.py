"""The infraspec loader: every rule of INFRASPEC.md, its messages, and discovery.

Problems are compared whole, with `F` standing for the file's path, so a test
fails when the file, the line, the key path or the wording breaks.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from norn.errors import SpecError
from norn.infraspec.discovery import find, find_and_load
from norn.infraspec.loading import check_forgeable, load
from norn.infraspec.model import Infraspec, Volume
from norn.infraspec.problems import InfraspecInvalid
from norn.names import check_app_name

TYPICAL = """\
app: mail-agent
role: webserver
port: 80
healthcheck: /health
replicas: 2
hosts:
  external: mail.example.com        # public name, routed through the tunnel
  internal: mail-agent-service      # name of the in-cluster Service
services:
  postgres:
    database: mailagent_db
secrets:
  - SMTP_API_KEY
env:
  LOG_LEVEL: info
volumes:
  - name: data
    mountPath: /var/lib/mail
    size: 5Gi                       # a PersistentVolumeClaim is made
  - name: projects
    mountPath: /projects
    hostPath: /srv/projects         # a host folder is mounted instead
"""

CRON = """\
app: nightly-report
role: cron
schedule: "0 3 * * *"
command: python -m report --since yesterday
timeout: 600
"""

WORKER = "app: w\nrole: worker\n"  # lines 1-2; tests append from line 3 on

DNS_LABEL = (
    "a DNS-1123 label (lower-case letters, digits and '-', starting and ending "
    "with a letter or digit, at most 63 characters)"
)
HOSTNAME = (
    "a DNS hostname (DNS-1123 labels joined by dots, at least two labels, "
    "at most 253 characters, such as mail.example.com)"
)
DNS_1035_LABEL = (
    "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter "
    "and ending with a letter or digit, at most 63 characters)"
)
ENV_NAME = "an env var name (letters, digits and '_', not starting with a digit)"
SCHEDULE = (
    'a 5-field cron expression such as "0 3 * * *" (minute hour day-of-month month '
    "day-of-week) or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
)
QUANTITY = "a Kubernetes quantity such as 10Gi, 500Mi or 1G"
TOP_KEYS = (
    "app, role, port, healthcheck, replicas, hosts, services, secrets, env, volumes, schedule, "
    "command, timeout, core, build, repo, migrations, artifacts, alerts, runtime, deploy, function, target"
)


def write(tmp_path: Path, text: str, name: str = "infraspec.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    """Every problem load() reports, with the file's path shown as F."""
    path = write(tmp_path, text)
    with pytest.raises(InfraspecInvalid) as caught:
        load(path)
    found = [problem.replace(str(path), "F", 1) for problem in caught.value.problems]
    for problem in found:
        assert problem.startswith("F") and "\n" not in problem
    return found


def problem(tmp_path: Path, text: str) -> str:
    """The one problem load() reports."""
    found = problems(tmp_path, text)
    assert len(found) == 1, found
    return found[0]


def loads(tmp_path: Path, text: str) -> Infraspec:
    return load(write(tmp_path, text))


# --- the typical files and their defaults -------------------------------------------


def test_typical_webserver_loads(tmp_path: Path) -> None:
    spec = loads(tmp_path, TYPICAL)
    assert (spec.app, spec.role, spec.port, spec.healthcheck, spec.replicas) == (
        "mail-agent", "webserver", 80, "/health", 2,
    )
    assert (spec.hosts.internal, spec.hosts.external) == ("mail-agent-service", "mail.example.com")
    assert spec.services.postgres is not None and spec.services.postgres.database == "mailagent_db"
    assert spec.secrets == ["SMTP_API_KEY"]
    assert spec.env == {"LOG_LEVEL": "info"}
    assert [(v.name, v.mount_path, v.size, v.host_path) for v in spec.volumes] == [
        ("data", "/var/lib/mail", "5Gi", None),
        ("projects", "/projects", None, "/srv/projects"),
    ]
    assert (spec.schedule, spec.command, spec.timeout, spec.is_cron) == (None, None, 300, False)


def test_typical_cron_loads(tmp_path: Path) -> None:
    spec = loads(tmp_path, CRON)
    assert (spec.app, spec.role, spec.is_cron) == ("nightly-report", "cron", True)
    assert (spec.schedule, spec.command, spec.timeout) == ("0 3 * * *", "python -m report --since yesterday", 600)
    assert (spec.replicas, spec.port, spec.hosts.internal, spec.volumes) == (1, None, None, [])


def test_minimal_worker_takes_the_defaults(tmp_path: Path) -> None:
    spec = loads(tmp_path, WORKER)
    assert (spec.replicas, spec.timeout, spec.port, spec.healthcheck) == (1, 300, None, None)
    assert (spec.hosts.internal, spec.hosts.external, spec.services.postgres) == (None, None, None)
    assert (spec.secrets, spec.env, spec.volumes, spec.schedule, spec.command) == ([], {}, [], None, None)


@pytest.mark.parametrize("example", ["mail-agent", "nightly-report"])
def test_the_repository_examples_load(example: str) -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / example / "infraspec.yaml"
    assert load(path).app == example


def test_explicit_null_means_absent_for_optional_keys(tmp_path: Path) -> None:
    spec = loads(tmp_path, WORKER + "port:\nhealthcheck: ~\nhosts:\n  internal:\n")
    assert (spec.port, spec.healthcheck, spec.hosts.internal) == (None, None, None)


# --- keys other pipelines own --------------------------------------------------------

OTHER_PIPELINES = """\
app: w
role: worker
core: {anything: [1, 2, {deep: true}]}
build:
  dockerfile: Dockerfile
  test: pytest -q
repo:
  url: https://git.example.com/w.git
  branch: main
  autoDeploy: true
  repoWeb: https://git.example.com/w
  webhookSecret: WEBHOOK
migrations:
  command: alembic upgrade head
  database: wdb
artifacts:
  retain: 5
alerts:
  window: 5m
  threshold: 3
services:
  kv:
    namespace: w
  events:
    topics: [mail.sent]
  storage:
    bucket: w-files
    provider: s3
runtime: python3.12
deploy:
  strategy: {any: thing}
function:
  timeout: 30
  trigger: http
  memory: 256
target:
  worker: gpu-1
  capabilities: [cuda]
"""


def test_other_pipelines_keys_are_accepted(tmp_path: Path) -> None:
    spec = loads(tmp_path, OTHER_PIPELINES)
    assert spec.role == "worker"
    assert spec.services.postgres is None  # services.kv and friends do not make forge act
    assert spec.timeout == 300  # function.timeout is not the cron timeout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("replcas: 2\n", "F:3: replcas: unknown key; did you mean 'replicas'?"),
        ("helthcheck: /h\n", "F:3: helthcheck: unknown key; did you mean 'healthcheck'?"),
        ("bulid: {}\n", "F:3: bulid: unknown key; did you mean 'build'?"),
        ("hosts:\n  intrnal: x\n", "F:4: hosts.intrnal: unknown key; did you mean 'internal'?"),
        ("services:\n  postgress: {database: d}\n",
         "F:4: services.postgress: unknown key; did you mean 'postgres'?"),
        ("services:\n  postgres:\n    database: d\n    databse: e\n",
         "F:6: services.postgres.databse: unknown key; did you mean 'database'?"),
        ("services:\n  kv:\n    nmespace: x\n", "F:5: services.kv.nmespace: unknown key; did you mean 'namespace'?"),
        ("services:\n  storage:\n    buckt: x\n", "F:5: services.storage.buckt: unknown key; did you mean 'bucket'?"),
        ("services:\n  events:\n    topic: x\n", "F:5: services.events.topic: unknown key; did you mean 'topics'?"),
        ("volumes:\n  - name: a\n    mountPath: /a\n    sise: 1Gi\n",
         "F:6: volumes[0].sise: unknown key; did you mean 'size'?"),
        ("volumes:\n  - name: a\n    mount_path: /a\n    size: 1Gi\n",
         "F:5: volumes[0].mount_path: unknown key; did you mean 'mountPath'?"),
        ("build:\n  dockerfle: D\n", "F:4: build.dockerfle: unknown key; did you mean 'dockerfile'?"),
        ("repo:\n  autodeploy: true\n", "F:4: repo.autodeploy: unknown key; did you mean 'autoDeploy'?"),
        ("migrations:\n  comand: x\n", "F:4: migrations.comand: unknown key; did you mean 'command'?"),
        ("artifacts:\n  retian: 3\n", "F:4: artifacts.retian: unknown key; did you mean 'retain'?"),
        ("alerts:\n  treshold: 3\n", "F:4: alerts.treshold: unknown key; did you mean 'threshold'?"),
        ("function:\n  trigers: x\n", "F:4: function.trigers: unknown key; did you mean 'trigger'?"),
        ("target:\n  capability: x\n", "F:4: target.capability: unknown key; did you mean 'capabilities'?"),
    ],
)
def test_unknown_keys_name_the_key_meant(tmp_path: Path, text: str, expected: str) -> None:
    assert problem(tmp_path, WORKER + text) == expected


def test_unknown_key_without_a_close_one_lists_the_valid_keys(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "zzz: 1\n") == f"F:3: zzz: unknown key; valid keys here are {TOP_KEYS}"
    assert problem(tmp_path, WORKER + "hosts:\n  zzz: x\n") == (
        "F:4: hosts.zzz: unknown key; valid keys here are internal, external"
    )


def test_free_sections_take_anything_but_listed_sections_must_be_mappings(tmp_path: Path) -> None:
    assert loads(tmp_path, WORKER + "core: 1\nruntime: [a]\ndeploy: {x: {y: z}}\n").role == "worker"
    assert problem(tmp_path, WORKER + "build: docker\n") == (
        "F:3: build: must be a mapping with keys dockerfile, test, got 'docker'"
    )


# --- app and role ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a", "mail-agent", "0abc", "'123'", "a" * 63])
def test_app_accepts_dns_labels(tmp_path: Path, value: str) -> None:
    assert loads(tmp_path, f"app: {value}\nrole: worker\n").app == value.strip("'")


@pytest.mark.parametrize(
    ("value", "got"),
    [
        ("Mail_Agent", "'Mail_Agent'"),
        ("-web", "'-web'"),
        ("web-", "'web-'"),
        ("mail.agent", "'mail.agent'"),
        ("a" * 64, repr("a" * 64)),
        ("''", "''"),
        ("123", "123, which is not a string"),
    ],
)
def test_app_must_be_a_dns_label(tmp_path: Path, value: str, got: str) -> None:
    assert problem(tmp_path, f"role: worker\napp: {value}\n") == f"F:2: app: must be {DNS_LABEL}, got {got}"


def test_app_and_role_are_required(tmp_path: Path) -> None:
    assert problems(tmp_path, "port: 80\n") == [
        f"F:1: app: required; {DNS_LABEL}",
        "F:1: role: required; one of webserver, worker, cron, function",
    ]


def test_role_must_be_a_known_role(tmp_path: Path) -> None:
    assert problem(tmp_path, "app: w\nrole: webserve\nport: 80\n") == (
        "F:2: role: must be one of webserver, worker, cron, function, got 'webserve'; did you mean 'webserver'?"
    )
    assert problem(tmp_path, "app: w\nrole: daemon\n") == (
        "F:2: role: must be one of webserver, worker, cron, function, got 'daemon'"
    )


# --- port, healthcheck, replicas, timeout: strict whole numbers ------------------------


@pytest.mark.parametrize(
    ("value", "got"),
    [
        ("70000", "got 70000"),
        ("0", "got 0"),
        ("-1", "got -1"),
        ('"80"', "got the string '80'; write the number without quotes"),
        ("true", "got true"),
        ("80.0", "got 80.0"),
        ("[80]", "got a list"),
    ],
)
def test_port_must_be_a_port_number(tmp_path: Path, value: str, got: str) -> None:
    assert problem(tmp_path, f"app: w\nrole: webserver\nport: {value}\n") == (
        f"F:3: port: must be a whole number from 1 to 65535, {got}"
    )


def test_port_bounds_are_inclusive(tmp_path: Path) -> None:
    assert loads(tmp_path, "app: w\nrole: webserver\nport: 65535\n").port == 65535
    assert loads(tmp_path, "app: w\nrole: webserver\nport: 1\n").port == 1


def test_port_is_required_for_a_webserver_only(tmp_path: Path) -> None:
    assert problem(tmp_path, "app: w\nrole: webserver\n") == (
        "F:2: port: required when role is webserver; a whole number from 1 to 65535"
    )
    assert loads(tmp_path, "app: w\nrole: worker\n").port is None


def test_healthcheck_must_be_a_path(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "healthcheck: health\n") == (
        "F:3: healthcheck: must be a path starting with '/', such as /health, got 'health'"
    )


@pytest.mark.parametrize(("value", "got"), [("-1", "got -1"), ("true", "got true"), ("'2'", "got the string '2'; write the number without quotes"), ("", "got nothing (null)")])
def test_replicas_must_be_zero_or_more(tmp_path: Path, value: str, got: str) -> None:
    assert problem(tmp_path, WORKER + f"replicas: {value}\n") == f"F:3: replicas: must be a whole number from 0 to 2147483647, {got}"


def test_replicas_may_be_zero(tmp_path: Path) -> None:
    assert loads(tmp_path, WORKER + "replicas: 0\n").replicas == 0


@pytest.mark.parametrize(("value", "got"), [("0", "got 0"), ("-5", "got -5"), ("'600'", "got the string '600'; write the number without quotes"), ("false", "got false"), ("1.5", "got 1.5")])
def test_timeout_must_be_positive_seconds(tmp_path: Path, value: str, got: str) -> None:
    assert problem(tmp_path, CRON.replace("timeout: 600", f"timeout: {value}")) == (
        f"F:5: timeout: must be a whole number of seconds from 1 to 9223372036854775807, {got}"
    )


# --- hosts ---------------------------------------------------------------------------------


def test_hosts_internal_must_be_a_dns_1035_label(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "hosts:\n  internal: Mail.Svc\n") == (
        f"F:4: hosts.internal: must be {DNS_1035_LABEL} (it names a Service), got 'Mail.Svc'"
    )


@pytest.mark.parametrize(
    "value", ["mail", "Mail.example.com", "mail.example.com.", "mail_x.example.com", "-a.example.com",
              "a..com", "x" * 64 + ".com", ".".join(["abcdefghi"] * 26)],
)
def test_hosts_external_must_be_a_hostname(tmp_path: Path, value: str) -> None:
    text = WORKER + f"hosts:\n  internal: svc\n  external: '{value}'\n"
    shown = value if len(value) <= 80 else value[:60] + "..."  # long values are cut to keep one line
    assert problem(tmp_path, text) == f"F:5: hosts.external: must be {HOSTNAME}, got {shown!r}"


@pytest.mark.parametrize("value", ["a.b", "mail.example.com", "1.example.co", "x" * 63 + ".io"])
def test_hosts_external_accepts_hostnames(tmp_path: Path, value: str) -> None:
    assert loads(tmp_path, WORKER + f"hosts:\n  internal: svc\n  external: {value}\n").hosts.external == value


def test_hosts_external_needs_internal(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "hosts:\n  external: mail.example.com\n") == (
        "F:4: hosts.external: needs hosts.internal too, the Service the tunnel routes to"
    )


def test_hosts_must_be_a_mapping(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "hosts: mail.example.com\n") == (
        "F:3: hosts: must be a mapping with keys internal, external, got 'mail.example.com'"
    )


# --- services.postgres -------------------------------------------------------------------


def test_postgres_database_is_required(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "services:\n  postgres: {}\n") == (
        "F:4: services.postgres.database: required; a non-empty string, the database name"
    )


@pytest.mark.parametrize(("value", "got"), [("''", "got ''"), ("'  '", "got '  '"), ("12", "got 12, which is not a string")])
def test_postgres_database_must_be_a_non_empty_string(tmp_path: Path, value: str, got: str) -> None:
    assert problem(tmp_path, WORKER + f"services:\n  postgres:\n    database: {value}\n") == (
        f"F:5: services.postgres.database: must be a non-empty string (the database name), {got}"
    )


def test_empty_postgres_is_not_silently_no_database(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "services:\n  postgres:\n") == (
        "F:4: services.postgres: must be a mapping with database: <name>; remove postgres if the app needs no database"
    )


# --- secrets and env ---------------------------------------------------------------------


def test_secrets_must_be_env_var_names(tmp_path: Path) -> None:
    assert problems(tmp_path, WORKER + "secrets:\n  - OK_1\n  - smtp-key\n  - 1ST\n  - 42\n") == [
        f"F:5: secrets[1]: must be {ENV_NAME}, got 'smtp-key'",
        f"F:6: secrets[2]: must be {ENV_NAME}, got '1ST'",
        f"F:7: secrets[3]: must be {ENV_NAME}, got 42, which is not a string",
    ]


def test_secrets_must_not_repeat(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "secrets:\n  - A\n  - B\n  - A\n") == (
        "F:6: secrets[2]: 'A' is already used by secrets[0]; each must be unique"
    )


def test_secrets_must_be_a_list(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "secrets: SMTP_API_KEY\n") == (
        "F:3: secrets: must be a list of env var names, got 'SMTP_API_KEY'"
    )


def test_env_names_must_be_env_var_names(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "env:\n  log-level: info\n") == (
        f"F:4: env.log-level: must be {ENV_NAME}, got 'log-level'"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8080", 'must be a string, got 8080; quote it: PORT: "8080"'),
        ("yes", 'must be a string, got true; quote it: PORT: "yes"'),
        ("1.50", 'must be a string, got 1.5; quote it: PORT: "1.50"'),
        ("", 'must be a string, got nothing (null); quote it: PORT: ""'),
        ("[a]", "must be a string, got a list"),
    ],
)
def test_env_values_must_be_strings_with_a_hint_to_quote(tmp_path: Path, value: str, expected: str) -> None:
    assert problem(tmp_path, WORKER + f"env:\n  PORT: {value}\n") == f"F:4: env.PORT: {expected}"


def test_env_keys_are_names_as_written(tmp_path: Path) -> None:
    # YAML 1.1 would read the key ON as true; a name is what was meant.
    assert loads(tmp_path, WORKER + "env:\n  ON: 'x'\n  PORT: '8080'\n").env == {"ON": "x", "PORT": "8080"}


def test_env_must_be_a_mapping(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "env:\n  - A=b\n") == (
        "F:3: env: must be a mapping of env var names to strings, got a list"
    )


# --- volumes --------------------------------------------------------------------------------

VOLUMES = WORKER + "volumes:\n"  # items start on line 4


@pytest.mark.parametrize("size", ["10Gi", "500Mi", "1G", "1e3", "1.5Gi", ".5Ti", "+1Ki", "128974848", "12E6", "2k"])
def test_volume_size_accepts_kubernetes_quantities(tmp_path: Path, size: str) -> None:
    spec = loads(tmp_path, VOLUMES + f"  - name: d\n    mountPath: /d\n    size: '{size}'\n")
    assert spec.volumes[0].size == size


@pytest.mark.parametrize("size", ["10GB", "-1Gi", "0", "0Gi", "Gi", "1 Gi", "1.2.3", "1gi"])
def test_volume_size_rejects_other_text(tmp_path: Path, size: str) -> None:
    assert problem(tmp_path, VOLUMES + f"  - name: d\n    mountPath: /d\n    size: '{size}'\n") == (
        f"F:6: volumes[0].size: must be {QUANTITY} (more than 0), got {size!r}"
    )


def test_volume_size_as_a_bare_number_asks_for_a_unit(tmp_path: Path) -> None:
    assert problem(tmp_path, VOLUMES + "  - name: d\n    mountPath: /d\n    size: 10\n") == (
        f"F:6: volumes[0].size: must be {QUANTITY}, got the bare number 10; give it a unit, such as 10Gi"
    )


def test_volume_name_must_be_a_dns_label(tmp_path: Path) -> None:
    assert problem(tmp_path, VOLUMES + "  - name: My_Data\n    mountPath: /d\n    size: 1Gi\n") == (
        f"F:4: volumes[0].name: must be {DNS_LABEL}, got 'My_Data'"
    )


def test_volume_paths_must_be_absolute(tmp_path: Path) -> None:
    text = VOLUMES + (
        "  - name: a\n    mountPath: /a\n    size: 1Gi\n"
        "  - name: b\n    mountPath: data\n    hostPath: srv/b\n"
    )
    assert problems(tmp_path, text) == [
        "F:8: volumes[1].mountPath: must be an absolute path (starting with '/'), got 'data'",
        "F:9: volumes[1].hostPath: must be an absolute path (starting with '/'), got 'srv/b'",
    ]


def test_volume_paths_have_no_dot_dot_segment(tmp_path: Path) -> None:
    # hostPath: core validation.go validateHostPathVolumeSource -> validatePathNoBacksteps. The API server
    # accepts '..' in a mountPath (ValidateVolumeMounts checks only that it is set and unique); norn is stricter.
    text = VOLUMES + "  - name: a\n    mountPath: /a/../etc\n    hostPath: /srv/..\n"
    assert problems(tmp_path, text) == [
        "F:5: volumes[0].mountPath: must not contain a '..' segment, got '/a/../etc'; write the path without it",
        "F:6: volumes[0].hostPath: must not contain a '..' segment, got '/srv/..'; write the path without it",
    ]
    assert loads(tmp_path, VOLUMES + "  - name: a\n    mountPath: /a..b/c:d\n    hostPath: /srv/...\n").volumes


def test_schedule_numbers_of_any_length_are_out_of_range_not_a_crash(tmp_path: Path) -> None:
    assert problem(tmp_path, cron("9" * 5000 + " * * * *")).endswith("999999999... is outside 0-59; minute takes "
                                                                     "0-59, '*', ranges a-b, steps */n and lists a,b")
    assert "a step must be 1 or more" in problem(tmp_path, cron("*/" + "0" * 5000 + " * * * *"))
    assert loads(tmp_path, cron("*/" + "0" * 20 + "5 * * * *")).schedule


def test_cron_app_names_are_at_most_52_characters(tmp_path: Path) -> None:
    # batch validation.go ValidateCronJobCreate: the CronJob controller names each Job <name>-<minute>
    assert loads(tmp_path, CRON.replace("nightly-report", "n" * 52)).app == "n" * 52
    assert problem(tmp_path, CRON.replace("nightly-report", "n" * 53)) == (
        "F:1: app: a cron app's name must be at most 52 characters, got 53: "
        "Kubernetes names each run's Job <app>-<minute>, which must fit in 63"
    )
    assert loads(tmp_path, WORKER.replace("app: w", "app: " + "w" * 63)).app == "w" * 63


@pytest.mark.parametrize("size", ["1e2147483647", "1e-2147483648", "1e+0000000000005"])
def test_quantity_exponents_that_fit_an_int32_are_accepted(tmp_path: Path, size: str) -> None:
    assert loads(tmp_path, VOLUMES + f"  - name: a\n    mountPath: /a\n    size: '{size}'\n").volumes[0].size == size


def test_hosts_internal_must_start_with_a_letter(tmp_path: Path) -> None:
    # core validation.go ValidateServiceName = NameIsDNS1035Label
    assert "DNS-1035 label" in problem(tmp_path, WORKER + "hosts:\n  internal: 1api\n")
    assert loads(tmp_path, WORKER + "hosts:\n  internal: api-1\n").hosts.internal == "api-1"


def test_the_file_is_refused_by_size_and_type_before_it_is_read(tmp_path: Path) -> None:
    big = write(tmp_path, WORKER + "#" * (1 << 20))
    with pytest.raises(SpecError, match=r"is over 1 MiB; an infraspec is a small YAML file \(at most 1048576 bytes\)$"):
        load(big)
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SpecError, match="cannot read it: it is not a regular file"):
        load(fifo)  # opening it would wait for a writer for ever


def test_values_count_and_nesting_are_bounded(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "deploy: [" + "1," * 10_001 + "]\n").startswith(
        "F:3: deploy[9993]: more than 10000 values (keys, items and scalars)"
    )
    assert problem(tmp_path, WORKER + "deploy: " + "[" * 40 + "]" * 40 + "\n") == (
        "F:3: deploy" + "[0]" * 31 + ": nested more than 32 levels deep; an infraspec needs a few"
    )
    assert loads(tmp_path, WORKER + "deploy: " + "[" * 30 + "]" * 30 + "\n").role == "worker"


def test_volume_needs_exactly_one_of_size_or_host_path(tmp_path: Path) -> None:
    text = VOLUMES + (
        "  - name: a\n    mountPath: /a\n    size: 1Gi\n    hostPath: /srv/a\n"
        "  - name: b\n    mountPath: /b\n"
    )
    assert problems(tmp_path, text) == [
        "F:4: volumes[0]: has both size and hostPath; give exactly one: size (a PersistentVolumeClaim) "
        "or hostPath (a host folder)",
        "F:8: volumes[1]: needs exactly one of size (a quantity such as 10Gi: a PersistentVolumeClaim) "
        "or hostPath (an absolute host folder)",
    ]


def test_volume_names_and_mount_paths_are_unique(tmp_path: Path) -> None:
    text = VOLUMES + (
        "  - name: a\n    mountPath: /a\n    size: 1Gi\n"
        "  - name: a\n    mountPath: /b\n    size: 1Gi\n"
        "  - name: c\n    mountPath: /a\n    size: 1Gi\n"
    )
    assert problems(tmp_path, text) == [
        "F:7: volumes[1].name: 'a' is already used by volumes[0].name; each must be unique",
        "F:11: volumes[2].mountPath: '/a' is already used by volumes[0].mountPath; each must be unique",
    ]


def test_volume_name_and_mount_path_are_required(tmp_path: Path) -> None:
    assert problems(tmp_path, VOLUMES + "  - size: 1Gi\n") == [
        f"F:4: volumes[0].name: required; {DNS_LABEL}",
        "F:4: volumes[0].mountPath: required; an absolute path (starting with '/')",
    ]


def test_volumes_must_be_a_list_of_mappings(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "volumes: data\n") == (
        "F:3: volumes: must be a list of volumes, each with name, mountPath and size or hostPath, got 'data'"
    )
    assert problem(tmp_path, VOLUMES + "  - data\n") == (
        "F:4: volumes[0]: must be a mapping with keys name, mountPath, size, hostPath, got 'data'"
    )


def test_yaml_anchors_aliases_and_merge_keys_are_refused(tmp_path: Path) -> None:
    # Refused as the parser meets them (issue 14 point 7): an alias is never expanded.
    text = VOLUMES + "  - &v {name: a, mountPath: /a, size: 1Gi}\n  - <<: *v\n    name: b\n"
    assert problem(tmp_path, text) == (
        "F:4: volumes[0]: YAML anchors (&v) are not allowed in an infraspec; write the value out where it is used"
    )
    assert problem(tmp_path, VOLUMES + "  - <<: {name: a}\n") == (
        "F:4: volumes[0]: YAML merge keys (<<) are not allowed in an infraspec; write the keys out"
    )


# --- cron: schedule, command ----------------------------------------------------------------


def cron(schedule: str) -> str:
    return f"app: c\nrole: cron\ncommand: run\nschedule: '{schedule}'\n"


@pytest.mark.parametrize(
    "schedule",
    [
        "* * * * *", "0 3 * * *", "*/15 * * * *", "0 0-23/2 * * *", "5,10,15-20 * 1 * *", "0 9 * * MON-FRI",
        "0 0 1 jan,Jul *", "0 0 ? * ?", "59 23 31 12 6", "0 0 1 1 0", "1/5 * * * *", "  0  3 * * *  ",
        "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly",
    ],
)
def test_schedule_accepts_what_kubernetes_accepts(tmp_path: Path, schedule: str) -> None:
    assert loads(tmp_path, cron(schedule)).schedule == schedule


TAKES = {
    "minute": "0-59, '*', ranges a-b, steps */n and lists a,b",
    "hour": "0-23, '*', ranges a-b, steps */n and lists a,b",
    "day-of-month": "1-31, '*', ranges a-b, steps */n and lists a,b",
    "month": "1-12 or names such as JAN, '*', ranges a-b, steps */n and lists a,b",
    "day-of-week": "0-6 or names such as SUN, '*', ranges a-b, steps */n and lists a,b",
}


@pytest.mark.parametrize(
    ("schedule", "field", "reason"),
    [
        ("60 * * * *", "minute", "60 is outside 0-59"),
        ("0 24 * * *", "hour", "24 is outside 0-23"),
        ("0 0 0 * *", "day-of-month", "0 is outside 1-31"),
        ("0 0 32 * *", "day-of-month", "32 is outside 1-31"),
        ("0 0 1 13 *", "month", "13 is outside 1-12"),
        ("0 0 * * 7", "day-of-week", "7 is outside 0-6"),
        ("0 0 * * MON-FOO", "day-of-week", "'FOO' is not a number or name"),
        ("0 0 * smarch *", "month", "'smarch' is not a number or name"),
        ("x * * * *", "minute", "'x' is not a number"),
        ("MON * * * *", "minute", "'MON' is not a number"),
        ("*/0 * * * *", "minute", "a step must be 1 or more, got 0"),
        ("*/a * * * *", "minute", "the step 'a' is not a whole number"),
        ("30-10 * * * *", "minute", "the range '30-10' starts after it ends"),
        ("1,,2 * * * *", "minute", "an empty list entry"),
        ("1-2-3 * * * *", "minute", "'2-3' is not a number"),
        ("0 0 1-40 * *", "day-of-month", "40 is outside 1-31"),
    ],
)
def test_schedule_fields_are_checked(tmp_path: Path, schedule: str, field: str, reason: str) -> None:
    assert problem(tmp_path, cron(schedule)) == (
        f"F:4: schedule: invalid {field} field in {schedule!r}: {reason}; {field} takes {TAKES[field]}"
    )


@pytest.mark.parametrize(
    ("schedule", "reason"),
    [
        ("0 3 * *", "'0 3 * *' has 4 fields, not 5"),
        ("0 0 3 * * *", "'0 0 3 * * *' has 6 fields, not 5"),
        ("", "'' has 0 fields, not 5"),
        ("@every 1h", "'@every 1h' is not a macro Kubernetes accepts"),
        ("@Daily", "'@Daily' is not a macro Kubernetes accepts"),
        ("TZ=UTC 0 3 * * *", "a time zone is not allowed in it (Kubernetes has a timeZone field for that)"),
        # batch validateScheduleFormat refuses "TZ" anywhere, not only as a prefix
        ("0 3 * * * TZ", "a time zone is not allowed in it (Kubernetes has a timeZone field for that)"),
        # robfig/cron Parser.Parse takes "@..." as written: with a space around it, it is fields
        (" @daily", "' @daily' has 1 fields, not 5"),
        ("@daily ", "'@daily ' is not a macro Kubernetes accepts"),
    ],
)
def test_schedule_must_be_five_fields_or_a_macro(tmp_path: Path, schedule: str, reason: str) -> None:
    assert problem(tmp_path, cron(schedule)) == f"F:4: schedule: must be {SCHEDULE}; {reason}"


def test_schedule_must_be_a_string(tmp_path: Path) -> None:
    assert problem(tmp_path, "app: c\nrole: cron\ncommand: run\nschedule: 5\n") == (
        f"F:4: schedule: must be {SCHEDULE}, got 5, which is not a string"
    )


def test_cron_needs_schedule_and_command(tmp_path: Path) -> None:
    assert problems(tmp_path, "app: c\nrole: cron\n") == [
        f"F:2: schedule: required when role is cron; {SCHEDULE}",
        "F:2: command: required when role is cron; the command a run executes through /bin/sh -c",
    ]


def test_command_must_be_a_non_empty_string(tmp_path: Path) -> None:
    assert problem(tmp_path, "app: c\nrole: cron\nschedule: '@daily'\ncommand: ' '\n") == (
        "F:4: command: must be a non-empty string (run through /bin/sh -c), got ' '"
    )


# --- several problems, and the error itself ----------------------------------------------


def test_several_problems_are_all_carried_and_sorted_by_line(tmp_path: Path) -> None:
    path = write(tmp_path, "app: w\nrole: webserver\ntimeout: 0\nport: 70000\nreplcas: 2\n")
    with pytest.raises(InfraspecInvalid) as caught:
        load(path)
    error = caught.value
    assert isinstance(error, SpecError) and error.exit_code == 2
    assert error.problems == [
        f"{path}:3: timeout: must be a whole number of seconds from 1 to 9223372036854775807, got 0",
        f"{path}:4: port: must be a whole number from 1 to 65535, got 70000",
        f"{path}:5: replcas: unknown key; did you mean 'replicas'?",
    ]
    assert error.message == f"{path}:3: timeout: must be a whole number of seconds from 1 to 9223372036854775807, got 0 (and 2 more)"
    assert "\n" not in str(error)


def test_rules_across_keys_are_reported_with_field_problems(tmp_path: Path) -> None:
    # replicas fails as a field, yet the missing schedule and command are still reported.
    assert problems(tmp_path, "app: c\nrole: cron\nreplicas: -1\n") == [
        f"F:2: schedule: required when role is cron; {SCHEDULE}",
        "F:2: command: required when role is cron; the command a run executes through /bin/sh -c",
        "F:3: replicas: must be a whole number from 0 to 2147483647, got -1",
    ]


def test_a_single_problem_has_no_count(tmp_path: Path) -> None:
    path = write(tmp_path, WORKER + "replcas: 2\n")
    with pytest.raises(InfraspecInvalid) as caught:
        load(path)
    assert caught.value.message == f"{path}:3: replcas: unknown key; did you mean 'replicas'?"
    assert caught.value.problems == [caught.value.message]


def test_the_path_is_shown_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "app: w\nrole: webserver\nport: 70000\n", "apps/web/infraspec.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InfraspecInvalid) as caught:
        load(Path("apps/web/infraspec.yaml"))
    assert caught.value.message == "apps/web/infraspec.yaml:3: port: must be a whole number from 1 to 65535, got 70000"


def test_the_models_enforce_the_rules_without_the_loader() -> None:
    with pytest.raises(ValidationError, match="required when role is webserver"):
        Infraspec.model_validate({"app": "w", "role": "webserver"})
    with pytest.raises(ValidationError, match="needs exactly one of size"):
        Volume.model_validate({"name": "d", "mountPath": "/d"})
    with pytest.raises(ValidationError, match="whole number"):
        Infraspec.model_validate({"app": "w", "role": "worker", "replicas": True})


# --- the file itself: reading, YAML, shape, duplicate keys ---------------------------------


def test_duplicate_keys_are_rejected_at_every_level(tmp_path: Path) -> None:
    text = "app: w\nrole: worker\nreplicas: 1\nenv:\n  A: x\n  A: y\nreplicas: 2\n"
    assert problems(tmp_path, text) == [
        "F:6: env.A: duplicate key (first set on line 5); keep only one",
        "F:7: replicas: duplicate key (first set on line 3); keep only one",
    ]


def test_duplicate_keys_in_a_list_item(tmp_path: Path) -> None:
    text = VOLUMES + "  - name: a\n    mountPath: /a\n    name: b\n    size: 1Gi\n"
    assert problem(tmp_path, text) == "F:6: volumes[0].name: duplicate key (first set on line 4); keep only one"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app: w\nrole: worker\nenv: [\n  a: b\n",
         "F:5: YAML syntax error: did not find expected ',' or ']' "
         "(while parsing a flow sequence started on line 3)"),
        ("app: w\nrole: worker\n\tport: 1\n",
         "F:3: YAML syntax error: found a tab character that violates indentation "
         "(while scanning a plain scalar started on line 2)"),
        ("app: w\n  role: worker\n", "F:2: YAML syntax error: mapping values are not allowed in this context"),
        ("app: w\nrole: worker\n---\napp: x\n",
         "F:3: YAML syntax error: a second YAML document starts here; an infraspec is a single document"),
    ],
)
def test_yaml_syntax_errors_give_their_line(tmp_path: Path, text: str, expected: str) -> None:
    assert problem(tmp_path, text) == expected


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    assert problem(tmp_path, text) == "F:1: the file is empty; an infraspec needs at least app and role"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("- app\n- role\n", "1: the top level must be a mapping of keys (app: ..., role: ...), got a list"),
     ("# c\nhello\n", "2: the top level must be a mapping of keys (app: ..., role: ...), got 'hello'")],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, expected: str) -> None:
    assert problem(tmp_path, text) == f"F:{expected}"


def test_values_yaml_cannot_build_are_problems_with_their_line(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "command: 2024-02-30\n") == (
        "F:3: command: cannot read this value: day is out of range for month"
    )
    assert problem(tmp_path, WORKER + "command: !shell run\n").startswith("F:3: command: cannot read this value: ")


def test_recursive_aliases_and_complex_keys_are_problems(tmp_path: Path) -> None:
    assert problem(tmp_path, WORKER + "core: &a [*a]\n") == (
        "F:3: core: YAML anchors (&a) are not allowed in an infraspec; write the value out where it is used"
    )
    assert problem(tmp_path, WORKER + "? [a, b]\n: x\n") == "F:3: a key must be a plain name, not a list or mapping"


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"missing\.yaml: no such file$"):
        load(tmp_path / "missing.yaml")
    with pytest.raises(SpecError, match="cannot read it: "):
        load(tmp_path)  # a folder
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("app: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SpecError, match="cannot read it: not UTF-8 text"):
        load(latin)


# --- check_app_name and check_forgeable ---------------------------------------------------


def test_check_app_name() -> None:
    check_app_name("mail-agent")
    for bad in ["Mail", "../etc", "", "a_b", "a" * 64]:
        with pytest.raises(SpecError) as caught:
            check_app_name(bad)
        assert caught.value.exit_code == 2
        assert caught.value.message == f"{bad!r} is not a valid app name: it must be {DNS_LABEL}"


def test_check_forgeable(tmp_path: Path) -> None:
    path = write(tmp_path, "app: f\nrole: function\n")
    with pytest.raises(SpecError) as caught:
        check_forgeable(load(path), path)
    assert caught.value.message == (
        f"{path}: role is function: forge does not provision functions, they are deployed by the function pipeline"
    )
    for role in ("worker", "cron"):
        spec = Infraspec.model_validate({"app": "x", "role": role, "schedule": "@daily", "command": "c"})
        check_forgeable(spec, path)


# --- discovery -------------------------------------------------------------------------------


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    """An apps folder and a separate working folder."""
    apps, cwd = tmp_path / "projects", tmp_path / "here"
    apps.mkdir()
    cwd.mkdir()
    return apps, cwd


def spec_for(app: str) -> str:
    return f"app: {app}\nrole: worker\n"


def test_step1_spec_path_wins(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    write(cwd, spec_for("web"))
    given = write(cwd, spec_for("web"), "deploy/web.yaml")
    assert find("web", spec_path=Path("deploy/web.yaml"), apps_dir=apps, cwd=cwd) == given
    spec, path = find_and_load("web", spec_path=given, apps_dir=apps, cwd=cwd)
    assert (spec.app, path) == ("web", given)


def test_step1_missing_spec_path(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    write(apps, spec_for("web"), "web/infraspec.yaml")  # not used as a fallback
    with pytest.raises(SpecError) as caught:
        find("web", spec_path=Path("nope.yaml"), apps_dir=apps, cwd=cwd)
    assert caught.value.message == "nope.yaml: no such file (given with --spec)"


def test_step1_spec_path_of_another_app(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    given = write(cwd, spec_for("api"), "other.yaml")
    with pytest.raises(SpecError) as caught:
        find_and_load("web", spec_path=given, apps_dir=apps, cwd=cwd)
    assert caught.value.message == f"{given}: its app is 'api', but the app asked for is 'web'"


def test_step1_spec_path_that_is_a_folder(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    with pytest.raises(SpecError, match="is a folder; --spec takes the infraspec file itself"):
        find("web", spec_path=cwd, apps_dir=apps, cwd=cwd)


def test_step1_broken_spec_path_is_reported_by_load(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    given = write(cwd, "app: web\nrole: worker\nreplcas: 2\n")
    with pytest.raises(InfraspecInvalid, match="replcas: unknown key"):
        find_and_load("web", spec_path=given, apps_dir=apps, cwd=cwd)


def test_step2_current_folder_when_its_app_matches(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    here = write(cwd, spec_for("web"))
    write(apps, spec_for("web"), "web/infraspec.yaml")
    assert find("web", spec_path=None, apps_dir=apps, cwd=cwd) == here


def test_step2_current_folder_of_another_app_is_passed_over(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    write(cwd, spec_for("api"))
    own = write(apps, spec_for("web"), "web/infraspec.yaml")
    assert find("web", spec_path=None, apps_dir=apps, cwd=cwd) == own


def test_step2_broken_current_folder_file_does_not_stop_the_search(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    write(cwd, "app: [unclosed\n")
    own = write(apps, spec_for("web"), "web/infraspec.yaml")
    assert find("web", spec_path=None, apps_dir=apps, cwd=cwd) == own


def test_step3_apps_dir_app_folder(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    own = write(apps, spec_for("web"), "web/infraspec.yaml")
    write(apps, spec_for("web"), "aaa/infraspec.yaml")  # step 4 would find this one first
    assert find("web", spec_path=None, apps_dir=apps, cwd=cwd) == own


def test_step3_app_folder_declaring_another_app(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    own = write(apps, spec_for("webby"), "web/infraspec.yaml")
    with pytest.raises(SpecError) as caught:
        find("web", spec_path=None, apps_dir=apps, cwd=cwd)
    assert caught.value.message == f"{own}: its app is 'webby', but the app asked for is 'web'"


def test_step3_broken_app_folder_file_is_reported_by_load(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    own = write(apps, "app: web\nrole: worker\nreplicas: [\n", "web/infraspec.yaml")
    assert find("web", spec_path=None, apps_dir=apps, cwd=cwd) == own
    with pytest.raises(InfraspecInvalid, match=r"infraspec\.yaml:4: YAML syntax error"):
        find_and_load("web", spec_path=None, apps_dir=apps, cwd=cwd)


def test_step3_apps_dir_relative_to_cwd_and_with_tilde(places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    apps, cwd = places
    own = write(apps, spec_for("web"), "web/infraspec.yaml")
    assert find("web", spec_path=None, apps_dir=Path("../projects"), cwd=cwd).resolve() == own.resolve()
    monkeypatch.setenv("HOME", str(apps.parent))
    assert find("web", spec_path=None, apps_dir=Path("~/projects"), cwd=cwd) == own


def test_step4_any_app_folder_whose_app_matches(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    write(apps, "app: [broken\n", "aaa/infraspec.yaml")
    write(apps, spec_for("api"), "bbb/infraspec.yaml")
    found = write(apps, spec_for("web"), "mail/infraspec.yaml")
    spec, path = find_and_load("web", spec_path=None, apps_dir=apps, cwd=cwd)
    assert (spec.app, path) == ("web", found)


def test_step4_two_folders_declaring_the_app(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    one = write(apps, spec_for("web"), "b/infraspec.yaml")
    two = write(apps, spec_for("web"), "a/infraspec.yaml")
    with pytest.raises(SpecError) as caught:
        find("web", spec_path=None, apps_dir=apps, cwd=cwd)
    assert caught.value.message == f"app 'web' is declared by more than one infraspec: {two}, {one}"


def test_not_found_lists_every_place_looked(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    write(cwd, spec_for("api"))
    write(apps, "app: [broken\n", "x/infraspec.yaml")
    with pytest.raises(SpecError) as caught:
        find("web", spec_path=None, apps_dir=apps, cwd=cwd)
    assert caught.value.message == (
        f"no infraspec for app 'web'; looked at {cwd}/infraspec.yaml (its app is 'api'); "
        f"{apps}/web/infraspec.yaml (no such file); {apps}/*/infraspec.yaml (1 files, none with app 'web')"
    )
    assert caught.value.hint == (
        f"pass --spec PATH, or set NORN_APPS_DIR to the folder holding the app folders (now {apps})"
    )


def test_not_found_when_nothing_exists(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    with pytest.raises(SpecError) as caught:
        find("web", spec_path=None, apps_dir=apps / "gone", cwd=cwd)
    assert caught.value.message == (
        f"no infraspec for app 'web'; looked at {cwd}/infraspec.yaml (no such file); "
        f"{apps}/gone/web/infraspec.yaml (no such file); {apps}/gone/*/infraspec.yaml (no such folder)"
    )


def test_discovery_rejects_an_invalid_app_name_first(places: tuple[Path, Path]) -> None:
    apps, cwd = places
    write(apps, spec_for("web"), "web/infraspec.yaml")
    with pytest.raises(SpecError, match="is not a valid app name"):
        find("../projects/web", spec_path=None, apps_dir=apps, cwd=cwd)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app: w\nrole: webserver\nprot: 80\n", "F:3: prot: unknown key; did you mean 'port'?"),
        ("app: c\nrole: cron\ncommand: run\nschedul: '@daily'\n", "F:4: schedul: unknown key; did you mean 'schedule'?"),
        (WORKER + "hosts:\n  intrnal: svc\n  external: a.example.com\n",
         "F:4: hosts.intrnal: unknown key; did you mean 'internal'?"),
        ("rol: worker\napp: w\n", "F:1: rol: unknown key; did you mean 'role'?"),
    ],
)
def test_a_typo_of_a_needed_key_is_reported_once(tmp_path: Path, text: str, expected: str) -> None:
    # Not also "port: required ...": the suggestion already says what is missing.
    assert problem(tmp_path, text) == expected
