"""Expression text to syntax tree: the lark grammar (``grammar.lark``), then a transformer
that builds :mod:`bp_flow.expr.nodes` and checks what the grammar alone cannot (escapes,
integer range, call targets, duplicate map keys)."""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer_NonRecursive, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.tree import Meta

from bp_flow.expr.nodes import (
    Binary,
    Call,
    Index,
    ListLit,
    Literal,
    MapLit,
    Member,
    Name,
    Node,
    StdConst,
    Unary,
    dotted_name,
    walk,
)
from bp_flow.expr.values import INT_MAX, INT_MIN, is_int
from bp_flow.stdlib.retry import CONSTANTS

_GRAMMAR = resources.files("bp_flow.expr").joinpath("grammar.lark").read_text(encoding="utf-8")
_LARK = Lark(
    _GRAMMAR,
    parser="lalr",
    lexer="basic",
    propagate_positions=True,
    maybe_placeholders=False,
)
_LOCK = threading.Lock()
MAX_DEPTH = 256
"""Deepest syntax tree accepted (evaluation recurses once per level)."""

_SIMPLE_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


class ExprSyntaxError(Exception):
    """The expression text is not valid: ``message`` and the 1-based ``column`` (counted in
    characters from the start of the text, line breaks included)."""

    def __init__(self, message: str, column: int) -> None:
        self.message = message
        self.column = column
        super().__init__(f"{message} (column {column})")


def parse(text: str) -> Node:
    """The syntax tree of ``text`` (what is inside ``${...}``)."""
    if not text.strip():
        raise ExprSyntaxError("empty expression", 1)
    try:
        with _LOCK:
            tree = _LARK.parse(text)
        root: Node = _Builder().transform(tree)
    except UnexpectedInput as err:
        raise _syntax_error(err, text) from None
    except VisitError as err:
        if isinstance(err.orig_exc, ExprSyntaxError):
            raise err.orig_exc from None
        raise
    _check_int_range(root)
    _check_depth(root)
    return root


def _syntax_error(err: UnexpectedInput, text: str) -> ExprSyntaxError:
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        return ExprSyntaxError(f"unexpected character {text[pos]!r}", pos + 1)
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        pos = err.token.start_pos if err.token.start_pos is not None else 0
        return ExprSyntaxError(f"unexpected {str(err.token)!r}", pos + 1)
    return ExprSyntaxError("unexpected end of expression", len(text) + 1)  # $END or EOF


def _check_int_range(root: Node) -> None:
    for node in walk(root):
        if (
            isinstance(node, Literal)
            and is_int(node.value)
            and not INT_MIN <= node.value <= INT_MAX
        ):
            raise ExprSyntaxError("integer literal outside the 64-bit range", node.col)


def _check_depth(root: Node) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExprSyntaxError(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels)", node.col
            )
        stack.extend((child, depth + 1) for child in node.children())


def _col(meta_or_token: Meta | Token) -> int:
    pos = meta_or_token.start_pos
    return (pos or 0) + 1


def unescape(raw: str, col: int) -> str:
    """The value of a string literal (``raw`` with its quotes) starting at column ``col``."""
    out: list[str] = []
    i, end = 1, len(raw) - 1
    while i < end:
        ch = raw[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = raw[i + 1]
        if code in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[code])
            i += 2
        elif code == "u":
            char, i = _unicode_escape(raw, i, end, col)
            out.append(char)
        else:
            raise ExprSyntaxError(f"invalid escape sequence '\\{code}' in a string", col + i)
    return "".join(out)


def _unicode_escape(raw: str, i: int, end: int, col: int) -> tuple[str, int]:
    first = _hex4(raw, i, end, col)
    if 0xD800 <= first <= 0xDBFF and raw.startswith("\\u", i + 6):
        second = _hex4(raw, i + 6, end, col)
        if 0xDC00 <= second <= 0xDFFF:
            return chr(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)), i + 12
    if 0xD800 <= first <= 0xDFFF:
        raise ExprSyntaxError("unpaired surrogate in a '\\u' escape", col + i)
    return chr(first), i + 6


def _hex4(raw: str, i: int, end: int, col: int) -> int:
    digits = raw[i + 2 : i + 6]
    if i + 6 > end or len(digits) != 4 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ExprSyntaxError("'\\u' needs four hexadecimal digits", col + i)
    return int(digits, 16)


@v_args(meta=True)
class _Builder(Transformer_NonRecursive[Token, Node]):
    """lark tree to nodes (no state: one instance may serve every parse)."""

    def int_lit(self, meta: Meta, children: list[Token]) -> Node:
        return Literal(int(children[0]), col=_col(children[0]))

    def float_lit(self, meta: Meta, children: list[Token]) -> Node:
        value = float(children[0])
        if value == float("inf"):
            raise ExprSyntaxError("number literal too large for a double", _col(children[0]))
        return Literal(value, col=_col(children[0]))

    def string_lit(self, meta: Meta, children: list[Token]) -> Node:
        tok = children[0]
        return Literal(unescape(str(tok), _col(tok)), col=_col(tok))

    def true_lit(self, meta: Meta, children: list[Token]) -> Node:
        return Literal(True, col=_col(children[0]))

    def false_lit(self, meta: Meta, children: list[Token]) -> Node:
        return Literal(False, col=_col(children[0]))

    def null_lit(self, meta: Meta, children: list[Token]) -> Node:
        return Literal(None, col=_col(children[0]))

    def name(self, meta: Meta, children: list[Token]) -> Node:
        return Name(str(children[0]), col=_col(children[0]))

    def list_lit(self, meta: Meta, children: list[Node]) -> Node:
        return ListLit(tuple(children), col=_col(meta))

    def pair(self, meta: Meta, children: list[Any]) -> tuple[str, Node, int]:
        tok: Token = children[0]
        return unescape(str(tok), _col(tok)), children[1], _col(tok)

    def map_lit(self, meta: Meta, children: list[tuple[str, Node, int]]) -> Node:
        seen: set[str] = set()
        for key, _, col in children:
            if key in seen:
                raise ExprSyntaxError(f"duplicate key {key!r} in a map", col)
            seen.add(key)
        return MapLit(tuple((k, v) for k, v, _ in children), col=_col(meta))

    def member(self, meta: Meta, children: list[Any]) -> Node:
        obj: Node = children[0]
        node = Member(obj, str(children[1]), col=obj.col)
        name = dotted_name(node)
        if name is not None and name in CONSTANTS:
            return StdConst(name, col=obj.col)
        return node

    def index(self, meta: Meta, children: list[Node]) -> Node:
        return Index(children[0], children[1], col=children[0].col)

    def call(self, meta: Meta, children: list[Node]) -> Node:
        target = children[0]
        name = target.name if isinstance(target, StdConst) else dotted_name(target)
        if name is None:
            raise ExprSyntaxError("only a function name can be called", target.col)
        return Call(name, tuple(children[1:]), col=target.col)

    def unary(self, meta: Meta, children: list[Any]) -> Node:
        op_tok: Token = children[0]
        operand: Node = children[1]
        op = "-" if op_tok.type == "MINUS" else "not"
        if (
            op == "-"
            and isinstance(operand, Literal)
            and (is_int(operand.value) or isinstance(operand.value, float))
        ):
            return Literal(-operand.value, col=_col(op_tok))
        return Unary(op, operand, col=_col(op_tok))

    def binary(self, meta: Meta, children: list[Any]) -> Node:
        left: Node = children[0]
        op_tok: Token = children[1]
        op = (
            str(op_tok) if op_tok.type in {"CMP", "MULOP", "PLUS", "MINUS"} else str(op_tok).lower()
        )
        return Binary(op, left, children[2], col=left.col)
