"""A throwaway service-account key (a fresh RSA key; never used anywhere but these tests),
and what a leak of it would look like."""

from __future__ import annotations

import json
import secrets

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SIGNER = "bp-delivery-signer@test-project.iam.gserviceaccount.com"


def service_account_key() -> tuple[str, rsa.RSAPublicKey]:
    """The key as Secret Manager would hold it (JSON), and its public half."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": SIGNER,
        "client_id": "100000000000000000001",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return json.dumps(info), key.public_key()


def leak_markers(key_json: str) -> list[str]:
    """Strings whose presence anywhere means the key leaked: the whole key, its id, the
    private key (raw and JSON-escaped) and every base64 line of it."""
    info = json.loads(key_json)
    pem = info["private_key"]
    lines = [ln for ln in pem.splitlines() if ln and not ln.startswith("-----")]
    return [key_json, info["private_key_id"], pem, json.dumps(pem)[1:-1], "".join(lines), *lines]
