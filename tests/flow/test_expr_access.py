"""Reading variables, map keys and list elements; library values; function calls through
the context; evaluation from several threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from bp_flow.errors import WorkflowError
from bp_flow.expr import parse_expression
from bp_flow.stdlib import retry

from tests.flow.expr_helpers import DictContext, ev, ev_error

DATA = {
    "m": {"a": 1, "b": {"c": [10, 20, {"d": "deep"}]}, "special!key": "x", "n": None},
    "l": [1, "two", [3]],
    "i": 1,
    "k": "a",
    "s": "text",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("m.a", 1),
        ('m["a"]', 1),
        ("m[k]", 1),
        ("m.b.c[2].d", "deep"),
        ('m["b"]["c"][0]', 10),
        ('m["special!key"]', "x"),
        ("m.n", None),
        ("l[0]", 1),
        ("l[i]", "two"),
        ("l[i + 1][0]", 3),
        ("l[len(l) - 1]", [3]),
        ('text.split("a-b-c", "-")[2]', "c"),
        ('{"x": [5]}.x[0]', 5),
        ("[7, 8][1]", 8),
    ],
)
def test_reading_values(text: str, expected: Any) -> None:
    """Dot and bracket access on maps, integer indexes on lists, chained and computed."""
    assert ev(text, **DATA) == expected


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("m.missing", "KeyError"),
        ('m["missing"]', "KeyError"),
        ("m.b.missing", "KeyError"),
        ("undefined", "KeyError"),
        ("l[3]", "IndexError"),
        ("l[-1]", "IndexError"),
        ("l[100]", "IndexError"),
        ("[][0]", "IndexError"),
        ('l["0"]', "TypeError"),
        ("l[1.0]", "TypeError"),
        ("l[true]", "TypeError"),
        ("l[null]", "TypeError"),
        ("m[1]", "TypeError"),
        ("m[null]", "TypeError"),
        ("s[0]", "TypeError"),
        ("s.length", "TypeError"),
        ("l.a", "TypeError"),
        ("m.n.x", "TypeError"),
        ("m.a.x", "TypeError"),
        ("i[0]", "TypeError"),
    ],
)
def test_access_errors(text: str, tag: str) -> None:
    """Missing key: KeyError; index out of range (negative too): IndexError; bad types: TypeError."""
    assert ev_error(text, **DATA).tags == [tag]


def test_key_error_names_the_key() -> None:
    """The KeyError message says which key is missing."""
    assert "missing" in ev_error("m.missing", **DATA).message
    assert "3" in ev_error("l[3]", **DATA).message


def test_reading_does_not_copy_or_change_variables() -> None:
    """Evaluation reads the variables as they are and never changes them."""
    inner = {"x": [1]}
    ctx = DictContext({"v": inner})
    assert parse_expression("v.x").evaluate(ctx) is inner["x"]
    assert inner == {"x": [1]}


# ---------------------------------------------------------------- library values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("http.default_retry", retry.DEFAULT_RETRY),
        ("http.default_retry_non_idempotent", retry.DEFAULT_RETRY_NON_IDEMPOTENT),
        ("http.default_retry_predicate", retry.DEFAULT_RETRY_PREDICATE),
        (
            "http.default_retry_predicate_non_idempotent",
            retry.DEFAULT_RETRY_PREDICATE_NON_IDEMPOTENT,
        ),
        ("retry.default_backoff", retry.DEFAULT_BACKOFF),
        ("retry.always", retry.ALWAYS),
        ("retry.never", retry.NEVER),
    ],
)
def test_library_values(text: str, expected: object) -> None:
    """Dotted names of library values evaluate to those values without reading variables."""
    assert parse_expression(text).evaluate(DictContext()) is expected


def test_library_value_shadows_nothing_else() -> None:
    """Other dotted paths under a module name are ordinary variable reads."""
    assert ev("http.other", http={"other": 1}) == 1
    assert ev_error("http.other").tags == ["KeyError"]


def test_library_predicate_can_be_called() -> None:
    """A predicate value can be called in an expression."""
    assert ev("http.default_retry_predicate(e)", e={"code": 503}) is True


# ---------------------------------------------------------------- calls


def test_calls_go_through_the_context_positionally() -> None:
    """Calls pass the dotted name and the evaluated arguments in order to ctx.call."""
    ctx = DictContext({"x": 2}, functions={"my_sub": lambda a, b: a * b, "lib.f": lambda: "r"})
    assert parse_expression("my_sub(x + 1, 4) + len(lib.f())").evaluate(ctx) == 13
    assert ctx.calls == [("my_sub", [3, 4]), ("lib.f", []), ("len", ["r"])]


def test_call_errors_propagate() -> None:
    """A WorkflowError raised by a function comes out of evaluate unchanged."""
    assert ev_error('int("x")').tags == ["ValueError"]
    assert ev_error("len(1, 2)").tags == ["TypeError"]


def test_arguments_are_evaluated_before_the_call() -> None:
    """An error in an argument stops the call from happening."""
    ctx = DictContext({"m": {}}, functions={"f": lambda x: x})
    with pytest.raises(WorkflowError, match="missing"):
        parse_expression("f(m.missing)").evaluate(ctx)
    assert ctx.calls == []


# ---------------------------------------------------------------- threads


def test_one_expression_from_many_threads() -> None:
    """A parsed expression gives each thread the answer for its own context."""
    expr = parse_expression('text.to_upper(name) + "-" + string(n * 2) + string(len(items))')
    barrier = threading.Barrier(8)

    def run(i: int) -> list[str]:
        barrier.wait()
        ctx = DictContext({"name": f"w{i}", "n": i, "items": list(range(i))})
        return [expr.evaluate(ctx) for _ in range(200)]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(8)))
    for i, values in enumerate(results):
        assert set(values) == {f"W{i}-{i * 2}{i}"}


def test_parsing_from_many_threads() -> None:
    """Parsing from several threads at once gives the same trees."""
    texts = [f"a{i} + {i} * f(x{i})[{i}]" for i in range(50)]
    with ThreadPoolExecutor(8) as pool:
        parsed = list(pool.map(parse_expression, texts * 4))
    for expr in parsed:
        i = int(expr.source.split()[0][1:])
        assert expr.names_read() == {f"a{i}", f"x{i}"}
        assert expr.functions_called() == {"f"}
