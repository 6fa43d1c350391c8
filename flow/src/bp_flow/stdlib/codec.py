"""Encodings and digests: the ``base64`` module (``encode``, ``decode``), the ``hash``
module (``compute_checksum``, ``compute_hmac``) and ``uuid.generate``.

Base64 is the standard alphabet; ``padding`` (default true) writes / requires ``=`` padding
to a multiple of four characters; ``decode`` ignores ``\\r`` and ``\\n``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from typing import Any

from bp_flow.expr.values import value_error
from bp_flow.runtime import Runtime
from bp_flow.stdlib._check import want_bool, want_bytes, want_str
from bp_flow.stdlib._model import Function, Param, opt

ALGORITHMS = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA224": "sha224",
    "SHA256": "sha256",
    "SHA384": "sha384",
    "SHA512": "sha512",
}
_B64_CHARS = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def b64_encode(rt: Runtime, data: Any, padding: Any) -> str:
    """Bytes as Base64 text."""
    raw = want_bytes("base64.encode", "data", data)
    text = base64.b64encode(raw).decode("ascii")
    return text if want_bool("base64.encode", "padding", padding) else text.rstrip("=")


def b64_decode(rt: Runtime, data: Any, padding: Any) -> bytes:
    """Base64 text as bytes."""
    text = want_str("base64.decode", "data", data).replace("\r", "").replace("\n", "")
    padded = want_bool("base64.decode", "padding", padding)
    if not _B64_CHARS.fullmatch(text):
        raise value_error("base64.decode: characters outside the Base64 alphabet")
    if padded and len(text) % 4:
        raise value_error("base64.decode: the input is not padded to a multiple of 4 characters")
    if not padded:
        if "=" in text:
            raise value_error("base64.decode: padding characters in unpadded input")
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as err:
        raise value_error(f"base64.decode: {err}") from None


def _algorithm(fn: str, algorithm: Any) -> str:
    name = want_str(fn, "algorithm", algorithm)
    if name not in ALGORITHMS:
        raise value_error(f"{fn}: unsupported algorithm {name!r} (one of {', '.join(ALGORITHMS)})")
    return ALGORITHMS[name]


def compute_checksum(rt: Runtime, data: Any, algorithm: Any) -> bytes:
    """The digest of ``data`` (bytes) with MD5, SHA1, SHA224, SHA256, SHA384 or SHA512."""
    raw = want_bytes("hash.compute_checksum", "data", data)
    return hashlib.new(_algorithm("hash.compute_checksum", algorithm), raw).digest()


def compute_hmac(rt: Runtime, key: Any, data: Any, algorithm: Any) -> bytes:
    """The HMAC of ``data`` with ``key`` (both bytes)."""
    secret = want_bytes("hash.compute_hmac", "key", key)
    raw = want_bytes("hash.compute_hmac", "data", data)
    return hmac.new(secret, raw, _algorithm("hash.compute_hmac", algorithm)).digest()


def generate_uuid(rt: Runtime) -> str:
    """A random (version 4) UUID in its 36-character text form."""
    return str(uuid.uuid4())


FUNCTIONS: tuple[Function, ...] = (
    Function(
        "base64.encode",
        (Param("data"), opt("padding", True)),
        b64_encode,
        True,
        "Bytes as Base64 text.",
    ),
    Function(
        "base64.decode",
        (Param("data"), opt("padding", True)),
        b64_decode,
        True,
        "Base64 text as bytes.",
    ),
    Function(
        "hash.compute_checksum",
        (Param("data"), Param("algorithm")),
        compute_checksum,
        True,
        "Digest of bytes: MD5, SHA1, SHA224, SHA256, SHA384 or SHA512.",
    ),
    Function(
        "hash.compute_hmac",
        (Param("key"), Param("data"), Param("algorithm")),
        compute_hmac,
        True,
        "HMAC of bytes with a key (bytes) and an algorithm as for compute_checksum.",
    ),
    Function("uuid.generate", (), generate_uuid, True, "A random version-4 UUID string."),
)
