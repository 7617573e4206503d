"""Admission: what happens to an object between decoding and storage, in the real server's order.

The test's mutators (as mutating webhooks), the decoder's checks, canonical quantities, validation (one 422
with every cause, in the order the real validators report them), then each kind's defaults.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.kubeapi.admission.decoding import canonical_quantities, check_decodable
from tests.kubeapi.admission.labels import all_label_causes
from tests.kubeapi.admission.names import cronjob_name_causes, name_causes
from tests.kubeapi.admission.specs import host_path_causes, port_causes, restart_policy_causes, spec_causes
from tests.kubeapi.errors import invalid
from tests.kubeapi.kinds.claims import default_claim
from tests.kubeapi.kinds.deployments import default_deployment
from tests.kubeapi.kinds.namespaces import default_namespace
from tests.kubeapi.kinds.secrets import default_secret
from tests.kubeapi.kinds.services import default_service
from tests.kubeapi.resources import Resource
from tests.kubeapi.update import kind_update_causes, meta_update_causes

Mutator = Callable[[str, dict], None]  # (kind, object)


def admit(
    resource: Resource, obj: dict, old: dict | None, mutators: list[Mutator], allocate_ip: Callable[[], str]
) -> None:
    """Mutate, validate and default ``obj``, replacing ``old`` (None on create), as admission does."""
    for mutate in mutators:
        mutate(resource.kind, obj)
    check_decodable(resource, obj)
    canonical_quantities(resource, obj)
    if resource.kind == "Service":
        default_service(obj, old, allocate_ip)  # PrepareForUpdate runs before validation
    elif resource.kind == "PersistentVolumeClaim":
        default_claim(obj)
    causes = (
        name_causes(resource, obj["metadata"]["name"])
        + cronjob_name_causes(resource, obj, creating=old is None)
        + all_label_causes(resource, obj)
        + host_path_causes(resource, obj)
        + port_causes(resource, obj)
        + restart_policy_causes(resource, obj)
        + spec_causes(resource, obj)
    )
    if old is not None:  # rest.BeforeUpdate: validateCommonFields, then the kind's ValidateXUpdate
        meta = meta_update_causes(obj, old)
        causes = meta + causes + meta + kind_update_causes(resource, obj, old)
    if causes:
        raise invalid(resource, obj["metadata"]["name"], causes)
    if resource.kind == "Namespace" and old is None:
        default_namespace(obj)
    if resource.kind == "Secret":
        default_secret(obj)
    elif resource.kind == "Deployment":
        default_deployment(obj)
