"""The stand-in Kubernetes API server the tests drive the real client against: stdlib only, real HTTP.

It answers the way kube-apiserver does for the calls norn makes, so the real
``kubernetes`` client can be driven against it from a kubeconfig:

* namespaced resources under ``/api/v1/namespaces/{ns}/{plural}[/{name}]`` and
  ``/apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}]``, a ``/status``
  subresource, cluster-wide lists (``/apis/apps/v1/deployments``), namespaces
  themselves, and minimal discovery (``/version``, ``/api``, ``/apis``);
* create (201), get, list with label and field selectors (``SELECTABLE_FIELDS``), replace, patch and
  delete, with ``Status`` errors whose codes, reasons and messages match the
  real server's (AlreadyExists, NotFound, Conflict, Invalid, ...);
* a global resourceVersion counter; a stale resourceVersion on PUT or in a
  patch is a 409 Conflict; a write that changes nothing keeps the version, as
  etcd does; ``metadata.generation`` counts spec changes where the real server
  tracks it; ``?dryRun=All`` answers without storing; DeleteOptions
  ``preconditions`` (uid, resourceVersion) are honoured;
* what the decoder refuses with a 400: a Lease's MicroTimes not in RFC 3339
  with six fraction digits, Secret ``data`` that is not base64, a quantity
  ParseQuantity cannot read, a body of another kind or API version than the
  URL's; quantities are stored in canonical form (``quantity.py``: ``1024Mi``
  is read back as ``1Gi``);
* admission and validation: namespaces are objects (``default``,
  ``kube-system``, ``kube-public``, ``kube-node-lease`` exist; ``seed`` adds
  the namespace of what it seeds; ``add_namespace``, ``terminate_namespace``),
  and a create into a missing one is a 404 ``namespaces "x" not found``, into
  a terminating one a 403; label keys and values are checked; a
  resourceVersion on create is a 500; a PUT of a Lease without
  resourceVersion is a 422, and a PUT of a missing Lease creates it (its
  strategy's AllowUnconditionalUpdate and AllowCreateOnUpdate);
* finalizers: deleting an object that has some sets ``deletionTimestamp`` and
  answers the object; it goes when the last one is removed. PVCs get
  ``kubernetes.io/pvc-protection`` on create, which is removed (as the
  pvcprotection controller does) once no Pod, Deployment or Job in the
  namespace mounts the claim;
* a little of what controllers do, because tests wait on it: Services get a
  clusterIP, Secrets' ``stringData`` becomes ``data``, and Deployments roll
  out at once (``auto_rollout``; turn it off to keep a rollout pending);
  ``store.mutators`` change objects on create and update, as mutating
  admission webhooks do.

Patches, by Content-Type: ``application/merge-patch+json`` (RFC 7386);
``application/json-patch+json`` (RFC 6902: add, remove, replace, test, move,
copy); ``application/strategic-merge-patch+json`` as apimachinery's
strategicpatch applies it (``smp.py``): the merge keys and strategies of the
real structs by path (``smp_schema.py``), ``$patch`` (delete, replace),
``$retainKeys``, ``$setElementOrder``, ``$deleteFromPrimitiveList``, null
deletes, the real order of merged lists, and the real answers to what it
refuses (``smp_errors.py``). Anything else, server-side apply included, is a 415.

Updates (``update.py``) follow BeforeUpdate and the kinds' ValidateXUpdate: a
PATCH carrying another ``metadata.uid`` is a 422 (immutable), a PUT's uid a 409
precondition; no finalizer may be added to an object being deleted; a
Deployment's selector and a Service's clusterIPs are immutable; a claim's spec
is, but for a Bound claim's storage request, which may not shrink. StorageClasses
(``storage.k8s.io/v1``, a default ``standard`` that allows expansion) are served;
a new claim gets the default class and is Bound at once; growing it passes the
PersistentVolumeClaimResize admission (403 unless its class allows expansion)
and its capacity follows (``kinds/storageclasses.py``; a test makes the class
refuse with ``kubeapi.seed(storage_class("standard", default=True, expandable=False))``
or a PUT).

Not supported: watch (400), paging, YAML or protobuf bodies, graceful
deletion of pods, and the namespace controller (a terminating namespace stays
so).

For tests there is a request log, fault injection (a status, a delay, a
dropped connection, optionally after the request was applied), a global
latency, bearer-token checking and direct access to the stored objects
(``set_status`` plays a controller: a rollout under way, a crash-looping pod).

Where each part lives: ``server.py`` (``KubeAPI``, the facade tests use), ``routing.py`` (paths, discovery,
request -> store call), ``store.py`` (objects, versions, finalizers), ``admission/`` (decoding, names, labels,
specs), ``kinds/`` (each kind's defaults and controller stand-ins), ``patches.py``, ``selectors.py``,
``update.py`` (what an update may change), ``smp*.py``, ``errors.py`` (Status answers), ``faults.py``, ``cloudflared.py`` (the operator's objects); the HTTP scaffolding
shared with the Cloudflare stand-in is ``tests/standin_http``.
"""

from tests.kubeapi.server import (
    DEFAULT_CLOUDFLARED_CONFIG,
    Fault,
    KubeAPI,
    RequestRecord,
    seed_cloudflared,
    storage_class,
)

__all__ = ["DEFAULT_CLOUDFLARED_CONFIG", "Fault", "KubeAPI", "RequestRecord", "seed_cloudflared", "storage_class"]
