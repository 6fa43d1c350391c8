"""Values in a workflow file, compiled once: literals, ``${...}`` expressions, and maps and
lists that contain them (``args``, ``assign``, ``return`` and ``raise`` values).

As in Cloud Workflows an expression is a whole value (``"${a + b}"``); a string that
contains ``${`` anywhere else is refused at load time, since Workflows would not
interpolate it.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bp_flow.errors import LoadProblem
from bp_flow.expr import (
    EvalContext,
    Expression,
    ExprSyntaxError,
    expression_text,
    is_expression,
    parse_expression,
)
from bp_flow.source import Source, items


class Template(ABC):
    """A value from the file; :meth:`render` evaluates the expressions in it."""

    @abstractmethod
    def render(self, ctx: EvalContext) -> Any:
        """The value, expressions evaluated (a fresh copy every time)."""

    @abstractmethod
    def expressions(self) -> Iterator[Expression]:
        """Every expression inside, for load-time checks."""


@dataclass(frozen=True)
class Literal(Template):
    """A constant."""

    value: Any

    def render(self, ctx: EvalContext) -> Any:
        """A copy of the constant (workflow values are never shared)."""
        return copy.deepcopy(self.value)

    def expressions(self) -> Iterator[Expression]:
        """None."""
        return iter(())


@dataclass(frozen=True)
class ExprValue(Template):
    """``${...}``."""

    expr: Expression

    def render(self, ctx: EvalContext) -> Any:
        """The expression's value."""
        return self.expr.evaluate(ctx)

    def expressions(self) -> Iterator[Expression]:
        """This one."""
        yield self.expr


@dataclass(frozen=True)
class MapValue(Template):
    """A map whose values may hold expressions."""

    entries: tuple[tuple[str, Template], ...]

    def render(self, ctx: EvalContext) -> Any:
        """A new dict, values rendered in file order."""
        return {key: value.render(ctx) for key, value in self.entries}

    def expressions(self) -> Iterator[Expression]:
        """Those of every value."""
        for _key, value in self.entries:
            yield from value.expressions()


@dataclass(frozen=True)
class ListValue(Template):
    """A list whose items may hold expressions."""

    entries: tuple[Template, ...]

    def render(self, ctx: EvalContext) -> Any:
        """A new list, items rendered in order."""
        return [value.render(ctx) for value in self.entries]

    def expressions(self) -> Iterator[Expression]:
        """Those of every item."""
        for value in self.entries:
            yield from value.expressions()


def compile_expression(
    src: Source, node: Node, text: str, problems: list[LoadProblem]
) -> Expression | None:
    """Parse the inside of ``${...}``; a syntax error becomes a problem at the node's line."""
    try:
        return parse_expression(text)
    except ExprSyntaxError as err:
        problems.append(
            LoadProblem(
                src.where(node), f"expression ${{{text[:80]}}}: {err.message} (column {err.column})"
            )
        )
        return None


def compile_value(src: Source, node: Node, problems: list[LoadProblem]) -> Template:
    """Compile a YAML subtree; problems are appended, never raised (all are reported at once)."""
    if isinstance(node, ScalarNode):
        value = src.value(node)
        if isinstance(value, str) and is_expression(value):
            expr = compile_expression(src, node, expression_text(value), problems)
            return ExprValue(expr) if expr is not None else Literal(None)
        if isinstance(value, str) and "${" in value:
            problems.append(
                LoadProblem(
                    src.where(node),
                    f"{value[:60]!r} has '${{' inside a string: an expression must be the whole value",
                    'build the string in the expression, e.g. ${"a-" + b}',
                )
            )
        return Literal(value)
    if isinstance(node, SequenceNode):
        return ListValue(tuple(compile_value(src, child, problems) for child in node.value))
    if isinstance(node, MappingNode):
        entries: list[tuple[str, Template]] = []
        for key, key_node, value_node in items(node):
            if not isinstance(key, str):
                problems.append(
                    LoadProblem(src.where(key_node), f"map key {key!r} is not a string")
                )
                continue
            if "${" in key:
                problems.append(
                    LoadProblem(
                        src.where(key_node), f"map key {key[:60]!r}: keys cannot be expressions"
                    )
                )
            entries.append((key, compile_value(src, value_node, problems)))
        return MapValue(tuple(entries))
    problems.append(LoadProblem(src.where(node), "unsupported YAML node"))
    return Literal(None)
