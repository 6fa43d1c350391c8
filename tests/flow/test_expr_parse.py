"""Parsing expressions: literals, escapes, keywords, precedence, syntax errors with columns,
names read and functions called, and the ``${...}`` wrapper."""

from __future__ import annotations

import dataclasses
import math

import pytest
from bp_flow.expr import (
    Expression,
    ExprSyntaxError,
    expression_text,
    is_expression,
    parse_expression,
)
from bp_flow.expr.nodes import (
    Binary,
    Call,
    Index,
    ListLit,
    Literal,
    MapLit,
    Member,
    Name,
    StdConst,
    Unary,
)

from tests.flow.expr_helpers import ev, ev_error

# ---------------------------------------------------------------- literals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("42", 42),
        ("007", 7),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
        ("-5", -5),
    ],
)
def test_integer_literals(text: str, expected: int) -> None:
    """Decimal digits are an integer (64-bit, a leading minus included)."""
    value = ev(text)
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.1", 4.1),
        ("0.5", 0.5),
        ("1e3", 1000.0),
        ("1E3", 1000.0),
        ("2.5e-3", 0.0025),
        ("2.5E+2", 250.0),
        ("-1.5", -1.5),
    ],
)
def test_double_literals(text: str, expected: float) -> None:
    """A decimal point or an exponent makes a double."""
    value = ev(text)
    assert value == expected
    assert type(value) is float


@pytest.mark.parametrize("text", [".5", "5.", "1e", "1.5.2", "0x10"])
def test_malformed_numbers_are_syntax_errors(text: str) -> None:
    """Numbers need digits on both sides of the point; no hex."""
    with pytest.raises(ExprSyntaxError):
        parse_expression(text)


def test_integer_literal_out_of_range() -> None:
    """An integer literal above 2**63-1 is refused at parse time, at its column."""
    with pytest.raises(ExprSyntaxError) as info:
        parse_expression("1 + 9223372036854775808")
    assert info.value.column == 5


def test_double_literal_overflow() -> None:
    """A double literal beyond the double range is a syntax error."""
    with pytest.raises(ExprSyntaxError):
        parse_expression("1e400")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"hello"', "hello"),
        ('""', ""),
        ('"a: b"', "a: b"),
        ('"say \\"hi\\""', 'say "hi"'),
        ('"back\\\\slash"', "back\\slash"),
        ('"a\\/b"', "a/b"),
        ('"\\b\\f\\n\\r\\t"', "\b\f\n\r\t"),
        ('"\\u00e9t\\u00C9"', "étÉ"),
        ('"\\ud83d\\ude00"', "\U0001f600"),
        ('"héllo ☃"', "héllo ☃"),
    ],
)
def test_string_literals_and_escapes(text: str, expected: str) -> None:
    """Double-quoted strings with JSON-style escapes."""
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ('"a\\qb"', 3),
        ('"\\u12"', 2),
        ('"\\ud800"', 2),
        ('"x\\udc00"', 3),
    ],
)
def test_bad_escapes_are_syntax_errors_at_the_backslash(text: str, column: int) -> None:
    """Unknown escapes, short \\u escapes and unpaired surrogates point at the backslash."""
    with pytest.raises(ExprSyntaxError) as info:
        parse_expression(text)
    assert info.value.column == column


@pytest.mark.parametrize("text", ["'single'", '"unterminated', '"line\nbreak"'])
def test_other_string_forms_are_syntax_errors(text: str) -> None:
    """Single quotes, unterminated strings and raw line breaks are not strings."""
    with pytest.raises(ExprSyntaxError):
        parse_expression(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("False", False),
        ("FALSE", False),
        ("null", None),
    ],
)
def test_boolean_and_null_literals(text: str, expected: object) -> None:
    """Booleans in three spellings, null in one."""
    assert ev(text) is expected


@pytest.mark.parametrize("text", ["tRue", "Null", "NULL", "nil", "None"])
def test_other_spellings_are_variable_names(text: str) -> None:
    """Mixed-case keywords are ordinary names (variables)."""
    assert parse_expression(text).names_read() == {text}


def test_list_and_map_literals() -> None:
    """Lists and maps (string keys) may be written in an expression, nested."""
    assert ev('[1, "a", [true, null], {}]') == [1, "a", [True, None], {}]
    assert ev('{"a": 1, "b": {"c": [2]}}') == {"a": 1, "b": {"c": [2]}}
    assert ev("[]") == []
    assert ev("{}") == {}


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ('{"a": 1, "a": 2}', 10),
        ("{a: 1}", 2),
        ("[1, 2,]", 7),
        ("{1: 2}", 2),
    ],
)
def test_bad_collection_literals(text: str, column: int) -> None:
    """Duplicate keys, unquoted or non-string keys and trailing commas are refused."""
    with pytest.raises(ExprSyntaxError) as info:
        parse_expression(text)
    assert info.value.column == column


def test_literal_lists_are_fresh_values() -> None:
    """Each evaluation of a list literal gives a new list."""
    expr = parse_expression("[1, [2]]")
    first = expr.evaluate(_NoVars())
    first[1].append(3)
    assert expr.evaluate(_NoVars()) == [1, [2]]


class _NoVars:
    def lookup(self, name: str) -> object:
        raise AssertionError(name)

    def call(self, name: str, args: list[object]) -> object:
        raise AssertionError(name)


# ---------------------------------------------------------------- keywords and names


def test_logical_keywords_in_upper_case() -> None:
    """and, or, not may be written in upper case."""
    assert ev("NOT FALSE AND TRUE OR FALSE") is True


@pytest.mark.parametrize("text", ["true And false", "true Or false", "Not true"])
def test_mixed_case_logical_keywords_are_not_operators(text: str) -> None:
    """Mixed-case and/or/not are names, so these are syntax errors."""
    with pytest.raises(ExprSyntaxError):
        parse_expression(text)


def test_keywords_inside_names_are_names() -> None:
    """Names that start with a keyword (order, notes, index, nullable) are variables."""
    expr = parse_expression("order + notes + index + nullable + true_value + in_x")
    assert expr.names_read() == {"order", "notes", "index", "nullable", "true_value", "in_x"}


def test_whitespace_and_line_breaks_are_ignored() -> None:
    """An expression may span lines (YAML multi-line values)."""
    assert ev('"SELECT *"\n   + " FROM t"\t+ "\\nWHERE id=7"') == "SELECT * FROM t\nWHERE id=7"


# ---------------------------------------------------------------- precedence


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 2 - 3", 5),
        ("100 / 10 / 2", 5.0),
        ("2 * 7 // 4", 3),
        ("2 * 7 % 4", 2),
        ("7 // 2 * 2", 6),
        ("-2 * 3", -6),
        ("- 2 + 3", 1),
        ("1 + 2 == 3", True),
        ("1 + 1 in [2]", True),
        ("1 < 2 == true", True),
        ('"a" in {"a": 1} == true', True),
        ("true or false and false", True),
        ("(true or false) and false", False),
        ("false and true or true", True),
        ("not false and false", False),
        ("not true == false", True),
        ("-x.y", -3),
        ("-l[1]", -2),
    ],
)
def test_precedence_and_associativity(text: str, expected: object) -> None:
    """The reference's order (() . [] not - * / // % + - comparisons and or), left to right."""
    value = ev(text, x={"y": 3}, l=[1, 2])
    assert value == expected
    assert type(value) is type(expected)


def test_not_binds_tighter_than_comparison() -> None:
    """``not 1 == 2`` is ``(not 1) == 2``: a TypeError, not true."""
    assert ev_error("not 1 == 2").tags == ["TypeError"]


def test_comparisons_do_not_chain() -> None:
    """``1 < 2 < 3`` is ``(1 < 2) < 3``, comparing a boolean with a number."""
    assert ev_error("1 < 2 < 3").tags == ["TypeError"]


def test_tree_shape() -> None:
    """Member, index, call, unary and binary nodes nest as written."""
    root = parse_expression('-a.b[0] + f(x, "k")').root
    expected = Binary(
        "+",
        Unary("-", Index(Member(Name("a"), "b"), Literal(0))),
        Call("f", (Name("x"), Literal("k"))),
    )
    assert root == expected


def test_collection_nodes() -> None:
    """List and map literals become ListLit and MapLit nodes."""
    root = parse_expression('[1, {"a": b}]').root
    assert root == ListLit((Literal(1), MapLit((("a", Name("b")),))))


def test_negative_literals_are_folded() -> None:
    """``-5`` is the literal -5, ``-x`` a negation."""
    assert parse_expression("-5").root == Literal(-5)
    assert parse_expression("-x").root == Unary("-", Name("x"))


# ---------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("1 +", 4, "end"),
        ("1 + * 2", 5, "'*'"),
        ("a..b", 3, "'.'"),
        ("foo(1,", 7, "end"),
        ("1 2", 3, "'2'"),
        ("a # b", 3, "'#'"),
        ("(1 + 2", 7, "end"),
        ("1 + 2)", 6, "')'"),
        ("x[0](1)", 1, "function name"),
        ("a\n+ *", 5, "'*'"),
        ("   ", 1, "empty"),
        ("", 1, "empty"),
        ("a = 1", 3, "'='"),
    ],
)
def test_syntax_errors_have_a_column(text: str, column: int, message: str | None) -> None:
    """Errors give a message and the 1-based column (line breaks count as characters)."""
    with pytest.raises(ExprSyntaxError) as info:
        parse_expression(text)
    assert info.value.column == column
    if message is not None:
        assert message in info.value.message


def test_redundant_parentheses_add_no_depth() -> None:
    """Thousands of nested parentheses around a value parse and evaluate."""
    assert ev("(" * 3000 + "1" + ")" * 3000) == 1


def test_long_operator_chains() -> None:
    """A chain of 256 operands is accepted; a deeper tree is refused at parse time."""
    assert ev("+".join(["1"] * 256)) == 256
    with pytest.raises(ExprSyntaxError, match="nested too deeply"):
        parse_expression("+".join(["1"] * 300))
    with pytest.raises(ExprSyntaxError, match="nested too deeply"):
        parse_expression("-" * 300 + "x")


# ---------------------------------------------------------------- names and functions


@pytest.mark.parametrize(
    ("text", "names", "functions"),
    [
        ("a", {"a"}, set()),
        ("a.b.c", {"a"}, set()),
        ('a["b"][c].d', {"a", "c"}, set()),
        (
            "len(x) + text.split(a, b)[0] + my_sub(1)",
            {"x", "a", "b"},
            {"len", "text.split", "my_sub"},
        ),
        ('{"k": v, "w": 1}', {"v"}, set()),
        ('default(map.get(m, "k"), d)', {"m", "d"}, {"default", "map.get"}),
        ("http.default_retry", set(), set()),
        ("http.default_retry_predicate(e)", {"e"}, {"http.default_retry_predicate"}),
        ("retry.default_backoff", set(), set()),
        ("sys.now() + 1", set(), {"sys.now"}),
        ("1 + 2", set(), set()),
        ("f(g(h(x)))", {"x"}, {"f", "g", "h"}),
    ],
)
def test_names_read_and_functions_called(text: str, names: set[str], functions: set[str]) -> None:
    """Variables are chain roots, functions full dotted names; library values are neither."""
    expr = parse_expression(text)
    assert expr.names_read() == frozenset(names)
    assert expr.functions_called() == frozenset(functions)


def test_library_values_become_constants() -> None:
    """A dotted path naming a library value is a StdConst node."""
    assert parse_expression("http.default_retry").root == StdConst("http.default_retry")
    assert parse_expression("http.other").root == Member(Name("http"), "other")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a", "a"),
        ("a.b.c", "a.b.c"),
        ("my_predicate", "my_predicate"),
        ("http.default_retry_predicate", "http.default_retry_predicate"),
        ("a[0]", None),
        ("a + b", None),
        ("f()", None),
    ],
)
def test_dotted_name(text: str, expected: str | None) -> None:
    """``dotted_name()`` gives the name when the whole expression is one."""
    assert parse_expression(text).dotted_name() == expected


def test_expression_is_immutable_and_keeps_its_source() -> None:
    """An Expression keeps the text and cannot be changed."""
    expr = parse_expression(" a + 1 ")
    assert isinstance(expr, Expression)
    assert expr.source == " a + 1 "
    with pytest.raises(dataclasses.FrozenInstanceError):
        expr.source = "b"  # type: ignore[misc]


# ---------------------------------------------------------------- the ${...} wrapper


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${x}", True),
        ("${a + b}", True),
        ("  ${x}\n", True),
        ('${"}"}', True),
        ("${}", True),
        ("$x", False),
        ("{x}", False),
        ("${x", False),
        ("x}", False),
        ("a ${x}", False),
        ("${x} b", False),
        ("", False),
        (5, False),
        (None, False),
        (["${x}"], False),
    ],
)
def test_is_expression(value: object, expected: bool) -> None:
    """A string is an expression when its whole (trimmed) value is ``${...}``."""
    assert is_expression(value) is expected


def test_expression_text() -> None:
    """The inside of ``${...}``, untrimmed inside the braces."""
    assert expression_text("${ a + b }") == " a + b "
    assert expression_text("\t${x}\n") == "x"
    with pytest.raises(ValueError, match="not an expression"):
        expression_text("plain")


def test_two_expressions_in_one_value_do_not_parse() -> None:
    """``${a} ${b}`` passes the wrapper check but is not one valid expression."""
    text = "${a} ${b}"
    assert is_expression(text)
    with pytest.raises(ExprSyntaxError):
        parse_expression(expression_text(text))


def test_special_doubles_are_not_literals() -> None:
    """inf and nan are names, not numbers."""
    assert parse_expression("inf").names_read() == {"inf"}
    assert not math.isnan(ev("1.0"))
