"""Storage: one interface (:class:`Storage`), two backends (``file://``, ``gs://``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from bp_sdk.errors import ConfigError
from bp_sdk.storage.base import ObjectInfo, Storage, check_path, join

__all__ = ["ObjectInfo", "Storage", "check_path", "join", "open_storage", "parse_storage_uri"]

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")


def parse_storage_uri(uri: str) -> tuple[str, str, str]:
    """Split a storage URI into (scheme, bucket-or-root, prefix); ValueError if malformed."""
    if not uri or not uri.strip():
        raise ValueError("storage URI is empty")
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in {"", "localhost"}:
            raise ValueError(
                f"file:// URI must be file:///absolute/path, got host {parsed.netloc!r}"
            )
        path = unquote(parsed.path)
        if not path.startswith("/"):
            raise ValueError("file:// URI must hold an absolute path (file:///abs/path)")
        if ".." in Path(path).parts:
            raise ValueError("file:// URI must not contain '..'")
        return "file", path, ""
    if parsed.scheme == "gs":
        bucket = parsed.netloc
        if not _BUCKET.match(bucket):
            raise ValueError(f"invalid GCS bucket name {bucket!r} (3-63 chars: a-z 0-9 . _ -)")
        prefix = parsed.path.strip("/")
        if prefix:
            check_path(prefix)
        return "gs", bucket, prefix
    raise ValueError(
        f"unsupported storage URI scheme {parsed.scheme or '(none)'!r}: use gs://bucket[/prefix] or file:///abs/path"
    )


def open_storage(uri: str, *, project: str | None = None) -> Storage:
    """The backend for ``uri``. ``gs://`` honours ``STORAGE_EMULATOR_HOST``.

    A malformed URI is a :class:`~bp_sdk.errors.ConfigError` (settings validate it
    earlier; callers that take a URI from elsewhere, like ``bp``, get the same message).
    """
    try:
        scheme, where, prefix = parse_storage_uri(uri)
    except ValueError as exc:
        raise ConfigError(
            f"invalid storage URI {uri[:200]!r}: {exc}",
            next_step="Use gs://bucket[/prefix] or file:///absolute/path.",
        ) from None
    if scheme == "file":
        from bp_sdk.space import translated  # noqa: PLC0415
        from bp_sdk.storage.local import LocalStorage  # noqa: PLC0415

        root = Path(where)
        with translated(root.name or "storage"):
            root.mkdir(parents=True, exist_ok=True)
        return LocalStorage(root)
    from bp_sdk.storage.gcs import GCSStorage, make_client  # noqa: PLC0415

    client = make_client(os.environ.get("STORAGE_EMULATOR_HOST"), project)
    return GCSStorage(where, prefix, client)
