"""The json module: decode from bytes or strings, encode to bytes or a string, indentation,
errors, and round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bp_flow.expr.values import INT_MAX, INT_MIN, equals
from bp_flow.stdlib import retry
from hypothesis import given
from hypothesis import strategies as st

from tests.flow.expr_helpers import call, call_error, ev

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=INT_MIN, max_value=INT_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ('{"a": [1, 2.5, "x", true, null]}', {"a": [1, 2.5, "x", True, None]}),
        (b'{"k": "\xc3\xa9"}', {"k": "é"}),
        ("  [ ]  ", []),
        ('"s"', "s"),
        ("7", 7),
        ("-0", 0),
        ("1.0", 1.0),
        ("1e2", 100.0),
        ("9223372036854775807", INT_MAX),
        ('"\\u00e9\\n"', "é\n"),
        ('{"a": 1, "a": 2}', {"a": 2}),
    ],
)
def test_decode(data: Any, expected: Any) -> None:
    """Bytes (UTF-8) or a string of JSON: any JSON value, numbers typed by their form."""
    value = call("json.decode", data)
    assert value == expected
    assert type(value) is type(expected)


def test_decode_big_integers_become_doubles() -> None:
    """An integer beyond 64 bits is decoded as a double."""
    value = call("json.decode", "92233720368547758070")
    assert type(value) is float
    assert value == 9.223372036854776e19


@pytest.mark.parametrize(
    "data",
    [
        "",
        "{",
        "[1,]",
        "{'a': 1}",
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999",
        "tru",
        "[1] x",
        b"\xff",
        "01x",
    ],
)
def test_decode_value_errors(data: Any) -> None:
    """Invalid JSON (including NaN/Infinity and huge numbers) or bytes that are not UTF-8 raise ValueError."""
    assert call_error("json.decode", data).tags == ["ValueError"]


@pytest.mark.parametrize("data", [None, 1, ["[]"], {"a": "b"}])
def test_decode_type_errors(data: Any) -> None:
    """Only bytes and strings can be decoded."""
    assert call_error("json.decode", data).tags == ["TypeError"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"hello": "world"}, '{"hello":"world"}'),
        ([1, 2.5, None, True, "é"], '[1,2.5,null,true,"é"]'),
        ({"b": 1, "a": 2}, '{"b":1,"a":2}'),
        ('a"b\\c\n', '"a\\"b\\\\c\\n"'),
        (2.0, "2.0"),
        ("<&>", '"<&>"'),
        ({}, "{}"),
    ],
)
def test_encode_to_string_is_compact(value: Any, expected: str) -> None:
    """Compact JSON, keys in insertion order, UTF-8 characters kept, no HTML escaping."""
    assert call("json.encode_to_string", value) == expected


def test_encode_gives_utf8_bytes() -> None:
    """json.encode returns the same text as UTF-8 bytes."""
    assert call("json.encode", {"k": "é"}) == '{"k":"é"}'.encode()


@pytest.mark.parametrize(
    ("indent", "expected"),
    [
        (True, '{\n    "a": [\n        1,\n        2\n    ],\n    "b": {}\n}'),
        ({}, '{\n    "a": [\n        1,\n        2\n    ],\n    "b": {}\n}'),
        ({"indent": "  "}, '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}'),
        (
            {"prefix": "> ", "indent": "\t"},
            '{\n> \t"a": [\n> \t\t1,\n> \t\t2\n> \t],\n> \t"b": {}\n> }',
        ),
        (False, '{"a":[1,2],"b":{}}'),
        (None, '{"a":[1,2],"b":{}}'),
    ],
)
def test_encode_indent(indent: Any, expected: str) -> None:
    """indent true (four spaces) or {prefix, indent}: lines after the first start with prefix."""
    assert call("json.encode_to_string", {"a": [1, 2], "b": {}}, indent) == expected
    assert call("json.encode", {"a": [1, 2], "b": {}}, indent) == expected.encode()


@pytest.mark.parametrize("indent", [1, "  ", [" "], {"indent": 2}, {"prefix": None}, {"tab": " "}])
def test_encode_indent_type_errors(indent: Any) -> None:
    """indent must be a boolean or a map of string prefix/indent."""
    assert call_error("json.encode_to_string", [1], indent).tags == ["TypeError"]


@pytest.mark.parametrize("value", [b"x", {"a": [b"x"]}, retry.DEFAULT_RETRY, [retry.ALWAYS]])
def test_encode_refuses_bytes_and_library_values(value: Any) -> None:
    """Bytes and callables cannot be JSON-encoded (ValueError, as documented)."""
    assert call_error("json.encode", value).tags == ["ValueError"]
    assert call_error("json.encode_to_string", value).tags == ["ValueError"]


def test_pubsub_idiom() -> None:
    """base64.encode(json.encode(message)) as in the Pub/Sub sample."""
    assert ev("base64.encode(json.encode(m))", m={"hello": "world"}) == "eyJoZWxsbyI6IndvcmxkIn0="


@given(json_values)
def test_round_trip(value: Any) -> None:
    """json.decode(json.encode(v)) equals v, with ints and doubles keeping their type."""
    back = call("json.decode", call("json.encode", value))
    assert equals(back, value)
    assert json.dumps(back) == json.dumps(value)


@given(json_values)
def test_encoding_is_standard_json(value: Any) -> None:
    """The output is JSON any parser reads back to the same value."""
    assert json.loads(call("json.encode_to_string", value)) == value
