"""Operators on every type pair that matters: arithmetic with int/double promotion and
64-bit overflow, string concatenation, comparison, equality, membership, logic."""

from __future__ import annotations

import math
from typing import Any

import pytest
from bp_flow.expr.values import INT_MAX, INT_MIN
from hypothesis import given
from hypothesis import strategies as st

from tests.flow.expr_helpers import ev, ev_error

ints = st.integers(min_value=INT_MIN, max_value=INT_MAX)
doubles = st.floats(allow_nan=False, allow_infinity=False)


def typed(value: Any) -> tuple[type, Any]:
    """A value with its exact Python type (so 1 and 1.0 and True differ)."""
    return type(value), value


# ---------------------------------------------------------------- + - *


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2", 3),
        ("1 + 2.5", 3.5),
        ("2.5 + 1", 3.5),
        ("0.5 + 0.25", 0.75),
        ("1 + 1.0", 2.0),
        ("5 - 7", -2),
        ("5 - 0.5", 4.5),
        ("3 * 4", 12),
        ("3 * 0.5", 1.5),
        ("2.0 * 2", 4.0),
    ],
)
def test_arithmetic_promotes_int_to_double(text: str, expected: Any) -> None:
    """Two integers give an integer; a double on either side gives a double."""
    assert typed(ev(text)) == typed(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"ab" + "cd"', "abcd"),
        ('"n=" + 1', "n=1"),
        ('1 + "x"', "1x"),
        ('"d=" + 1.5', "d=1.5"),
        ('2.0 + "x"', "2.0x"),
        ('"b=" + true', "b=true"),
        ('false + "!"', "false!"),
        ('"" + -3', "-3"),
    ],
)
def test_plus_concatenates_strings_with_numbers_and_booleans(text: str, expected: str) -> None:
    """The reference's + table: a string with a string, integer, double or boolean is a string."""
    assert ev(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "true + 1",
        "1 + false",
        "true + true",
        "1.5 + true",
        'null + "a"',
        '"a" + null',
        "null + 1",
        "[1] + [2]",
        '{"a": 1} + {"b": 2}',
        '"a" + [1]',
        '{"a": 1} + "b"',
        '"a" - "b"',
        '"a" * 2',
        "2 * [1]",
        "true - false",
        "null * 1",
    ],
)
def test_arithmetic_type_errors(text: str) -> None:
    """Everything outside the reference's tables is a TypeError."""
    assert ev_error(text).tags == ["TypeError"]


def test_bytes_do_not_add() -> None:
    """Bytes (from a variable) are not numbers or strings."""
    assert ev_error("b + b", b=b"x").tags == ["TypeError"]
    assert ev_error('b + "x"', b=b"x").tags == ["TypeError"]


@pytest.mark.parametrize(
    "text",
    [
        "max + 1",
        "min - 1",
        "max * 2",
        "min * -1",
        "-min",
        "min // -1",
        "max + max",
    ],
)
def test_integer_overflow_is_a_value_error(text: str) -> None:
    """A result outside the 64-bit range raises ValueError instead of wrapping."""
    assert ev_error(text, max=INT_MAX, min=INT_MIN).tags == ["ValueError"]


@pytest.mark.parametrize("text", ["1e308 * 10", "-1e308 - 1e308", "1e308 / 0.1", "1e308 + 1e308"])
def test_double_overflow_is_a_value_error(text: str) -> None:
    """A double result that is not finite raises ValueError."""
    assert ev_error(text).tags == ["ValueError"]


def test_extreme_integers_that_fit() -> None:
    """The bounds themselves are fine."""
    assert ev("max - 1 + 1", max=INT_MAX) == INT_MAX
    assert ev("min + 1 - 1", min=INT_MIN) == INT_MIN
    assert ev("min % -1", min=INT_MIN) == 0


# ---------------------------------------------------------------- / // %


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 / 2", 3.5),
        ("6 / 3", 2.0),
        ("-7 / 2", -3.5),
        ("1 / 4.0", 0.25),
        ("7 // 2", 3),
        ("-7 // 2", -4),
        ("7 // -2", -4),
        ("7.5 // 2", 3.0),
        ("-7.5 // 2", -4.0),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("7 % -3", -2),
        ("7.5 % 2", 1.5),
        ("-7.5 % 2", 0.5),
        ("0 % 5", 0),
    ],
)
def test_division(text: str, expected: Any) -> None:
    """/ is float division (always a double); // floors; % has the divisor's sign."""
    assert typed(ev(text)) == typed(expected)


@pytest.mark.parametrize(
    "text", ["1 / 0", "1 / 0.0", "1.5 / 0", "7 // 0", "7.0 // 0.0", "7 % 0", "7.5 % 0"]
)
def test_division_by_zero(text: str) -> None:
    """Dividing by zero (integer or double) raises ZeroDivisionError."""
    assert ev_error(text).tags == ["ZeroDivisionError"]


def test_division_of_large_integers_is_correctly_rounded() -> None:
    """Integer / integer is rounded once, even beyond 2**53."""
    assert ev("a / b", a=2**62 + 1, b=3) == (2**62 + 1) / 3


# ---------------------------------------------------------------- unary


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-x", -4), ("-y", -1.5), ("- -x", 4), ("not t", False), ("not not t", True), ("-(-x)", 4)],
)
def test_unary_operators(text: str, expected: Any) -> None:
    """Unary minus on numbers, not on booleans."""
    assert typed(ev(text, x=4, y=1.5, t=True)) == typed(expected)


@pytest.mark.parametrize(
    "text", ['-"a"', "-true", "-null", "-[1]", "not 1", "not null", 'not "true"', "- not true"]
)
def test_unary_type_errors(text: str) -> None:
    """Unary minus needs a number; not needs a boolean."""
    assert ev_error(text).tags == ["TypeError"]


# ---------------------------------------------------------------- comparison


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 < 2", True),
        ("2 <= 2", True),
        ("3 > 2.5", True),
        ("2.0 >= 2", True),
        ("1 < 1.0", False),
        ('"a" < "b"', True),
        ('"B" < "a"', True),
        ('"10" < "9"', True),
        ('"abc" >= "abc"', True),
        ('"é" > "z"', True),
        ("max > max - 1", True),
    ],
)
def test_ordering(text: str, expected: bool) -> None:
    """Numbers compare by value across int and double; strings by code point."""
    assert ev(text, max=INT_MAX) is expected


def test_ordering_of_large_integers_and_doubles_is_exact() -> None:
    """2**53 + 1 is greater than the double 2**53 (no rounding in the comparison)."""
    assert ev("a > b", a=2**53 + 1, b=float(2**53)) is True


@pytest.mark.parametrize(
    "text",
    [
        '1 < "2"',
        '"a" > 1',
        "true < false",
        "null < 1",
        "null <= null",
        "[1] < [2]",
        '{"a": 1} > {}',
        "b < b",
    ],
)
def test_ordering_type_errors(text: str) -> None:
    """Ordering other types, or mixing types, is a TypeError."""
    assert ev_error(text, b=b"x").tags == ["TypeError"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 == 1.0", True),
        ("0 == -0.0", True),
        ("1 == 2", False),
        ("true == true", True),
        ("true == 1", False),
        ("1 == true", False),
        ("false == 0", False),
        ("null == null", True),
        ("null == 0", False),
        ('null == ""', False),
        ('"1" == 1', False),
        ("[1, 2] == [1, 2]", True),
        ("[1, 2] == [2, 1]", False),
        ("[1] == [1.0]", True),
        ("[1] == [true]", False),
        ("[] == {}", False),
        ('{"a": 1, "b": 2} == {"b": 2, "a": 1}', True),
        ('{"a": 1} == {"a": 1.0}', True),
        ('{"a": true} == {"a": 1}', False),
        ('{"a": 1} == {"a": 1, "b": 2}', False),
        ("1 != 1.0", False),
        ("true != 1", True),
        ('"x" != "y"', True),
        ("b == c", True),
        ("b == d", False),
        ('b == "x"', False),
    ],
)
def test_equality(text: str, expected: bool) -> None:
    """== compares numbers by value, collections deeply; bool is not a number; other mixes are unequal."""
    assert ev(text, b=b"x", c=b"x", d=b"y") is expected


# ---------------------------------------------------------------- in


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 in [1, 2]", True),
        ("3 in [1, 2]", False),
        ("1.0 in [1]", True),
        ("true in [1]", False),
        ("1 in [true]", False),
        ("null in [null]", True),
        ("[1] in [[1], 2]", True),
        ('"a" in {"a": 1}', True),
        ('"b" in {"a": 1}', False),
        ('"a" in {"x": {"a": 1}}', False),
        ("1 in []", False),
    ],
)
def test_membership(text: str, expected: bool) -> None:
    """in: an element of a list (by ==) or a key of a map."""
    assert ev(text) is expected


@pytest.mark.parametrize(
    "text", ['1 in {"a": 1}', '"a" in "abc"', "1 in null", "1 in 1", 'null in {"a": 1}']
)
def test_membership_type_errors(text: str) -> None:
    """in needs a list or map; a map needs a string key."""
    assert ev_error(text).tags == ["TypeError"]


# ---------------------------------------------------------------- logic


@pytest.mark.parametrize(("a", "b"), [(True, True), (True, False), (False, True), (False, False)])
def test_and_or_truth_tables(a: bool, b: bool) -> None:
    """and / or on booleans."""
    assert ev("a and b", a=a, b=b) is (a and b)
    assert ev("a or b", a=a, b=b) is (a or b)


@pytest.mark.parametrize(
    "text", ["1 and true", "true and 1", "null or false", 'false or "x"', "[] and true"]
)
def test_logic_needs_booleans(text: str) -> None:
    """Logical operators work only on booleans."""
    assert ev_error(text).tags == ["TypeError"]


def test_both_operands_are_evaluated() -> None:
    """No short-circuit: the right operand is evaluated even when the left decides."""
    assert ev_error("false and m.missing", m={}).tags == ["KeyError"]
    assert ev_error("true or undefined_var").tags == ["KeyError"]
    assert ev_error("false and 1").tags == ["TypeError"]


def test_operands_are_evaluated_left_to_right() -> None:
    """Function calls in operands run in source order."""
    from bp_flow.expr import parse_expression

    from tests.flow.expr_helpers import DictContext

    ctx = DictContext(functions={"f": lambda x: x})
    parse_expression("f(1) + f(2) * f(3)").evaluate(ctx)
    assert [args for _, args in ctx.calls] == [[1], [2], [3]]


# ---------------------------------------------------------------- properties


def _checked(value: int) -> int | None:
    return value if INT_MIN <= value <= INT_MAX else None


@given(ints, ints, st.sampled_from(["+", "-", "*"]))
def test_integer_arithmetic_matches_exact_arithmetic(a: int, b: int, op: str) -> None:
    """+ - * on integers give the exact result, or ValueError when it leaves 64 bits."""
    exact = {"+": a + b, "-": a - b, "*": a * b}[op]
    if _checked(exact) is None:
        assert ev_error(f"a {op} b", a=a, b=b).tags == ["ValueError"]
    else:
        assert typed(ev(f"a {op} b", a=a, b=b)) == typed(exact)


@given(ints, ints.filter(lambda n: n != 0))
def test_floor_division_and_remainder_identity(a: int, b: int) -> None:
    """a == (a // b) * b + a % b, with // rounding down (as Python)."""
    if a == INT_MIN and b == -1:
        assert ev_error("a // b", a=a, b=b).tags == ["ValueError"]
        return
    q, r = ev("a // b", a=a, b=b), ev("a % b", a=a, b=b)
    assert (q, r) == (a // b, a % b)
    assert q * b + r == a


@given(doubles, doubles, st.sampled_from(["+", "-", "*", "/"]))
def test_double_arithmetic_matches_ieee(a: float, b: float, op: str) -> None:
    """Double arithmetic is IEEE 754; non-finite results and division by zero are errors."""
    if op == "/" and b == 0:
        assert ev_error("a / b", a=a, b=b).tags == ["ZeroDivisionError"]
        return
    exact = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[op]
    if not math.isfinite(exact):
        assert ev_error(f"a {op} b", a=a, b=b).tags == ["ValueError"]
    else:
        assert typed(ev(f"a {op} b", a=a, b=b)) == typed(exact)


@given(ints, doubles)
def test_mixed_comparison_is_exact(a: int, b: float) -> None:
    """Integer/double comparisons compare the mathematical values."""
    assert ev("a < b", a=a, b=b) is (a < b)
    assert ev("a == b", a=a, b=b) is (a == b)
