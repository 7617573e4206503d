"""Names as kube-apiserver checks them, and the one check every command makes on APP.

It imports neither pydantic nor PyYAML (nor does ``norn.infraspec`` itself), so that
``norn status``, ``norn teardown`` and the settings check names without building the
pydantic models they never use.
The rules are apimachinery's pkg/util/validation (IsDNS1123Label,
IsDNS1123Subdomain, IsDNS1035Label); the tests cite them.
"""

from __future__ import annotations

import re
from typing import Any

from norn.errors import SpecError

DNS_LABEL = (
    "a DNS-1123 label (lower-case letters, digits and '-', starting and ending "
    "with a letter or digit, at most 63 characters)"
)
DNS_1035_LABEL = (
    "a DNS-1035 label (lower-case letters, digits and '-', starting with a letter "
    "and ending with a letter or digit, at most 63 characters)"
)
DNS_SUBDOMAIN = (
    "a DNS-1123 subdomain (DNS-1123 labels joined by dots, lower-case letters, digits, '-' and '.', "
    "at most 253 characters)"
)

# Patterns, compiled on first use by re's own cache: a command uses one or two of the three.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_DNS_1035_LABEL = r"[a-z](?:[a-z0-9-]*[a-z0-9])?"
_DNS_SUBDOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"


def is_dns_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(re.fullmatch(_LABEL, value))


def is_dns1035_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(re.fullmatch(_DNS_1035_LABEL, value))


def is_dns_subdomain(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 253 and bool(re.fullmatch(_DNS_SUBDOMAIN, value))


def check_app_name(name: str) -> None:
    """The APP argument names files and objects: reject anything but a DNS-1123 label early."""
    if not is_dns_label(name):
        raise SpecError(
            f"{name!r} is not a valid app name: it must be {DNS_LABEL}",
            hint="use the app key of the app's infraspec.yaml, such as mail-agent",
        )
