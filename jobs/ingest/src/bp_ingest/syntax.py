"""What a JSON syntax error of the blueprint reader means, where it is, and how to fix it.

ijson's C backend (yajl) raises with a message of three lines: the error
(``lexical error: invalid char in json text.``), up to 30 bytes either side of the fault
from the chunk it was parsing (line breaks shown as spaces), and ``(right here) ------^``
whose caret stands in column 40 under the fault. The reader keeps its last two chunks, so
the fault is placed exactly by finding where in the last chunk that snippet was cut from;
when it cannot be placed (an ambiguous, repetitive chunk), the reader's count of bytes
read so far gives an offset within one chunk.

Each kind of yajl message gets its own explanation and fix: a NaN or Infinity literal, a
truncated file, text after the document, a number too large for a double, a control
character or a bad escape in a string, ... (invalid UTF-8 never gets here: the reader
checks it before the parser sees the bytes).
"""

from __future__ import annotations

import ast
import re

from bp_sdk.errors import Problem

CARET_COLUMN = 40  # yajl puts the faulty byte under the caret, in this column
SPAN = 30  # bytes yajl shows on each side of the fault
BOM = b"\xef\xbb\xbf"
NON_FINITE = re.compile(rb"[-+]?(?:nan|inf(?:inity)?)", re.IGNORECASE)
WORD_BYTES = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.\"'"

# (text in yajl's first line, what it means, how to fix it); first match wins
KINDS: tuple[tuple[str, str, str], ...] = (
    (
        "premature EOF",
        "the file ends before the JSON document does (cut off?)",
        "upload the complete file; every { and [ needs its closing } and ]",
    ),
    (
        "trailing garbage",
        "there is more after the end of the top-level object",
        "a blueprint is one JSON object: remove everything after its closing }",
    ),
    (
        "overflow",
        "a number is too large for a 64-bit float (numeric overflow)",
        "write the real value in the blueprint's units",
    ),
    (
        "invalid character inside string",
        "a control character (a raw tab or line break) inside a string",
        "write it as an escape (\\t, \\n) or remove it",
    ),
    (
        "which it may not",
        "an invalid escape in a string",
        (
            "write a backslash as \\\\ (Windows paths too); JSON's escapes are "
            '\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX'
        ),
    ),
    (
        "after '\\u'",
        "\\u in a string is not followed by four hex digits",
        "write \\u with four hex digits, or a backslash as \\\\",
    ),
    (
        "malformed number",
        "a malformed number",
        "write numbers as JSON does: 0.5, -2, 1e-3 (no leading + or 0, no trailing dot)",
    ),
    (
        "comment",
        "a comment (JSON has none)",
        "remove the comment",
    ),
    (
        "invalid object key",
        "a key that is not a double-quoted string (or a comma before })",
        'quote every key with double quotes ("id") and remove trailing commas',
    ),
    (
        "separated by a colon",
        "a key without a colon before its value",
        'write "key": value',
    ),
    (
        "I expect ',' or '}'",
        "a missing comma or } after a value in an object",
        "separate the members of an object with commas and close it with }",
    ),
    (
        "I expect ',' or ']'",
        "a missing comma or ] after an item of an array",
        "separate the items of an array with commas and close it with ]",
    ),
    (
        "unallowed token",
        "a value where none may stand (a trailing comma, or a value without its key)",
        'remove trailing commas; in an object every value needs its "key": in front',
    ),
    (
        "invalid string in json text",
        "a bare word that JSON does not know",
        "the only bare words in JSON are true, false and null: put strings in double quotes",
    ),
    (
        "invalid char in json text",
        "a character that cannot start a JSON value here",
        (
            "strings and keys need double quotes; single quotes, comments, trailing commas "
            "and a leading + on numbers are not JSON"
        ),
    ),
    (
        "UTF8",
        "bytes that are not UTF-8 text",
        "save the file as UTF-8",
    ),
)


def _lines(text: str) -> list[bytes]:
    """The message's lines as bytes; ijson shows undecodable ones as a bytes literal."""
    raw: bytes
    if text[:2] in ("b'", 'b"'):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = None
        raw = value if isinstance(value, bytes) else text.encode("utf-8", "replace")
    else:
        raw = text.encode("utf-8", "replace")
    return raw.split(b"\n")


def _render(chunk: bytes, at: int) -> bytes:
    """yajl's snippet of ``chunk`` for a fault at ``at``."""
    pad = CARET_COLUMN - at if at < SPAN else CARET_COLUMN - SPAN
    part = chunk[max(0, at - SPAN) : at + SPAN]
    return b" " * pad + part.replace(b"\n", b" ").replace(b"\r", b" ")


def _place(snippet: bytes, chunk: bytes) -> int | None:
    """Where in ``chunk`` the fault is, when exactly one position renders as ``snippet``."""
    want = snippet.rstrip()
    hits = [at for at in range(len(chunk) + 1) if _render(chunk, at).rstrip() == want]
    return hits[0] if len(hits) == 1 else None


def _non_finite(buf: bytes, pos: int) -> tuple[int, str] | None:
    """A NaN/Infinity literal (outside any string) that the fault at ``pos`` falls in."""
    for m in NON_FINITE.finditer(buf):
        if m.start() <= pos <= m.end() and (m.start() == 0 or buf[m.start() - 1] not in WORD_BYTES):
            end = m.end()
            if end < len(buf) and buf[end] in WORD_BYTES:
                continue  # part of a longer word such as "nano"
            return m.start(), m.group().decode("ascii")
    return None


def json_problem(
    text: str, offset: int, last: bytes, previous: bytes = b"", ahead: bytes = b""
) -> Problem:
    """The problem for yajl's message ``text``: ``last`` and ``previous`` are the reader's
    last two chunks, ``offset`` the bytes read so far (the end of ``last``) and ``ahead`` a
    few bytes after it (a literal may straddle the end of a chunk)."""
    lines = _lines(text.strip("\n"))
    first = lines[0].decode("utf-8", "replace").strip() or "malformed JSON"
    snippet = lines[1] if len(lines) > 2 else b""  # message, snippet, caret
    placed = _place(snippet, last) if len(lines) > 2 else None
    # yajl stops a byte or a token after the fault, so the position is "near"
    near = f"near byte {offset - len(last) + placed if placed is not None else offset}"
    found = (
        _non_finite(previous + last + ahead, len(previous) + placed)
        if placed is not None
        else _non_finite(snippet, CARET_COLUMN)
    )
    if found is not None:
        start, literal = found
        at = f"at byte {offset - len(last) - len(previous) + start}" if placed is not None else near
        return Problem(
            "$",
            f"invalid JSON {at}: {literal} is not a JSON number (JSON has no NaN or Infinity)",
            "write a finite number in its place (an optional field can be left out); NaN or "
            "Infinity usually means the exporter lost or divided a value",
        )
    if placed is not None and BOM in last[max(0, placed - len(BOM)) : placed + len(BOM)]:
        return Problem(
            "$",
            f"invalid JSON {near}: a byte-order mark (U+FEFF) inside the file",
            "save the file as UTF-8 with at most one byte-order mark, at its very start",
        )
    for key, what, hint in KINDS:
        if key in first:
            return Problem("$", f"invalid JSON {near}: {what} ({first[:120]})", hint)
    return Problem("$", f"invalid JSON {near}: {first[:200]}", "fix the JSON syntax")
