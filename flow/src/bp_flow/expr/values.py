"""Workflows values over plain Python values, and the operators' rules.

=============  ===========================  ==========================================
Workflows      Python                        notes
=============  ===========================  ==========================================
integer        ``int`` (never ``bool``)      64-bit signed; leaving the range is an error
double         ``float``                     always finite (an infinite result is an error)
string         ``str``
boolean        ``bool``                      distinct from integers: ``true == 1`` is false
null           ``None``
list           ``list``
map            ``dict`` with ``str`` keys    insertion order is kept
bytes          ``bytes``
=============  ===========================  ==========================================

Objects of the standard library that are values (retry predicates and policies) follow
the :class:`Opaque` protocol. Every rule here follows the "Data types, functions, operators" page
of the Cloud Workflows reference; where it is silent the strict choice is documented in
docs/WORKFLOW_EXPRESSIONS.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from bp_flow.errors import TYPE_ERROR, VALUE_ERROR, ZERO_DIVISION_ERROR, WorkflowError

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1


@runtime_checkable
class Opaque(Protocol):
    """A standard-library object used as a value (retry predicates and policies): not
    JSON-encodable, equal when their fields are. Recognised by these two attributes, so
    that the library needs no import of this package."""

    workflows_type: str
    name: str


def is_int(value: object) -> bool:
    """A Workflows integer (``bool`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_double(value: object) -> bool:
    """A Workflows double."""
    return isinstance(value, float)


def is_number(value: object) -> bool:
    """An integer or a double."""
    return is_int(value) or is_double(value)


def type_name(value: object) -> str:
    """The type's name as ``get_type`` returns it and as messages print it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, Opaque):
        return value.workflows_type
    return type(value).__name__


def type_error(message: str) -> WorkflowError:
    """A ``TypeError`` workflow error."""
    return WorkflowError.tagged(TYPE_ERROR, message)


def value_error(message: str) -> WorkflowError:
    """A ``ValueError`` workflow error."""
    return WorkflowError.tagged(VALUE_ERROR, message)


def check_int(value: int) -> int:
    """``value`` if it fits in 64 bits, else a ValueError (integer overflow)."""
    if INT_MIN <= value <= INT_MAX:
        return value
    raise value_error(f"integer overflow: the result {value} is outside the 64-bit range")


def check_double(value: float) -> float:
    """``value`` if finite, else a ValueError (double overflow)."""
    if math.isfinite(value):
        return value
    raise value_error("double overflow: the result is not a finite number")


# ---------------------------------------------------------------- equality and order


def equals(a: Any, b: Any) -> bool:
    """``a == b``: numbers by value (an integer equals the same double), lists and maps
    element by element, values of other different types are never equal."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equals(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equals(a[k], b[k]) for k in a)
    if type(a) is not type(b):
        return False
    return bool(a == b)


def order(a: Any, b: Any, op: str) -> bool:
    """``a < b`` and friends: numbers with numbers, strings with strings (by code point);
    anything else is a TypeError."""
    if (is_number(a) and is_number(b)) or (isinstance(a, str) and isinstance(b, str)):
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)
    raise type_error(f"'{op}' is not supported between {type_name(a)} and {type_name(b)}")


def contains(item: Any, container: Any) -> bool:
    """``item in container``: an element of a list, or a key of a map."""
    if isinstance(container, list):
        return any(equals(item, x) for x in container)
    if isinstance(container, dict):
        if not isinstance(item, str):
            raise type_error(f"'in' a map needs a string key, got {type_name(item)}")
        return item in container
    raise type_error(f"'in' needs a list or a map on its right, got {type_name(container)}")


# ---------------------------------------------------------------- arithmetic


def _operands(op: str, a: Any, b: Any) -> None:
    if not (is_number(a) and is_number(b)):
        raise type_error(f"unsupported operand types for {op}: {type_name(a)} and {type_name(b)}")


def add(a: Any, b: Any) -> Any:
    """``a + b``: numbers add, and a string with a string, number or boolean concatenates
    (the other operand converted as by ``string()``)."""
    if isinstance(a, str) or isinstance(b, str):
        if _concatenable(a) and _concatenable(b):
            return to_string(a) + to_string(b)
        raise type_error(f"unsupported operand types for +: {type_name(a)} and {type_name(b)}")
    _operands("+", a, b)
    return _arith(a, b, lambda x, y: x + y)


def _concatenable(value: Any) -> bool:
    return isinstance(value, str | bool) or is_number(value)


def sub(a: Any, b: Any) -> Any:
    """``a - b`` on numbers."""
    _operands("-", a, b)
    return _arith(a, b, lambda x, y: x - y)


def mul(a: Any, b: Any) -> Any:
    """``a * b`` on numbers."""
    _operands("*", a, b)
    return _arith(a, b, lambda x, y: x * y)


def _arith(a: Any, b: Any, fn: Callable[[Any, Any], Any]) -> Any:
    if is_int(a) and is_int(b):
        return check_int(fn(a, b))
    return check_double(fn(float(a), float(b)))


def div(a: Any, b: Any) -> float:
    """``a / b``: float division, always a double."""
    _operands("/", a, b)
    _nonzero("/", b)
    if is_int(a) and is_int(b):
        return check_double(a / b)
    return check_double(float(a) / float(b))


def floordiv(a: Any, b: Any) -> Any:
    """``a // b``: rounds down; integer for two integers, else a double."""
    _operands("//", a, b)
    _nonzero("//", b)
    if is_int(a) and is_int(b):
        return check_int(a // b)
    return check_double(float(a) // float(b))


def mod(a: Any, b: Any) -> Any:
    """``a % b``: the remainder of ``a // b`` (it has the sign of ``b``)."""
    _operands("%", a, b)
    _nonzero("%", b)
    if is_int(a) and is_int(b):
        return a % b
    return check_double(float(a) % float(b))


def _nonzero(op: str, b: Any) -> None:
    if b == 0:
        raise WorkflowError.tagged(ZERO_DIVISION_ERROR, f"division by zero in '{op}'")


def neg(a: Any) -> Any:
    """``-a`` on a number."""
    if is_int(a):
        return check_int(-a)
    if is_double(a):
        return -a
    raise type_error(f"bad operand type for unary -: {type_name(a)}")


def logical_not(a: Any) -> bool:
    """``not a`` on a boolean."""
    if isinstance(a, bool):
        return not a
    raise type_error(f"'not' needs a boolean, got {type_name(a)}")


def logical(op: str, a: Any, b: Any) -> bool:
    """``a and b`` / ``a or b``: both operands are booleans (both are evaluated)."""
    if not (isinstance(a, bool) and isinstance(b, bool)):
        raise type_error(f"'{op}' needs booleans, got {type_name(a)} and {type_name(b)}")
    return (a and b) if op == "and" else (a or b)


# ---------------------------------------------------------------- text forms


def format_double(value: float) -> str:
    """A double as text: the shortest form that reads back to the same value
    (``1.5``, ``2.0``, ``1e+20``)."""
    return repr(value)


def to_string(value: Any) -> str:
    """``string(value)`` for a string, number or boolean (TypeError otherwise)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_int(value):
        return str(value)
    if is_double(value):
        return format_double(value)
    raise type_error(f"cannot convert {type_name(value)} to string")


# ---------------------------------------------------------------- size


def value_size(value: Any) -> int:
    """The value's size in bytes as compact UTF-8 JSON (bytes count their length): what
    the engine measures against the 512 KB memory limit."""
    if value is None:
        return 4
    if isinstance(value, bool):
        return 4 if value else 5
    if is_int(value):
        return len(str(value))
    if is_double(value):
        return len(format_double(value))
    if isinstance(value, str):
        return len(json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, list):
        return 2 + max(len(value) - 1, 0) + sum(value_size(v) for v in value)
    if isinstance(value, dict):
        items = sum(value_size(str(k)) + 1 + value_size(v) for k, v in value.items())
        return 2 + max(len(value) - 1, 0) + items
    if isinstance(value, Opaque):
        return len(value.name)
    raise type_error(f"not a workflow value: {type_name(value)}")
