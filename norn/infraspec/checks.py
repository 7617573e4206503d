"""The value checks of the infraspec and their wording: pure, each returns the problem or None.

What is valid is said once here and reused in every message about it. No pydantic:
the model turns these checks into validators.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Literal, get_args

from norn.infraspec.cron import CRON_MACROS, cron_problem
from norn.infraspec.wording import did_you_mean, got_number, got_text, is_whole, show
from norn.names import DNS_1035_LABEL, DNS_LABEL, is_dns1035_label, is_dns_label

Role = Literal["webserver", "worker", "cron", "function"]
ROLES: tuple[str, ...] = get_args(Role)
# Keys other pipelines own: accepted, not acted on; changing them changes nothing norn forged.
OTHER_PIPELINES = ("core", "build", "repo", "migrations", "artifacts", "alerts", "runtime", "deploy", "function", "target")

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
SCHEDULE = (
    "a 5-field cron expression such as \"0 3 * * *\" (minute hour day-of-month month "
    f"day-of-week) or one of {', '.join(CRON_MACROS)}"
)
ROLE = "one of " + ", ".join(ROLES)

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUANTITY_RE = re.compile(
    r"\+?(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:Ki|Mi|Gi|Ti|Pi|Ei|[mkMGTPE]|[eE](?P<exponent>[+-]?[0-9]+))?"
)


def is_hostname(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 253:
        return False
    labels = value.split(".")
    return len(labels) >= 2 and all(is_dns_label(label) for label in labels)


def is_env_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_ENV_NAME_RE.fullmatch(value))


def check_dns_label(value: Any) -> str | None:
    return None if is_dns_label(value) else f"must be {DNS_LABEL}, {got_text(value)}"


def check_service_name(value: Any) -> str | None:
    return None if is_dns1035_label(value) else f"must be {DNS_1035_LABEL} (it names a Service), {got_text(value)}"


def check_hostname(value: Any) -> str | None:
    return None if is_hostname(value) else f"must be {HOSTNAME}, {got_text(value)}"


def check_role(value: Any) -> str | None:
    if isinstance(value, str) and value in ROLES:
        return None
    return f"must be {ROLE}, {got_text(value)}{did_you_mean(value, ROLES)}"


def check_whole(low: int, high: int | None, wants: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if is_whole(value) and value >= low and (high is None or value <= high):
            return None
        return f"must be {wants}, {got_number(value)}"

    return check


def _is_int32(text: str) -> bool:
    """Whether a quantity's exponent fits the int32 the API server keeps it in.

    The server reads it as an int64 and wraps it to int32 (1e2147483648 becomes 1e-2147483648);
    norn refuses such an exponent rather than send a number that means another.
    """
    digits = text.lstrip("+-").lstrip("0")
    return len(digits) <= 10 and -(2**31) <= int(text) <= INT32_MAX


def check_healthcheck(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("/"):
        return None
    return f"must be a path starting with '/', such as /health, {got_text(value)}"


def check_non_empty(what: str) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and value.strip():
            return None
        return f"must be a non-empty string ({what}), {got_text(value)}"

    return check


def check_env_name(value: Any) -> str | None:
    return None if is_env_name(value) else f"must be {ENV_NAME}, {got_text(value)}"


def check_absolute(value: Any) -> str | None:
    if not (isinstance(value, str) and value.startswith("/")):
        return f"must be {ABSOLUTE_PATH}, {got_text(value)}"
    if ".." in value.split("/"):
        return f"must not contain a '..' segment, got {value!r}; write the path without it"
    return None


def check_quantity(value: Any) -> str | None:
    if isinstance(value, str):
        match = _QUANTITY_RE.fullmatch(value)
        if match and float(match["number"]) > 0 and _is_int32(match["exponent"] or "0"):
            return None
        return f"must be {QUANTITY} (more than 0), got {show(value)}"
    if is_whole(value) or isinstance(value, float):
        return f"must be {QUANTITY}, got the bare number {value!r}; give it a unit, such as {value}Gi"
    return f"must be {QUANTITY}, got {show(value)}"


def check_schedule(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be {SCHEDULE}, {got_text(value)}"
    problem = cron_problem(value)
    if problem is None:
        return None
    if problem.startswith("invalid"):
        return problem
    return f"must be {SCHEDULE}; {problem}"
