"""The standard-library registry: contents, positional and named calls with their arity
errors, which functions expressions may call, and the generated docs table."""

from __future__ import annotations

from pathlib import Path

import pytest
from bp_flow import stdlib
from bp_flow.errors import WorkflowError
from bp_flow.runtime import FakeClock, Runtime

from tests.flow.expr_helpers import call, call_error

DOC = Path(__file__).resolve().parents[2] / "docs" / "WORKFLOW_EXPRESSIONS.md"

REQUIRED = {
    "default", "len", "keys", "map.get", "map.merge", "map.merge_nested", "map.delete",
    "list.concat", "list.prepend", "text.split", "text.replace_all", "text.find_all",
    "text.substring", "text.to_lower", "text.to_upper", "text.match_regex", "text.find_all_regex",
    "text.url_encode", "text.url_decode", "text.encode", "text.decode", "json.encode",
    "json.encode_to_string", "json.decode", "string", "int", "double", "get_type", "sys.get_env",
    "sys.now", "sys.log", "sys.sleep", "time.format", "time.parse", "math.abs", "math.max",
    "math.min", "math.floor", "hash.compute_checksum", "base64.encode", "base64.decode",
    "uuid.generate", "http.default_retry_predicate", "http.default_retry_predicate_non_idempotent",
}  # fmt: skip


def test_required_functions_are_registered() -> None:
    """Every function the interpreter must support is in the registry."""
    assert set(stdlib.FUNCTIONS) >= REQUIRED
    assert all(stdlib.is_known(name) for name in REQUIRED)
    assert not stdlib.is_known("text.nope")
    assert not stdlib.is_known("bool")


def test_registry_entries_are_consistent() -> None:
    """Keys match names; parameter names are unique; optional ones come last; summaries fit a table cell."""
    for name, fn in stdlib.FUNCTIONS.items():
        assert fn.name == name
        names = [p.name for p in fn.params]
        assert len(names) == len(set(names)), name
        required = [p.required for p in fn.params]
        assert required == sorted(required, reverse=True), name
        assert fn.summary and "|" not in fn.summary and "\n" not in fn.summary, name


def test_registry_is_read_only() -> None:
    """The registry cannot be changed at run time."""
    with pytest.raises(TypeError):
        stdlib.FUNCTIONS["x"] = stdlib.FUNCTIONS["len"]  # type: ignore[index]


def test_blocking_functions_are_call_only() -> None:
    """sys.log, sys.sleep and sys.sleep_until cannot be used in expressions; the rest can."""
    blocking = {name for name, fn in stdlib.FUNCTIONS.items() if not fn.in_expressions}
    assert blocking == {"sys.log", "sys.sleep", "sys.sleep_until"}


def test_positional_call_fills_defaults() -> None:
    """Missing optional arguments take their defaults."""
    assert call("text.encode", "é") == "é".encode()
    assert call("text.encode", "é", "ISO-8859-1") == b"\xe9"


def test_positional_arity_errors() -> None:
    """Too many or too few positional arguments are TypeErrors."""
    assert call_error("len").tags == ["TypeError"]
    assert call_error("len", "a", "b").tags == ["TypeError"]
    assert call_error("text.split", "a").tags == ["TypeError"]
    assert "at most 1" in call_error("len", 1, 2).message


def test_unknown_function() -> None:
    """Calling a name that is not in the registry raises KeyError."""
    assert call_error("text.nope", "a").tags == ["KeyError"]


def test_named_call() -> None:
    """Named arguments map to parameters; optional ones may be left out."""
    rt = Runtime(env={"A": "1"}, clock=FakeClock())
    assert stdlib.call_named(rt, "sys.get_env", {"name": "A"}) == "1"
    assert stdlib.call_named(rt, "sys.get_env", {"name": "B", "default": "d"}) == "d"
    assert stdlib.call_named(rt, "text.split", {"separator": "-", "source": "a-b"}) == ["a", "b"]


@pytest.mark.parametrize(
    ("name", "args", "words"),
    [
        ("sys.get_env", {"nam": "A"}, ["unexpected", "nam"]),
        ("sys.get_env", {}, ["missing", "name"]),
        ("text.split", {"source": "a"}, ["missing", "separator"]),
        ("sys.sleep", {"seconds": 1, "extra": 2}, ["unexpected", "extra"]),
    ],
)
def test_named_call_errors(name: str, args: dict[str, object], words: list[str]) -> None:
    """Unknown or missing argument names are TypeErrors that name the argument."""
    with pytest.raises(WorkflowError) as info:
        stdlib.call_named(Runtime(clock=FakeClock()), name, args)
    assert info.value.tags == ["TypeError"]
    assert all(w in info.value.message for w in words)


def test_docs_table_lists_every_function() -> None:
    """The generated table has one row per function with its parameters."""
    table = stdlib.docs_table()
    lines = table.strip().splitlines()
    assert len(lines) == 2 + len(stdlib.FUNCTIONS)
    assert '| `text.encode` | `text, charset="UTF-8"` | yes |' in table
    assert "| `sys.sleep` | `seconds` | no (call step only) |" in table
    assert "| `uuid.generate` | (none) | yes |" in table


def test_committed_docs_table_is_current() -> None:
    """docs/WORKFLOW_EXPRESSIONS.md holds exactly docs_table() between its markers."""
    text = DOC.read_text(encoding="utf-8")
    start, end = "<!-- functions:start -->\n", "<!-- functions:end -->"
    committed = text[text.index(start) + len(start) : text.index(end)]
    assert committed == stdlib.docs_table()
