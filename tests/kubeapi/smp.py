"""Strategic merge patch as kube-apiserver applies it.

Follows kubernetes/apimachinery ``pkg/util/strategicpatch/patch.go`` (StrategicMergeMapPatch with
MergeParallelList and IgnoreUnmatchedNulls: mergeMap, mergeSlice, mergePatchIntoOriginal,
applyRetainKeysDirective, normalizeElementOrder) with the struct tags of ``smp_schema.py``, and answers its
errors as kubernetes/apiserver ``pkg/endpoints/handlers/patch.go`` (interpretStrategicMergePatchError) does:
the format errors are a 400, lists of lists a 422, and every other error (an unknown ``$patch``, a merge-list
item without its merge key) reaches ``responsewriters.ErrorToAPIStatus`` as a plain error: a 500 without a
reason, the message as the library words it (Go's ``%v`` of the map).
"""

from __future__ import annotations

import copy
from typing import Any

from tests.kubeapi.errors import ApiError
from tests.kubeapi.smp_errors import (
    BAD_PRIMITIVE_LIST,
    BAD_RETAIN_KEYS,
    BAD_SET_ORDER,
    GENERIC_422,
    bad_arg,
    find,
    go,
    internal,
    no_merge_key,
)
from tests.kubeapi.smp_schema import FieldMeta, lookup, root

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList"


def strategic_merge_patch(target: dict, patch: dict, kind: str) -> dict:
    """The object ``patch`` makes of ``target`` (neither is changed), as the typed round trip leaves it."""
    merged = _merge_map(copy.deepcopy(target), copy.deepcopy(patch), root(kind))
    return _decoded(merged)


def _decoded(value: Any) -> Any:
    """What FromUnstructured and the encoder leave: directive keys are no field of any type (dropped, the default
    fieldValidation being Warn), a null is an unset field, and an empty list is omitted (``omitempty`` on every
    list field but ``containers``)."""
    if isinstance(value, dict):
        return {k: _decoded(v) for k, v in value.items()
                if v is not None and not _is_directive(k) and (v != [] or k == "containers")}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def _is_directive(key: str) -> bool:
    return key in (DIRECTIVE, RETAIN_KEYS) or key.startswith((f"{SET_ORDER}/", f"{DELETE_PRIMITIVE}/"))


def _merge_map(original: Any, patch: dict, struct: str) -> dict:
    """mergeMap: a ``$patch`` directive, ``$retainKeys``, ``$setElementOrder``, then key by key."""
    if DIRECTIVE in patch:
        return _map_directive(patch)
    original = {} if original is None else original
    _retain_keys(original, patch)
    _set_element_orders(original, patch, struct)
    for key, value in patch.items():
        delete_list = key.startswith(DELETE_PRIMITIVE)
        if delete_list:
            key = _extract_key(key, DELETE_PRIMITIVE)
        if value is None:
            original.pop(key, None)
            continue
        if key not in original or type(original[key]) is not type(value):
            if not delete_list:
                _discard_nulls(value)
                kept, keep = _remove_directives(value)
                original.pop(key, None)
                if keep:
                    original[key] = kept
            continue
        meta = lookup(struct, key)
        if isinstance(value, dict):
            original[key] = _merge_map(original[key], value, meta.type)
        elif isinstance(value, list):
            original[key] = _merge_slice_field(original[key], value, meta, delete_list)
        else:
            original[key] = value
    return original


def _map_directive(patch: dict) -> dict:
    """handleDirectiveInMergeMap: ``replace`` keeps the patch alone, ``delete`` empties the map; no other value
    (``merge`` included) is known to it."""
    directive = patch[DIRECTIVE]
    if directive == "replace":
        return {k: v for k, v in patch.items() if k != DIRECTIVE}
    if directive == "delete":
        return {}
    raise internal(f"unknown patch type: {go(directive)} in map: {go(patch)}")


def _extract_key(key: str, prefix: str) -> str:
    head, slash, rest = key.partition("/")
    if head != prefix or not slash:
        raise ApiError(400, BAD_PRIMITIVE_LIST if prefix == DELETE_PRIMITIVE else BAD_SET_ORDER)
    return rest


def _retain_keys(original: dict, patch: dict) -> None:
    """applyRetainKeysDirective: every field the patch sets must be listed; the original keeps only those listed."""
    if RETAIN_KEYS not in patch:
        return
    kept = patch.pop(RETAIN_KEYS)
    if not isinstance(kept, list):
        raise ApiError(400, BAD_RETAIN_KEYS)
    for key, value in patch.items():
        if value is not None and not key.startswith((DELETE_PRIMITIVE, SET_ORDER)) and key not in kept:
            raise ApiError(400, BAD_RETAIN_KEYS)
    for key in [k for k in original if k not in kept]:
        del original[key]


def _set_element_orders(original: dict, patch: dict, struct: str) -> None:
    """mergePatchIntoOriginal: merge each list named by a ``$setElementOrder/<list>`` and order it by that list."""
    for directive in [k for k in patch if k.startswith(SET_ORDER)]:
        order = patch.pop(directive)
        if not isinstance(order, list):
            raise bad_arg("[]interface {}", order)
        name = _extract_key(directive, SET_ORDER)
        current, patched = original.get(name), patch.get(name)
        for found in (current, patched):
            if found is not None and not isinstance(found, list):
                raise bad_arg("[]interface {}", found)
        meta = lookup(struct, name)
        _check_order(patched or [], order, meta.key)
        if current is None and patched is None:
            continue
        if patched is None:
            merged = current
        elif current is None:
            merged = _remove_directives(patched)[0]
        else:
            merged = _merge_slice_field(current, patched, meta, False)
        in_order, server_only = _partition(merged, order, meta.key)
        kind = _element_kind(current or [], patched or [])
        seen = _aliased(current, patched, meta.key) if current and patched and meta.merge and kind is dict else current
        original[name] = _normalize(in_order, server_only, order, seen or [], meta.key, kind)
        patch.pop(name, None)


def _capacity(length: int) -> int:
    """The capacity of a list the server made from a typed object (ToUnstructured: exactly its length)."""
    return length


def _aliased(current: list, patched: list, key: str) -> list:
    """The live list as mergePatchIntoOriginal still sees it after mergeSlice changed it: Go's deletes
    (``append(s[:i], s[i+1:]...)``) shift items within the same array, and appends write into it while it has
    room, so the order it then keeps to is that array's, not the list's before the patch."""
    length, room = len(current), _capacity(len(current))
    array = current + [None] * (room - length)
    for item in patched:
        if isinstance(item, dict) and item.get(DIRECTIVE) == "delete":
            while (index := find(array[:length], key, item.get(key))) is not None:
                array[index:length - 1], length = array[index + 1:length], length - 1
    for item in patched:
        if isinstance(item, dict) and DIRECTIVE not in item and find(array[:length], key, item.get(key)) is None:
            if length >= room:
                break  # append reallocates: later writes are not seen
            array[length], length = item, length + 1
    return array[:len(current)]


def _check_order(patched: list, order: list, key: str) -> None:
    """validatePatchWithSetOrderList: the patch's items appear in the order list, in its order."""
    if not order or not patched:
        return
    items = [i for i in patched if not (isinstance(i, dict) and i.get(DIRECTIVE) == "delete")] if key else patched
    p = s = 0
    while p < len(items) and s < len(order):
        if isinstance(items[p], dict) and DIRECTIVE in items[p]:
            p += 1
            continue
        if _same_key(items[p], order[s], key):
            p += 1
        s += 1
    if p < len(items) and s >= len(order):
        raise internal(f"The order in patch list:\n{go(patched)}\n doesn't match {SET_ORDER} list:\n{go(order)}\n")


def _same_key(left: Any, right: Any, key: str) -> bool:
    """mergeKeyValueEqual."""
    if not key:
        return left == right
    for item in (left, right):
        if not isinstance(item, dict):
            raise bad_arg("map[string]interface {}", item)
        if key not in item:
            raise no_merge_key(item, key)
    return left[key] == right[key]


def _merge_slice_field(current: list, patched: list, meta: FieldMeta, delete_list: bool) -> list:
    """mergeSliceHandler: a list without the merge strategy is replaced (as sent, directives and all)."""
    if meta.merge or delete_list:
        return _merge_slice(current, patched, meta, delete_list)
    return patched


def _element_kind(*lists: list) -> type:
    """sliceElementType: the one type of every item; lists of lists are refused."""
    kinds = {type(v) for items in lists for v in items}
    if list in kinds:
        raise ApiError(422, GENERIC_422, details={})
    if len(kinds) > 1:
        raise internal(f"list element types are not identical: {go(list(lists))}")
    if not kinds:
        raise internal("no elements in any of the given slices")
    return kinds.pop()


def _merge_slice(current: list, patched: list, meta: FieldMeta, delete_list: bool) -> list:
    """mergeSlice: scalars union (or the ``$deleteFromPrimitiveList`` removal); maps merge on the merge key."""
    if not current and not patched:
        return current
    kind = _element_kind(current, patched)
    if kind is not dict:
        if delete_list:
            return [v for v in current if v not in patched]
        merged = _dedupe(current + patched)
    else:
        if not meta.key:
            raise internal(f"cannot merge lists without merge key for {meta.type}")
        current, patched = _special_items(current, patched, meta.key)
        merged = _merge_items(list(current), patched, meta)
    in_patch, server_only = _partition(merged, patched, meta.key)
    return _normalize(in_patch, server_only, patched, current, meta.key, kind)


def _special_items(current: list, patched: list, key: str) -> tuple[list, list]:
    """mergeSliceWithSpecialElements: ``{"$patch": "delete", key: v}`` removes, ``{"$patch": "replace"}`` makes
    the other items the whole list; ``merge`` and anything else is refused."""
    plain, replace = [], False
    for item in patched:
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == "delete":
            if key not in item:
                raise no_merge_key(item, key)
            while (index := find(current, key, item[key])) is not None:
                current = current[:index] + current[index + 1:]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise internal("merging lists cannot yet be specified in the patch")
        else:
            raise internal(f"unknown patch type: {go(directive)} in map: {go(item)}")
    return (plain, []) if replace else (current, plain)


def _merge_items(current: list, patched: list, meta: FieldMeta) -> list:
    """mergeSliceWithoutSpecialElements: an item whose key matches merges into it, a new one is appended."""
    for item in patched:
        if meta.key not in item:
            raise no_merge_key(item, meta.key)
        index = find(current, meta.key, item[meta.key])
        if index is None:
            current.append(item)
        else:
            current[index] = _merge_map(current[index], item, meta.type)
    return current


def _dedupe(items: list) -> list:
    """deduplicateScalars, whose swap-with-last order normalizeElementOrder then fixes."""
    items, last, i = list(items), len(items) - 1, 0
    while i < last:
        j = i + 1
        while j <= last:
            if items[i] == items[j]:
                items[j] = items[last]
                items, last, j = items[:last], last - 1, j - 1
            j += 1
        i += 1
    return items


def _partition(merged: list, by: list, key: str) -> tuple[list, list]:
    """partitionMapsByPresentInList / partitionPrimitivesByPresentInList: (in ``by``, server-only)."""
    if not key:
        return [v for v in merged if v in by], [v for v in merged if v not in by]
    inside, outside = [], []
    for item in merged:
        if not isinstance(item, dict):
            raise bad_arg("map[string]interface {}", item)
        if key not in item:
            raise no_merge_key(item, key)
        (outside if find(by, key, item[key]) is None else inside).append(item)
    return inside, outside


def _index(items: list, value: Any, key: str, kind: type) -> int:
    def get(item: Any) -> Any:
        return (item.get(key) if isinstance(item, dict) else None) if kind is dict else item

    return next((n for n, item in enumerate(items) if get(item) == get(value)), -1)


def _sort_by(items: list, order: list, key: str, kind: type) -> list:
    """normalizeSliceOrder: sort.SliceStable (an insertion sort on these short lists) with the library's
    comparator, which calls an item missing from ``order`` less; ``$patch: delete`` items go last."""
    if kind is dict:
        for item in items + order:
            if not isinstance(item, dict):
                raise bad_arg("map[string]interface {}", item)
            if key not in item:
                raise no_merge_key(item, key)
    deleted = [i for i in items if kind is dict and i.get(DIRECTIVE) == "delete"]
    items = [i for i in items if i not in deleted]

    def less(a: Any, b: Any) -> bool:
        ia, ib = _index(order, a, key, kind), _index(order, b, key, kind)
        return ia < ib if ia >= 0 and ib >= 0 else True

    for n in range(1, len(items)):
        j = n
        while j > 0 and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1
    return items + deleted


def _normalize(in_patch: list, server_only: list, patch_order: list, server_order: list, key: str, kind: type) -> list:
    """normalizeElementOrder and mergeSortedSlice: the patch's items in the patch's order, the server-only
    items slotted in where the live list had them."""
    right = _sort_by(in_patch, patch_order, key, kind)
    left = _sort_by(server_only, server_order, key, kind)
    merged, i, j = [], 0, 0
    while i < len(left) or j < len(right):
        if j >= len(right):
            merged.append(left[i])
            i += 1
        elif i >= len(left):
            merged.append(right[j])
            j += 1
        else:
            li, ri = _index(server_order, left[i], key, kind), _index(server_order, right[j], key, kind)
            if li >= 0 and ri >= 0 and li < ri:
                merged.append(left[i])
                i += 1
            else:
                merged.append(right[j])
                j += 1
    return merged


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """removeDirectives: a map holding ``$patch`` is dropped (False: do not keep it)."""
    if isinstance(value, dict):
        if DIRECTIVE in value:
            return None, False
        for key in list(value):
            kept, keep = _remove_directives(value[key])
            if keep:
                value[key] = kept
            else:
                del value[key]
        return value, True
    if isinstance(value, list):
        return [kept for kept, keep in map(_remove_directives, value) if keep], True
    return value, True


def _discard_nulls(value: Any) -> None:
    """discardNullValuesFromPatch: a null under a new key means nothing."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for v in value.values():
            _discard_nulls(v)
    elif isinstance(value, list):
        for v in value:
            _discard_nulls(v)
