"""Guarded external calls: retry with jitter, breaker, rate limit, timeout passed, cost."""

from __future__ import annotations

import pytest
from bp_sdk.errors import PermanentError, RetryableError
from bp_sdk.resilience import CallLedger, CircuitOpenError, Guard, Policy


class Flaky:
    """A callable failing ``fails`` times with ``error`` before succeeding."""

    def __init__(self, fails: int, error: Exception) -> None:
        self.fails = fails
        self.error = error
        self.calls: list[float] = []

    def __call__(self, x: int, timeout: float) -> int:
        self.calls.append(timeout)
        if len(self.calls) <= self.fails:
            raise self.error
        return x * 2


def _guard(**kw: object) -> tuple[Guard, list[float]]:
    sleeps: list[float] = []
    policy = Policy(service="svc", **kw)  # type: ignore[arg-type]
    return Guard(policy, CallLedger(), sleep=sleeps.append), sleeps


def test_retries_transient_then_succeeds() -> None:
    """Transient errors are retried with jittered, bounded backoff and the timeout is passed."""
    guard, sleeps = _guard(timeout_s=7.0, max_attempts=5, backoff_max_s=2.0, cost_per_call=0.25)
    fn = Flaky(2, ConnectionError("reset"))
    assert guard.call(fn, 21) == 42
    assert fn.calls == [7.0, 7.0, 7.0]
    assert len(sleeps) == 2 and all(0 <= s <= 2.0 for s in sleeps)
    row = guard.ledger.calls["svc"]
    assert row["calls"] == 1 and row["attempts"] == 3 and row["failures"] == 0
    assert row["cost"] == pytest.approx(0.75)


def test_permanent_errors_not_retried() -> None:
    """A permanent error stops at the first attempt."""
    guard, sleeps = _guard()
    fn = Flaky(10, PermanentError("bad request"))
    with pytest.raises(PermanentError):
        guard.call(fn, 1)
    assert len(fn.calls) == 1 and sleeps == []


def test_gives_up_after_max_attempts() -> None:
    """After max_attempts the last error is raised and recorded as a failure."""
    guard, _ = _guard(max_attempts=3, breaker_fail_max=100)
    fn = Flaky(10, RetryableError("503"))
    with pytest.raises(RetryableError):
        guard.call(fn, 1)
    assert len(fn.calls) == 3
    assert guard.ledger.calls["svc"]["failures"] == 1


def test_breaker_opens_and_refuses_calls() -> None:
    """After repeated failures the circuit opens and calls fail fast without reaching the service."""
    guard, _ = _guard(max_attempts=1, breaker_fail_max=2, breaker_reset_s=60)
    fn = Flaky(100, ConnectionError("down"))
    for _ in range(2):
        with pytest.raises((ConnectionError, CircuitOpenError)):
            guard.call(fn, 1)
    before = len(fn.calls)
    with pytest.raises(CircuitOpenError):
        guard.call(fn, 1)
    assert len(fn.calls) == before


def test_rate_limit_waits_then_refuses_past_deadline() -> None:
    """The local rate limit lets N calls per second through, then refuses past the deadline."""
    guard, _ = _guard(rate_per_s=2, deadline_s=0.0, max_attempts=1)
    fn = Flaky(0, RuntimeError("unused"))
    assert guard.call(fn, 1) == 2
    assert guard.call(fn, 1) == 2
    with pytest.raises(RetryableError, match="rate limit"):
        guard.call(fn, 1)
