"""Workflows values over Python values: type names, equality, text forms and the JSON size
the engine measures against the memory limit."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bp_flow.errors import WorkflowError
from bp_flow.expr import values as v
from bp_flow.stdlib import retry
from hypothesis import given
from hypothesis import strategies as st

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=v.INT_MIN, max_value=v.INT_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "bool"),
        (False, "bool"),
        (0, "integer"),
        (-5, "integer"),
        (0.0, "double"),
        ("", "string"),
        (b"", "bytes"),
        ([], "list"),
        ({}, "map"),
        (retry.DEFAULT_RETRY_PREDICATE, "function"),
        (retry.DEFAULT_RETRY, "retry_policy"),
        (retry.DEFAULT_BACKOFF, "backoff"),
    ],
)
def test_type_names(value: Any, name: str) -> None:
    """Each Python representation maps to its Workflows type name; bool is not integer."""
    assert v.type_name(value) == name


def test_int_and_bool_are_distinct() -> None:
    """Python's True == 1 does not leak into Workflows equality or type checks."""
    assert not v.equals(True, 1)
    assert not v.equals(0, False)
    assert v.equals(True, True)
    assert not v.is_int(True)
    assert not v.is_number(False)
    assert v.is_int(3)
    assert v.is_double(3.0)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (1, 1.0, True),
        ([1, [2, {"a": None}]], [1.0, [2, {"a": None}]], True),
        ([1, [2, {"a": None}]], [1, [2, {"a": False}]], False),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),
        ({"a": 1}, {"a": 1, "b": None}, False),
        (b"x", b"x", True),
        (b"x", "x", False),
        (retry.ALWAYS, retry.ALWAYS, True),
        (retry.ALWAYS, retry.NEVER, False),
        (None, [], False),
    ],
)
def test_deep_equality(a: Any, b: Any, expected: bool) -> None:
    """Equality recurses into lists and maps and compares numbers by value."""
    assert v.equals(a, b) is expected
    assert v.equals(b, a) is expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1, "1"),
        (-42, "-42"),
        (1.7, "1.7"),
        (2.0, "2.0"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e20, "1e+20"),
        (1635892223.4459958, "1635892223.4459958"),
        (True, "true"),
        (False, "false"),
        ("s", "s"),
    ],
)
def test_to_string(value: Any, text: str) -> None:
    """Numbers and booleans as text: the shortest double that reads back exactly."""
    assert v.to_string(value) == text


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, b"x"])
def test_to_string_refuses_other_types(value: Any) -> None:
    """Null, lists, maps and bytes have no string form."""
    with pytest.raises(WorkflowError) as info:
        v.to_string(value)
    assert info.value.tags == ["TypeError"]


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -12345,
        1.5,
        1e-7,
        "",
        'héllo "q" \\ \n \u0001 ☃ \U0001f600',
        [],
        {},
        [1, [2, [3]]],
        {"k": {"é": [None, True]}},
    ],
)
def test_value_size_is_compact_json_utf8_length(value: Any) -> None:
    """value_size is the byte length of compact UTF-8 JSON."""
    expected = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    assert v.value_size(value) == expected


@given(json_values)
def test_value_size_property(value: Any) -> None:
    """For any JSON value, value_size equals the length of its compact UTF-8 JSON."""
    expected = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    assert v.value_size(value) == expected


def test_value_size_of_bytes_and_library_values() -> None:
    """Bytes count their length; library values a small constant (their name)."""
    assert v.value_size(b"\x00" * 100) == 100
    assert v.value_size({"b": b"abc"}) == len('{"b":}') + 3
    assert v.value_size(retry.DEFAULT_RETRY) == len("http.default_retry")


def test_value_size_refuses_foreign_objects() -> None:
    """Python objects that are not workflow values are a TypeError."""
    with pytest.raises(WorkflowError):
        v.value_size(object())


@pytest.mark.parametrize(
    ("n", "ok"),
    [(v.INT_MAX, True), (v.INT_MIN, True), (v.INT_MAX + 1, False), (v.INT_MIN - 1, False)],
)
def test_check_int_bounds(n: int, ok: bool) -> None:
    """64-bit bounds are inclusive."""
    if ok:
        assert v.check_int(n) == n
    else:
        with pytest.raises(WorkflowError) as info:
            v.check_int(n)
        assert info.value.tags == ["ValueError"]
