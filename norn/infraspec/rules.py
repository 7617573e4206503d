"""The rules that span keys: pure, over alias-keyed mappings (raw YAML or a model dump).

The models raise the first of them; the loader runs them on the raw data too, because
a model whose fields failed never runs its rules across keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from norn.infraspec.checks import CRON_APP_MAX, PORT, SCHEDULE
from norn.names import is_dns_label


class Rule(ValueError):
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

    def under(self, prefix: tuple[str | int, ...]) -> "Rule":
        about = tuple(prefix + loc for loc in self.about)
        return Rule(prefix + self.loc, self.message, prefix + self.at, about)


def raise_first(rules: list[Rule]) -> None:
    if rules:
        raise rules[0]


def hosts_rules(hosts: Mapping[str, Any]) -> list[Rule]:
    if hosts.get("external") is not None and hosts.get("internal") is None:
        return [Rule(("external",), "needs hosts.internal too, the Service the tunnel routes to",
                     about=(("internal",),))]
    return []


def volume_rules(volume: Mapping[str, Any]) -> list[Rule]:
    has_size, has_host = volume.get("size") is not None, volume.get("hostPath") is not None
    if has_size and has_host:
        return [Rule((), "has both size and hostPath; give exactly one: size (a PersistentVolumeClaim) "
                         "or hostPath (a host folder)")]
    if not has_size and not has_host:
        return [Rule((), "needs exactly one of size (a quantity such as 10Gi: a PersistentVolumeClaim) "
                         "or hostPath (an absolute host folder)", about=(("size",), ("hostPath",)))]
    return []


def duplicates(items: list[Any], key: str | None, where: str) -> list[Rule]:
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
            rules.append(Rule(loc, f"{value!r} is already used by {earlier}; each must be unique"))
        else:
            first[value] = i
    return rules


def spec_rules(spec: Mapping[str, Any]) -> list[Rule]:
    """Every rule that spans keys, tolerant of wrongly typed values (they are reported elsewhere)."""
    rules: list[Rule] = []
    role = spec.get("role")
    app = spec.get("app")
    if role == "cron" and is_dns_label(app) and len(app) > CRON_APP_MAX:
        rules.append(Rule(("app",), f"a cron app's name must be at most {CRON_APP_MAX} characters, got {len(app)}: "
                                    "Kubernetes names each run's Job <app>-<minute>, which must fit in 63"))
    if role == "webserver" and spec.get("port") is None:
        rules.append(Rule(("port",), f"required when role is webserver; {PORT}", ("role",), (("port",),)))
    if role == "cron" and spec.get("schedule") is None:
        rules.append(Rule(("schedule",), f"required when role is cron; {SCHEDULE}", ("role",), (("schedule",),)))
    if role == "cron" and spec.get("command") is None:
        rules.append(Rule(("command",), "required when role is cron; the command a run executes "
                                        "through /bin/sh -c", ("role",), (("command",),)))
    hosts = spec.get("hosts")
    if isinstance(hosts, Mapping):
        rules += [rule.under(("hosts",)) for rule in hosts_rules(hosts)]
    secrets = spec.get("secrets")
    if isinstance(secrets, list):
        rules += [rule.under(("secrets",)) for rule in duplicates(secrets, None, "secrets")]
    volumes = spec.get("volumes")
    if isinstance(volumes, list):
        for i, volume in enumerate(volumes):
            if isinstance(volume, Mapping):
                rules += [rule.under(("volumes", i)) for rule in volume_rules(volume)]
        for key in ("name", "mountPath"):
            rules += [rule.under(("volumes",)) for rule in duplicates(volumes, key, "volumes")]
    return rules
