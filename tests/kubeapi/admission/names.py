"""Object names: a DNS subdomain or label, and a new CronJob's room for its Jobs' names."""

from __future__ import annotations

import json
import re

from tests.kubeapi.resources import Resource

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def name_causes(resource: Resource, name: str) -> list[tuple[str, str, str]]:
    if resource.dns_label and not (_DNS_LABEL.match(name) and len(name) <= 63):
        detail = (
            f'Invalid value: "{name}": a DNS-1035 label must consist of lower case alphanumeric characters '
            "or '-', start with an alphabetic character, and end with an alphanumeric character"
        )
        return [("metadata.name", "FieldValueInvalid", detail)]
    if not resource.dns_label and not (SUBDOMAIN.match(name) and len(name) <= 253):
        detail = (
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric '
            "characters, '-' or '.', and must start and end with an alphanumeric character"
        )
        return [("metadata.name", "FieldValueInvalid", detail)]
    return []


def cronjob_name_causes(resource: Resource, obj: dict, creating: bool) -> list[tuple[str, str, str]]:
    """pkg/apis/batch/validation ValidateCronJobCreate: the controller names Jobs <cronjob>-<11 characters>, and
    a Job name is at most 63, so a new CronJob's name is at most 52."""
    name = obj["metadata"]["name"]
    if resource.kind != "CronJob" or not creating or len(name) <= 52:
        return []
    return [("metadata.name", "FieldValueInvalid", f"Invalid value: {json.dumps(name)}: must be no more than 52 characters")]
