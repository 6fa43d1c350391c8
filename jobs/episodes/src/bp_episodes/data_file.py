"""An episode's data file: its streams as one ``.npz`` (``np.load(allow_pickle=False)``
reads it as it reads ``np.savez_compressed``'s files), deflated at a chosen level,
byte-reproducible, and writable while the episode is still running.

* The level is a setting (``EPISODES_DEFLATE_LEVEL``; ``np.savez_compressed`` always uses
  zlib's 6): rendered frames deflate about twice as fast at level 1 for files ~14% larger
  (kitchen_counter's 128² frames on one core: 193 vs 87 MB/s, ratio 7.0 vs 8.0), which is
  what lets a GPU batch's frames be written as fast as they are made.
* Every member carries a fixed date, so the same arrays give the same bytes.
* A member is deflated in two parts: the ``.npy`` header (which holds the frame count, known
  only at the end) and the frames, fed as they are recorded (:class:`StreamDeflater`). The
  header part ends on a full flush (byte-aligned, no back-references across), so the two
  raw deflate streams concatenate into one; their CRC-32s combine (:func:`crc32_combine`).
  :func:`episode_npz` deflates whole arrays the same way, so both give the same bytes.
* zlib releases the GIL while it deflates: several threads deflate several streams at once.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

DEFAULT_LEVEL = 1
_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01, the earliest a ZIP member can carry
_DOS_TIME = 0
_VERSION = 20  # ZIP 2.0: deflate
_DEFLATED, _STORED = 8, 0


@dataclass
class Member:
    """One finished ``<key>.npy`` member: its stored (deflated) bytes and what they hold."""

    name: str
    data: bytes
    crc: int
    size: int  # uncompressed
    method: int = _DEFLATED
    dtype: str = ""  # the array's (numpy's dtype string)
    shape: tuple[int, ...] = ()  # the array's, frames first


@dataclass
class StreamDeflater:
    """One stream of one episode, deflated frame by frame as it is recorded."""

    level: int
    dtype: np.dtype[Any] | None = None
    frame_shape: tuple[int, ...] = ()
    frames: int = 0
    crc: int = 0
    size: int = 0
    parts: list[bytes] = field(default_factory=list)
    _z: Any = None

    def __post_init__(self) -> None:
        _check_level(self.level)
        if self.level:
            self._z = zlib.compressobj(self.level, zlib.DEFLATED, -15)

    def add(self, frames: NDArray[Any]) -> None:
        """Append frames (``(k, *frame_shape)``, C order) to the stream."""
        if self.dtype is None:
            self.dtype, self.frame_shape = frames.dtype, tuple(frames.shape[1:])
        elif frames.dtype != self.dtype or tuple(frames.shape[1:]) != self.frame_shape:
            raise ValueError(
                f"frames {frames.dtype}{list(frames.shape[1:])} do not match the stream's "
                f"{self.dtype}{list(self.frame_shape)}"
            )
        raw = np.ascontiguousarray(frames).reshape(-1).view(np.uint8).data
        self.crc = zlib.crc32(raw, self.crc)
        self.size += len(raw)
        self.frames += int(frames.shape[0])
        self.parts.append(self._z.compress(raw) if self._z is not None else bytes(raw))

    def finish(self, key: str) -> Member:
        """The stream as the member ``<key>.npy`` (the deflater is used up)."""
        if self.dtype is None:
            raise ValueError(f"stream {key!r} has no frames")
        shape = (self.frames, *self.frame_shape)
        header = _npy_header(self.dtype, shape)
        size = len(header) + self.size
        crc = crc32_combine(zlib.crc32(header), self.crc, self.size)
        name, dtype = f"{key}.npy", self.dtype.str
        if self._z is None:
            data = header + b"".join(self.parts)
            return Member(name, data, crc, size, _STORED, dtype, shape)
        head = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        start = head.compress(header) + head.flush(zlib.Z_FULL_FLUSH)  # aligned, not final
        data = b"".join([start, *self.parts, self._z.flush(zlib.Z_FINISH)])
        self.parts.clear()
        return Member(name, data, crc, size, _DEFLATED, dtype, shape)


def episode_npz(arrays: Mapping[str, NDArray[Any]], level: int = DEFAULT_LEVEL) -> bytes:
    """The ``.npz`` bytes of whole ``arrays`` (member ``<key>.npy`` each, in the mapping's
    order) at zlib ``level`` (0: stored): the bytes :class:`StreamDeflater` gives for the
    same frames."""
    members = []
    for key, array in arrays.items():
        s = StreamDeflater(level)
        s.add(np.asarray(array))
        members.append(s.finish(key))
    return zip_members(members)


def zip_members(members: Iterable[Member]) -> bytes:
    """A ZIP archive of already deflated members (no ZIP64: an episode stays under 4 GiB)."""
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    count = 0
    for m in members:
        name = m.name.encode()
        if max(len(m.data), m.size, offset) >= 0xFFFFFFFF:
            raise ValueError(f"{m.name}: an episode's data file must stay under 4 GiB")
        fields = (_VERSION, 0, m.method, _DOS_TIME, _DOS_DATE, m.crc, len(m.data), m.size)
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, len(name), 0) + name
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                _VERSION,
                *fields,
                len(name),
                0,
                0,
                0,
                0,
                0o644 << 16,
                offset,
            )
            + name
        )
        out += [local, m.data]
        offset += len(local) + len(m.data)
        count += 1
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(directory), offset, 0)
    return b"".join([*out, directory, end])


def _npy_header(dtype: np.dtype[Any], shape: tuple[int, ...]) -> bytes:
    """The ``.npy`` header ``np.save`` writes for a C-ordered array of ``dtype`` and ``shape``."""
    d = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, d)
    return buf.getvalue()


def _check_level(level: int) -> None:
    if not 0 <= level <= 9:
        raise ValueError(f"deflate level must be 0..9, got {level}")


# ---------------------------------------------------------------------- CRC-32 combination
def _gf2_times(mat: list[int], vec: int) -> int:
    total, i = 0, 0
    while vec:
        if vec & 1:
            total ^= mat[i]
        vec >>= 1
        i += 1
    return total


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of ``A + B`` from ``crc32(A)``, ``crc32(B)`` and ``len(B)`` (zlib's
    ``crc32_combine``, which Python's ``zlib`` does not expose): ``crc1`` advanced through
    ``len2`` zero bytes by squaring the one-zero-bit operator, then XOR ``crc2``."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)  # first pass: one zero byte
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


# ---------------------------------------------------------------------- an episode's streams
@dataclass
class EpisodeData:
    """An episode's recorded streams, in recording order: whole arrays, and streams deflated
    while they were recorded (the batched runner's images)."""

    arrays: dict[str, NDArray[Any]]
    deflated: dict[str, StreamDeflater | Member] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    _npz: bytes | None = None

    def __post_init__(self) -> None:
        if not self.order:
            self.order = [*self.arrays, *self.deflated]
        if sorted(self.order) != sorted([*self.arrays, *self.deflated]):
            raise ValueError(f"stream order {self.order} does not list the streams")

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Every stream's shape, frames first."""
        out = {k: tuple(a.shape) for k, a in self.arrays.items()}
        for k, s in self.deflated.items():
            out[k] = s.shape if isinstance(s, Member) else (s.frames, *s.frame_shape)
        return {k: out[k] for k in self.order}

    def dtypes(self) -> dict[str, np.dtype[Any]]:
        """Every stream's dtype."""
        out: dict[str, np.dtype[Any]] = {k: a.dtype for k, a in self.arrays.items()}
        for k, s in self.deflated.items():
            dtype = np.dtype(s.dtype) if isinstance(s, Member) else s.dtype
            if dtype is not None:
                out[k] = dtype
        return {k: out[k] for k in self.order}

    def npz(self, level: int) -> bytes:
        """The data file's bytes (once: the deflated streams are finished by the first call;
        ``level`` applies to the whole arrays, the deflated streams keep theirs)."""
        if self._npz is None:
            members = []
            for key in self.order:
                stream = self.deflated.get(key)
                if isinstance(stream, Member):
                    members.append(stream)
                    continue
                if stream is None:
                    stream = StreamDeflater(level)
                    stream.add(np.asarray(self.arrays[key]))
                members.append(stream.finish(key))
            self._npz = zip_members(members)
        return self._npz

    def frames(self, key: str, level: int) -> NDArray[Any]:
        """One whole stream (a deflated one is read back from the data file)."""
        if key in self.arrays:
            return self.arrays[key]
        with np.load(io.BytesIO(self.npz(level)), allow_pickle=False) as data:
            return np.asarray(data[key])
