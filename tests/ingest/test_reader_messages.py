"""The blueprint reader's messages: every way a file can fail to be JSON gets its own
explanation and fix, through the real ingest stage (invalid UTF-8 at its exact offset, a
NaN or Infinity literal at its exact offset, a truncated file, byte-order marks, ...)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from bp_ingest.reader import FAST_BUFFER

from tests.ingest._support import Outcome, blueprint, dumps, ok_manifest

Run = Callable[..., Outcome]
NAN_HINT = "NaN"


def only_problem(out: Outcome) -> str:
    """The single problem of a refused run (exit 3, InputError), rendered."""
    assert out.code == 3, f"exit {out.code}"
    marker = out.marker()
    assert marker.error_type == "InputError", marker.message
    assert len(marker.problems) == 1, marker.problems
    return marker.problems[0]


def offset_in(problem: str) -> int:
    """The byte offset a problem names."""
    found = re.search(r"(?:byte|offset) (\d+)", problem)
    assert found, problem
    return int(found.group(1))


def raw_utf8(bp: dict[str, Any]) -> bytes:
    """The blueprint as UTF-8 JSON with non-ASCII characters written as themselves."""
    return json.dumps(bp, indent=1, ensure_ascii=False).encode("utf-8")


def test_invalid_utf8_names_its_exact_offset_and_says_utf8(run_ingest: Run) -> None:
    """A Latin-1 'é' (one 0xe9 byte) in the name: 'not valid UTF-8' at its exact offset, fix: save as UTF-8; no word of NaN."""
    data = dumps(blueprint()).replace(b'"test table"', b'"caf\xe9 table"')
    problem = only_problem(run_ingest(data))
    assert problem.startswith("$: the file is not valid UTF-8"), problem
    assert offset_in(problem) == data.index(b"\xe9")
    assert "0xe9" in problem and "(fix: save the file as UTF-8" in problem
    assert NAN_HINT not in problem and "Infinity" not in problem


def test_multibyte_characters_before_the_fault_do_not_move_its_offset(run_ingest: Run) -> None:
    """Hundreds of valid 2-, 3- and 4-byte characters (split across every read) precede a stray 0xff: its offset is exact."""
    bp = {"description": "é€😀" * 200, **blueprint()}  # the characters come first
    data = raw_utf8(bp).replace(b"test table", b"test \xff table")
    assert len(data) > 2000
    problem = only_problem(run_ingest(data))
    assert "not valid UTF-8" in problem and offset_in(problem) == data.index(b"\xff"), problem


def test_valid_utf8_straddling_a_read_is_accepted(run_ingest: Run) -> None:
    """A 3-byte '€' whose bytes straddle the reader's 64 KiB buffer edge is valid UTF-8: the blueprint ingests."""
    bp = blueprint()
    while len(raw_utf8(bp)) < FAST_BUFFER - 1500:
        bp["objects"] += [
            {
                "id": f"b{len(bp['objects']) + i}",
                "category": "toy_block",
                "size": [0.05, 0.05, 0.05],
                "pose": {"position": [0.3, -0.3 + 0.06 * (i % 10), 0.775]},
                "support": "table",
            }
            for i in range(20)
        ]
    bp["description"] = "@" * 1999  # the last key: it lies across the buffer edge
    head = raw_utf8(bp)
    start = head.index(b"@" * 1999)
    assert start < FAST_BUFFER - 1 < start + 1999, (start, FAST_BUFFER)
    pad = FAST_BUFFER - 1 - start  # '€' starts one byte before the buffer edge
    bp["description"] = "a" * pad + "€" + "b" * (1998 - pad)
    data = raw_utf8(bp)
    assert data[FAST_BUFFER - 1 : FAST_BUFFER + 2] == "€".encode()
    m = ok_manifest(run_ingest(data))
    assert "€" in m.description


def test_file_cut_inside_a_character_says_so(run_ingest: Run) -> None:
    """A file ending in the first two bytes of a 3-byte character: 'ends in the middle of a UTF-8 character' at that offset."""
    data = dumps(blueprint())[:-30] + "€".encode()[:2]
    problem = only_problem(run_ingest(data))
    assert "ends in the middle of a UTF-8 character" in problem
    assert offset_in(problem) == len(data) - 2


def test_utf16_file_is_named_as_utf16(run_ingest: Run) -> None:
    """A UTF-16 file (byte-order mark FF FE): 'UTF-16', fix: save it as UTF-8."""
    data = json.dumps(blueprint()).encode("utf-16")
    problem = only_problem(run_ingest(data))
    assert "UTF-16 byte-order mark" in problem and "(fix: save the file as UTF-8" in problem


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "nan", "inf"])
def test_nan_or_infinity_literal_gets_its_own_message_at_its_offset(
    literal: str, run_ingest: Run
) -> None:
    """A NaN/Infinity literal for a size: '<literal> is not a JSON number' at the literal's first byte, fix: a finite number."""
    raw = dumps(blueprint())
    pos = raw.index(b"0.09")
    data = raw[:pos] + literal.encode() + raw[pos + 4 :]
    problem = only_problem(run_ingest(data))
    assert f": {literal} is not a JSON number" in problem, problem
    assert offset_in(problem) == pos, problem
    assert "(fix: write a finite number" in problem and "UTF-8" not in problem


def test_nan_straddling_the_precise_reads_is_found(run_ingest: Run) -> None:
    """A NaN placed across every 64-byte read boundary in turn is still named as NaN at its offset."""
    raw = dumps(blueprint())
    base = raw.index(b"0.09")
    for edge in (61, 62, 63):  # 'NaN' ends at, or straddles, the edge of a 64-byte read
        pad = (edge - base) % 64
        data = raw[:base] + b" " * pad + b"NaN" + raw[base + 4 :]
        problem = only_problem(run_ingest(data, scene=f"s{edge}"))
        assert "NaN is not a JSON number" in problem and offset_in(problem) == base + pad, problem


# (case, bytes to put in place of the name's value, text of the problem, text of the fix)
SYNTAX = [
    ("truncated", None, "ends before the JSON document does", "upload the complete file"),
    ("trailing-text", b'"t"} {', "more after the end of the top-level object", "remove everything"),
    (
        "second-bom",
        b'"t\xef\xbb\xbf", \xef\xbb\xbf',
        "byte-order mark (U+FEFF) inside",
        "at most one",
    ),
    ("overflow", b"1e999", "too large for a 64-bit float", "real value"),
    ("raw-tab-in-string", b'"a\x01b"', "control character", "escape"),
    ("bad-escape", b'"C:\\dir"', "invalid escape", "backslash"),
    ("single-quotes", b"'test'", "cannot start a JSON value", "double quotes"),
    ("bare-word", b"table", "bare word", "true, false and null"),
    ("comment", b'"t", // the name\n', "a comment", "remove the comment"),
    ("missing-comma", b'"t" "x"', "missing comma", "commas"),
    ("trailing-comma", b'"t",}', "not a double-quoted string", "trailing commas"),
    ("leading-plus", b"+1", "cannot start a JSON value", "leading +"),
]


@pytest.mark.parametrize(("name", "value", "what", "fix"), SYNTAX, ids=[c[0] for c in SYNTAX])
def test_each_syntax_error_gets_its_own_explanation_and_fix(
    name: str, value: bytes | None, what: str, fix: str, run_ingest: Run
) -> None:
    """Each kind of malformed JSON is explained and fixed in its own words, near its offset; only NaN speaks of NaN."""
    raw = dumps(blueprint())
    pos = raw.index(b'"test table"')
    data = raw[:-40] if value is None else raw[:pos] + value + raw[pos + len(b'"test table"') :]
    problem = only_problem(run_ingest(data))
    assert problem.startswith("$: invalid JSON near byte "), problem
    message, _, hint = problem.partition(" (fix: ")
    assert what in message and fix in hint, problem
    assert NAN_HINT not in problem and "not valid UTF-8" not in problem, problem
    expected = len(data) if value is None else pos
    assert 0 <= offset_in(problem) - expected <= len(value or b"") + 2, (expected, problem)


def test_one_byte_order_mark_is_still_accepted(run_ingest: Run) -> None:
    """A single UTF-8 byte-order mark at the start is harmless: the blueprint ingests."""
    ok_manifest(run_ingest(b"\xef\xbb\xbf" + raw_utf8(blueprint(name="café"))))
