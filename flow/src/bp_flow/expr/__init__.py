"""The Cloud Workflows expression language (``${...}``): parse once, evaluate many times.

    expr = parse_expression('len(items) > 0 and items[0].name == "a"')
    expr.names_read()        # frozenset({"items"})
    expr.functions_called()  # frozenset({"len"})
    expr.evaluate(ctx)       # ctx: an EvalContext (variables and functions)

The semantics (types, operators, precedence, errors) are Cloud Workflows' documented ones;
docs/WORKFLOW_EXPRESSIONS.md lists them with the choices made where the reference is silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bp_flow.expr.evaluate import EvalContext, evaluate
from bp_flow.expr.nodes import Call, Name, Node, dotted_name, walk
from bp_flow.expr.parser import ExprSyntaxError, parse

__all__ = [
    "EvalContext",
    "ExprSyntaxError",
    "Expression",
    "expression_text",
    "is_expression",
    "parse_expression",
]


@dataclass(frozen=True)
class Expression:
    """A parsed expression: immutable, reusable, safe to evaluate from several threads."""

    source: str
    root: Node = field(repr=False)
    _names: frozenset[str] = field(repr=False, compare=False)
    _functions: frozenset[str] = field(repr=False, compare=False)

    def names_read(self) -> frozenset[str]:
        """The variables the expression reads (the first name of each ``a.b[c]`` chain);
        function names and library values such as ``http.default_retry`` are not included."""
        return self._names

    def functions_called(self) -> frozenset[str]:
        """The dotted names of the functions it calls (``len``, ``text.split``, a subworkflow)."""
        return self._functions

    def dotted_name(self) -> str | None:
        """``a.b.c`` when the whole expression is just a (dotted) name, else None."""
        return dotted_name(self.root)

    def evaluate(self, ctx: EvalContext) -> Any:
        """The expression's value; errors are WorkflowErrors with Workflows' tags."""
        return evaluate(self.root, ctx)


def parse_expression(text: str) -> Expression:
    """Parse ``text``, the inside of ``${...}``; raises :class:`ExprSyntaxError`."""
    root = parse(text)
    nodes = list(walk(root))
    names = frozenset(n.name for n in nodes if isinstance(n, Name))
    functions = frozenset(n.name for n in nodes if isinstance(n, Call))
    return Expression(text, root, names, functions)


def is_expression(value: object) -> bool:
    """True for a string whose whole value is ``${...}`` (whitespace around it is ignored,
    as YAML block scalars add a final line break)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return len(text) >= 3 and text.startswith("${") and text.endswith("}")


def expression_text(value: str) -> str:
    """The inside of ``${...}`` (``value`` must satisfy :func:`is_expression`)."""
    if not is_expression(value):
        raise ValueError(f"not an expression: {value[:60]!r}")
    return value.strip()[2:-1]
