"""The ``text`` module: splitting, searching, replacing, case, URL and charset encoding.

Indexes and lengths count characters (Unicode code points), as ``len()`` does. Regular
expressions use RE2 syntax (:mod:`bp_flow.stdlib.re2`).
"""

from __future__ import annotations

import codecs
from typing import Any

from bp_flow.expr.values import value_error
from bp_flow.runtime import Runtime
from bp_flow.stdlib._check import want_bytes, want_int, want_str
from bp_flow.stdlib._model import Function, Param, opt
from bp_flow.stdlib.re2 import compile_re2, iter_matches

_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_")
_HEX = frozenset("0123456789abcdefABCDEF")

# IANA charset names accepted by text.encode / text.decode (case-insensitive)
_CHARSETS = {
    "UTF-8": "utf-8",
    "UTF-16": "utf-16",
    "UTF-16BE": "utf-16-be",
    "UTF-16LE": "utf-16-le",
    "UTF-32": "utf-32",
    "UTF-32BE": "utf-32-be",
    "UTF-32LE": "utf-32-le",
    "US-ASCII": "ascii",
    "ISO-8859-1": "latin-1",
    **{f"ISO-8859-{n}": f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16)},
    **{f"WINDOWS-{n}": f"cp{n}" for n in range(1250, 1259)},
    "KOI8-R": "koi8-r",
    "KOI8-U": "koi8-u",
    "SHIFT_JIS": "shift_jis",
    "EUC-JP": "euc-jp",
    "ISO-2022-JP": "iso2022-jp",
    "EUC-KR": "euc-kr",
    "GBK": "gbk",
    "GB18030": "gb18030",
    "BIG5": "big5",
}


def split(rt: Runtime, source: Any, separator: Any) -> list[str]:
    """The substrings between the separators (leftmost first; empty parts kept)."""
    text = want_str("text.split", "source", source)
    sep = want_str("text.split", "separator", separator)
    if not sep:
        raise value_error("text.split: separator must not be empty")
    return text.split(sep)


def replace_all(rt: Runtime, source: Any, substr: Any, repl: Any) -> str:
    """Every (non-overlapping, leftmost) occurrence of ``substr`` replaced by ``repl``."""
    text = want_str("text.replace_all", "source", source)
    old = want_str("text.replace_all", "substr", substr)
    new = want_str("text.replace_all", "repl", repl)
    if not old:
        raise value_error("text.replace_all: substr must not be empty")
    return text.replace(old, new)


def find_all(rt: Runtime, source: Any, substr: Any) -> list[dict[str, Any]]:
    """``[{"index": i, "match": substr}, ...]`` for every non-overlapping occurrence."""
    text = want_str("text.find_all", "source", source)
    needle = want_str("text.find_all", "substr", substr)
    if not needle:
        raise value_error("text.find_all: substr must not be empty")
    found, start = [], text.find(needle)
    while start >= 0:
        found.append({"index": start, "match": needle})
        start = text.find(needle, start + len(needle))
    return found


def substring(rt: Runtime, source: Any, start: Any, end: Any) -> str:
    """Characters ``start`` (inclusive) to ``end`` (exclusive); a negative index counts from
    the end, and indexes outside the string are clamped to it."""
    text = want_str("text.substring", "source", source)
    lo = _clamp(want_int("text.substring", "start", start), len(text))
    hi = _clamp(want_int("text.substring", "end", end), len(text))
    return text[lo:hi] if lo < hi else ""


def _clamp(index: int, length: int) -> int:
    if index < 0:
        index += length
    return min(max(index, 0), length)


def to_lower(rt: Runtime, source: Any) -> str:
    """Lower case."""
    return want_str("text.to_lower", "source", source).lower()


def to_upper(rt: Runtime, source: Any) -> str:
    """Upper case."""
    return want_str("text.to_upper", "source", source).upper()


def url_encode(rt: Runtime, source: Any) -> str:
    """Percent-encoded UTF-8 (``%20`` for a space); letters, digits, ``.-_`` stay."""
    return _percent(want_str("text.url_encode", "source", source), space="%20")


def url_encode_plus(rt: Runtime, source: Any) -> str:
    """Like ``url_encode``, with ``+`` for a space."""
    return _percent(want_str("text.url_encode_plus", "source", source), space="+")


def _percent(text: str, space: str) -> str:
    out = []
    for ch in text:
        if ch in _URL_SAFE:
            out.append(ch)
        elif ch == " ":
            out.append(space)
        else:
            out.append("".join(f"%{b:02X}" for b in _utf8("text.url_encode", ch)))
    return "".join(out)


def url_decode(rt: Runtime, source: Any) -> str:
    """``%xx`` sequences to the UTF-8 text they encode, ``+`` to a space."""
    text = want_str("text.url_decode", "source", source)
    raw, i = bytearray(), 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            digits = text[i + 1 : i + 3]
            if len(digits) != 2 or not set(digits) <= _HEX:
                raise value_error(
                    f"text.url_decode: '%' at index {i} is not followed by two hexadecimal digits"
                )
            raw.append(int(digits, 16))
            i += 3
            continue
        raw.extend(b" " if ch == "+" else _utf8("text.url_decode", ch))
        i += 1
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise value_error("text.url_decode: the decoded bytes are not valid UTF-8") from None


def _utf8(fn: str, text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise value_error(f"{fn}: the text is not valid Unicode") from None


def _codec(fn: str, charset: Any) -> str:
    name = want_str(fn, "charset", charset)
    codec = _CHARSETS.get(name.upper())
    if codec is None:
        raise value_error(f"{fn}: unsupported charset {name!r}")
    return codecs.lookup(codec).name


def encode(rt: Runtime, text: Any, charset: Any) -> bytes:
    """The text as bytes in ``charset`` (default UTF-8)."""
    value = want_str("text.encode", "text", text)
    codec = _codec("text.encode", charset)
    try:
        return value.encode(codec)
    except UnicodeEncodeError as err:
        raise value_error(
            f"text.encode: character {value[err.start]!r} cannot be encoded in {charset}"
        ) from None


def decode(rt: Runtime, data: Any, charset: Any) -> str:
    """Bytes in ``charset`` (default UTF-8) as text."""
    raw = want_bytes("text.decode", "data", data)
    codec = _codec("text.decode", charset)
    try:
        return raw.decode(codec)
    except UnicodeDecodeError:
        raise value_error(f"text.decode: the data is not valid {charset}") from None


def match_regex(rt: Runtime, source: Any, regexp: Any) -> bool:
    """True when the regular expression matches anywhere in ``source``."""
    text = want_str("text.match_regex", "source", source)
    pattern = compile_re2(want_str("text.match_regex", "regexp", regexp))
    return pattern.search(text) is not None


def find_all_regex(rt: Runtime, source: Any, regexp: Any) -> list[dict[str, Any]]:
    """``[{"index": i, "match": text}, ...]`` for every non-overlapping match."""
    text = want_str("text.find_all_regex", "source", source)
    pattern = compile_re2(want_str("text.find_all_regex", "regexp", regexp))
    return [{"index": m.start(), "match": m.group(0)} for m in iter_matches(pattern, text)]


def replace_all_regex(rt: Runtime, source: Any, regexp: Any, repl: Any) -> str:
    """Every match replaced by ``repl``, taken literally (no group references)."""
    text = want_str("text.replace_all_regex", "source", source)
    pattern = compile_re2(want_str("text.replace_all_regex", "regexp", regexp))
    new = want_str("text.replace_all_regex", "repl", repl)
    out, pos = [], 0
    for m in iter_matches(pattern, text):
        out.append(text[pos : m.start()])
        out.append(new)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _fn(name: str, params: tuple[Param, ...], impl: Any, summary: str) -> Function:
    return Function(f"text.{name}", params, impl, True, summary)


_SRC = Param("source")
FUNCTIONS: tuple[Function, ...] = (
    _fn(
        "split",
        (_SRC, Param("separator")),
        split,
        "Split on every occurrence of a non-empty separator.",
    ),
    _fn(
        "replace_all",
        (_SRC, Param("substr"), Param("repl")),
        replace_all,
        "Replace every occurrence of a substring.",
    ),
    _fn(
        "find_all",
        (_SRC, Param("substr")),
        find_all,
        "Every occurrence of a substring as {index, match} maps.",
    ),
    _fn(
        "substring",
        (_SRC, Param("start"), Param("end")),
        substring,
        "Characters start..end-1; negative indexes count from the end; clamped.",
    ),
    _fn("to_lower", (_SRC,), to_lower, "Lower case."),
    _fn("to_upper", (_SRC,), to_upper, "Upper case."),
    _fn(
        "url_encode",
        (_SRC,),
        url_encode,
        "Percent-encode all but letters, digits and .-_ (space as %20).",
    ),
    _fn(
        "url_encode_plus",
        (_SRC,),
        url_encode_plus,
        "Percent-encode all but letters, digits and .-_ (space as +).",
    ),
    _fn("url_decode", (_SRC,), url_decode, "Decode %xx sequences (UTF-8) and + as space."),
    _fn(
        "encode",
        (Param("text"), opt("charset", "UTF-8")),
        encode,
        "Text to bytes in an IANA charset.",
    ),
    _fn(
        "decode",
        (Param("data"), opt("charset", "UTF-8")),
        decode,
        "Bytes in an IANA charset to text.",
    ),
    _fn(
        "match_regex",
        (_SRC, Param("regexp")),
        match_regex,
        "True if an RE2 regular expression matches anywhere.",
    ),
    _fn(
        "find_all_regex",
        (_SRC, Param("regexp")),
        find_all_regex,
        "Every RE2 match as {index, match} maps.",
    ),
    _fn(
        "replace_all_regex",
        (_SRC, Param("regexp"), Param("repl")),
        replace_all_regex,
        "Replace every RE2 match with a literal string.",
    ),
)
