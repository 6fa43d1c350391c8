"""One exception base for the whole pipeline, a few subclasses, one exit-code table.

Every job maps what went wrong to exactly one of these exit codes, and the workflow
reads the failure marker (not the code alone) to tell permanent from transient.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """The exit-code table shared by every job."""

    OK = 0
    RETRYABLE = 1
    CONFIG = 2
    PERMANENT = 3
    SIGTERM = 143


@dataclass(frozen=True)
class Problem:
    """One thing wrong, where it is, and how to fix it."""

    where: str
    message: str
    hint: str = ""

    def render(self) -> str:
        """``where: message (fix: hint)`` on one line."""
        text = f"{self.where}: {self.message}"
        return f"{text} (fix: {self.hint})" if self.hint else text


class BPError(Exception):
    """Base of every error the pipeline raises on purpose."""

    exit_code: ExitCode = ExitCode.RETRYABLE
    permanent: bool = False
    next_step: str = "Retry the job; if it keeps failing, read the failure marker and the logs."

    def __init__(
        self,
        message: str,
        *,
        problems: Sequence[Problem] = (),
        next_step: str | None = None,
    ) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if next_step is not None:
            self.next_step = next_step
        super().__init__(message)

    @property
    def message(self) -> str:
        """The headline, without the problem list."""
        return str(self.args[0]) if self.args else type(self).__name__

    def render(self, limit: int = 50) -> str:
        """Headline plus every problem (up to ``limit``), one per line."""
        lines = [self.message]
        lines += [f"  - {p.render()}" for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"  ... and {len(self.problems) - limit} more problems")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class ConfigError(BPError):
    """Settings are missing or malformed: nothing was done. Exit 2."""

    exit_code = ExitCode.CONFIG
    permanent = True
    next_step = "Fix the named environment variables (see .env.example) and run again."


class PermanentError(BPError):
    """Retrying cannot help (bad input, conflicting run id). Exit 3."""

    exit_code = ExitCode.PERMANENT
    permanent = True
    next_step = "Fix the input named in the message, then run again with a new RUN_ID."


class InputError(PermanentError):
    """The stage's input is invalid; every problem is listed."""

    next_step = "Fix every listed problem in the input and upload it again."


class RetryableError(BPError):
    """A transient failure (network, quota, pre-emption). Exit 1, Cloud Run retries."""

    exit_code = ExitCode.RETRYABLE


class StorageError(RetryableError):
    """The storage backend failed in a way that may pass."""


class StorageFull(StorageError):  # noqa: N818 - named for what the user must fix
    """Storage (or the job's local temp space) ran out of space or quota. Exit 1: free
    space, then the retry succeeds. The message is one line: what, where, what to do."""

    next_step = "Free space or raise the quota where the message says, then retry."


class StorageRefused(StorageError):  # noqa: N818 - named for what the user must fix
    """Storage (or the job's local temp space) is read-only or refuses writes. Exit 1."""

    next_step = "Make the place the message names writable for the job, then retry."


class PathError(PermanentError):
    """A storage path is outside its root or has characters we refuse."""

    next_step = "Use a relative path of letters, digits, '.', '_', '-' and '/' without '..'."


class NotFoundError(PermanentError):
    """A required object does not exist in storage."""


class PreconditionFailed(BPError):  # noqa: N818 - named like the HTTP 412 it mirrors
    """A create-if-absent write found the object already there."""

    exit_code = ExitCode.PERMANENT
    permanent = True


class Terminated(BPError):  # noqa: N818 - a signal, not a bug
    """SIGTERM arrived (Cloud Run timeout or cancel). Exit 143, retryable."""

    exit_code = ExitCode.SIGTERM
    next_step = (
        "The task was stopped from outside (timeout or cancel); raise the task timeout or retry."
    )


def raise_if_problems(
    problems: Iterable[Problem], headline: str, error: type[BPError] = InputError
) -> None:
    """Raise ``error`` with every collected problem, or return if there are none."""
    found = list(problems)
    if found:
        raise error(
            f"{headline} ({len(found)} problem{'s' if len(found) != 1 else ''})", problems=found
        )
