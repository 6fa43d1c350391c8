"""Evaluating a syntax tree against an :class:`EvalContext` (variables and functions).

Evaluation keeps no state of its own, so one tree may be evaluated from several threads at
once; operands are evaluated left to right, and both operands of ``and``/``or`` are
always evaluated (see docs/WORKFLOW_EXPRESSIONS.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bp_flow.errors import INDEX_ERROR, KEY_ERROR, RECURSION_ERROR, WorkflowError
from bp_flow.expr import values as v
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
)
from bp_flow.stdlib.retry import CONSTANTS


class EvalContext(Protocol):
    """What an expression may see: variables and functions."""

    def lookup(self, name: str) -> Any:
        """The variable's value; raises a WorkflowError tagged KeyError if undefined."""

    def call(self, name: str, args: list[Any]) -> Any:
        """Call a function by dotted name with positional arguments."""


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": v.add,
    "-": v.sub,
    "*": v.mul,
    "/": v.div,
    "//": v.floordiv,
    "%": v.mod,
    "==": v.equals,
    "!=": lambda a, b: not v.equals(a, b),
    "<": lambda a, b: v.order(a, b, "<"),
    "<=": lambda a, b: v.order(a, b, "<="),
    ">": lambda a, b: v.order(a, b, ">"),
    ">=": lambda a, b: v.order(a, b, ">="),
    "in": v.contains,
    "and": lambda a, b: v.logical("and", a, b),
    "or": lambda a, b: v.logical("or", a, b),
}


def evaluate(node: Node, ctx: EvalContext) -> Any:
    """The value of ``node``."""
    try:
        return _eval(node, ctx)
    except RecursionError:
        raise WorkflowError.tagged(RECURSION_ERROR, "expression nested too deeply") from None


def _eval(node: Node, ctx: EvalContext) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return ctx.lookup(node.name)
    if isinstance(node, Member):
        return member(_eval(node.obj, ctx), node.key)
    if isinstance(node, Index):
        return index(_eval(node.obj, ctx), _eval(node.index, ctx))
    if isinstance(node, Call):
        return ctx.call(node.name, [_eval(a, ctx) for a in node.args])
    if isinstance(node, Binary):
        return _BINARY[node.op](_eval(node.left, ctx), _eval(node.right, ctx))
    if isinstance(node, Unary):
        operand = _eval(node.operand, ctx)
        return v.neg(operand) if node.op == "-" else v.logical_not(operand)
    if isinstance(node, ListLit):
        return [_eval(item, ctx) for item in node.items]
    if isinstance(node, MapLit):
        return {key: _eval(value, ctx) for key, value in node.entries}
    if isinstance(node, StdConst):
        return CONSTANTS[node.name]
    raise TypeError(f"unknown expression node {type(node).__name__}")  # pragma: no cover


def member(obj: Any, key: str) -> Any:
    """``obj.key``: a map's value (KeyError when absent; TypeError on other types)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        raise WorkflowError.tagged(KEY_ERROR, f"key not found: {key}")
    raise v.type_error(f"cannot read key {key!r} of a {v.type_name(obj)}")


def index(obj: Any, idx: Any) -> Any:
    """``obj[idx]``: a list element by integer (IndexError outside ``0..len-1``; negative
    indexes are out of range) or a map value by string key (KeyError when absent)."""
    if isinstance(obj, list):
        if not v.is_int(idx):
            raise v.type_error(f"list index must be an integer, got {v.type_name(idx)}")
        if 0 <= idx < len(obj):
            return obj[idx]
        raise WorkflowError.tagged(
            INDEX_ERROR, f"list index {idx} out of range (length {len(obj)})"
        )
    if isinstance(obj, dict):
        if not isinstance(idx, str):
            raise v.type_error(f"map key must be a string, got {v.type_name(idx)}")
        return member(obj, idx)
    raise v.type_error(f"cannot index a {v.type_name(obj)}")
