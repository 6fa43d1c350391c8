"""Dataset files built locally, then streamed into the attempt folder.

Parquet and npz writers need a seekable local file; each finished file is streamed into
``ctx.output`` (which records its size and sha256 as it writes) and removed locally, so
local disk holds only the files being written. Data parquet and lossless npz files roll
over to the next file index at an episode boundary once they reach their size bound.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from bp_dataset.layout import lossless_member
from bp_sdk.commit import OutputWriter
from bp_sdk.spool import make_spool, remove_spool

from bp_export.encoding import next_file

COPY_BLOCK: Final = 1 << 20
ZIP_EPOCH: Final = (1980, 1, 1, 0, 0, 0)  # fixed member times: the same arrays give the same bytes


class Staging:
    """A local folder mirroring the dataset layout; finished files go to the output."""

    def __init__(self, output: OutputWriter) -> None:
        self.output = output
        self.root = make_spool("export")

    def path(self, rel: str) -> Path:
        """Local path of a dataset file (parent folders created)."""
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def publish(self, rel: str, keep: bool = False) -> None:
        """Stream the local file into the attempt folder (hashed as it goes), then drop it."""
        local = self.root / rel
        with local.open("rb") as src, self.output.open(rel) as dst:
            shutil.copyfileobj(src, dst, COPY_BLOCK)
        if not keep:
            local.unlink()

    def write_bytes(self, rel: str, data: bytes) -> None:
        """A small file straight to the output."""
        self.output.write_bytes(rel, data)

    def write_json(self, rel: str, value: Any) -> None:
        """A JSON document straight to the output."""
        self.output.write_bytes(rel, json_bytes(value))

    def close(self) -> None:
        """Remove whatever is left locally."""
        remove_spool(self.root)

    def __enter__(self) -> Staging:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class RollingParquet:
    """Row groups appended to ``template.format(chunk, file)``; a new file past ``max_bytes``."""

    def __init__(
        self,
        staging: Staging,
        template: Callable[[int, int], str],
        schema: pa.Schema,
        max_bytes: int,
    ) -> None:
        self.staging = staging
        self.template = template
        self.schema = schema
        self.max_bytes = max_bytes
        self.chunk, self.file = 0, 0
        self.writer: pq.ParquetWriter | None = None
        self.rel = ""
        self.written: list[str] = []

    def append(self, table: pa.Table) -> tuple[int, int]:
        """Write one episode's rows; the (chunk, file) they went to."""
        if self.writer is not None and self.staging.path(self.rel).stat().st_size >= self.max_bytes:
            self._close()
            self.chunk, self.file = next_file(self.chunk, self.file)
        if self.writer is None:
            self.rel = self.template(self.chunk, self.file)
            self.writer = pq.ParquetWriter(
                self.staging.path(self.rel), self.schema, compression="snappy", use_dictionary=True
            )
        self.writer.write_table(table)
        return self.chunk, self.file

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.staging.publish(self.rel)
            self.written.append(self.rel)

    def close(self) -> list[str]:
        """Finish and publish the last file; every file written."""
        self._close()
        return self.written


class RollingNpz:
    """Lossless arrays as ``<prefix><episode>/<stream>`` members of deflated npz files.

    Written member by member (``numpy.lib.format`` inside a zip, the format
    ``np.savez_compressed`` writes, loadable with ``np.load(allow_pickle=False)``), so an
    episode's arrays never need to be held together, and with fixed member times.
    """

    def __init__(
        self, staging: Staging, template: Callable[[int, int], str], max_bytes: int
    ) -> None:
        self.staging = staging
        self.template = template
        self.max_bytes = max_bytes
        self.chunk, self.file = 0, 0
        self.zip: zipfile.ZipFile | None = None
        self.rel = ""
        self.written: list[str] = []

    def append(self, episode_index: int, arrays: Mapping[str, np.ndarray]) -> tuple[int, int]:
        """Write one episode's streams; the (chunk, file) they went to."""
        if self.zip is not None and self.staging.path(self.rel).stat().st_size >= self.max_bytes:
            self._close()
            self.chunk, self.file = next_file(self.chunk, self.file)
        if self.zip is None:
            self.rel = self.template(self.chunk, self.file)
            self.zip = zipfile.ZipFile(
                self.staging.path(self.rel), mode="w", compression=zipfile.ZIP_DEFLATED
            )
        for stream, arr in arrays.items():
            info = zipfile.ZipInfo(
                f"{lossless_member(episode_index, stream)}.npy", date_time=ZIP_EPOCH
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            with self.zip.open(info, mode="w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.ascontiguousarray(arr), allow_pickle=False)
        return self.chunk, self.file

    def _close(self) -> None:
        if self.zip is not None:
            self.zip.close()
            self.zip = None
            self.staging.publish(self.rel)
            self.written.append(self.rel)

    def close(self) -> list[str]:
        """Finish and publish the last file; every file written."""
        self._close()
        return self.written


def json_bytes(value: Any) -> bytes:
    """Pretty JSON in the given key order (NaN refused)."""
    return (json.dumps(value, indent=2, sort_keys=False, allow_nan=False) + "\n").encode()
