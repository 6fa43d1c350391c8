"""Read a workflow file as YAML nodes that remember their line.

PyYAML's composer keeps every node's position; the loader walks the node tree so that
every problem can name its file and line. Scalars are resolved by PyYAML's safe rules
(no tags that build Python objects: a ``!!python/...`` tag is a problem, not an object).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bp_flow.errors import LoadProblem, Where

MAX_FILE_BYTES = 2 * 1024 * 1024  # Cloud Workflows caps a source at 128 KB; leave room locally


class SourceError(Exception):
    """The file is not YAML (or JSON) the interpreter can read."""

    def __init__(self, problem: LoadProblem) -> None:
        self.problem = problem
        super().__init__(problem.render())


@dataclass(frozen=True)
class Source:
    """One workflow file's text and name (used in every message)."""

    name: str
    text: str

    def where(self, node: Node) -> Where:
        """File and 1-based line of ``node``."""
        return Where(self.name, node.start_mark.line + 1)

    def value(self, node: Node) -> Any:
        """The subtree as plain values; a tag that would build an object is a problem."""
        try:
            return plain(node)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise SourceError(
                LoadProblem(self.where(node), f"unsupported YAML: {problem}")
            ) from None


def compose(source: Source) -> Node:
    """The document's root node; one :class:`SourceError` for anything unreadable."""
    if len(source.text.encode()) > MAX_FILE_BYTES:
        raise SourceError(
            LoadProblem(Where(source.name), f"file is larger than {MAX_FILE_BYTES} bytes")
        )
    try:
        node = yaml.compose(source.text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise SourceError(
            LoadProblem(Where(source.name, line), f"not valid YAML: {exc.problem}")
        ) from None
    except yaml.YAMLError as exc:
        raise SourceError(LoadProblem(Where(source.name), f"not valid YAML: {exc}")) from None
    if node is None:
        raise SourceError(LoadProblem(Where(source.name), "the file is empty"))
    return node


def scalar(node: ScalarNode) -> Any:
    """The Python value of a plain scalar under YAML's safe schema."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def plain(node: Node) -> Any:
    """The whole subtree as plain Python values (dicts, lists, scalars)."""
    if isinstance(node, ScalarNode):
        return scalar(node)
    if isinstance(node, SequenceNode):
        return [plain(child) for child in node.value]
    if isinstance(node, MappingNode):
        return {plain(k): plain(v) for k, v in node.value}
    raise TypeError(f"unexpected YAML node {type(node).__name__}")


def items(node: MappingNode) -> Iterator[tuple[str | Any, Node, Node]]:
    """``(key value, key node, value node)`` of a mapping, in file order."""
    for key_node, value_node in node.value:
        key = scalar(key_node) if isinstance(key_node, ScalarNode) else plain(key_node)
        yield key, key_node, value_node


def is_map(node: Node) -> bool:
    """True for a YAML mapping."""
    return isinstance(node, MappingNode)


def is_list(node: Node) -> bool:
    """True for a YAML sequence."""
    return isinstance(node, SequenceNode)


def is_scalar(node: Node) -> bool:
    """True for a YAML scalar."""
    return isinstance(node, ScalarNode)
