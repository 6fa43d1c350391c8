"""Retry predicates and default policies as documented on the http and retry pages."""

from __future__ import annotations

from typing import Any

import pytest
from bp_flow.stdlib import CONSTANTS, retry

from tests.flow.expr_helpers import call


def http_error(code: int) -> dict[str, Any]:
    """An HTTP error value as the http connector raises it."""
    return {"message": f"HTTP {code}", "code": code, "tags": ["HttpError"]}


def tagged(tag: str) -> dict[str, Any]:
    """An error value with one tag."""
    return {"message": tag, "tags": [tag]}


IDEMPOTENT = {429, 502, 503, 504}
NON_IDEMPOTENT = {429, 503}


@pytest.mark.parametrize("code", [400, 401, 403, 404, 408, 409, 429, 500, 501, 502, 503, 504, 505])
def test_http_codes(code: int) -> None:
    """default_retry_predicate retries 429/502/503/504; the non-idempotent one 429/503."""
    assert call("http.default_retry_predicate", http_error(code)) is (code in IDEMPOTENT)
    assert call("http.default_retry_predicate_non_idempotent", http_error(code)) is (
        code in NON_IDEMPOTENT
    )


@pytest.mark.parametrize(
    ("tag", "idempotent", "non_idempotent"),
    [
        ("ConnectionError", True, False),
        ("ConnectionFailedError", True, True),
        ("TimeoutError", True, False),
        ("KeyError", False, False),
        ("ValueError", False, False),
        ("HttpError", False, False),
    ],
)
def test_error_tags(tag: str, idempotent: bool, non_idempotent: bool) -> None:
    """Connection and timeout tags as documented for each predicate."""
    assert call("http.default_retry_predicate", tagged(tag)) is idempotent
    assert call("http.default_retry_predicate_non_idempotent", tagged(tag)) is non_idempotent


@pytest.mark.parametrize(
    "error",
    ["a string error", None, 503, [503], {"code": "503"}, {"code": True}, {"tags": "TimeoutError"}],
)
def test_predicates_on_other_values(error: Any) -> None:
    """Raised values that are not error maps (or have odd fields) are not retried."""
    assert call("http.default_retry_predicate", error) is False


def test_always_and_never() -> None:
    """retry.always retries anything, retry.never nothing."""
    for error in (http_error(400), "x", None, tagged("TimeoutError")):
        assert call("retry.always", error) is True
        assert call("retry.never", error) is False


def test_default_policies() -> None:
    """Both default policies: 5 retries, backoff 1 s initial, 60 s max, multiplier 1.25."""
    assert retry.DEFAULT_RETRY.predicate is retry.DEFAULT_RETRY_PREDICATE
    assert (
        retry.DEFAULT_RETRY_NON_IDEMPOTENT.predicate is retry.DEFAULT_RETRY_PREDICATE_NON_IDEMPOTENT
    )
    for policy in (retry.DEFAULT_RETRY, retry.DEFAULT_RETRY_NON_IDEMPOTENT):
        assert policy.max_retries == 5
        assert policy.backoff is retry.DEFAULT_BACKOFF
    b = retry.DEFAULT_BACKOFF
    assert (b.initial_delay, b.max_delay, b.multiplier) == (1.0, 60.0, 1.25)


def test_constants_by_name() -> None:
    """Every library value is reachable by its dotted name and callable predicates work directly."""
    assert set(CONSTANTS) == {
        "http.default_retry",
        "http.default_retry_non_idempotent",
        "http.default_retry_predicate",
        "http.default_retry_predicate_non_idempotent",
        "retry.always",
        "retry.never",
        "retry.default_backoff",
    }
    assert all(value.name == name for name, value in CONSTANTS.items())
    assert retry.DEFAULT_RETRY_PREDICATE(http_error(502)) is True
