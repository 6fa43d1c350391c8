"""``gs://`` backend on the real google-cloud-storage client.

Create-if-absent is ``if_generation_match=0`` on a single-request upload (commit
records are small, so the client never switches to a resumable upload for them).
With ``STORAGE_EMULATOR_HOST`` set, the client talks to a local emulator anonymously.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from google.api_core import exceptions as gexc

from bp_sdk.errors import (
    NotFoundError,
    PermanentError,
    PreconditionFailed,
    StorageError,
)
from bp_sdk.storage.base import ObjectInfo, Storage, check_path

if TYPE_CHECKING:
    from google.cloud.storage import Blob, Bucket, Client

TIMEOUT_S = 60.0
SPOOL_BYTES = 16 << 20
_SINGLE_REQUEST_MAX = 8 << 20


def make_client(emulator_host: str | None, project: str | None) -> Client:
    """A storage client; anonymous against an emulator, ADC otherwise."""
    from google.cloud import storage  # noqa: PLC0415  (heavy import, only for gs://)

    if emulator_host:
        from google.auth.credentials import AnonymousCredentials  # noqa: PLC0415

        return storage.Client(project=project or "local", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    return storage.Client(project=project)


@contextlib.contextmanager
def _mapped(path: str) -> Iterator[None]:
    """Translate client exceptions into the SDK's error classes."""
    try:
        yield
    except gexc.NotFound:
        raise NotFoundError(f"not found in storage: {path}") from None
    except gexc.PreconditionFailed:
        raise PreconditionFailed(f"precondition failed (exists or changed): {path}") from None
    except (gexc.Forbidden, gexc.Unauthorized) as exc:
        raise PermanentError(
            f"storage access denied for {path}: {type(exc).__name__}",
            next_step="Grant the job's service account access to the bucket.",
        ) from None
    except (gexc.GoogleAPICallError, gexc.RetryError, ConnectionError, TimeoutError) as exc:
        raise StorageError(f"storage call failed for {path}: {type(exc).__name__}") from exc


class GCSStorage(Storage):
    """Objects are blobs in ``bucket`` under ``prefix``."""

    def __init__(self, bucket: str, prefix: str, client: Client) -> None:
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_path(self.prefix)
        self.client = client
        self._bucket: Bucket = client.bucket(bucket)
        self.uri = f"gs://{bucket}/{self.prefix}" if self.prefix else f"gs://{bucket}"

    def _key(self, path: str, *, allow_temp: bool = False) -> str:
        check_path(path, allow_temp=allow_temp)
        return f"{self.prefix}/{path}" if self.prefix else path

    def _blob(self, path: str) -> Blob:
        return self._bucket.blob(self._key(path))

    def read_bytes(self, path: str) -> bytes:
        """Download the whole blob."""
        with _mapped(path):
            data: bytes = self._blob(path).download_as_bytes(timeout=TIMEOUT_S)
            return data

    @contextlib.contextmanager
    def open_read(self, path: str) -> Iterator[BinaryIO]:
        """A streaming reader (ranged reads, bounded memory)."""
        blob = self._blob(path)
        with _mapped(path):
            blob.reload(timeout=TIMEOUT_S)
            reader: Any = blob.open("rb", chunk_size=4 << 20, timeout=TIMEOUT_S)
        with _mapped(path), reader:
            yield reader

    def write_bytes(self, path: str, data: bytes) -> None:
        """Upload in one request when small."""
        with _mapped(path):
            self._blob(path).upload_from_string(data, timeout=TIMEOUT_S)

    @contextlib.contextmanager
    def open_write(self, path: str) -> Iterator[BinaryIO]:
        """Spool to memory/disk, upload on clean exit; nothing is written on error."""
        self._key(path)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            yield spool  # type: ignore[misc]
            size = spool.tell()
            spool.seek(0)
            with _mapped(path):
                self._blob(path).upload_from_file(spool, size=size, timeout=TIMEOUT_S)

    def create_if_absent(self, path: str, data: bytes) -> None:
        """Single-request upload with ``if_generation_match=0``."""
        if len(data) > _SINGLE_REQUEST_MAX:
            raise ValueError("create_if_absent is for small records (single-request uploads)")
        with _mapped(path):
            self._blob(path).upload_from_string(data, if_generation_match=0, timeout=TIMEOUT_S)

    def replace_if_generation(self, path: str, data: bytes, generation: int) -> int:
        """Single-request upload with ``if_generation_match``; the new generation."""
        if len(data) > _SINGLE_REQUEST_MAX:
            raise ValueError("replace_if_generation is for small records (single-request uploads)")
        blob = self._blob(path)
        with _mapped(path):
            blob.upload_from_string(data, if_generation_match=generation, timeout=TIMEOUT_S)
        return int(blob.generation or 0)

    def delete_if_generation(self, path: str, generation: int) -> None:
        """Delete with ``if_generation_match`` (a missing blob fails the precondition too).

        The generation is also compared before the call: GCS enforces the precondition
        itself, emulators may not."""
        current = self.stat(path)
        if current is None or current.generation != generation:
            raise PreconditionFailed(f"{path}: not at generation {generation}")
        try:
            with _mapped(path):
                self._blob(path).delete(if_generation_match=generation, timeout=TIMEOUT_S)
        except NotFoundError:
            raise PreconditionFailed(f"{path}: missing, not at generation {generation}") from None

    def stat(self, path: str) -> ObjectInfo | None:
        """Blob metadata, or None."""
        with _mapped(path):
            blob = self._bucket.get_blob(self._key(path), timeout=TIMEOUT_S)
        if blob is None:
            return None
        return ObjectInfo(path, int(blob.size or 0), blob.updated, blob.generation)

    def list(self, prefix: str = "", *, include_temporary: bool = False) -> Iterator[ObjectInfo]:
        """List blobs under the prefix (pages are fetched lazily)."""
        if prefix:
            check_path(prefix.rstrip("/"))
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        cut = len(self.prefix) + 1 if self.prefix else 0
        with _mapped(prefix or "/"):
            blobs = list(self.client.list_blobs(self.bucket_name, prefix=full, timeout=TIMEOUT_S))
        for blob in sorted(blobs, key=lambda b: b.name):
            yield ObjectInfo(blob.name[cut:], int(blob.size or 0), blob.updated, blob.generation)

    def delete(self, path: str) -> None:
        """Delete the blob; a missing one is fine."""
        with contextlib.suppress(NotFoundError), _mapped(path):
            self._bucket.blob(self._key(path, allow_temp=True)).delete(timeout=TIMEOUT_S)

    def close(self) -> None:
        """Close the client's HTTP session."""
        self.client.close()
