"""Streaming blueprint reader: bounded memory whatever the file size.

``ijson`` emits parse events; we track nesting depth and duplicate keys ourselves,
build one object at a time, and hand each to the caller. Memory is O(one object +
nesting depth), independent of the number of objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import ijson
from bp_sdk.errors import Problem

MAX_DEPTH = 16
MAX_STRING = 4096
OBJECTS = "objects"


class _Counting:
    """Counts bytes read so parse errors can name an offset."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.offset = 0

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        self.offset += len(data)
        return data


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


class _Builder:
    """Builds one JSON value from events, refusing duplicate keys and long strings."""

    def __init__(self, where: str, problems: list[Problem]) -> None:
        self.where = where
        self.problems = problems
        self.stack: list[Any] = []
        self.keys: list[str | None] = []
        self.value: Any = None
        self.done = False

    def _put(self, value: Any) -> None:
        if not self.stack:
            self.value = value
            self.done = True
            return
        top = self.stack[-1]
        if isinstance(top, list):
            top.append(value)
        else:
            key = self.keys[-1]
            assert key is not None  # noqa: S101 - ijson always sends map_key first
            top[key] = value

    def event(self, event: str, value: Any) -> None:
        if event == "map_key":
            top = self.stack[-1]
            if value in top:
                self.problems.append(
                    Problem(
                        self.where,
                        f"duplicate key {value!r}",
                        "each key may appear once per object",
                    )
                )
            self.keys[-1] = value
        elif event in ("start_map", "start_array"):
            self.stack.append({} if event == "start_map" else [])
            self.keys.append(None)
        elif event in ("end_map", "end_array"):
            done = self.stack.pop()
            self.keys.pop()
            self._put(done)
        else:
            if isinstance(value, str) and len(value) > MAX_STRING:
                self.problems.append(
                    Problem(
                        self.where,
                        f"a string is {len(value)} characters long (limit {MAX_STRING})",
                        "shorten it",
                    )
                )
                value = value[:MAX_STRING]
            self._put(value)


def read_blueprint(
    stream: BinaryIO, on_object: Callable[[int, Any], None], max_objects: int
) -> ReadResult:
    """Parse ``stream``; call ``on_object(index, raw)`` for each item of ``objects``."""
    result = ReadResult()
    counting = _Counting(stream)
    events: Iterator[tuple[str, str, Any]] = ijson.parse(counting, use_float=True)
    try:
        _walk(events, result, on_object, max_objects)
    except FatalParse as fatal:
        result.problems.append(fatal.problem)
    except ijson.JSONError as exc:
        result.problems.append(_json_problem(str(exc), counting.offset))
    except UnicodeDecodeError:
        result.problems.append(
            Problem("$", f"invalid UTF-8 near byte {counting.offset}", "save the file as UTF-8")
        )
    return result


def _json_problem(text: str, offset: int) -> Problem:
    first = text.strip().splitlines()[0] if text.strip() else "malformed JSON"
    hint = "fix the JSON syntax"
    low = text.lower()
    if "utf8" in low or "utf-8" in low:
        hint = "save the file as UTF-8"
    elif "nan" in low or "infinity" in low or "invalid char" in low:
        hint = "fix the JSON syntax; NaN and Infinity are not JSON, write finite numbers"
    return Problem("$", f"invalid JSON near byte {offset}: {first[:200]}", hint)


def _walk(
    events: Iterator[tuple[str, str, Any]],
    result: ReadResult,
    on_object: Callable[[int, Any], None],
    max_objects: int,
) -> None:
    depth = 0
    first = True
    top_keys: set[str] = set()
    key: str | None = None
    builder: _Builder | None = None
    in_objects = False
    index = -1
    for _prefix, event, value in events:
        if event in ("start_map", "start_array"):
            depth += 1
            if depth > MAX_DEPTH:
                raise FatalParse(
                    Problem(
                        "$",
                        f"nesting deeper than {MAX_DEPTH} levels",
                        "a blueprint is at most a few levels deep; flatten it",
                    )
                )
        if first:
            first = False
            if event != "start_map":
                raise FatalParse(
                    Problem(
                        "$",
                        f"expected a JSON object at the top level, got {event.replace('start_', '')}",
                        'the file must be {"schema_version": "1", ...}',
                    )
                )
            continue
        if builder is not None:
            builder.event(event, value)
            if builder.done:
                if in_objects:
                    on_object(index, builder.value)
                else:
                    assert key is not None  # noqa: S101
                    result.header[key] = builder.value
                builder = None
        elif in_objects:
            if event == "end_array" and depth == 2:
                in_objects = False
            else:
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
                builder = _Builder(f"$.objects[{index}]", result.problems)
                builder.event(event, value)
                if builder.done:  # a scalar item
                    on_object(index, builder.value)
                    builder = None
        elif depth == 1 and event == "map_key":
            key = value
            if key in top_keys:
                result.problems.append(
                    Problem(f"$.{key}", "duplicate top-level key", "each key may appear once")
                )
            top_keys.add(key)
        elif depth == 2 and key == OBJECTS and event == "start_array":
            in_objects = True
            result.saw_objects = True
        elif event in ("end_map", "end_array") and depth == 1:
            pass  # end of the document
        else:
            if key == OBJECTS:
                result.saw_objects = True
                result.problems.append(
                    Problem(
                        "$.objects", "expected an array of objects", 'write "objects": [{...}, ...]'
                    )
                )
            builder = _Builder(f"$.{key}", result.problems)
            builder.event(event, value)
            if builder.done:
                if key != OBJECTS:
                    assert key is not None  # noqa: S101
                    result.header[key] = builder.value
                builder = None
        if event in ("end_map", "end_array"):
            depth -= 1
