"""Assignment targets: ``name``, ``name.key``, ``name["key"]``, ``name[0]``, ``name[expr]``
and chains of them, as ``assign`` accepts them.

Assigning through a map key that does not exist yet creates it (and any missing map on
the way); a list index must exist (``IndexError``); stepping into anything that is
neither a map nor a list is a ``TypeError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bp_flow.errors import INDEX_ERROR, KEY_ERROR, TYPE_ERROR, WorkflowError
from bp_flow.expr import EvalContext, Expression, ExprSyntaxError, parse_expression

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Field:
    """``.key``."""

    key: str


@dataclass(frozen=True)
class Index:
    """``[expr]``: a map key (string) or a list index (int)."""

    expr: Expression


@dataclass(frozen=True)
class Target:
    """A variable and the path into it."""

    name: str
    path: tuple[Field | Index, ...]
    text: str

    def expressions(self) -> tuple[Expression, ...]:
        """The index expressions (read at assignment time)."""
        return tuple(p.expr for p in self.path if isinstance(p, Index))


class TargetSyntaxError(ValueError):
    """The left side of an assignment is not a target."""


def _bracket_end(text: str, start: int) -> int:
    """Index of the ``]`` closing the ``[`` at ``start`` (quotes and nesting respected)."""
    depth, quote, i = 0, "", start
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise TargetSyntaxError(f"unclosed '[' in {text!r}")


def parse_target(text: str) -> Target:
    """Parse an assignment target; :class:`TargetSyntaxError` says what is wrong."""
    raw = text.strip()
    m = _NAME.match(raw)
    if m is None:
        raise TargetSyntaxError(f"{text!r} does not start with a variable name")
    path: list[Field | Index] = []
    i = m.end()
    while i < len(raw):
        if raw[i] == ".":
            f = _NAME.match(raw, i + 1)
            if f is None:
                raise TargetSyntaxError(f"expected a key name after '.' in {text!r}")
            path.append(Field(f.group()))
            i = f.end()
        elif raw[i] == "[":
            end = _bracket_end(raw, i)
            inner = raw[i + 1 : end].strip()
            if not inner:
                raise TargetSyntaxError(f"empty [] in {text!r}")
            try:
                path.append(Index(parse_expression(inner)))
            except ExprSyntaxError as err:
                raise TargetSyntaxError(f"index [{inner}] in {text!r}: {err.message}") from None
            i = end + 1
        else:
            raise TargetSyntaxError(f"unexpected {raw[i]!r} in target {text!r}")
    return Target(m.group(), tuple(path), raw)


def _key(step: Field | Index, ctx: EvalContext) -> Any:
    return step.key if isinstance(step, Field) else step.expr.evaluate(ctx)


def assign_into(
    container: Any, path: tuple[Field | Index, ...], value: Any, ctx: EvalContext, text: str
) -> Any:
    """Return ``container`` with ``value`` stored at ``path`` (maps created as needed)."""
    if not path:
        return value
    key = _key(path[0], ctx)
    if container is None and isinstance(key, str):
        container = {}
    if isinstance(container, dict):
        if not isinstance(key, str):
            raise WorkflowError.tagged(
                TYPE_ERROR, f"{text}: map key must be a string, got {type(key).__name__}"
            )
        container[key] = assign_into(container.get(key), path[1:], value, ctx, text)
        return container
    if isinstance(container, list):
        if isinstance(key, bool) or not isinstance(key, int):
            raise WorkflowError.tagged(TYPE_ERROR, f"{text}: list index must be an integer")
        if not -len(container) <= key < len(container):
            raise WorkflowError.tagged(
                INDEX_ERROR, f"{text}: index {key} out of range (length {len(container)})"
            )
        container[key] = assign_into(container[key], path[1:], value, ctx, text)
        return container
    if container is None:
        raise WorkflowError.tagged(KEY_ERROR, f"{text}: cannot index null with {key!r}")
    raise WorkflowError.tagged(
        TYPE_ERROR, f"{text}: cannot assign into a value that is neither a map nor a list"
    )
