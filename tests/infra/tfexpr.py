"""The Terraform expression language, parsed: the lexer, string templates and a recursive-
descent parser giving nested-tuple nodes that ``tests/infra/tfeval.py`` evaluates.

It covers the subset the consistency tests need: references, string templates, literals,
lists and objects, ``a ? b : c``, unary and binary operators, function calls (with ``...``
expansion) and ``for`` expressions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class EvalError(Exception):
    """An expression this evaluator cannot parse or that fails (e.g. a missing map key)."""


_PUNCT = ("==", "!=", ">=", "<=", "&&", "||", "=>", "...")
_SINGLE = "()[]{},.:?=<>!+-*/%"
_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass
class Tok:
    """One token: kind is num, str (raw template text), ident or punct."""

    kind: str
    text: str


def _scan_string(src: str, i: int) -> tuple[str, int]:
    """The raw text of the quoted string starting at ``src[i] == '"'``; index after it."""
    j, depth = i + 1, 0
    while j < len(src):
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if depth == 0 and c == '"':
            return src[i + 1 : j], j + 1
        if src.startswith("${", j):
            depth += 1
            j += 2
            continue
        if depth and c == "{":
            depth += 1
        elif depth and c == "}":
            depth -= 1
        elif depth and c == '"':
            _inner, j = _scan_string(src, j)
            continue
        j += 1
    raise EvalError(f"unterminated string in {src!r}")


def tokenize(src: str) -> list[Tok]:
    """Tokens of one expression."""
    out: list[Tok] = []
    i = 0
    while i < len(src):
        c = src[i]
        if c.isspace():
            i += 1
        elif c == '"':
            text, i = _scan_string(src, i)
            out.append(Tok("str", text))
        elif m := _NUMBER.match(src, i):
            out.append(Tok("num", m.group()))
            i = m.end()
        elif m := _IDENT.match(src, i):
            out.append(Tok("ident", m.group()))
            i = m.end()
        elif any(src.startswith(p, i) for p in _PUNCT):
            p = next(p for p in _PUNCT if src.startswith(p, i))
            out.append(Tok("punct", p))
            i += len(p)
        elif c in _SINGLE:
            out.append(Tok("punct", c))
            i += 1
        else:
            raise EvalError(f"unexpected {c!r} in {src!r}")
    return out


def unescape(text: str) -> str:
    """HCL string escapes of a literal part."""
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def template_parts(text: str) -> Iterator[tuple[bool, str]]:
    """``(is_expression, text)`` pieces of a template (``$${`` is a literal ``${``)."""
    i, lit = 0, []
    while i < len(text):
        if text.startswith("$${", i):
            lit.append("${")
            i += 3
        elif text.startswith("${", i):
            if lit:
                yield False, "".join(lit)
                lit = []
            j, depth = i + 2, 1
            while depth:
                if j >= len(text):
                    raise EvalError(f"unterminated interpolation in {text!r}")
                if text[j] == '"':
                    _s, j = _scan_string(text, j)
                    continue
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            yield True, text[i + 2 : j - 1]
            i = j
        else:
            lit.append(text[i])
            i += 1
    if lit:
        yield False, "".join(lit)


def template_node(text: str, *, literal_escaped: bool) -> tuple[Any, ...]:
    """A template as a node: a lone ``${expr}`` keeps its value's type."""
    parts = list(template_parts(text))
    if len(parts) == 1 and parts[0][0]:
        return parse_expression(parts[0][1])
    return (
        "tmpl",
        [
            parse_expression(piece) if is_expr else (unescape(piece) if literal_escaped else piece)
            for is_expr, piece in parts
        ],
    )


def parse_expression(src: str) -> tuple[Any, ...]:
    """Parse one expression's source text into a node."""
    parser = _Parser(tokenize(src), src)
    node = parser.parse_expr()
    if parser.pos != len(parser.toks):
        raise EvalError(f"trailing input in {src!r}")
    return node


class _Parser:
    _LEVELS = (("||",), ("&&",), ("==", "!="), (">", "<", ">=", "<="), ("+", "-"), ("*", "/", "%"))

    def __init__(self, toks: list[Tok], src: str) -> None:
        self.toks, self.src, self.pos = toks, src, 0

    def peek(self, text: str | None = None) -> Tok | None:
        if self.pos >= len(self.toks):
            return None
        tok = self.toks[self.pos]
        if text is not None and tok.text != text:
            return None
        return tok

    def take(self, text: str | None = None) -> Tok:
        tok = self.peek(text)
        if tok is None:
            raise EvalError(f"expected {text or 'more input'} in {self.src!r}")
        self.pos += 1
        return tok

    def parse_expr(self) -> tuple[Any, ...]:
        cond = self.parse_binary(0)
        if self.peek("?"):
            self.take("?")
            yes = self.parse_expr()
            self.take(":")
            no = self.parse_expr()
            return ("cond", cond, yes, no)
        return cond

    def parse_binary(self, level: int) -> tuple[Any, ...]:
        if level == len(self._LEVELS):
            return self.parse_unary()
        left = self.parse_binary(level + 1)
        while (
            (tok := self.peek()) is not None
            and tok.kind == "punct"
            and tok.text in self._LEVELS[level]
        ):
            op = self.take().text
            left = ("binop", op, left, self.parse_binary(level + 1))
        return left

    def parse_unary(self) -> tuple[Any, ...]:
        for op in ("!", "-"):
            if self.peek(op):
                self.take()
                return ("unop", op, self.parse_unary())
        return self.parse_postfix(self.parse_primary())

    def parse_postfix(self, node: tuple[Any, ...]) -> tuple[Any, ...]:
        while True:
            if self.peek("."):
                self.take()
                tok = self.take()
                node = ("attr", node, int(tok.text) if tok.kind == "num" else tok.text)
            elif self.peek("["):
                self.take()
                key = self.parse_expr()
                self.take("]")
                node = ("index", node, key)
            else:
                return node

    def parse_for(self, is_obj: bool) -> tuple[Any, ...]:
        self.take("for")
        first = self.take().text
        kvar, vvar = None, first
        if self.peek(","):
            self.take()
            kvar, vvar = first, self.take().text
        self.take("in")
        coll = self.parse_expr()
        self.take(":")
        key_node = None
        if is_obj:
            key_node = self.parse_expr()
            self.take("=>")
        val_node = self.parse_expr()
        group = False
        if self.peek("..."):
            self.take()
            group = True
        cond = None
        if self.peek("if"):
            self.take()
            cond = self.parse_expr()
        self.take("}" if is_obj else "]")
        return ("for", is_obj, kvar, vvar, coll, key_node, val_node, cond, group)

    def parse_primary(self) -> tuple[Any, ...]:
        tok = self.take()
        if tok.kind == "num":
            return ("lit", float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text))
        if tok.kind == "str":
            return template_node(tok.text, literal_escaped=True)
        if tok.text == "(":
            node = self.parse_expr()
            self.take(")")
            return node
        if tok.text == "[":
            if self.peek("for"):
                return self.parse_for(is_obj=False)
            items = []
            while not self.peek("]"):
                items.append(self.parse_expr())
                if not self.peek("]"):
                    self.take(",")
            self.take("]")
            return ("list", items)
        if tok.text == "{":
            if self.peek("for"):
                return self.parse_for(is_obj=True)
            pairs = []
            while not self.peek("}"):
                ktok = self.peek()
                if (
                    ktok is not None
                    and ktok.kind == "ident"
                    and self.toks[self.pos + 1].text in {"=", ":"}
                ):
                    self.take()
                    key: tuple[Any, ...] = ("lit", ktok.text)
                else:
                    key = self.parse_expr()
                self.take("=") if self.peek("=") else self.take(":")
                pairs.append((key, self.parse_expr()))
                if self.peek(","):
                    self.take(",")
            self.take("}")
            return ("obj", pairs)
        if tok.kind == "ident":
            if tok.text in {"true", "false"}:
                return ("lit", tok.text == "true")
            if tok.text == "null":
                return ("lit", None)
            if self.peek("("):
                return self.parse_call(tok.text)
            if tok.text == "local":
                self.take(".")
                return ("local", self.take().text)
            return ("ref", tok.text)
        raise EvalError(f"unexpected {tok.text!r} in {self.src!r}")

    def parse_call(self, name: str) -> tuple[Any, ...]:
        self.take("(")
        args = []
        expand = False
        while not self.peek(")"):
            args.append(self.parse_expr())
            if self.peek("..."):
                self.take()
                expand = True
            if not self.peek(")"):
                self.take(",")
        self.take(")")
        return ("call", name, args, expand)
