"""The text module without regular expressions: split, replace_all, find_all, substring,
case, URL encoding and charsets."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.flow.expr_helpers import call, call_error, ev

# ---------------------------------------------------------------- split


@pytest.mark.parametrize(
    ("source", "sep", "expected"),
    [
        ("baaab", "aa", ["b", "ab"]),
        ("abc", "a", ["", "bc"]),
        ("abc", "c", ["ab", ""]),
        ("abbc", "b", ["a", "", "c"]),
        ("abc", "x", ["abc"]),
        ("", "x", [""]),
        ("us-central1", "-", ["us", "central1"]),
        ("a→b→c", "→", ["a", "b", "c"]),
    ],
)
def test_split(source: str, sep: str, expected: list[str]) -> None:
    """The reference's examples: leftmost matches, empty parts kept, no match gives [source]."""
    assert call("text.split", source, sep) == expected


def test_split_errors() -> None:
    """Non-strings are TypeErrors; an empty separator is a ValueError."""
    assert call_error("text.split", "abc", "").tags == ["ValueError"]
    assert call_error("text.split", 1, "a").tags == ["TypeError"]
    assert call_error("text.split", "a", None).tags == ["TypeError"]


@given(st.text(), st.text(min_size=1))
def test_split_then_join_gives_the_source(source: str, sep: str) -> None:
    """Joining the parts with the separator rebuilds the source."""
    parts = call("text.split", source, sep)
    assert sep.join(parts) == source
    assert all(sep not in p for p in parts)


# ---------------------------------------------------------------- replace_all / find_all


@pytest.mark.parametrize(
    ("source", "old", "new", "expected"),
    [
        ("one two one", "one", "1", "1 two 1"),
        ("aaa", "aa", "b", "ba"),
        ("abc", "x", "y", "abc"),
        ("abc", "b", "", "ac"),
        ("a.b.c", ".", "\\1", "a\\1b\\1c"),
    ],
)
def test_replace_all(source: str, old: str, new: str, expected: str) -> None:
    """Every non-overlapping occurrence, left to right, replaced literally."""
    assert call("text.replace_all", source, old, new) == expected


def test_replace_all_errors() -> None:
    """An empty substring is a ValueError; non-strings are TypeErrors."""
    assert call_error("text.replace_all", "abc", "", "x").tags == ["ValueError"]
    assert call_error("text.replace_all", "abc", "a", 1).tags == ["TypeError"]


@pytest.mark.parametrize(
    ("source", "substr", "expected"),
    [
        ("banana", "an", [{"index": 1, "match": "an"}, {"index": 3, "match": "an"}]),
        ("aaa", "aa", [{"index": 0, "match": "aa"}]),
        ("héllo héllo", "llo", [{"index": 2, "match": "llo"}, {"index": 8, "match": "llo"}]),
        ("abc", "x", []),
    ],
)
def test_find_all(source: str, substr: str, expected: list[dict[str, Any]]) -> None:
    """Non-overlapping occurrences with their character index."""
    assert call("text.find_all", source, substr) == expected


def test_find_all_errors() -> None:
    """An empty substring is a ValueError; non-strings are TypeErrors."""
    assert call_error("text.find_all", "abc", "").tags == ["ValueError"]
    assert call_error("text.find_all", ["a"], "a").tags == ["TypeError"]


# ---------------------------------------------------------------- substring


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (2, 4, "ll"),
        (-10, 10, "hello"),
        (0, 5, "hello"),
        (0, 0, ""),
        (3, 2, ""),
        (-3, -1, "ll"),
        (-1, 5, "o"),
        (1, -1, "ell"),
        (4, 100, "o"),
        (5, 6, ""),
        (-100, -50, ""),
    ],
)
def test_substring(start: int, end: int, expected: str) -> None:
    """Zero-based, end exclusive; negative indexes count from the end; clamped (the reference's examples)."""
    assert call("text.substring", "hello", start, end) == expected


def test_substring_counts_characters() -> None:
    """Indexes are characters, not bytes."""
    assert call("text.substring", "héllo", 1, 3) == "él"


@pytest.mark.parametrize(
    "args", [(1, 0, 1), ("abc", 1.0, 2), ("abc", 0, "2"), ("abc", True, 2), ("abc", 0, None)]
)
def test_substring_type_errors(args: tuple[Any, ...]) -> None:
    """source must be a string, start and end integers."""
    assert call_error("text.substring", *args).tags == ["TypeError"]


# ---------------------------------------------------------------- case


def test_case_conversion() -> None:
    """to_lower and to_upper, Unicode-aware."""
    assert call("text.to_lower", "HeLLo ÉTÉ") == "hello été"
    assert call("text.to_upper", "hello été") == "HELLO ÉTÉ"
    assert call_error("text.to_upper", 1).tags == ["TypeError"]


# ---------------------------------------------------------------- URL encoding


def test_url_encode_reference_example() -> None:
    """The reference's example: a/b/c?item=d+e f."""
    assert call("text.url_encode", "a/b/c?item=d+e f") == "a%2Fb%2Fc%3Fitem%3Dd%2Be%20f"


def test_url_decode_reference_example() -> None:
    """The reference's example decodes back to a/b/c?item=d+e."""
    assert call("text.url_decode", "a%2Fb%2Fc%3Fitem%3Dd%2Be") == "a/b/c?item=d+e"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("Az09.-_", "Az09.-_"),
        ("~", "%7E"),
        ("é", "%C3%A9"),
        ("\U0001f600", "%F0%9F%98%80"),
        ("FILE_NAME.txt", "FILE_NAME.txt"),
        ("", ""),
    ],
)
def test_url_encode(source: str, expected: str) -> None:
    """Letters, digits and .-_ stay; everything else is %XX of its UTF-8 bytes."""
    assert call("text.url_encode", source) == expected


def test_url_encode_plus() -> None:
    """url_encode_plus writes + for a space."""
    assert call("text.url_encode_plus", "a b+c") == "a+b%2Bc"


@pytest.mark.parametrize(
    ("source", "expected"),
    [("a+b", "a b"), ("%c3%a9", "é"), ("%41%42", "AB"), ("é", "é"), ("", "")],
)
def test_url_decode(source: str, expected: str) -> None:
    """Plus is a space; %xx (any case) are bytes of UTF-8 text."""
    assert call("text.url_decode", source) == expected


@pytest.mark.parametrize("source", ["%", "%4", "%zz", "100%", "%C3"])
def test_url_decode_errors(source: str) -> None:
    """A % without two hex digits, or bytes that are not UTF-8, are ValueErrors."""
    assert call_error("text.url_decode", source).tags == ["ValueError"]


@given(st.text())
def test_url_round_trip(source: str) -> None:
    """url_decode(url_encode(s)) == s, and likewise with plus."""
    assert call("text.url_decode", call("text.url_encode", source)) == source
    assert call("text.url_decode", call("text.url_encode_plus", source)) == source


# ---------------------------------------------------------------- charsets


@pytest.mark.parametrize(
    ("text", "charset", "expected"),
    [
        ("Hello World", "UTF-8", b"Hello World"),
        ("é", "utf-8", b"\xc3\xa9"),
        ("é", "ISO-8859-1", b"\xe9"),
        ("A", "UTF-16BE", b"\x00A"),
        ("A", "us-ascii", b"A"),
        ("ł", "ISO-8859-2", b"\xb3"),
    ],
)
def test_encode(text: str, charset: str, expected: bytes) -> None:
    """text.encode with IANA charset names, case-insensitive."""
    assert call("text.encode", text, charset) == expected


def test_encode_errors() -> None:
    """Unknown charsets and unrepresentable characters are ValueErrors; non-strings TypeErrors."""
    assert call_error("text.encode", "a", "rot13").tags == ["ValueError"]
    assert call_error("text.encode", "a", "base64").tags == ["ValueError"]
    assert call_error("text.encode", "é", "US-ASCII").tags == ["ValueError"]
    assert call_error("text.encode", b"a").tags == ["TypeError"]
    assert call_error("text.encode", "a", 8).tags == ["TypeError"]


def test_decode() -> None:
    """text.decode is the inverse of text.encode; invalid data is a ValueError."""
    assert call("text.decode", b"\xc3\xa9") == "é"
    assert call("text.decode", b"\xe9", "ISO-8859-1") == "é"
    assert call_error("text.decode", b"\xff").tags == ["ValueError"]
    assert call_error("text.decode", "abc").tags == ["TypeError"]
    assert call_error("text.decode", b"a", "nope").tags == ["ValueError"]


def test_secret_manager_idiom() -> None:
    """text.decode(base64.decode(...)) as in the connector samples."""
    assert ev("text.decode(base64.decode(d))", d="aMOpbGxv") == "héllo"
