"""Conversion and type helpers: ``int``, ``double``, ``string``, ``get_type``.

Per the "Expression helpers" reference: ``int()`` accepts a string or a double, ``double()``
a string or an integer, ``string()`` an integer, double or boolean. A value already of the
target type is returned unchanged (not a conversion; see docs/WORKFLOW_EXPRESSIONS.md).
There is no ``bool()`` in the reference, so there is none here.
"""

from __future__ import annotations

import math
import re
from typing import Any

from bp_flow.expr.values import (
    INT_MAX,
    INT_MIN,
    is_double,
    is_int,
    to_string,
    type_error,
    type_name,
    value_error,
)
from bp_flow.runtime import Runtime
from bp_flow.stdlib._model import Function, Param

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_DOUBLE_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def to_int(rt: Runtime, value: Any) -> int:
    """A string holding a decimal integer, or a double truncated toward zero."""
    if is_int(value):
        return int(value)
    if isinstance(value, str):
        if not _INT_TEXT.fullmatch(value):
            raise value_error(f"int: {value[:60]!r} is not an integer")
        result = int(value)
    elif is_double(value):
        result = math.trunc(value)
    else:
        raise type_error(f"int: cannot convert {type_name(value)} to an integer")
    if not INT_MIN <= result <= INT_MAX:
        raise value_error(f"int: {value!r} is outside the 64-bit integer range")
    return result


def to_double(rt: Runtime, value: Any) -> float:
    """A string holding a decimal number, or an integer."""
    if is_double(value):
        return float(value)
    if is_int(value):
        return float(value)
    if isinstance(value, str):
        if not _DOUBLE_TEXT.fullmatch(value):
            raise value_error(f"double: {value[:60]!r} is not a number")
        result = float(value)
        if not math.isfinite(result):
            raise value_error(f"double: {value[:60]!r} is outside the double range")
        return result
    raise type_error(f"double: cannot convert {type_name(value)} to a double")


def to_str(rt: Runtime, value: Any) -> str:
    """An integer, double or boolean as text (a string is returned unchanged)."""
    return to_string(value)


def get_type(rt: Runtime, value: Any) -> str:
    """The value's type: bool, bytes, double, integer, list, map, null or string."""
    return type_name(value)


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "int",
        (Param("value"),),
        to_int,
        True,
        "A string (decimal integer) or double (truncated toward zero) as an integer.",
    ),
    Function(
        "double",
        (Param("value"),),
        to_double,
        True,
        "A string (decimal number) or integer as a double.",
    ),
    Function(
        "string", (Param("value"),), to_str, True, "An integer, double or boolean as a string."
    ),
    Function(
        "get_type",
        (Param("value"),),
        get_type,
        True,
        "The type name: bool, bytes, double, integer, list, map, null or string.",
    ),
)
