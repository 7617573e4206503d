"""Strategic merge patch, as apimachinery's pkg/util/strategicpatch makes and applies it, for the fields norn writes.

An in-place update sends, per object, the two-way patch from what norn last applied to what it would apply now
(``two_way``, CreateTwoWayMergePatch); the plan applies it to the live object (``apply``, StrategicMergePatch)
to show what the server will store. Lists are merged or replaced whole as the k8s.io/api struct tags say
(``patchStrategy:"merge" patchMergeKey:...``); ``merge_key`` holds those norn's objects have.
A container's ``image`` and ``imagePullPolicy`` are the deploy pipeline's after the create: no patch or
field change ever names them.
"""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any, NamedTuple

import yaml

from norn.kube.quantity import same_quantity

NOT_NORNS = ("image", "imagePullPolicy")  # container fields the deploy pipeline changes

Path = tuple[str, ...]  # the map keys from the object's root; a list item adds nothing

# k8s.io/api: PodSpec (core/v1/types.go) containers, initContainers and imagePullSecrets by name, volumes by name
# with "merge,retainKeys"; Container ports by containerPort, env by name, volumeMounts by mountPath.
_POD_SPECS = (("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"))
_IN_POD_SPEC = {("volumes",): "name", ("imagePullSecrets",): "name"} | {
    (containers, *field): key
    for containers in ("containers", "initContainers")
    for field, key in (((), "name"), (("env",), "name"), (("ports",), "containerPort"),
                       (("volumeMounts",), "mountPath"))
}
_RETAIN_KEYS = ("volumes",)
_SERVICE_PORTS = ("spec", "ports")  # ServiceSpec.Ports: patchMergeKey "port"

SET_ORDER = "$setElementOrder/"
RETAIN_KEYS = "$retainKeys"
DIRECTIVE = "$patch"


def _in_pod_spec(path: Path) -> Path | None:
    for prefix in _POD_SPECS:
        if path[: len(prefix)] == prefix:
            return path[len(prefix):]
    return None


def merge_key(path: Path) -> str | None:
    """The merge key of the list at ``path``, or None for a list the patch replaces whole (envFrom, command...)."""
    if path == _SERVICE_PORTS:
        return "port"
    inner = _in_pod_spec(path)
    return _IN_POD_SPEC.get(inner) if inner is not None else None


def _retains_keys(path: Path) -> bool:
    return _in_pod_spec(path) == _RETAIN_KEYS


def _is_quantity(path: Path) -> bool:
    """resource.Quantity fields: the server keeps them in canonical form, so they compare by value."""
    return path[-1:] == ("sizeLimit",) or (len(path) >= 3 and path[-3] == "resources"
                                           and path[-2] in ("requests", "limits"))


def _json_kind(value: Any) -> str:
    """The JSON type, as reflect.TypeOf tells decoded values apart (a bool is not a number)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _same(old: Any, new: Any, path: Path) -> bool:
    return old == new or (_is_quantity(path) and same_quantity(old, new))


def _keyed(items: list, key: str) -> dict[str, Any]:
    """Items by the text of their merge key, as diffListsOfMaps matches them (fmt %v)."""
    return {str(item[key]): item for item in items}


def _merge_list(value: Any, path: Path) -> str | None:
    key = merge_key(path)
    return key if key and isinstance(value, list) and all(isinstance(i, dict) and key in i for i in value) else None


def _without_not_norns(value: Any, path: Path = ()) -> Any:
    """A copy without the containers' image and imagePullPolicy."""
    if isinstance(value, dict):
        container = _in_pod_spec(path) in (("containers",), ("initContainers",))
        return {k: _without_not_norns(v, path + (k,)) for k, v in value.items() if not (container and k in NOT_NORNS)}
    if isinstance(value, list):
        return [_without_not_norns(item, path) for item in value]
    return value


def two_way(old: dict, new: dict) -> dict | None:
    """The patch that turns ``old`` into ``new``, as CreateTwoWayMergePatch makes it (None when they are equal).

    A removed key is null, a removed merge-list item ``{"$patch": "delete", key: value}``, a changed item
    its merge key and what changed; a list without merge key is sent whole. ``$setElementOrder/<list>``
    comes with a merge list whose items changed or moved, ``$retainKeys`` with a changed volume.
    """
    patch = _diff_maps(_without_not_norns(old), _without_not_norns(new), (), retain=False)
    return patch or None


def _diff_maps(old: dict, new: dict, path: Path, retain: bool) -> dict:
    """diffMaps: added and changed keys from ``new``, null for keys ``old`` has and ``new`` has not."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        here = path + (key,)
        if key not in old or _json_kind(old[key]) != _json_kind(value):
            patch[key] = value
        elif isinstance(value, dict):
            if sub := _diff_maps(old[key], value, here, retain=False):
                patch[key] = sub
        elif (mkey := _merge_list(value, here)) and _merge_list(old[key], here):
            patch.update(_diff_lists(key, old[key], value, here, mkey))
        elif not _same(old[key], value, here):
            patch[key] = value
    patch.update({key: None for key in old if key not in new})
    # $retainKeys: the keys to keep, whenever something changed (a key that went is a change: its null).
    if retain and patch:
        patch[RETAIN_KEYS] = sorted(k for k, v in new.items() if v is not None)
    return patch


def _diff_lists(name: str, old: list, new: list, path: Path, key: str) -> dict:
    """diffLists for a list of maps: the changed and added items in ``new``'s order, then the deletions;
    ``$setElementOrder`` when there are any, or when the order changed. A list that was empty is sent whole."""
    if not old:
        return {name: new} if new else {}
    before, after = _keyed(old, key), _keyed(new, key)
    items = []
    for item in new:
        if (was := before.get(str(item[key]))) is None:
            items.append(item)
        elif changed := _diff_maps(was, item, path, retain=_retains_keys(path)):
            items.append(changed | {key: item[key]})
    # Deletions follow, sorted by the text of their key (diffListsOfMaps walks both lists sorted).
    items += [{DIRECTIVE: "delete", key: before[k][key]} for k in sorted(before) if k not in after]
    moved = [str(i[key]) for i in old] != [str(i[key]) for i in new]
    patch: dict[str, Any] = {name: items} if items else {}
    if (items or moved) and new:
        patch[SET_ORDER + name] = [{key: item[key]} for item in new]
    return patch


def apply(obj: dict, patch: dict | None) -> dict:
    """``obj`` with ``patch`` applied as StrategicMergePatch applies the directives ``two_way`` makes."""
    return _merge_map(copy.deepcopy(obj), copy.deepcopy(patch or {}), ())


def _merge_map(original: dict, patch: dict, path: Path) -> dict:
    """mergeMap: $retainKeys first, then each key; null deletes; a merge list merges, anything else replaces;
    then each list with a $setElementOrder is put in that order (mergePatchIntoOriginal)."""
    if (keep := patch.pop(RETAIN_KEYS, None)) is not None:
        original = {k: v for k, v in original.items() if k in keep}
    orders = {k[len(SET_ORDER):]: patch.pop(k) for k in list(patch) if k.startswith(SET_ORDER)}
    servers = {name: [_key_of(i, merge_key(path + (name,))) for i in original.get(name) or []] for name in orders}
    for key, value in patch.items():
        here = path + (key,)
        if value is None:
            original.pop(key, None)
        elif key not in original or _json_kind(original[key]) != _json_kind(value):
            original[key] = _without_directives(value)
        elif isinstance(value, dict):
            original[key] = _merge_map(original[key], value, here)
        elif (mkey := merge_key(here)) and isinstance(value, list):
            original[key], servers[key] = _merge_items(original[key], value, here, mkey)
        else:
            original[key] = value
    for name, order in orders.items():
        if isinstance(original.get(name), list) and (mkey := merge_key(path + (name,))):
            original[name] = _ordered(original[name], [o[mkey] for o in order], servers[name], mkey)
    return original


def _key_of(item: Any, key: str | None) -> Any:
    return item.get(key) if isinstance(item, dict) and key else None


def _without_directives(value: Any) -> Any:
    """A new value as the server stores it: mergeMap drops items with a $patch directive (removeDirectives) and
    null fields; decoding into the typed object (applyPatchToObject in the apiserver's handlers/patch.go) drops
    what else starts with '$' (a $retainKeys of an item the live list lacked)."""
    if isinstance(value, dict):
        return {k: _without_directives(v) for k, v in value.items() if v is not None and not k.startswith("$")}
    if isinstance(value, list):
        return [_without_directives(i) for i in value if not (isinstance(i, dict) and DIRECTIVE in i)]
    return value


def _merge_items(original: list, patch: list, path: Path, key: str) -> tuple[list, list]:
    """mergeSlice: deletions, then each item merged into the one with its key or appended, then ordered.

    Also the keys the original list's array holds afterwards, which $setElementOrder then orders by: Go
    deletes in place (deleteMatchingEntries shifts the rest left) and appends into the room that leaves.
    """
    server = [item.get(key) for item in original]
    merged = list(original)
    for gone in (i[key] for i in patch if i.get(DIRECTIVE) == "delete"):
        while (at := next((n for n, have in enumerate(merged) if have.get(key) == gone), None)) is not None:
            server[at:len(merged) - 1] = server[at + 1:len(merged)]
            del merged[at]
    kept = [i.get(key) for i in merged]
    for item in (i for i in patch if DIRECTIVE not in i):
        at = next((n for n, have in enumerate(merged) if have.get(key) == item[key]), None)
        if at is not None:
            merged[at] = _merge_map(merged[at], item, path)
            continue
        if len(merged) < len(server):
            server[len(merged)] = item[key]
        merged.append(_without_directives(item))
    return _ordered(merged, [i[key] for i in patch if DIRECTIVE not in i], kept, key), server


def _ordered(merged: list, order: list, server: list, key: str) -> list:
    """normalizeElementOrder: the patch's items in ``order``, the server's others in their order, merged so
    that a server item goes before a patch item it preceded in ``server``, a list of keys (mergeSortedSlice)."""
    position = {value: n for n, value in enumerate(order)}
    ours = sorted((i for i in merged if i.get(key) in position), key=lambda i: position[i[key]])
    theirs = [i for i in merged if i.get(key) not in position]
    where: dict[Any, int] = {}
    for n, value in enumerate(server):
        where.setdefault(value, n)
    result = []
    while ours or theirs:
        first, other = (theirs[0].get(key), ours[0][key]) if ours and theirs else (None, None)
        if theirs and (not ours or (first in where and other in where and where[first] < where[other])):
            result.append(theirs.pop(0))
        else:
            result.append(ours.pop(0))
    return result


def project(live: Any, shape: Any, path: Path = ()) -> Any:
    """``live`` restricted to the keys ``shape`` has, recursively; merge-list items matched by their key (in
    live's order; shape's items live lacks are left out); any other list kept whole, as a patch replaces it.
    So ``two_way(project(live, desired), desired)`` restores norn's fields and touches nothing else."""
    if isinstance(live, dict) and isinstance(shape, dict):
        return {k: project(live[k], shape[k], path + (k,)) for k in shape if k in live}
    if (key := _merge_list(live, path)) and _merge_list(shape, path):
        wanted = _keyed(shape, key)
        return [project(item, wanted[str(item[key])], path) for item in live if str(item[key]) in wanted]
    return live


class Change(NamedTuple):
    """One field that differs: a readable path, what it was and what it becomes (None: absent)."""

    path: str
    from_: Any
    to: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "from": self.from_, "to": self.to}


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_$-]+$")


def _step(text: str, key: str) -> str:
    part = key if _PLAIN_KEY.match(key) else f'["{key}"]'
    return f"{text}.{part}" if text and not part.startswith("[") else text + part


def field_changes(old: Any, new: Any) -> list[Change]:
    """Each leaf that differs (quantities by value), with paths such as ``spec.replicas``,
    ``spec.template.spec.containers[name=web].env[name=LOG_LEVEL]``; an added or removed key or merge-list
    item is one change; a list without merge key changes whole. Never the containers' image or pull policy."""
    return _changes(_without_not_norns(old), _without_not_norns(new), (), "")


def _changes(old: Any, new: Any, path: Path, text: str) -> list[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in [*new, *(k for k in old if k not in new)]:
            here, label = path + (key,), _step(text, key)
            if key not in old or key not in new:
                found.append(Change(label, old.get(key), new.get(key)))
            else:
                found += _changes(old[key], new[key], here, label)
        return found
    if (key := _merge_list(old, path)) and _merge_list(new, path):
        before, after = _keyed(old, key), _keyed(new, key)
        found = []
        for name in [*after, *(k for k in before if k not in after)]:
            found += _changes(before.get(name), after.get(name), path, f"{text}[{key}={name}]")
        return found
    return [] if _same(old, new, path) else [Change(text, old, new)]


def diff_name(obj: dict) -> str:
    """The file name kubectl diff gives an object: ``[group.]version.Kind.namespace.name``
    (kubectl pkg/cmd/diff/diff.go, InfoObject.Name)."""
    group, _, version = obj.get("apiVersion", "").rpartition("/")
    meta = obj.get("metadata") or {}
    return ".".join(([group] if group else []) + [version, obj.get("kind", ""), meta.get("namespace", ""),
                                                   meta.get("name", "")])


class _KubectlYAML(yaml.SafeDumper):
    """Strings that would read as another type ("7", "true") or are empty in double quotes, as kubectl's
    sigs.k8s.io/yaml prints them (PyYAML would use single quotes)."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    plain_tag = dumper.resolve(yaml.ScalarNode, value, (True, False))
    style = '"' if value == "" or plain_tag != "tag:yaml.org,2002:str" else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_KubectlYAML.add_representer(str, _string)


def _as_yaml(obj: dict) -> list[str]:
    """YAML as kubectl diff prints it: block style, keys sorted, without metadata.managedFields."""
    shown = dict(obj)
    if isinstance(obj.get("metadata"), dict):
        shown["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    return yaml.dump(shown, Dumper=_KubectlYAML, default_flow_style=False, sort_keys=True, width=2**31).splitlines()


def unified_diff(before: dict, after: dict, name: str | None = None) -> str:
    """A unified diff of the two objects as YAML, its files named as kubectl diff names them
    (``LIVE/...`` and ``MERGED/...``); empty when they are the same."""
    name = name or diff_name(after)
    lines = difflib.unified_diff(_as_yaml(before), _as_yaml(after), f"LIVE/{name}", f"MERGED/{name}", lineterm="")
    return "".join(line + "\n" for line in lines)
