"""A deflater process of the batched runner (``python -m bp_episodes.batched.deflate_worker``):
it owns the image streams of some worlds and deflates their frames as the control steps
record them (:mod:`bp_episodes.batched.deflating` is the stage's side).

Requests, one JSON line each (replies in order, ``{"ok": true, ...}``):

* ``start``: ``level`` (zlib);
* ``frames``: ``file`` (a raw slot file of ``rows`` frames of ``dtype``/``frame`` shape in the
  spool folder), ``key``, and ``take``: ``[[row, world, frame], ...]``, the rows of this
  process's worlds — each world's frame is appended to its stream, in order;
* ``finish``: ``world``, ``out``: the world's streams are written one after another to
  ``out`` and described (name, offset, length, CRC-32, size, dtype, shape); the world's
  streams are dropped (also the way to forget a world: ``out`` null);
* ``clock``: this process's deflating seconds.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bp_sdk.clock import StageClock
from bp_sdk.workers import serve

from bp_episodes.data_file import StreamDeflater

STEP = "deflate frames (deflater processes)"


@dataclass
class Streams:
    """The worlds' streams of one deflater process."""

    level: int
    worlds: dict[int, dict[str, StreamDeflater]] = field(default_factory=dict)
    clock: StageClock = field(default_factory=StageClock)

    def frames(self, file: str, key: str, dtype: str, shape: list[int], take: list[Any]) -> None:
        with self.clock(STEP):
            data = np.memmap(file, dtype=np.dtype(dtype), mode="r", shape=tuple(shape))
            for row, world, frame in take:
                streams = self.worlds.setdefault(int(world), {})
                stream = streams.get(key)
                if stream is None:
                    stream = streams[key] = StreamDeflater(self.level)
                if stream.frames != frame:
                    raise RuntimeError(
                        f"world {world} stream {key}: frame {frame} arrived after "
                        f"{stream.frames} frames"
                    )
                stream.add(data[row : row + 1])
            del data

    def finish(self, world: int, out: str | None) -> list[dict[str, Any]]:
        streams = self.worlds.pop(world, {})
        if out is None:
            return []
        described = []
        offset = 0
        with self.clock(STEP), Path(out).open("wb") as f:
            for key, stream in streams.items():
                shape = [stream.frames, *stream.frame_shape]
                dtype = str(stream.dtype)
                m = stream.finish(key)
                f.write(m.data)
                described.append(
                    {"key": key, "offset": offset, "length": len(m.data), "crc": m.crc,
                     "size": m.size, "method": m.method, "dtype": dtype, "shape": shape}
                )  # fmt: skip
                offset += len(m.data)
        return described


def handle(state: Streams | None, msg: dict[str, Any]) -> tuple[Streams | None, dict[str, Any]]:
    """One request → (new state, reply)."""
    op = msg.get("op")
    if op == "start":
        return Streams(int(msg["level"])), {"ok": True}
    if state is None:
        raise ValueError(f"request {op!r} before start")
    if op == "frames":
        state.frames(msg["file"], msg["key"], msg["dtype"], msg["shape"], msg["take"])
        return state, {"ok": True}
    if op == "finish":
        return state, {"ok": True, "members": state.finish(int(msg["world"]), msg.get("out"))}
    if op == "clock":
        return state, {"ok": True, "clock": state.clock.to_json()}
    raise ValueError(f"unknown request {op!r}")


if __name__ == "__main__":
    sys.exit(serve(handle))
