"""Guarded external calls: timeout, jittered retry, circuit breaker, rate limit, cost.

Built on tenacity (retry/backoff), pybreaker (circuit breaker) and limits (rate
limiting). The wrapped function must honour the ``timeout`` keyword it is given (every
client we call does: requests, google-cloud, httpx).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pybreaker
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from bp_sdk.errors import PermanentError, RetryableError

T = TypeVar("T")
log = logging.getLogger("bp.resilience")


class CircuitOpenError(RetryableError):
    """The breaker is open: the service failed too often; calls are refused for a while."""


class RateLimitedError(RetryableError):
    """The local rate limit refused the call and waiting would exceed the deadline."""


@dataclass
class CallLedger:
    """Calls, attempts, failures, time and cost per service (recorded in summaries)."""

    calls: dict[str, dict[str, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, service: str, *, attempts: int, ok: bool, seconds: float, cost: float) -> None:
        """Record one guarded call."""
        with self._lock:
            row = self.calls.setdefault(
                service, {"calls": 0, "attempts": 0, "failures": 0, "seconds": 0.0, "cost": 0.0}
            )
            row["calls"] += 1
            row["attempts"] += attempts
            row["failures"] += 0 if ok else 1
            row["seconds"] += seconds
            row["cost"] += cost


@dataclass
class Policy:
    """How one external service is called."""

    service: str
    timeout_s: float = 30.0
    max_attempts: int = 5
    deadline_s: float = 300.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    breaker_fail_max: int = 5
    breaker_reset_s: float = 60.0
    rate_per_s: int = 10
    cost_per_call: float = 0.0
    retry_on: tuple[type[BaseException], ...] = (RetryableError, ConnectionError, TimeoutError)


class Guard:
    """Wraps calls to one service with every protection in :class:`Policy`."""

    def __init__(
        self,
        policy: Policy,
        ledger: CallLedger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = policy
        self.ledger = ledger or CallLedger()
        self._sleep = sleep
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=policy.breaker_fail_max,
            reset_timeout=policy.breaker_reset_s,
            exclude=[PermanentError],
            name=policy.service,
        )
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate = RateLimitItemPerSecond(policy.rate_per_s)

    def _acquire(self, deadline: float) -> None:
        while not self._limiter.hit(self._rate, self.policy.service):
            if time.monotonic() >= deadline:
                raise RateLimitedError(
                    f"{self.policy.service}: rate limit of {self.policy.rate_per_s}/s reached"
                )
            self._sleep(0.05)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn(*args, timeout=..., **kwargs)`` under the policy."""
        p = self.policy
        started = time.monotonic()
        deadline = started + p.deadline_s
        attempts = 0

        def before(state: RetryCallState) -> None:
            nonlocal attempts
            attempts = state.attempt_number

        def one() -> T:
            self._acquire(deadline)
            try:
                result: T = self.breaker.call(fn, *args, timeout=p.timeout_s, **kwargs)
            except pybreaker.CircuitBreakerError:
                raise CircuitOpenError(
                    f"{p.service}: circuit open after repeated failures"
                ) from None
            return result

        retrying = Retrying(
            stop=stop_after_attempt(p.max_attempts) | stop_after_delay(p.deadline_s),
            wait=wait_random_exponential(multiplier=p.backoff_initial_s, max=p.backoff_max_s),
            retry=retry_if_exception_type(p.retry_on)
            & retry_if_not_exception_type(CircuitOpenError),
            before=before,
            sleep=self._sleep,
            reraise=True,
        )
        ok = False
        try:
            result = retrying(one)
            ok = True
            return result
        finally:
            self.ledger.add(
                p.service,
                attempts=attempts,
                ok=ok,
                seconds=time.monotonic() - started,
                cost=p.cost_per_call * attempts,
            )
