"""Who is approving: the identity Google authenticates, or a marked unauthenticated one.

With Google credentials (``google.auth.default()``: a service account on Cloud Run/GCE or
from a key file, or a user's ``gcloud auth application-default login``), the credentials
are refreshed (so Google vouches for them now) and the identity is the service account's
email, or the user's email from the ID token Google returned with the refresh (checked
against Google's certificates), or from Google's tokeninfo endpoint for the access token.
Without credentials, or when Google cannot confirm them, the identity is
``local:<user>@<host>``, marked unauthenticated: production refuses its approvals.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

from bp_dataset.approval import Identity

log = logging.getLogger("bp.identity")

SCOPES: Final = ("openid", "https://www.googleapis.com/auth/userinfo.email")
TOKENINFO: Final = "https://oauth2.googleapis.com/tokeninfo"
TIMEOUT_S: Final = 10.0


def _verified_email(claims: dict[str, Any]) -> str | None:
    email = claims.get("email")
    verified = claims.get("email_verified") in (True, "true")
    return str(email) if email and verified else None


def google_identity() -> Identity | None:
    """The authenticated Google identity of the default credentials, or None.

    Every failure (no credentials, offline, a key Google rejects) gives None and is logged:
    the caller falls back to an unauthenticated local identity, never to a claimed one.
    """
    try:
        import google.auth  # noqa: PLC0415 - optional at import: bp verify never needs it
        import google.auth.exceptions  # noqa: PLC0415
        import google.auth.transport.requests  # noqa: PLC0415
        import google.oauth2.id_token  # noqa: PLC0415
    except ImportError:  # pragma: no cover - google-auth ships with the SDK
        return None
    try:
        creds, _project = google.auth.default(scopes=list(SCOPES))
    except google.auth.exceptions.DefaultCredentialsError:
        return None
    request = google.auth.transport.requests.Request()
    try:
        creds.refresh(request)  # type: ignore[no-untyped-call]
    except (google.auth.exceptions.GoogleAuthError, OSError, ValueError) as exc:
        log.warning("Google credentials found but could not be confirmed: %s", type(exc).__name__)
        return None
    email = getattr(creds, "service_account_email", None)
    if isinstance(email, str) and "@" in email:
        return Identity(
            principal=email,
            kind="service_account",
            authenticated=True,
            source="google.auth service account (credentials refreshed)",
        )
    token = getattr(creds, "id_token", None)
    if isinstance(token, str) and token:
        try:
            claims = google.oauth2.id_token.verify_oauth2_token(token, request)  # type: ignore[no-untyped-call]
        except (google.auth.exceptions.GoogleAuthError, ValueError) as exc:
            log.warning("Google ID token could not be verified: %s", type(exc).__name__)
        else:
            found = _verified_email(claims)
            if found:
                return Identity(
                    principal=found,
                    kind="user",
                    authenticated=True,
                    source="Google ID token (signature verified)",
                )
    access = getattr(creds, "token", None)
    if isinstance(access, str) and access:
        try:
            resp = request(
                url=f"{TOKENINFO}?access_token={access}", method="GET", timeout=TIMEOUT_S
            )
            claims = json.loads(resp.data) if resp.status == 200 else {}
        except (google.auth.exceptions.GoogleAuthError, OSError, ValueError):
            claims = {}
        found = _verified_email(claims)
        if found:
            return Identity(
                principal=found,
                kind="user",
                authenticated=True,
                source="Google tokeninfo for the refreshed access token",
            )
    log.warning("Google credentials carry no verified email (add the userinfo.email scope)")
    return None


def current_identity(*, local_only: bool = False) -> Identity:
    """The authenticated Google identity, else the marked local one."""
    if not local_only:
        found = google_identity()
        if found is not None:
            return found
    return Identity.local()
