"""default, if, len, keys and the map and list modules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flow.expr_helpers import call, call_error, ev, ev_error


@pytest.mark.parametrize(
    ("val", "fallback", "expected"),
    [
        (None, "d", "d"),
        ("v", "d", "v"),
        (0, 5, 0),
        (False, True, False),
        ("", "d", ""),
        ([], [1], []),
        (None, None, None),
    ],
)
def test_default(val: Any, fallback: Any, expected: Any) -> None:
    """default returns val unless it is null (falsy values are kept)."""
    assert call("default", val, fallback) == expected


def test_default_with_map_get() -> None:
    """The documented idiom: default(map.get(m, key), fallback)."""
    assert ev('default(map.get(m, "k"), "none")', m={}) == "none"
    assert ev('default(map.get(m, "k"), "none")', m={"k": "v"}) == "v"


def test_default_does_not_catch_missing_keys() -> None:
    """Arguments are evaluated first, so a missing key is still a KeyError."""
    assert ev_error('default(m.k, "none")', m={}).tags == ["KeyError"]


@pytest.mark.parametrize(("cond", "expected"), [(True, "yes"), (False, "no"), (None, "no")])
def test_if(cond: Any, expected: str) -> None:
    """if returns ifTrue for true and ifFalse for false or null."""
    assert call("if", cond, "yes", "no") == expected


@pytest.mark.parametrize("cond", [1, 0, "true", [], {}])
def test_if_needs_a_boolean_or_null(cond: Any) -> None:
    """Any other condition is a TypeError."""
    assert call_error("if", cond, 1, 2).tags == ["TypeError"]


def test_if_in_an_expression() -> None:
    """if is callable by name in expressions."""
    assert ev('if(n > 1, "many", "one")', n=3) == "many"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", 0),
        ("abc", 3),
        ("héllo", 5),
        ("\U0001f600", 1),
        ([], 0),
        ([1, [2, 3]], 2),
        ({}, 0),
        ({"a": 1, "b": 2}, 2),
    ],
)
def test_len(value: Any, expected: int) -> None:
    """len counts characters of a string, elements of a list, entries of a map."""
    assert call("len", value) == expected


@pytest.mark.parametrize("value", [None, 1, 1.5, True, b"ab"])
def test_len_type_errors(value: Any) -> None:
    """len of anything else is a TypeError."""
    assert call_error("len", value).tags == ["TypeError"]


def test_keys() -> None:
    """keys lists a map's keys in insertion order."""
    assert call("keys", {"b": 1, "a": 2, "c": None}) == ["b", "a", "c"]
    assert call("keys", {}) == []
    assert call_error("keys", [1]).tags == ["TypeError"]
    assert call_error("keys", None).tags == ["TypeError"]


# ---------------------------------------------------------------- map


@pytest.mark.parametrize(
    ("mapping", "keys", "expected"),
    [
        ({"key1": "hello", "key2": "world"}, "key2", "world"),
        ({"a": 1}, "b", None),
        ({"a": None}, "a", None),
        ("not a map", "a", None),
        (None, "a", None),
        ([1, 2], "a", None),
        ({"k1": {"k2": 7}}, ["k1", "k2"], 7),
        ({"k1": {"k2": 7}}, ["k1", "x"], None),
        ({"k1": 5}, ["k1", "k2"], None),
        ({"k1": {"k2": {"k3": [1]}}}, ["k1", "k2", "k3"], [1]),
        ({"a": 1}, [], {"a": 1}),
    ],
)
def test_map_get(mapping: Any, keys: Any, expected: Any) -> None:
    """Safe lookup by key or key path; null when absent or not a map on the way."""
    assert call("map.get", mapping, keys) == expected


@pytest.mark.parametrize("keys", [1, None, ["a", 1], [["a"]], True])
def test_map_get_key_type_errors(keys: Any) -> None:
    """keys must be a string or a list of strings."""
    assert call_error("map.get", {"a": 1}, keys).tags == ["TypeError"]


def test_map_delete() -> None:
    """map.delete returns a copy without the key; the input is unchanged."""
    source = {"a": 1, "b": 2}
    assert call("map.delete", source, "a") == {"b": 2}
    assert call("map.delete", source, "zz") == {"a": 1, "b": 2}
    assert call("map.delete", source, "zz") is not source
    assert source == {"a": 1, "b": 2}
    assert call_error("map.delete", [1], "a").tags == ["TypeError"]
    assert call_error("map.delete", source, 1).tags == ["TypeError"]


def test_map_merge() -> None:
    """map.merge is shallow; the second map wins; inputs are unchanged."""
    a, b = {"x": 1, "n": {"p": 1}}, {"y": 2, "n": {"q": 2}}
    assert call("map.merge", a, b) == {"x": 1, "n": {"q": 2}, "y": 2}
    assert a == {"x": 1, "n": {"p": 1}}
    assert call("map.merge", {}, {}) == {}
    assert call_error("map.merge", {}, None).tags == ["TypeError"]
    assert call_error("map.merge", "a", {}).tags == ["TypeError"]


def test_map_merge_nested() -> None:
    """map.merge_nested merges maps under the same key recursively; other values are replaced."""
    a = {"n": {"p": 1, "deep": {"x": 1}}, "l": [1], "s": "a"}
    b = {"n": {"q": 2, "deep": {"y": 2}}, "l": [2], "s": {"now": "map"}}
    assert call("map.merge_nested", a, b) == {
        "n": {"p": 1, "deep": {"x": 1, "y": 2}, "q": 2},
        "l": [2],
        "s": {"now": "map"},
    }
    assert a == {"n": {"p": 1, "deep": {"x": 1}}, "l": [1], "s": "a"}
    assert call("map.merge_nested", {"a": {"b": 1}}, {"a": 5}) == {"a": 5}
    assert call_error("map.merge_nested", {}, [1]).tags == ["TypeError"]


# ---------------------------------------------------------------- list


def test_list_concat_and_prepend() -> None:
    """list.concat appends and list.prepend prepends one value, on a copy."""
    source = [1, 2]
    assert call("list.concat", source, 3) == [1, 2, 3]
    assert call("list.concat", source, [3]) == [1, 2, [3]]
    assert call("list.prepend", source, 0) == [0, 1, 2]
    assert call("list.concat", [], None) == [None]
    assert source == [1, 2]


@pytest.mark.parametrize("name", ["list.concat", "list.prepend"])
@pytest.mark.parametrize("objs", [None, "ab", {"a": 1}, 1])
def test_list_functions_need_a_list(name: str, objs: Any) -> None:
    """The first argument must be a list."""
    assert call_error(name, objs, 1).tags == ["TypeError"]


def test_cheat_sheet_list_idiom() -> None:
    """The cheat sheet's `my_list: ${list.concat(my_list, 3)}` grows the list."""
    assert ev("list.concat(my_list, 3)", my_list=["zero", "one", "two"]) == [
        "zero",
        "one",
        "two",
        3,
    ]
