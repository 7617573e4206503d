"""App names: the one check every command makes on APP, without the infraspec models.

It lives apart from ``infraspec`` so that ``norn status`` and ``norn teardown``
check the name without building the pydantic models they never use.
"""

from __future__ import annotations

import re
from typing import Any

from norn.errors import SpecError

DNS_LABEL = (
    "a DNS-1123 label (lower-case letters, digits and '-', starting and ending "
    "with a letter or digit, at most 63 characters)"
)

_DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def is_dns_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 63 and bool(_DNS_LABEL_RE.fullmatch(value))


def check_app_name(name: str) -> None:
    """The APP argument names files and objects: reject anything but a DNS-1123 label early."""
    if not is_dns_label(name):
        raise SpecError(
            f"{name!r} is not a valid app name: it must be {DNS_LABEL}",
            hint="use the app key of the app's infraspec.yaml, such as mail-agent",
        )
