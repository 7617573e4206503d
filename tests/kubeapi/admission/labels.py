"""Label keys and values, in metadata and in the selectors and templates of workloads."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.kubeapi.admission.names import SUBDOMAIN
from tests.kubeapi.objects import dig
from tests.kubeapi.resources import Resource

# apimachinery pkg/api/validate/content/kube.go (IsLabelKey, IsLabelValue) and errors.go (MaxLenError, RegexError),
# applied by ValidateLabels (apimachinery pkg/apis/meta/v1/validation) to metadata.labels and the selectors and
# pod template labels of pkg/apis/apps/validation and pkg/apis/batch/validation.
_LABEL_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_NAME = re.compile(f"^{_LABEL_NAME_FMT}$")
_LABEL_VALUE_FMT = f"({_LABEL_NAME_FMT})?"
_LABEL_VALUE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_SUBDOMAIN_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"


def _regex_error(message: str, regex: str, *examples: str) -> str:
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{regex}')"


def label_key_errors(key: str) -> list[str]:
    """IsLabelKey: an optional DNS subdomain prefix and '/', then a name of at most 63 bytes."""
    name_message = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
    parts = key.split("/")
    errors = []
    if len(parts) > 2:
        return ["a valid label key " + _regex_error(name_message, _LABEL_NAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > 253:
                errors.append("prefix part must be no more than 253 bytes")
            if not SUBDOMAIN.match(prefix):
                errors.append("prefix part " + _regex_error(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
                    "and must start and end with an alphanumeric character", _SUBDOMAIN_FMT, "example.com"))
    if not name:
        errors.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        errors.append("name part must be no more than 63 bytes")
    if not _LABEL_NAME.match(name):
        errors.append("name part " + _regex_error(name_message, _LABEL_NAME_FMT, "MyName", "my.name", "123-abc"))
    return errors


def label_value_errors(value: Any) -> list[str]:
    """IsLabelValue: empty, or at most 63 bytes of alphanumerics, '-', '_', '.', alphanumeric at both ends."""
    errors = []
    if len(value.encode()) > 63:
        errors.append("must be no more than 63 bytes")
    if not _LABEL_VALUE.match(value):
        errors.append(_regex_error(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character", _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


def _label_causes(labels: Any, path: str) -> list[tuple[str, str, str]]:
    """ValidateLabels: each bad key or value is a FieldValueInvalid on the map's path, as the real server says."""
    causes = []
    for key, value in (labels or {}).items() if isinstance(labels, dict) else []:
        causes += [(path, "FieldValueInvalid", f"Invalid value: {json.dumps(key)}: {m}") for m in label_key_errors(key)]
        if isinstance(value, str):
            causes += [(path, "FieldValueInvalid", f"Invalid value: {json.dumps(value)}: {m}")
                       for m in label_value_errors(value)]
    return causes


# Where each kind carries labels the real validation checks, besides metadata.labels.
LABEL_PATHS = {
    "Deployment": ("spec.selector.matchLabels", "spec.template.metadata.labels"),
    "Job": ("spec.template.metadata.labels",),
    "CronJob": ("spec.jobTemplate.metadata.labels", "spec.jobTemplate.spec.template.metadata.labels"),
}


def all_label_causes(resource: Resource, obj: dict) -> list[tuple[str, str, str]]:
    causes = _label_causes(dig(obj, "metadata.labels"), "metadata.labels")
    for path in LABEL_PATHS.get(resource.kind, ()):
        causes += _label_causes(dig(obj, path), path)
    return causes

