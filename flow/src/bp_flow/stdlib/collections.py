"""Helpers on lists, maps and strings: ``default``, ``if``, ``len``, ``keys``, the ``map``
module (``get``, ``delete``, ``merge``, ``merge_nested``) and the ``list`` module
(``concat``, ``prepend``). Every function returns new containers; its inputs are never
changed."""

from __future__ import annotations

from typing import Any

from bp_flow.expr.values import type_error, type_name
from bp_flow.runtime import Runtime
from bp_flow.stdlib._check import want_list, want_map, want_str
from bp_flow.stdlib._model import Function, Param


def default(rt: Runtime, val: Any, default_val: Any) -> Any:
    """``val`` unless it is null, then ``default_val``."""
    return default_val if val is None else val


def if_(rt: Runtime, condition: Any, if_true: Any, if_false: Any) -> Any:
    """``if_true`` when ``condition`` is true; ``if_false`` when it is false or null."""
    if condition is None or condition is False:
        return if_false
    if condition is True:
        return if_true
    raise type_error(f"if: condition must be a boolean or null, got {type_name(condition)}")


def length(rt: Runtime, value: Any) -> int:
    """Characters of a string, elements of a list, entries of a map."""
    if isinstance(value, str | list | dict):
        return len(value)
    raise type_error(f"len: needs a string, list or map, got {type_name(value)}")


def keys(rt: Runtime, value: Any) -> list[str]:
    """The keys of a map, in insertion order."""
    return list(want_map("keys", "map", value))


def map_get(rt: Runtime, mapping: Any, keys_: Any) -> Any:
    """``mapping[key]``, or null when the key is absent or a value on the way is not a map;
    ``keys_`` is a string or a list of strings (a nested lookup)."""
    if isinstance(keys_, str):
        path = [keys_]
    elif isinstance(keys_, list) and all(isinstance(k, str) for k in keys_):
        path = keys_
    else:
        raise type_error(
            f"map.get: keys must be a string or a list of strings, got {type_name(keys_)}"
        )
    current = mapping
    for key in path:
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current


def map_delete(rt: Runtime, mapping: Any, key: Any) -> dict[str, Any]:
    """A copy of the map without ``key`` (unchanged copy when it is absent)."""
    source = want_map("map.delete", "map", mapping)
    name = want_str("map.delete", "key", key)
    return {k: v for k, v in source.items() if k != name}


def map_merge(rt: Runtime, first: Any, second: Any) -> dict[str, Any]:
    """The entries of both maps; ``second`` wins on equal keys."""
    a = want_map("map.merge", "first", first)
    b = want_map("map.merge", "second", second)
    return {**a, **b}


def map_merge_nested(rt: Runtime, first: Any, second: Any) -> dict[str, Any]:
    """Like ``map.merge``, but two maps under the same key are merged recursively."""
    a = want_map("map.merge_nested", "first", first)
    b = want_map("map.merge_nested", "second", second)
    return _merge_nested(a, b)


def _merge_nested(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merge_nested(out[key], value)
        else:
            out[key] = value
    return out


def list_concat(rt: Runtime, objs: Any, val: Any) -> list[Any]:
    """A copy of the list with ``val`` appended."""
    return [*want_list("list.concat", "objs", objs), val]


def list_prepend(rt: Runtime, objs: Any, val: Any) -> list[Any]:
    """A copy of the list with ``val`` in front."""
    return [val, *want_list("list.prepend", "objs", objs)]


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "default",
        (Param("val"), Param("defaultVal")),
        default,
        True,
        "val if it is not null, else defaultVal.",
    ),
    Function(
        "if",
        (Param("condition"), Param("ifTrue"), Param("ifFalse")),
        if_,
        True,
        "ifTrue if condition is true, ifFalse if it is false or null.",
    ),
    Function(
        "len",
        (Param("value"),),
        length,
        True,
        "Length of a string (characters), list (elements) or map (entries).",
    ),
    Function("keys", (Param("map"),), keys, True, "The keys of a map as a list of strings."),
    Function(
        "map.get",
        (Param("map"), Param("keys")),
        map_get,
        True,
        "Safe lookup: the value under a key or key path (list of keys), null if absent.",
    ),
    Function(
        "map.delete",
        (Param("map"), Param("key")),
        map_delete,
        True,
        "A copy of the map without the key.",
    ),
    Function(
        "map.merge",
        (Param("first"), Param("second")),
        map_merge,
        True,
        "Shallow merge of two maps; the second wins.",
    ),
    Function(
        "map.merge_nested",
        (Param("first"), Param("second")),
        map_merge_nested,
        True,
        "Recursive merge of two maps; the second wins.",
    ),
    Function(
        "list.concat",
        (Param("objs"), Param("val")),
        list_concat,
        True,
        "A copy of the list with the value appended.",
    ),
    Function(
        "list.prepend",
        (Param("objs"), Param("val")),
        list_prepend,
        True,
        "A copy of the list with the value prepended.",
    ),
)
