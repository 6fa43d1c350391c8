"""The ``math`` module: ``abs``, ``floor``, ``max``, ``min`` on integers and doubles.

``abs`` keeps the type; ``floor`` returns an integer; ``max``/``min`` return the chosen
argument unchanged (an integer stays an integer), the first one when they are equal.
"""

from __future__ import annotations

import math
from typing import Any

from bp_flow.expr.values import check_int, is_int
from bp_flow.runtime import Runtime
from bp_flow.stdlib._check import want_number
from bp_flow.stdlib._model import Function, Param


def abs_(rt: Runtime, x: Any) -> int | float:
    """The absolute value, of the same type."""
    value = want_number("math.abs", "x", x)
    if is_int(value):
        return check_int(abs(int(value)))
    return abs(value)


def floor(rt: Runtime, x: Any) -> int:
    """The largest integer not greater than ``x``."""
    value = want_number("math.floor", "x", x)
    return check_int(math.floor(value))


def max_(rt: Runtime, x: Any, y: Any) -> int | float:
    """The larger of two numbers."""
    a, b = want_number("math.max", "x", x), want_number("math.max", "y", y)
    return b if b > a else a


def min_(rt: Runtime, x: Any, y: Any) -> int | float:
    """The smaller of two numbers."""
    a, b = want_number("math.min", "x", x), want_number("math.min", "y", y)
    return b if b < a else a


FUNCTIONS: tuple[Function, ...] = (
    Function("math.abs", (Param("x"),), abs_, True, "Absolute value (same type)."),
    Function(
        "math.floor",
        (Param("x"),),
        floor,
        True,
        "The largest integer not greater than x, as an integer.",
    ),
    Function("math.max", (Param("x"), Param("y")), max_, True, "The larger of two numbers."),
    Function("math.min", (Param("x"), Param("y")), min_, True, "The smaller of two numbers."),
)
