"""Errors of the interpreter: raised workflow errors (values) and load-time problems.

A workflow error is a *value*, as in Cloud Workflows: usually a map with ``message`` and
``tags`` (``{"message": "...", "tags": ["KeyError"]}``), but ``raise`` may raise any value
(a string, a map of the workflow's own design). :class:`WorkflowError` carries that value
through Python; ``except: as: e`` binds it unchanged.

A file that uses anything outside the supported subset is refused when it is loaded with
one :class:`LoadError` listing every problem with its file and line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# the tags the interpreter raises itself (Cloud Workflows' names)
KEY_ERROR = "KeyError"
TYPE_ERROR = "TypeError"
VALUE_ERROR = "ValueError"
INDEX_ERROR = "IndexError"
ZERO_DIVISION_ERROR = "ZeroDivisionError"
RECURSION_ERROR = "RecursionError"
HTTP_ERROR = "HttpError"
CONNECTION_ERROR = "ConnectionError"
CONNECTION_FAILED_ERROR = "ConnectionFailedError"
TIMEOUT_ERROR = "TimeoutError"
OPERATION_ERROR = "OperationError"
RESOURCE_LIMIT_ERROR = "ResourceLimitError"
UNHANDLED_BRANCH_ERROR = "UnhandledBranchError"
PARALLEL_NESTING_ERROR = "ParallelNestingError"
SYSTEM_ERROR = "SystemError"
NOT_FOUND_ERROR = "NotFound"


class WorkflowError(Exception):
    """An error raised inside a workflow execution; ``value`` is what ``except`` binds."""

    def __init__(self, value: Any) -> None:
        self.value = value
        super().__init__(describe(value))

    @classmethod
    def tagged(cls, tag: str | Sequence[str], message: str, **extra: Any) -> WorkflowError:
        """The usual error map: ``{"message": ..., "tags": [...], **extra}``."""
        tags = [tag] if isinstance(tag, str) else list(tag)
        return cls({"message": message, "tags": tags, **extra})

    @property
    def tags(self) -> list[str]:
        """The error map's tags (empty for a raised string or a map without tags)."""
        if isinstance(self.value, dict):
            tags = self.value.get("tags")
            if isinstance(tags, list):
                return [t for t in tags if isinstance(t, str)]
        return []

    @property
    def message(self) -> str:
        """The error's message (a raised string is its own message)."""
        return describe(self.value)


def describe(value: Any) -> str:
    """One line for people: the message of an error map, or the raised value itself."""
    if isinstance(value, dict):
        msg = value.get("message")
        if isinstance(msg, str):
            return msg
    if isinstance(value, str):
        return value
    return repr(value)


@dataclass(frozen=True)
class Where:
    """A place in a workflow file (1-based line; 0 when unknown)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class LoadProblem:
    """One reason a file cannot run here: where, what, and what to do instead."""

    where: Where
    problem: str
    hint: str = ""

    def render(self) -> str:
        """``file:line: problem (hint)``."""
        return f"{self.where}: {self.problem}" + (f" ({self.hint})" if self.hint else "")


class LoadError(Exception):
    """A workflow file is invalid or uses something outside the supported subset."""

    def __init__(self, file: str, problems: Iterable[LoadProblem]) -> None:
        self.file = file
        self.problems = sorted(problems, key=lambda p: (p.where.line, p.problem))
        lines = "\n".join(f"  - {p.render()}" for p in self.problems)
        super().__init__(
            f"{file}: {len(self.problems)} problem(s) outside the supported subset:\n{lines}"
        )
