"""The store: kube-apiserver's semantics (create, update, patch, delete, finalizers), with no HTTP in sight."""

from __future__ import annotations

import copy
import secrets
import threading
import uuid
from typing import Any

from tests.kubeapi.admission import Mutator, admit
from tests.kubeapi.admission.decoding import check_body_type
from tests.kubeapi.errors import ApiError, already_exists, conflict, invalid, not_found, status_details
from tests.kubeapi.kinds.claims import CLAIM_USERS, PVC_PROTECTION, protect, releasable
from tests.kubeapi.kinds.deployments import rolled_out
from tests.kubeapi.kinds.namespaces import SEEDED_NAMESPACES, check_namespace, namespace_object
from tests.kubeapi.kinds.storageclasses import bind, check_resize, follow_resize, set_default_class, storage_class
from tests.kubeapi.objects import now, typed, without_type
from tests.kubeapi.patches import PATCHERS, PatchError
from tests.kubeapi.resources import BY_KIND, NAMESPACES, Resource, resource_for
from tests.kubeapi.selectors import Matcher
from tests.kubeapi.update import bumps_generation, meta_update_causes

Key = tuple[str, str, str, str, str]  # group, version, plural, namespace ("" if cluster-scoped), name


class Store:
    """Objects by (group, version, plural, namespace, name), behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._objects: dict[Key, dict] = {}
        self._version = 0
        self._next_ip = 1
        self.auto_rollout = True
        self.mutators: list[Mutator] = []  # (kind, object): like mutating webhooks
        for name in SEEDED_NAMESPACES:
            self.seed(namespace_object(name))
        self.seed(storage_class("standard", default=True))

    @staticmethod
    def key(resource: Resource, namespace: str | None, name: str) -> Key:
        return (resource.group, resource.version, resource.plural, namespace or "", name)

    def _bump(self) -> str:
        self._version += 1
        return str(self._version)

    def _allocate_ip(self) -> str:
        self._next_ip += 1
        return f"10.96.{self._next_ip // 250}.{self._next_ip % 250 + 1}"

    def _stored(self, resource: Resource, namespace: str | None, name: str) -> dict:
        obj = self._objects.get(self.key(resource, namespace, name))
        if obj is None:
            raise not_found(resource, name)
        return obj

    # reads

    def get(self, resource: Resource, namespace: str | None, name: str) -> dict:
        with self._lock:
            return copy.deepcopy(self._stored(resource, namespace, name))

    def peek(self, resource: Resource, namespace: str | None, name: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._objects.get(self.key(resource, namespace, name)))

    def all(self, resource: Resource, namespace: str | None = None) -> list[dict]:
        """Every object of a resource, in one namespace or all, sorted like etcd keys."""
        with self._lock:
            return [
                copy.deepcopy(obj)
                for key, obj in sorted(self._objects.items())
                if key[:3] == self.key(resource, None, "")[:3] and (namespace is None or key[3] == namespace)
            ]

    def list(self, resource: Resource, namespace: str | None, matchers: list[Matcher]) -> dict:
        with self._lock:
            version = str(self._version)
            objects = self.all(resource, namespace)
        items = [without_type(obj) for obj in objects if all(m(obj) for m in matchers)]
        return {
            "kind": f"{resource.kind}List",
            "apiVersion": resource.api_version,
            "metadata": {"resourceVersion": version},
            "items": items,
        }

    # writes

    def create(self, resource: Resource, namespace: str | None, body: Any, dry_run: bool = False) -> dict:
        """POST, in the real server's order: decode, admission (the namespace's lifecycle, the
        PVC protection finalizer), validation, then storage (a resourceVersion set, a name taken)."""
        check_body_type(resource, body)
        obj = typed(resource, body)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        name = meta.get("name") or ""
        with self._lock:
            self._check_namespace(resource, namespace, name or meta.get("generateName") or "Unknown")
            if resource.namespaced and not meta.get("namespace"):
                meta["namespace"] = namespace
            if resource.namespaced and meta["namespace"] != namespace:
                raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
            if not name:
                cause = ("metadata.name", "FieldValueRequired", "Required value: name or generateName is required")
                raise invalid(resource, "", [cause])
            if resource.status:
                obj.pop("status", None)
            if resource.kind == "PersistentVolumeClaim":
                protect(meta)
                set_default_class(obj, self._classes())
            for system in ("deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(system, None)  # rest.FillObjectMetaSystemFields / BeforeCreate clear them
            meta.update(uid=str(uuid.uuid4()), creationTimestamp=now())
            if resource.generation:
                meta["generation"] = 1
            self._admit(resource, obj, None)
            if meta.get("resourceVersion"):
                # apiserver pkg/storage/etcd3/store.go (Create): storage.ErrResourceVersionSetOnCreate, a plain
                # error that responsewriters.ErrorToAPIStatus turns into a 500 with no reason.
                raise ApiError(500, "resourceVersion should not be set on objects to be created", reason="")
            existing = self._objects.get(self.key(resource, namespace, name))
            if existing is not None:
                error = already_exists(resource, name)
                if existing["metadata"].get("deletionTimestamp"):  # store.go (create): said so
                    error.message = f"object is being deleted: {error.message}"
                raise error
            self._reconcile(resource, obj, None)
            if not dry_run:
                meta["resourceVersion"] = self._bump()
                self._objects[self.key(resource, namespace, name)] = obj
            return copy.deepcopy(obj)

    def _check_namespace(self, resource: Resource, namespace: str | None, name: str) -> None:
        check_namespace(resource, namespace, self._objects.get(self.key(NAMESPACES, None, namespace or "")), name)

    def create_on_update(self, resource: Resource, namespace: str | None, name: str, body: Any, dry_run: bool) -> dict:
        """A PUT to a missing object of a kind whose strategy allows create-on-update (store.go Update).

        A uid in the body is a storage precondition the missing object cannot meet: 409, as
        storage.Preconditions.Check and InterpretUpdateError answer.
        """
        uid = (body.get("metadata") or {}).get("uid") if isinstance(body, dict) else None
        if uid:
            raise conflict(resource, name, f"Precondition failed: UID in precondition: {uid}, UID in object meta: ")
        check_body_type(resource, body)
        obj = typed(resource, body)
        if obj["metadata"].get("name") != name:
            raise ApiError(
                400, f"the name of the object ({obj['metadata'].get('name', '')}) does not match the name on the URL ({name})"
            )
        obj["metadata"].pop("resourceVersion", None)  # the create path of GuaranteedUpdate stores it afresh
        return self.create(resource, namespace, obj, dry_run)

    def replace(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        body: Any,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> dict:
        check_body_type(resource, body)
        with self._lock:
            stored = self._stored(resource, namespace, name)
            candidate = typed(resource, body)
            uid = candidate["metadata"].get("uid")
            if uid and uid != stored["metadata"]["uid"]:
                # rest.defaultUpdatedObjectInfo.Preconditions: a PUT's uid is a storage precondition (409); a
                # PATCH has none, and a changed uid fails validation instead (update.meta_update_causes).
                why = f"Precondition failed: UID in precondition: {uid}, UID in object meta: {stored['metadata']['uid']}"
                raise conflict(resource, name, why)
            if not candidate["metadata"].get("resourceVersion") and not resource.unconditional_update:
                # store.go (Update): without AllowUnconditionalUpdate a PUT must name the version it replaces.
                detail = "Invalid value: 0x0: must be specified for an update"
                raise invalid(resource, name, [("metadata.resourceVersion", "FieldValueInvalid", detail)],
                              by_resource=True)
            return self._update(resource, stored, candidate, dry_run, subresource)

    def patch(
        self,
        resource: Resource,
        namespace: str | None,
        name: str,
        content_type: str,
        patch: Any,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> dict:
        patcher = PATCHERS[content_type]
        if content_type != "application/json-patch+json" and not isinstance(patch, dict):
            raise ApiError(400, "the body of a merge patch must be a JSON object")
        with self._lock:
            stored = self._stored(resource, namespace, name)
            try:
                patched = patcher(copy.deepcopy(stored), patch, resource.kind)
            except PatchError as exc:
                raise ApiError(422, str(exc)) from None
            if not isinstance(patched, dict):
                raise ApiError(422, "the patch did not produce an object")
            return self._update(resource, stored, typed(resource, patched), dry_run, subresource)

    def _update(
        self, resource: Resource, stored: dict, candidate: dict, dry_run: bool, subresource: str | None
    ) -> dict:
        """The shared end of PUT and PATCH: preconditions, identity, generation, version."""
        old, meta = stored["metadata"], candidate["metadata"]
        name = old["name"]
        if meta.get("name") != name:
            raise ApiError(
                400, f"the name of the object ({meta.get('name', '')}) does not match the name on the URL ({name})"
            )
        if resource.namespaced and (meta.get("namespace") or old["namespace"]) != old["namespace"]:
            raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
        if meta.get("resourceVersion") and meta["resourceVersion"] != old["resourceVersion"]:
            raise conflict(resource, name)
        if subresource == "status":
            updated = copy.deepcopy(stored)
            updated["status"] = candidate.get("status") or {}
        else:
            updated = candidate
            if resource.status:
                updated.pop("status", None)
                if "status" in stored:
                    updated["status"] = copy.deepcopy(stored["status"])
        system = ("name", "namespace", "creationTimestamp", "generation", "resourceVersion",
                  "deletionTimestamp", "deletionGracePeriodSeconds")
        for key in system:
            updated["metadata"].pop(key, None)
        updated["metadata"].update({k: old[k] for k in system if k in old})
        updated["metadata"]["uid"] = meta.get("uid") or old["uid"]  # BeforeUpdate: the old uid when none is given
        if subresource == "status" and (causes := meta_update_causes(updated, stored)):
            raise invalid(resource, name, causes + causes)  # the status strategies validate metadata too
        if subresource != "status":
            self._admit(resource, updated, stored)
            if resource.kind == "PersistentVolumeClaim":
                check_resize(resource, updated, stored, self._classes())  # validating admission, after validation
        if bumps_generation(resource, updated, stored):
            updated["metadata"]["generation"] = old.get("generation", 1) + 1
        if subresource != "status":
            self._reconcile(resource, updated, stored)
        if updated == stored:
            return copy.deepcopy(stored)  # a no-op write keeps its resourceVersion, as etcd does
        if old.get("deletionTimestamp") and not updated["metadata"].get("finalizers"):
            # store.go ShouldDeleteDuringUpdate: the last finalizer gone from an object being deleted deletes it.
            if not dry_run:
                del self._objects[self.key(resource, old.get("namespace"), name)]
                self._release_claims()
            return copy.deepcopy(updated)
        if not dry_run:
            updated["metadata"]["resourceVersion"] = self._bump()
            self._objects[self.key(resource, old.get("namespace"), name)] = updated
            self._release_claims()
        return copy.deepcopy(updated)

    def _admit(self, resource: Resource, obj: dict, old: dict | None) -> None:
        admit(resource, obj, old, self.mutators, self._allocate_ip)

    def _classes(self) -> list[dict]:
        return self.all(resource_for("storageclasses", "storage.k8s.io"))

    def _reconcile(self, resource: Resource, obj: dict, old: dict | None) -> None:
        """Do at once what a controller would do soon: roll Deployments out, bind and grow claims."""
        if resource.kind == "Deployment" and self.auto_rollout:
            obj["status"] = rolled_out(obj, (old or {}).get("status"))
        if resource.kind == "PersistentVolumeClaim" and old is None:
            bind(obj, self._classes())
        elif resource.kind == "PersistentVolumeClaim":
            follow_resize(obj)

    def delete(self, resource: Resource, namespace: str | None, name: str, options: Any, dry_run: bool = False) -> dict:
        preconditions = (options.get("preconditions") if isinstance(options, dict) else None) or {}
        with self._lock:
            stored = self._stored(resource, namespace, name)
            meta = stored["metadata"]
            for field_, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                wanted = preconditions.get(field_)
                actual = meta.get(field_)
                if wanted and wanted != actual:
                    why = f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: {actual}"
                    raise conflict(resource, name, why)
            if meta.get("finalizers"):
                return self._mark_deleted(resource, stored, dry_run)
            if not dry_run:
                del self._objects[self.key(resource, namespace, name)]
                self._release_claims()
        if resource.returns_deleted:
            return copy.deepcopy(stored)
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": status_details(resource, name, uid=meta["uid"]),
        }

    def _mark_deleted(self, resource: Resource, stored: dict, dry_run: bool) -> dict:
        """store.go (Delete, updateForGracefulDeletionAndFinalizers): an object with finalizers is not removed;
        it gets deletionTimestamp and stays until its finalizers are gone, and the answer is the object."""
        marked = copy.deepcopy(stored)
        meta = marked["metadata"]
        if not meta.get("deletionTimestamp"):
            meta.update(deletionTimestamp=now(), deletionGracePeriodSeconds=0)
            if not dry_run:
                meta["resourceVersion"] = self._bump()
                self._objects[self.key(resource, meta.get("namespace"), meta["name"])] = marked
                self._release_claims()
        return copy.deepcopy(marked)

    def _release_claims(self) -> None:
        """Play the pvcprotection controller: drop the finalizer of each claim no pod uses; remove the claim if
        that was its last."""
        pvcs = resource_for("persistentvolumeclaims")
        for key, claim in list(self._objects.items()):
            meta = claim["metadata"]
            if key[:3] != self.key(pvcs, None, "")[:3] or not meta.get("deletionTimestamp"):
                continue  # only a claim being deleted can be released: spare listing its users
            users = [user for plural, group in CLAIM_USERS
                     for user in self.all(resource_for(plural, group), meta.get("namespace"))]
            if not releasable(claim, users):
                continue
            meta["finalizers"] = [f for f in meta["finalizers"] if f != PVC_PROTECTION]
            if meta["finalizers"]:
                meta["resourceVersion"] = self._bump()
            else:
                del self._objects[key]

    # direct access for tests

    def seed(self, obj: dict) -> dict:
        """Store ``obj`` as given, filling the metadata the server owns (and its namespace, which it needs)."""
        resource = BY_KIND.get((obj.get("apiVersion"), obj.get("kind")))
        if resource is None:
            raise ValueError(f"the stand-in does not serve {obj.get('apiVersion')} {obj.get('kind')}")
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", now())
        if resource.namespaced:
            meta.setdefault("namespace", "default")
        if resource.generation:
            meta.setdefault("generation", 1)
        with self._lock:
            if resource.namespaced and self.key(NAMESPACES, None, meta["namespace"]) not in self._objects:
                self.seed(namespace_object(meta["namespace"]))  # an object cannot exist without its namespace
            meta["resourceVersion"] = self._bump()
            self._objects[self.key(resource, meta.get("namespace"), meta["name"])] = obj
        return copy.deepcopy(obj)

    def remove(self, resource: Resource, namespace: str | None, name: str) -> bool:
        """Take an object away at once, as if its controller had finished with it."""
        with self._lock:
            removed = self._objects.pop(self.key(resource, namespace, name), None) is not None
            self._release_claims()  # it may have been a claim's last user
            return removed
