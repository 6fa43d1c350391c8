"""The syntax tree of an expression: small immutable nodes (safe to share between threads).

Every node keeps ``col``, the 1-based column in the expression text where it starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Node:
    """Base of every node."""

    col: int = field(default=0, kw_only=True, compare=False)

    def children(self) -> Iterator[Node]:
        """The direct sub-expressions."""
        return iter(())


@dataclass(frozen=True)
class Literal(Node):
    """A number, string, boolean or null written in the expression."""

    value: Any


@dataclass(frozen=True)
class ListLit(Node):
    """``[a, b, ...]``."""

    items: tuple[Node, ...]

    def children(self) -> Iterator[Node]:
        """The items."""
        return iter(self.items)


@dataclass(frozen=True)
class MapLit(Node):
    """``{"key": value, ...}`` (keys are string literals)."""

    entries: tuple[tuple[str, Node], ...]

    def children(self) -> Iterator[Node]:
        """The values."""
        return (value for _, value in self.entries)


@dataclass(frozen=True)
class Name(Node):
    """A variable read."""

    name: str


@dataclass(frozen=True)
class StdConst(Node):
    """A value of the standard library named by a dotted path (``http.default_retry``)."""

    name: str


@dataclass(frozen=True)
class Member(Node):
    """``obj.key``."""

    obj: Node
    key: str

    def children(self) -> Iterator[Node]:
        """The object."""
        yield self.obj


@dataclass(frozen=True)
class Index(Node):
    """``obj[index]``."""

    obj: Node
    index: Node

    def children(self) -> Iterator[Node]:
        """The object, then the index."""
        yield self.obj
        yield self.index


@dataclass(frozen=True)
class Call(Node):
    """``name(args...)``: a function by its dotted name, positional arguments."""

    name: str
    args: tuple[Node, ...]

    def children(self) -> Iterator[Node]:
        """The arguments."""
        return iter(self.args)


@dataclass(frozen=True)
class Unary(Node):
    """``-x`` or ``not x``."""

    op: str
    operand: Node

    def children(self) -> Iterator[Node]:
        """The operand."""
        yield self.operand


@dataclass(frozen=True)
class Binary(Node):
    """``left op right`` (arithmetic, comparison, ``in``, ``and``, ``or``)."""

    op: str
    left: Node
    right: Node

    def children(self) -> Iterator[Node]:
        """Left, then right."""
        yield self.left
        yield self.right


def walk(node: Node) -> Iterator[Node]:
    """The node and every node below it, depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(current.children())))


def dotted_name(node: Node) -> str | None:
    """``a.b.c`` for a chain of names and members (or a library value), else None."""
    if isinstance(node, Name | StdConst):
        return node.name
    if isinstance(node, Member):
        base = dotted_name(node.obj)
        return None if base is None else f"{base}.{node.key}"
    return None
