"""try / retry / except as Cloud Workflows documents them, with exact back-off delays
measured on a fake clock."""

from __future__ import annotations

from typing import Any

from bp_flow.runtime import FakeClock, Runtime

from tests.flow.engine_helpers import error_of, run

FLAKY = "test.flaky"


def flaky(failures: int, error: dict[str, Any]) -> tuple[Any, list[int]]:
    """A connector that raises ``error`` the first ``failures`` calls, then returns "ok"."""
    calls: list[int] = []

    def connector(rt: Runtime, args: dict[str, Any]) -> Any:
        from bp_flow.errors import WorkflowError

        calls.append(1)
        if len(calls) <= failures:
            raise WorkflowError(error)
        return "ok"

    return connector, calls


RETRY = """
main:
  steps:
    - t:
        try:
          call: test.flaky
          result: r
        retry:
          predicate: ${only_transient}
          max_retries: 3
          backoff:
            initial_delay: 2
            max_delay: 10
            multiplier: 3
    - done:
        return: ${r}
only_transient:
  params: [e]
  steps:
    - c:
        return: ${"Transient" in e.tags}
"""


def test_retry_backoff_delays_are_exact() -> None:
    """Delays are initial × multiplierⁿ capped at max_delay: 2, 6, 10 seconds."""
    connector, calls = flaky(3, {"message": "x", "tags": ["Transient"]})
    clock = FakeClock()
    assert run(RETRY, clock=clock, connectors={FLAKY: connector}) == "ok"
    assert len(calls) == 4 and clock.sleeps == [2, 6, 10]


def test_retry_gives_up_after_max_retries() -> None:
    """After max_retries the last error propagates (4 attempts in all)."""
    connector, calls = flaky(10, {"message": "x", "tags": ["Transient"]})
    err = error_of(RETRY, connectors={FLAKY: connector})
    assert err["tags"] == ["Transient"] and len(calls) == 4


def test_predicate_false_means_no_retry() -> None:
    """An error the predicate rejects is not retried and costs no delay."""
    connector, calls = flaky(1, {"message": "x", "tags": ["Permanent"]})
    clock = FakeClock()
    error_of(RETRY, clock=clock, connectors={FLAKY: connector})
    assert len(calls) == 1 and clock.sleeps == []


def test_default_retry_policy_retries_http_503() -> None:
    """${http.default_retry} retries a 503 up to 5 times with its documented back-off."""
    text = """
    - t:
        try:
          call: test.flaky
          result: r
        retry: ${http.default_retry}
    - done:
        return: ${r}
    """
    connector, calls = flaky(5, {"message": "busy", "code": 503, "tags": ["HttpError"]})
    clock = FakeClock()
    assert run(text, clock=clock, connectors={FLAKY: connector}) == "ok"
    assert len(calls) == 6
    assert clock.sleeps == [min(1.0 * 1.25**n, 60.0) for n in range(5)]


def test_default_retry_policy_does_not_retry_404() -> None:
    """A 404 is not transient for the default predicate."""
    text = """
    - t:
        try:
          call: test.flaky
        retry: ${http.default_retry}
    """
    connector, calls = flaky(1, {"message": "gone", "code": 404, "tags": ["HttpError"]})
    assert error_of(text, connectors={FLAKY: connector})["code"] == 404 and len(calls) == 1


def test_except_binds_the_error_and_continues() -> None:
    """`except: as: e` binds the raised value; execution continues after the try step."""
    result = run(
        """
        - t:
            try:
              steps:
                - boom:
                    raise: {"message": "bad", "tags": ["Mine"]}
                - never:
                    assign:
                      - reached: true
            except:
              as: e
              steps:
                - keep:
                    assign:
                      - caught: ${e.message}
        - after:
            return: ${caught}
        """
    )
    assert result == "bad"


def test_retry_then_except() -> None:
    """When retries are spent the except block handles the last error."""
    text = """
    - t:
        try:
          call: test.flaky
        retry:
          predicate: ${http.default_retry_predicate}
          max_retries: 2
          backoff:
            initial_delay: 1
            max_delay: 1
            multiplier: 1
        except:
          as: e
          steps:
            - r:
                return: ${"gave up after " + string(e.code)}
    """
    connector, calls = flaky(10, {"message": "busy", "code": 503, "tags": ["HttpError"]})
    assert run(text, connectors={FLAKY: connector}) == "gave up after 503" and len(calls) == 3


def test_jump_out_of_an_except_block() -> None:
    """`next` inside except steps may jump to a step of the enclosing list."""
    result = run(
        """
        - t:
            try:
              steps:
                - boom:
                    raise: "x"
            except:
              as: e
              steps:
                - go:
                    next: handled
        - not_here:
            return: "fell through"
        - handled:
            return: "handled"
        """
    )
    assert result == "handled"


def test_runtime_errors_have_tags() -> None:
    """A missing key raises KeyError; division by zero raises ZeroDivisionError."""
    assert (
        "KeyError" in error_of("- a:\n    assign:\n      - m: {}\n      - x: ${m.nope}\n")["tags"]
    )
    assert "ZeroDivisionError" in error_of("- a:\n    return: ${1 % 0}\n")["tags"]
