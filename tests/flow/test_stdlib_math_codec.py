"""The math module, base64, hash and uuid."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import Any

import pytest
from bp_flow.expr.values import INT_MAX, INT_MIN
from hypothesis import given
from hypothesis import strategies as st

from tests.flow.expr_helpers import call, call_error, ev


def typed(value: Any) -> tuple[type, Any]:
    """A value with its exact type."""
    return type(value), value


# ---------------------------------------------------------------- math


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("math.abs", (-3,), 3),
        ("math.abs", (3,), 3),
        ("math.abs", (-2.5,), 2.5),
        ("math.abs", (INT_MAX,), INT_MAX),
        ("math.floor", (2.7,), 2),
        ("math.floor", (-2.1,), -3),
        ("math.floor", (5,), 5),
        ("math.floor", (-0.0,), 0),
        ("math.max", (1, 2), 2),
        ("math.max", (2.5, 1), 2.5),
        ("math.max", (1, 1.5), 1.5),
        ("math.max", (3, 3.0), 3),
        ("math.min", (1, 2), 1),
        ("math.min", (-1.5, 2), -1.5),
        ("math.min", (2.0, 2), 2.0),
    ],
)
def test_math(name: str, args: tuple[Any, ...], expected: Any) -> None:
    """abs keeps the type, floor gives an integer, max/min return the chosen argument."""
    assert typed(call(name, *args)) == typed(expected)


@pytest.mark.parametrize(
    ("name", "args", "tag"),
    [
        ("math.abs", ("1",), "TypeError"),
        ("math.abs", (True,), "TypeError"),
        ("math.abs", (INT_MIN,), "ValueError"),
        ("math.floor", (None,), "TypeError"),
        ("math.floor", (1e19,), "ValueError"),
        ("math.max", (1, "2"), "TypeError"),
        ("math.min", ([1], 2), "TypeError"),
    ],
)
def test_math_errors(name: str, args: tuple[Any, ...], tag: str) -> None:
    """Non-numbers are TypeErrors; results outside 64 bits ValueErrors."""
    assert call_error(name, *args).tags == [tag]


# ---------------------------------------------------------------- base64


def test_base64_reference_examples() -> None:
    """text.encode then base64.encode gives the reference's SGVsbG8gV29ybGQ=."""
    assert ev('base64.encode(text.encode("Hello World", "UTF-8"))') == "SGVsbG8gV29ybGQ="
    assert call("base64.decode", "SGVsbG8gV29ybGQ=") == b"Hello World"


def test_base64_padding_option() -> None:
    """padding=false leaves out = when encoding and refuses it when decoding."""
    assert call("base64.encode", b"ab") == "YWI="
    assert call("base64.encode", b"ab", False) == "YWI"
    assert call("base64.decode", "YWI", False) == b"ab"
    assert call_error("base64.decode", "YWI").tags == ["ValueError"]
    assert call_error("base64.decode", "YWI=", False).tags == ["ValueError"]


def test_base64_decode_ignores_line_breaks() -> None:
    """Carriage returns and newlines in the input are ignored (documented)."""
    assert call("base64.decode", "SGVs\r\nbG8=\n") == b"Hello"


@pytest.mark.parametrize("data", ["SGVsbG8*", "SGV sbG8=", "-_-_", "====", "S===", "Y=WI"])
def test_base64_decode_value_errors(data: str) -> None:
    """Characters outside the standard alphabet and bad padding are ValueErrors."""
    assert call_error("base64.decode", data).tags == ["ValueError"]


def test_base64_type_errors() -> None:
    """encode needs bytes, decode a string, padding a boolean."""
    assert call_error("base64.encode", "text").tags == ["TypeError"]
    assert call_error("base64.decode", b"YWI=").tags == ["TypeError"]
    assert call_error("base64.encode", b"a", "yes").tags == ["TypeError"]


@given(st.binary(), st.booleans())
def test_base64_round_trip(data: bytes, padding: bool) -> None:
    """decode(encode(b)) == b with or without padding, matching the standard alphabet."""
    text = call("base64.encode", data, padding)
    assert call("base64.decode", text, padding) == data
    assert text.rstrip("=") == base64.b64encode(data).decode().rstrip("=")


# ---------------------------------------------------------------- hash


def test_checksum_reference_example() -> None:
    """SHA256 of "Hello World" as Base64 is the reference's pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=."""
    value = ev(
        'base64.encode(hash.compute_checksum(text.encode("Hello World", "UTF-8"), "SHA256"))'
    )
    assert value == "pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4="


@pytest.mark.parametrize("algorithm", ["MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512"])
def test_checksum_algorithms(algorithm: str) -> None:
    """Every documented algorithm gives the standard digest as bytes."""
    assert (
        call("hash.compute_checksum", b"data", algorithm)
        == hashlib.new(algorithm.lower(), b"data").digest()
    )


def test_checksum_errors() -> None:
    """Unsupported algorithms are ValueErrors; non-bytes data and non-string names TypeErrors."""
    assert call_error("hash.compute_checksum", b"x", "SHA3").tags == ["ValueError"]
    assert call_error("hash.compute_checksum", b"x", "sha256").tags == ["ValueError"]
    assert call_error("hash.compute_checksum", "x", "SHA256").tags == ["TypeError"]
    assert call_error("hash.compute_checksum", b"x", None).tags == ["TypeError"]


def test_hmac() -> None:
    """hash.compute_hmac(key, data, algorithm) is the standard HMAC."""
    expected = hmac.new(b"k", b"msg", "sha256").digest()
    assert call("hash.compute_hmac", b"k", b"msg", "SHA256") == expected
    assert call_error("hash.compute_hmac", "k", b"msg", "SHA256").tags == ["TypeError"]


# ---------------------------------------------------------------- uuid


def test_uuid_generate() -> None:
    """uuid.generate returns distinct random version-4 UUID strings."""
    values = {call("uuid.generate") for _ in range(50)}
    assert len(values) == 50
    for value in values:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert str(parsed) == value
