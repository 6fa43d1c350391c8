"""What the video encoders need besides the encoder: reading one stream of an episode's npz,
exact image histograms, the middle frame for the card, and a clock of where time goes.

* :class:`NpzStreams` reads one array of an ``.npz`` (``np.savez_compressed``) with a
  single inflate into one buffer (``np.load`` inflates in small blocks and joins them,
  copying every image twice); the member's CRC-32 is still checked.
* :func:`image_histogram` counts the values of each colour channel with Pillow's C
  histogram (exact integer counts, the same as ``np.bincount`` per channel).
* :func:`frame_to_json` / :func:`frame_from_json` carry one RGB frame through the
  encoders' JSON protocol (base64 of the raw bytes, no pickle).
* :func:`write_packets` / :func:`read_packets` carry an encoded episode from an encoder
  process to the process that writes the video file (a small binary file: per packet its
  times, keyframe flag and bytes; no pickle).
* :class:`StageClock` adds up wall and CPU seconds per named step (the commit summary's
  ``stage_seconds``, read by ``bench/export_bench.py``); CPU is the whole process's (the
  encoder's own threads count), so steps are only timed where nothing else runs.
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import numpy as np
from bp_dataset.video import EncodedPacket
from PIL import Image

HIST_BATCH: Final = 64  # frames per histogram call (one image of 64 * H rows)
PACKETS_MAGIC: Final = b"BP-PACKETS/1\n"
_PACKET: Final = struct.Struct("<qqqBI")  # pts, dts, duration, flags (1: keyframe, 2: dts), size


class NpzStreams:
    """Arrays of one npz file, each read with one inflate (use as a context manager)."""

    def __init__(self, path: str | Path) -> None:
        self._file = Path(path).open("rb")  # noqa: SIM115 - closed by close()
        try:
            self._zip = zipfile.ZipFile(self._file)
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> NpzStreams:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._zip.close()
        self._file.close()

    def _member_bytes(self, info: zipfile.ZipInfo) -> bytes:
        self._file.seek(info.header_offset)
        local = self._file.read(30)
        if local[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header of {info.filename}")
        skip = int.from_bytes(local[26:28], "little") + int.from_bytes(local[28:30], "little")
        self._file.seek(info.header_offset + 30 + skip)
        raw = self._file.read(info.compress_size)
        if info.compress_type == zipfile.ZIP_DEFLATED:
            data = zlib.decompress(raw, -15, max(info.file_size, 1))
        elif info.compress_type == zipfile.ZIP_STORED:
            data = raw
        else:
            with self._zip.open(info) as f:
                data = f.read()
        if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
            raise zipfile.BadZipFile(f"member {info.filename} is corrupt (size or CRC-32)")
        return data

    def array(self, key: str) -> np.ndarray:
        """The array stored as ``<key>.npy`` (read-only; KeyError when absent)."""
        data = self._member_bytes(self._zip.getinfo(f"{key}.npy"))
        head = io.BytesIO(data[:65536])
        version = np.lib.format.read_magic(head)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
        if dtype.hasobject:
            raise ValueError(f"{key} holds Python objects; refused (no pickle)")
        count = int(np.prod(shape, dtype=np.int64))
        flat = np.frombuffer(data, dtype=dtype, count=count, offset=head.tell())
        return flat.reshape(shape, order="F" if fortran else "C")


def image_histogram(frames: np.ndarray) -> np.ndarray:
    """``(3, 256)`` int64 counts of each channel's values in ``(T, H, W, 3)`` uint8 frames."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames, got {frames.shape} {frames.dtype}")
    out = np.zeros((3, 256), dtype=np.int64)
    width = frames.shape[2]
    for i in range(0, frames.shape[0], HIST_BATCH):
        batch = np.ascontiguousarray(frames[i : i + HIST_BATCH]).reshape(-1, width, 3)
        if batch.size == 0:
            continue
        img = Image.frombuffer("RGB", (width, batch.shape[0]), batch, "raw", "RGB", 0, 1)
        out += np.asarray(img.histogram(), dtype=np.int64).reshape(3, 256)
    return out


def frame_to_json(frame: np.ndarray) -> dict[str, Any]:
    """One ``(H, W, 3)`` uint8 frame as JSON (shape and base64 bytes)."""
    a = np.ascontiguousarray(frame, dtype=np.uint8)
    return {"shape": list(a.shape), "b64": base64.b64encode(a.tobytes()).decode("ascii")}


def frame_from_json(data: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`frame_to_json`."""
    raw = base64.b64decode(data["b64"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(tuple(data["shape"])).copy()


def write_packets(path: Path, packets: list[EncodedPacket]) -> None:
    """Write an episode's packets to ``path``."""
    with path.open("wb") as f:
        f.write(PACKETS_MAGIC)
        for k in packets:
            flags = (1 if k.keyframe else 0) | (2 if k.dts is not None else 0)
            f.write(_PACKET.pack(k.pts, k.dts or 0, k.duration, flags, len(k.data)))
            f.write(k.data)


def read_packets(path: Path) -> list[EncodedPacket]:
    """The packets :func:`write_packets` wrote (a truncated file is an error)."""
    data = path.read_bytes()
    if not data.startswith(PACKETS_MAGIC):
        raise ValueError(f"{path.name} is not a packets file")
    out = []
    pos = len(PACKETS_MAGIC)
    while pos < len(data):
        if pos + _PACKET.size > len(data):
            raise ValueError(f"{path.name} is truncated")
        pts, dts, duration, flags, size = _PACKET.unpack_from(data, pos)
        pos += _PACKET.size
        if pos + size > len(data):
            raise ValueError(f"{path.name} is truncated")
        payload = data[pos : pos + size]
        pos += size
        out.append(
            EncodedPacket(pts, dts if flags & 2 else None, duration, bool(flags & 1), payload)
        )
    return out
