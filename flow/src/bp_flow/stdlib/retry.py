"""Retry predicates and default policies: ``http.default_retry_predicate``,
``http.default_retry_predicate_non_idempotent``, ``retry.always``, ``retry.never`` (callable
as functions and usable as values, e.g. ``predicate: ${http.default_retry_predicate}``) and
the policies ``http.default_retry``, ``http.default_retry_non_idempotent`` and the backoff
``retry.default_backoff``.

Per the reference pages of the same names: the idempotent predicate retries HTTP 429, 502,
503, 504 and ``ConnectionError``, ``ConnectionFailedError``, ``TimeoutError``; the
non-idempotent one only 429, 503 and ``ConnectionFailedError``; both default policies use
5 retries and ``retry.default_backoff`` (1 s initial delay, 60 s maximum, multiplier 1.25).

The objects follow :class:`bp_flow.expr.values.Opaque` (``name`` and ``workflows_type``)
without importing it: ``bp_flow.expr`` imports this module to resolve their names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bp_flow.errors import CONNECTION_ERROR, CONNECTION_FAILED_ERROR, TIMEOUT_ERROR
from bp_flow.runtime import Runtime
from bp_flow.stdlib._model import Function, Param


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: ``min(initial_delay * multiplier**n, max_delay)`` seconds."""

    name: str
    initial_delay: float
    max_delay: float
    multiplier: float
    workflows_type = "backoff"


@dataclass(frozen=True)
class RetryPredicate:
    """Decides from an error value whether to retry (call it with the error)."""

    name: str
    codes: frozenset[int]
    tags: frozenset[str]
    always: bool = False
    workflows_type = "function"

    def __call__(self, error: Any) -> bool:
        """True when ``error`` (the raised value) should be retried."""
        if self.always or not isinstance(error, dict):
            return self.always
        code = error.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and code in self.codes:
            return True
        tags = error.get("tags")
        return isinstance(tags, list) and any(isinstance(t, str) and t in self.tags for t in tags)


@dataclass(frozen=True)
class RetryPolicy:
    """A whole policy: predicate, retries after the first attempt, backoff."""

    name: str
    predicate: RetryPredicate
    max_retries: int
    backoff: Backoff
    workflows_type = "retry_policy"


DEFAULT_BACKOFF = Backoff("retry.default_backoff", 1.0, 60.0, 1.25)
DEFAULT_RETRY_PREDICATE = RetryPredicate(
    "http.default_retry_predicate",
    frozenset({429, 502, 503, 504}),
    frozenset({CONNECTION_ERROR, CONNECTION_FAILED_ERROR, TIMEOUT_ERROR}),
)
DEFAULT_RETRY_PREDICATE_NON_IDEMPOTENT = RetryPredicate(
    "http.default_retry_predicate_non_idempotent",
    frozenset({429, 503}),
    frozenset({CONNECTION_FAILED_ERROR}),
)
ALWAYS = RetryPredicate("retry.always", frozenset(), frozenset(), always=True)
NEVER = RetryPredicate("retry.never", frozenset(), frozenset())
DEFAULT_RETRY = RetryPolicy("http.default_retry", DEFAULT_RETRY_PREDICATE, 5, DEFAULT_BACKOFF)
DEFAULT_RETRY_NON_IDEMPOTENT = RetryPolicy(
    "http.default_retry_non_idempotent", DEFAULT_RETRY_PREDICATE_NON_IDEMPOTENT, 5, DEFAULT_BACKOFF
)

PREDICATES: tuple[RetryPredicate, ...] = (
    DEFAULT_RETRY_PREDICATE,
    DEFAULT_RETRY_PREDICATE_NON_IDEMPOTENT,
    ALWAYS,
    NEVER,
)

_VALUES: tuple[Backoff | RetryPredicate | RetryPolicy, ...] = (
    *PREDICATES,
    DEFAULT_RETRY,
    DEFAULT_RETRY_NON_IDEMPOTENT,
    DEFAULT_BACKOFF,
)
CONSTANTS: Mapping[str, Backoff | RetryPredicate | RetryPolicy] = MappingProxyType(
    {v.name: v for v in _VALUES}
)
"""Every library value that an expression can name (``${http.default_retry}``)."""


def _as_function(pred: RetryPredicate, summary: str) -> Function:
    def impl(rt: Runtime, exception: Any) -> bool:
        return pred(exception)

    return Function(pred.name, (Param("exception"),), impl, True, summary)


FUNCTIONS: tuple[Function, ...] = (
    _as_function(
        DEFAULT_RETRY_PREDICATE,
        "Retry predicate for idempotent targets: HTTP 429, 502, 503, 504, ConnectionError, ConnectionFailedError, TimeoutError.",
    ),
    _as_function(
        DEFAULT_RETRY_PREDICATE_NON_IDEMPOTENT,
        "Retry predicate for non-idempotent targets: HTTP 429, 503, ConnectionFailedError.",
    ),
    _as_function(ALWAYS, "Retry predicate that always retries."),
    _as_function(NEVER, "Retry predicate that never retries."),
)
