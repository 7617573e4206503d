"""What an app's forge made and what is present now: the ``resources`` of its state.

Resume and teardown decide from this, never from step counts. In the stored
JSON the keys are camelCase, as ``norn status -o json`` shows them; a key is
written only when it holds something, so files of earlier versions read the
same and an unforged app's resources are ``{}``.
"""

from __future__ import annotations

from typing import Any


class Record:
    """A mutable record compared by its ``_fields``: what ``@dataclass`` gave these classes and the state's
    (init by hand, ``==``, unhashable, a repr), without generating and compiling their code on every
    command's import (about 0.3 ms a class; ``norn status`` imports this module and norn/state.py)."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    __hash__ = None  # type: ignore[assignment]  # mutable, as a non-frozen dataclass

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self._fields)

    def __repr__(self) -> str:
        values = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({values})"


class IngressRule(Record):
    """The rule norn added to the cloudflared config: ``hostname`` -> ``service`` in ConfigMap ``config_map``."""

    __slots__ = _fields = ("hostname", "service", "config_map")

    def __init__(self, hostname: str, service: str, config_map: str) -> None:
        self.hostname, self.service, self.config_map = hostname, service, config_map

    def to_json(self) -> dict[str, str]:
        return {"hostname": self.hostname, "service": self.service, "configMap": self.config_map}

    @classmethod
    def from_json(cls, value: Any) -> "IngressRule":
        _require(value, ("hostname", "service", "configMap"), "ingressRule")
        return cls(value["hostname"], value["service"], value["configMap"])


class DnsRoute(Record):
    """The CNAME ``cloudflared tunnel route dns`` made; ``tunnel_id``, when cloudflared said it, is what it points at."""

    __slots__ = _fields = ("hostname", "tunnel", "tunnel_id")

    def __init__(self, hostname: str, tunnel: str, tunnel_id: str | None = None) -> None:
        self.hostname, self.tunnel, self.tunnel_id = hostname, tunnel, tunnel_id

    def to_json(self) -> dict[str, str]:
        route = {"hostname": self.hostname, "tunnel": self.tunnel}
        if self.tunnel_id:
            route["tunnelId"] = self.tunnel_id
        return route

    @classmethod
    def from_json(cls, value: Any) -> "DnsRoute":
        _require(value, ("hostname", "tunnel"), "dnsRoute")
        tunnel_id = value.get("tunnelId")
        if tunnel_id is not None and not isinstance(tunnel_id, str):
            raise TypeError("resources.dnsRoute.tunnelId does not hold what norn writes there")
        return cls(value["hostname"], value["tunnel"], tunnel_id)


class Replaced(Record):
    """What an update replaced and has not removed yet: deleted only once the new routing is live (remove-replaced).
    ``volumes``: PVCs of removed volumes, with --delete-volumes."""

    # ``ingress_rules``: rules update-cloudflared is replacing in place, recorded with the new rule before the
    # write, so a kill leaves teardown removing whichever the config holds. Never left for remove-replaced: not
    # in __bool__.
    __slots__ = _fields = ("services", "dns_routes", "volumes", "ingress_rules")

    def __init__(self, services: list[str] | None = None, dns_routes: list[DnsRoute] | None = None,
                 volumes: list[str] | None = None, ingress_rules: list[IngressRule] | None = None) -> None:
        self.services = [] if services is None else services
        self.dns_routes = [] if dns_routes is None else dns_routes
        self.volumes = [] if volumes is None else volumes
        self.ingress_rules = [] if ingress_rules is None else ingress_rules

    def __bool__(self) -> bool:
        return bool(self.services or self.dns_routes or self.volumes)

    def to_json(self) -> dict[str, Any]:
        values = {"services": list(self.services), "dnsRoutes": [r.to_json() for r in self.dns_routes],
                  "persistentVolumeClaims": list(self.volumes), "ingressRules": [r.to_json() for r in self.ingress_rules]}
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_json(cls, value: Any) -> "Replaced":
        if not isinstance(value, dict):
            raise _wrong("replaced")
        routes, rules = value.get("dnsRoutes") or [], value.get("ingressRules") or []
        if not isinstance(routes, list):
            raise _wrong("replaced.dnsRoutes")
        if not isinstance(rules, list):
            raise _wrong("replaced.ingressRules")
        return cls(_texts(value, "services", "replaced."), [DnsRoute.from_json(r) for r in routes],
                   _texts(value, "persistentVolumeClaims", "replaced."), [IngressRule.from_json(r) for r in rules])


class Resources(Record):
    __slots__ = _fields = (
        "namespace", "deployment", "persistent_volume_claims", "service", "ingress_rule", "dns_route", "cron_job",
        "cloudflared_restart_pending", "kept_volumes", "created_uids", "unverified_uids", "replaced",
    )

    def __init__(
        self,
        namespace: str | None = None,  # where the app's objects live
        deployment: str | None = None,
        persistent_volume_claims: list[str] | None = None,  # the Deployment's, made by norn
        service: str | None = None,
        ingress_rule: IngressRule | None = None,
        dns_route: DnsRoute | None = None,
        cron_job: str | None = None,
        # The tunnel config changed and cloudflared was not restarted since.
        cloudflared_restart_pending: bool = False,
        kept_volumes: list[str] | None = None,  # PVCs a teardown left in place, with their data
        # {"Kind/name": uid} of the objects this app's forge created: deleted with a uid precondition.
        created_uids: dict[str, str] | None = None,
        # {"Kind/name": uid} earlier versions wrote, also for objects they only found: never trusted, the
        # owner label is checked before a delete.
        unverified_uids: dict[str, str] | None = None,
        replaced: Replaced | None = None,
    ) -> None:
        self.namespace, self.deployment, self.service = namespace, deployment, service
        self.persistent_volume_claims = [] if persistent_volume_claims is None else persistent_volume_claims
        self.ingress_rule, self.dns_route, self.cron_job = ingress_rule, dns_route, cron_job
        self.cloudflared_restart_pending = cloudflared_restart_pending
        self.kept_volumes = [] if kept_volumes is None else kept_volumes
        self.created_uids = {} if created_uids is None else created_uids
        self.unverified_uids = {} if unverified_uids is None else unverified_uids
        self.replaced = Replaced() if replaced is None else replaced

    def has_objects(self) -> bool:
        """Whether anything of the app's may exist (kept volumes aside: they are left on purpose)."""
        return any(key not in ("namespace", "keptVolumes") for key in self.to_json())

    def after_teardown(self) -> "Resources":
        """What a finished teardown leaves recorded: the volumes it kept."""
        return Resources(kept_volumes=list(self.kept_volumes))

    def to_json(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "namespace": self.namespace,
            "deployment": self.deployment,
            "persistentVolumeClaims": list(self.persistent_volume_claims),
            "service": self.service,
            "ingressRule": self.ingress_rule.to_json() if self.ingress_rule else None,
            "dnsRoute": self.dns_route.to_json() if self.dns_route else None,
            "cronJob": self.cron_job,
            "cloudflaredRestartPending": self.cloudflared_restart_pending,
            "keptVolumes": list(self.kept_volumes),
            "createdUids": dict(self.created_uids),
            "uids": dict(self.unverified_uids),
            "replaced": self.replaced.to_json(),
        }
        return {key: value for key, value in values.items() if value}

    @classmethod
    def from_json(cls, data: Any) -> "Resources":
        """Read a stored ``resources`` object; TypeError when a key does not hold what norn writes there."""
        if not isinstance(data, dict):
            raise TypeError("resources is not an object")
        rule, route = data.get("ingressRule"), data.get("dnsRoute")
        return cls(
            namespace=_text(data, "namespace"),
            deployment=_text(data, "deployment"),
            persistent_volume_claims=_texts(data, "persistentVolumeClaims"),
            service=_text(data, "service"),
            ingress_rule=IngressRule.from_json(rule) if rule is not None else None,
            dns_route=DnsRoute.from_json(route) if route is not None else None,
            cron_job=_text(data, "cronJob"),
            cloudflared_restart_pending=_flag(data, "cloudflaredRestartPending"),
            kept_volumes=_texts(data, "keptVolumes"),
            created_uids=_uids(data, "createdUids"),
            unverified_uids=_uids(data, "uids"),
            replaced=Replaced.from_json(data["replaced"]) if data.get("replaced") is not None else Replaced(),
        )


def _wrong(key: str) -> TypeError:
    return TypeError(f"resources.{key} does not hold what norn writes there")


def _text(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise _wrong(key)
    return value or None


def _texts(data: dict, key: str, within: str = "") -> list[str]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _wrong(within + key)
    return list(value)


def _flag(data: dict, key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise _wrong(key)
    return value


def _uids(data: dict, key: str) -> dict[str, str]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _wrong(key)
    return dict(value)


def _require(value: Any, keys: tuple[str, ...], key: str) -> None:
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in keys):
        raise _wrong(key)
