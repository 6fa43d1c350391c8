"""Argument checks shared by the library functions: each returns the value with its
Python type, or raises the documented TypeError."""

from __future__ import annotations

from typing import Any

from bp_flow.expr.values import is_int, is_number, type_error, type_name


def _fail(fn: str, param: str, wanted: str, value: Any) -> Exception:
    return type_error(f"{fn}: {param} must be {wanted}, got {type_name(value)}")


def want_str(fn: str, param: str, value: Any) -> str:
    """A string argument."""
    if isinstance(value, str):
        return value
    raise _fail(fn, param, "a string", value)


def want_int(fn: str, param: str, value: Any) -> int:
    """An integer argument (a boolean is not one)."""
    if is_int(value):
        return int(value)
    raise _fail(fn, param, "an integer", value)


def want_number(fn: str, param: str, value: Any) -> int | float:
    """An integer or double argument."""
    if is_number(value):
        return value  # type: ignore[no-any-return]
    raise _fail(fn, param, "a number", value)


def want_bool(fn: str, param: str, value: Any) -> bool:
    """A boolean argument."""
    if isinstance(value, bool):
        return value
    raise _fail(fn, param, "a boolean", value)


def want_bytes(fn: str, param: str, value: Any) -> bytes:
    """A bytes argument."""
    if isinstance(value, bytes):
        return value
    raise _fail(fn, param, "bytes", value)


def want_list(fn: str, param: str, value: Any) -> list[Any]:
    """A list argument."""
    if isinstance(value, list):
        return value
    raise _fail(fn, param, "a list", value)


def want_map(fn: str, param: str, value: Any) -> dict[str, Any]:
    """A map argument."""
    if isinstance(value, dict):
        return value
    raise _fail(fn, param, "a map", value)
