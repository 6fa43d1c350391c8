"""Conversions int, double, string and the type helper get_type."""

from __future__ import annotations

from typing import Any

import pytest
from bp_flow.expr.values import INT_MAX, INT_MIN
from bp_flow.stdlib import retry
from hypothesis import given
from hypothesis import strategies as st

from tests.flow.expr_helpers import call, call_error


def typed(value: Any) -> tuple[type, Any]:
    """A value with its exact type."""
    return type(value), value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42", 42),
        ("-7", -7),
        ("+3", 3),
        ("007", 7),
        ("9223372036854775807", INT_MAX),
        ("-9223372036854775808", INT_MIN),
        (2.7, 2),
        (-2.7, -2),
        (0.0, 0),
        (1e18, 10**18),
        (5, 5),
    ],
)
def test_int(value: Any, expected: int) -> None:
    """int of a decimal string, or of a double truncated toward zero (cheat sheet: int(2.7))."""
    assert typed(call("int", value)) == typed(expected)


@pytest.mark.parametrize(
    "value",
    ["2.7", "", " 1", "1 ", "1_000", "0x10", "one", "1e3", "9223372036854775808", 1e19, -1e19],
)
def test_int_value_errors(value: Any) -> None:
    """Strings that are not decimal integers, and values outside 64 bits, are ValueErrors."""
    assert call_error("int", value).tags == ["ValueError"]


@pytest.mark.parametrize("value", [None, True, [1], {"a": 1}, b"1"])
def test_int_type_errors(value: Any) -> None:
    """int of a boolean, null or collection is a TypeError."""
    assert call_error("int", value).tags == ["TypeError"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2.7", 2.7),
        ("-0.5", -0.5),
        ("3", 3.0),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("5.", 5.0),
        (7, 7.0),
        (1.25, 1.25),
    ],
)
def test_double(value: Any, expected: float) -> None:
    """double of a decimal string or an integer (cheat sheet: double("2.7"))."""
    assert typed(call("double", value)) == typed(expected)


@pytest.mark.parametrize("value", ["", "abc", "nan", "inf", "Infinity", "1e999", "1,5", " 1"])
def test_double_value_errors(value: Any) -> None:
    """Non-numeric strings, special values and overflow are ValueErrors."""
    assert call_error("double", value).tags == ["ValueError"]


@pytest.mark.parametrize("value", [None, False, [], {}])
def test_double_type_errors(value: Any) -> None:
    """double of a boolean, null or collection is a TypeError."""
    assert call_error("double", value).tags == ["TypeError"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, "1"),
        (-12, "-12"),
        (1.7, "1.7"),
        (2.0, "2.0"),
        (True, "true"),
        (False, "false"),
        ("s", "s"),
    ],
)
def test_string(value: Any, expected: str) -> None:
    """string of an integer, double or boolean (cheat sheet: string(1.7))."""
    assert call("string", value) == expected


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, b"x"])
def test_string_type_errors(value: Any) -> None:
    """string of null, a collection or bytes is a TypeError."""
    assert call_error("string", value).tags == ["TypeError"]


@given(st.integers(min_value=INT_MIN, max_value=INT_MAX))
def test_int_string_round_trip(n: int) -> None:
    """int(string(n)) == n for every 64-bit integer."""
    assert call("int", call("string", n)) == n


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_double_string_round_trip(x: float) -> None:
    """double(string(x)) == x for every finite double."""
    assert call("double", call("string", x)) == x


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "bool"),
        (1, "integer"),
        (1.0, "double"),
        ("", "string"),
        (b"", "bytes"),
        ([], "list"),
        ({}, "map"),
        (retry.NEVER, "function"),
    ],
)
def test_get_type(value: Any, expected: str) -> None:
    """get_type names the value's type."""
    assert call("get_type", value) == expected
