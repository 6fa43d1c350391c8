"""The ``json`` module: ``decode``, ``encode`` (bytes) and ``encode_to_string``.

Encoding is compact (no spaces) unless ``indent`` is given: ``true`` (four spaces) or a
map ``{"prefix": ..., "indent": ...}``; every line after the first begins with ``prefix``
then one ``indent`` per nesting level. Map keys keep their order; bytes and library
objects cannot be encoded (ValueError). Decoding gives integers for JSON numbers without a
fraction or exponent that fit in 64 bits, doubles otherwise.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bp_flow.expr.values import INT_MAX, INT_MIN, type_error, type_name, value_error
from bp_flow.runtime import Runtime
from bp_flow.stdlib._check import want_str
from bp_flow.stdlib._model import Function, Param, opt


def _int_or_double(text: str) -> int | float:
    value = int(text)
    return value if INT_MIN <= value <= INT_MAX else float(value)


def _double(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is outside the double range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> Any:
    """The value of a JSON document (ValueError when it is not valid JSON)."""
    try:
        return json.loads(
            text, parse_int=_int_or_double, parse_float=_double, parse_constant=_no_constant
        )
    except RecursionError:
        raise value_error("json.decode: the document is nested too deeply") from None
    except ValueError as err:
        raise value_error(f"json.decode: not valid JSON: {err}") from None


def decode(rt: Runtime, data: Any) -> Any:
    """Bytes (UTF-8) or a string holding JSON, as a value."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise value_error("json.decode: the bytes are not valid UTF-8") from None
    if not isinstance(data, str):
        raise type_error(f"json.decode: data must be bytes or a string, got {type_name(data)}")
    return parse_json(data)


def _unencodable(value: Any) -> Any:
    raise value_error(f"a {type_name(value)} cannot be JSON-encoded")


def to_json(data: Any, indent: Any = None) -> str:
    """``data`` as JSON text (see the module docstring for ``indent``)."""
    options = _indent_options(indent)
    try:
        if options is None:
            return json.dumps(
                data,
                ensure_ascii=False,
                separators=(",", ":"),
                default=_unencodable,
                allow_nan=False,
            )
        prefix, step = options
        text = json.dumps(
            data,
            ensure_ascii=False,
            indent=step,
            separators=(",", ": "),
            default=_unencodable,
            allow_nan=False,
        )
    except RecursionError:
        raise value_error("json.encode: the value is nested too deeply") from None
    return text.replace("\n", "\n" + prefix) if prefix else text


def _indent_options(indent: Any) -> tuple[str, str] | None:
    if indent is None or indent is False:
        return None
    if indent is True:
        return "", "    "
    if not isinstance(indent, dict):
        raise type_error(f"json.encode: indent must be a boolean or a map, got {type_name(indent)}")
    unknown = set(indent) - {"prefix", "indent"}
    if unknown:
        raise type_error(f"json.encode: indent has unknown keys {sorted(unknown)}")
    prefix = want_str("json.encode", "indent.prefix", indent.get("prefix", ""))
    step = want_str("json.encode", "indent.indent", indent.get("indent", "    "))
    return prefix, step


def encode(rt: Runtime, data: Any, indent: Any) -> bytes:
    """``data`` as UTF-8 JSON bytes."""
    try:
        return to_json(data, indent).encode("utf-8")
    except UnicodeEncodeError:
        raise value_error("json.encode: a string is not valid Unicode") from None


def encode_to_string(rt: Runtime, data: Any, indent: Any) -> str:
    """``data`` as a JSON string."""
    return to_json(data, indent)


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "json.decode", (Param("data"),), decode, True, "Parse JSON from bytes (UTF-8) or a string."
    ),
    Function(
        "json.encode",
        (Param("data"), opt("indent")),
        encode,
        True,
        "Encode a value as JSON bytes (UTF-8); optional indentation.",
    ),
    Function(
        "json.encode_to_string",
        (Param("data"), opt("indent")),
        encode_to_string,
        True,
        "Encode a value as a JSON string; optional indentation.",
    ),
)
