"""How the strategic merge patch words its errors, and the answer each becomes (``smp.py``).

apimachinery ``pkg/util/mergepatch/errors.go`` words them with Go's ``%v`` of the JSON values; apiserver
``pkg/endpoints/handlers/patch.go`` interpretStrategicMergePatchError makes the format errors a 400, lists of
lists a 422, and leaves the rest plain errors, which ``responsewriters.ErrorToAPIStatus`` answers with a 500
and no reason.
"""

from __future__ import annotations

from typing import Any

from tests.kubeapi.errors import ApiError

# mergepatch.Err* (pkg/util/mergepatch/errors.go)
BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
BAD_SET_ORDER = "invalid patch format of setElementOrder list"
GENERIC_422 = "the server rejected our request due to an error in our request"  # NewGenericServerResponse


def go(value: Any) -> str:
    """Go's ``%v`` of a decoded JSON value: ``map[name:web port:80]`` (keys sorted), ``[a b]``, ``<nil>``."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def go_type(value: Any) -> str:
    names = {dict: "map[string]interface {}", list: "[]interface {}", str: "string", bool: "bool",
             int: "int64", float: "float64"}
    return names.get(type(value), "<nil>")


def internal(message: str) -> ApiError:
    return ApiError(500, message, reason="")


def no_merge_key(item: dict, key: str) -> ApiError:
    return internal(f"map: {go(item)} does not contain declared merge key: {key}")


def bad_arg(expected: str, actual: Any) -> ApiError:
    return internal(f"expected a {expected}, but received a {go_type(actual)}")


def find(items: list, key: str, value: Any) -> int | None:
    """findMapInSliceBasedOnKeyValue: the index of the first map whose ``key`` is ``value``."""
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise internal(f"value for key {n} is not a map")
        if key in item and item[key] == value:
            return n
    return None
