"""Streaming blueprint reader: bounded memory whatever the file size.

Two streaming passes over the file, both driven by ijson's C parser:

1. *structure*: low-level events only, to enforce the nesting limit, refuse duplicate
   keys and over-long strings, count objects, and collect the (small) top-level fields;
2. *objects*: ``ijson.items(…, "objects.item")`` builds one object at a time in C and
   hands it to the caller.

Memory is O(one object + nesting depth), independent of the number of objects.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import ijson
from bp_sdk.errors import Problem

from bp_ingest.syntax import json_problem

MAX_DEPTH = 16
MAX_STRING = 4096
BOM = b"\xef\xbb\xbf"
FAST_BUFFER = 1 << 16
PRECISE_BUFFER = 64
OBJECTS = "objects"

OpenStream = Callable[[], AbstractContextManager[BinaryIO]]


# yajl (ijson's C parser) takes vertical tab and form feed for whitespace; JSON allows only
# space, tab, line feed and carriage return, and neither byte may appear raw in a string, so
# either one anywhere makes the file invalid (found by fuzzing: such a file was committed)
NOT_JSON_BYTES = re.compile(b"[\x0b\x0c]")


class _Counting:
    """Counts bytes read so parse errors can name an offset; refuses bytes JSON never has and
    bytes that are not UTF-8 (checked here, exactly, before the parser sees them). A UTF-8
    sequence cut by the end of a read is held back until the next read completes it, so
    the parser only ever sees whole characters."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.offset = 0  # bytes read from the file
        self.held = b""  # the start of a UTF-8 sequence that the next read completes
        self.pending = 0  # its length, as the last UTF-8 check found it
        self.previous = b""  # what the parser got before ``last`` (to place a syntax error)
        self.last = b""

    @property
    def given(self) -> int:
        """Bytes handed to the parser (the file offset where ``last`` ends)."""
        return self.offset - len(self.held)

    def read(self, n: int = -1) -> bytes:
        while True:
            data = self.inner.read(n)
            if self.offset == 0 and data.startswith(BOM):
                data = data[len(BOM) :]  # a UTF-8 byte-order mark is harmless: skip it
                self.offset += len(BOM)
            found = [p for p in (self._not_json(data), self._not_utf8(data)) if p is not None]
            if found:
                raise FatalParse(min(found, key=lambda f: f[0])[1])
            text, self.offset = self.held + data, self.offset + len(data)
            out, self.held = text[: len(text) - self.pending], text[len(text) - self.pending :]
            if out or not data:  # something to parse, or the end of the file
                break
        self.previous, self.last = self.last, out
        return out

    def _not_json(self, data: bytes) -> tuple[int, Problem] | None:
        bad = NOT_JSON_BYTES.search(data)
        if bad is None:
            return None
        at = self.offset + bad.start()
        name = "a vertical tab" if bad.group() == b"\x0b" else "a form feed"
        return at, Problem(
            "$",
            f"invalid JSON at byte {at}: {name} (JSON allows only spaces, tabs and line "
            "breaks between values)",
            "remove it",
        )

    def _not_utf8(self, data: bytes) -> tuple[int, Problem] | None:
        """The first invalid UTF-8 byte of ``held + data``; sets ``pending`` to the length
        of the incomplete sequence at its end (0 at the end of the file)."""
        text = self.held + data
        try:
            _, used = codecs.utf_8_decode(text, "strict", not data)
        except UnicodeDecodeError as exc:
            at = self.offset - len(self.held) + exc.start
            return at, utf8_problem(at, text[exc.start : exc.start + 1], str(exc.reason))
        self.pending = len(text) - used
        return None


def utf8_problem(at: int, byte: bytes, reason: str) -> Problem:
    """The file is not UTF-8 from byte ``at`` on."""
    if at == 0 and byte in (b"\xff", b"\xfe"):
        return Problem(
            "$",
            "the file is not UTF-8: it starts with a UTF-16 byte-order mark",
            "save the file as UTF-8 (UTF-16 is not accepted)",
        )
    if reason == "unexpected end of data":
        what = "the file ends in the middle of a UTF-8 character"
    else:
        what = f"byte 0x{byte.hex()} is not UTF-8 text ({reason})"
    return Problem(
        "$",
        f"the file is not valid UTF-8: first invalid byte at offset {at}: {what}",
        "save the file as UTF-8 (e.g. a Latin-1 or Windows-1252 'é' is one invalid byte)",
    )


class FatalParse(Exception):  # noqa: N818 - internal control flow, never leaves this module
    """Parsing cannot go on (malformed or hostile structure)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.render())
        self.problem = problem


@dataclass
class ReadResult:
    """Top-level fields and the problems found by the reader itself."""

    header: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    object_count: int = 0
    saw_objects: bool = False
    fatal: bool = False


def read_blueprint(
    open_stream: OpenStream, on_object: Callable[[int, Any], None], max_objects: int
) -> ReadResult:
    """Check the structure, then call ``on_object(index, raw)`` for each item of ``objects``."""
    result = _check_structure(open_stream, max_objects, FAST_BUFFER)
    if result.fatal:
        # locate the fault precisely: re-read with a small buffer (only on the failure path)
        result = _check_structure(open_stream, max_objects, PRECISE_BUFFER)
    if result.fatal:
        return result  # the document itself is broken: objects cannot be read reliably
    if result.saw_objects and result.object_count:
        with open_stream() as raw:
            for index, item in enumerate(
                ijson.items(_Counting(raw), "objects.item", use_float=True)
            ):
                on_object(index, item)
    return result


def _check_structure(open_stream: OpenStream, max_objects: int, buf_size: int) -> ReadResult:
    result = ReadResult()
    with open_stream() as raw:
        counting = _Counting(raw)
        try:
            events = ijson.basic_parse(counting, use_float=True, buf_size=buf_size)
            _structure(events, result, max_objects, counting)
        except FatalParse as fatal:
            result.problems.append(fatal.problem)
            result.fatal = True
        except ijson.JSONError as exc:
            result.problems.append(
                # a few bytes more: a NaN or Infinity may straddle the end of the last chunk
                json_problem(
                    str(exc),
                    counting.given,
                    counting.last,
                    counting.previous,
                    counting.held + raw.read(16),
                )
            )
            result.fatal = True
        except UnicodeDecodeError as exc:  # pragma: no cover - _Counting checks UTF-8 first
            result.problems.append(utf8_problem(counting.offset, b"", str(exc.reason)))
            result.fatal = True
    return result


class _Value:
    """Builds one small top-level value from events."""

    def __init__(self) -> None:
        self.stack: list[Any] = []
        self.keys: list[str | None] = []
        self.value: Any = None
        self.done = False

    def event(self, event: str, value: Any) -> None:
        if event == "map_key":
            self.keys[-1] = value
            return
        if event in ("start_map", "start_array"):
            self.stack.append({} if event == "start_map" else [])
            self.keys.append(None)
            return
        if event in ("end_map", "end_array"):
            self.keys.pop()
            value = self.stack.pop()
        if not self.stack:
            self.value, self.done = value, True
        elif isinstance(self.stack[-1], list):
            self.stack[-1].append(value)
        else:
            self.stack[-1][self.keys[-1]] = value


def _where(top_key: str | None, index: int) -> str:
    if top_key == OBJECTS and index >= 0:
        return f"$.objects[{index}]"
    return f"$.{top_key}" if top_key else "$"


def _structure(
    events: Iterator[tuple[str, Any]], result: ReadResult, max_objects: int, counting: _Counting
) -> None:
    """One pass over the parser's events: limits, duplicate keys, object count and header."""
    # the hot loop stays inline (no call per event); rarer cases call the helpers below it
    depth = 0
    keys: list[set[str] | None] = []  # keys seen per open container (None for arrays)
    top_key: str | None = None
    builder: _Value | None = None
    index = -1
    for event, value in events:
        if depth > 2 and builder is None:
            # fast path: scalars inside an object item (most events of a big blueprint)
            if event == "number" or event == "boolean" or event == "null":  # noqa: PLR1714 - hot loop
                continue
            if event == "string":
                if len(value) > MAX_STRING:
                    result.problems.append(_too_long("a string", value, top_key, index))
                continue
        if event == "map_key":
            if len(value) > MAX_STRING:
                result.problems.append(_too_long("a key", value, top_key, index))
                value = value[:MAX_STRING]  # noqa: PLW2901 - bounded copy
            seen = keys[-1]
            if seen is not None:
                if value in seen:
                    result.problems.append(_duplicate_key(value, depth, top_key, index))
                seen.add(value)
            if depth == 1:
                top_key = value
                if value != OBJECTS:
                    builder = _Value()
                continue
        elif event == "start_map" or event == "start_array":  # noqa: PLR1714 - hot loop
            depth += 1
            if depth > MAX_DEPTH:
                raise FatalParse(_too_deep(top_key, index, counting.offset))
            if depth < 4:  # the document, its values, the items of ``objects``
                index = _opened(event, depth, top_key, index, result, max_objects)
            keys.append(set() if event == "start_map" else None)
        elif event == "end_map" or event == "end_array":  # noqa: PLR1714
            depth -= 1
            keys.pop()
        elif event == "string" and len(value) > MAX_STRING:
            result.problems.append(_too_long("a string", value, top_key, index))
        elif depth == 0:
            raise FatalParse(_not_an_object(f"a {event}"))
        elif depth < 3 and top_key == OBJECTS:
            index = _objects_scalar(depth, index, result)
        if builder is not None:
            builder.event(event, value)
            if builder.done:
                assert top_key is not None  # noqa: S101 - set with the builder
                result.header[top_key] = builder.value
                builder = None


def _opened(
    event: str, depth: int, top_key: str | None, index: int, result: ReadResult, max_objects: int
) -> int:
    """A container opens at depth 1 to 3: check it; the index of the current object."""
    if depth == 1 and event != "start_map":
        raise FatalParse(_not_an_object("an array"))
    if depth == 2 and top_key == OBJECTS:
        result.saw_objects = True
        if event != "start_array":
            result.problems.append(_objects_not_array())
    elif depth == 3 and top_key == OBJECTS:
        index += 1
        if index >= max_objects:
            raise FatalParse(
                Problem(
                    "$.objects",
                    f"more than {max_objects} objects",
                    "split the scene or raise INGEST_MAX_OBJECTS",
                )
            )
        result.object_count = index + 1
    return index


def _objects_scalar(depth: int, index: int, result: ReadResult) -> int:
    """A scalar for ``objects`` itself or one of its items; the index of the current object."""
    result.saw_objects = True
    if depth == 2:
        index += 1
        result.object_count = index + 1  # a scalar item: reported when validated
    else:
        result.problems.append(_objects_not_array())
    return index


def _too_long(what: str, value: str, top_key: str | None, index: int) -> Problem:
    """A string or key longer than :data:`MAX_STRING`."""
    return Problem(
        _where(top_key, index),
        f"{what} is {len(value)} characters long (limit {MAX_STRING})",
        "shorten it",
    )


def _duplicate_key(key: str, depth: int, top_key: str | None, index: int) -> Problem:
    """A key seen twice in one object."""
    return Problem(
        f"$.{key}" if depth == 1 else _where(top_key, index),
        f"duplicate key {key!r}",
        "each key may appear once per object",
    )


def _too_deep(top_key: str | None, index: int, offset: int) -> Problem:
    """Nesting past :data:`MAX_DEPTH`."""
    return Problem(
        _where(top_key, index),
        f"nesting deeper than {MAX_DEPTH} levels near byte {offset}",
        "a blueprint is at most a few levels deep; flatten it",
    )


def _not_an_object(got: str) -> Problem:
    """The document is not a JSON object."""
    return Problem(
        "$",
        f"expected a JSON object at the top level, got {got}",
        'the file must be {"schema_version": "1", ...}',
    )


def _objects_not_array() -> Problem:
    """``objects`` is not an array."""
    return Problem("$.objects", "expected an array of objects", 'write "objects": [{...}, ...]')
