"""``python -m bp_export.encode_worker``: a video encoder process of the export stage.

Reads one JSON request per line on stdin, answers one JSON line on stdout (see
:func:`handle`); no pickle crosses the pipe. An error is answered as
``{"ok": false, "error": ...}`` and ends the process with status 1; end of input ends it
with status 0.

The work (:class:`Jobs`, also run in the job's own process when ``EXPORT_WORKERS`` is 1)
comes in two kinds, each for any video key, so every worker stays busy whatever the
cameras cost:

* ``encode``: one episode's frames of one key, read from the episode's local npz with one
  inflate (or mapped from a raw ``.npy`` the job's process wrote because it had decoded
  them already), encoded by a fresh encoder (:func:`bp_dataset.video.encode_episode`) into a
  packets file in the spool; answered with the encoder's codec header, the episode's exact
  per-channel image statistics and value counts, and (``sample``) its middle frame. The
  job's process appends the packets to the key's video file in episode order, so which
  worker encoded an episode changes no byte.
* ``verify``: check a closed video file against the frame counts of its episodes at the
  packet level, without decoding (:func:`bp_dataset.video.verify_packets`: codec, pixel
  format and size, one packet per frame at exactly ``i / fps``, each episode's count and
  keyframe start); answered with the packet counts and the problems. Decoding every frame
  is the gate's ``frames`` check (``bp_dataset.verify``), which decides before delivery.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from bp_dataset.stats import ImageStats
from bp_dataset.video import VideoParams, encode_episode, verify_packets
from bp_sdk.clock import StageClock
from bp_sdk.errors import PermanentError
from bp_sdk.workers import serve

from bp_export.frames import (
    NpzStreams,
    frame_to_json,
    image_histogram,
    write_packets,
)


class Jobs:
    """The work of one encoder process: encode an (episode, key), verify a closed file."""

    def __init__(self, params: VideoParams, spool: Path) -> None:
        self.params = params
        self.spool = spool
        self.clock = StageClock()  # shard decode, video encode, image stats, video verify

    def encode(
        self, index: int, key: str, npz: str, frames: int, sample: bool, raw: str | None = None
    ) -> dict[str, Any]:
        """Encode the episode's ``key`` frames (``raw`` .npy, else the npz) to a packets file."""
        clock = self.clock
        if raw is not None:
            images = np.load(raw, mmap_mode="r", allow_pickle=False)
        else:
            with NpzStreams(npz) as data, clock("shard decode (npz inflate)"):
                images = data.array(key)
        if images.shape[0] != frames:
            raise PermanentError(
                f"episode {index}: {key} has {images.shape[0]} frames, expected {frames}"
            )
        with clock("video encode"):
            packets, header = encode_episode(self.params, images)
            path = self.spool / f"{key}-{index:06d}.packets"
            write_packets(path, packets)
        with clock("image stats"):
            counts = image_histogram(images)
            ep = ImageStats()
            ep.add_counts(counts, frames)
            stats = ep.result()
        reply: dict[str, Any] = {
            "op": "encode",
            "index": index,
            "key": key,
            "frames": frames,
            "packets": str(path),
            "header": header.hex() if header is not None else None,
            "stats": stats,
            "counts": counts.tolist(),
            "raw": raw,
        }
        if sample:
            reply["sample"] = frame_to_json(images[frames // 2])
        return reply

    def verify(self, path: str, lengths: list[int]) -> dict[str, Any]:
        """Check a closed file's packets (no decoding) against its episodes' frame counts."""
        p = self.params
        with self.clock("video verify (packets, no decode)"):
            check = verify_packets(
                Path(path), lengths, p.fps, p.width, p.height, p.codec_name, p.pix_fmt
            )
        return {
            "op": "verify",
            "path": path,
            "packet_count": check.frames,
            "packets_per_episode": check.per_episode,
            "problems": check.problems,
        }


def handle(state: Jobs | None, msg: dict[str, Any]) -> tuple[Jobs | None, dict[str, Any]]:
    """One request of the worker protocol → (new state, reply)."""
    op = msg.get("op")
    if op == "start":
        return Jobs(VideoParams(**msg["params"]), Path(msg["spool"])), {"ok": True, "op": "start"}
    if state is None:
        raise ValueError(f"request {op!r} before start")
    if op == "encode":
        reply = state.encode(
            int(msg["index"]),
            str(msg["key"]),
            str(msg["npz"]),
            int(msg["frames"]),
            bool(msg.get("sample")),
            msg.get("raw"),
        )
        return state, {"ok": True, **reply}
    if op == "verify":
        reply = state.verify(str(msg["path"]), [int(n) for n in msg["lengths"]])
        return state, {"ok": True, **reply}
    if op == "finish":
        return state, {"ok": True, "op": "finish", "clock": state.clock.to_json()}
    raise ValueError(f"unknown request {op!r}")


def main() -> int:
    """Serve requests until stdin closes."""
    return serve(handle)


if __name__ == "__main__":
    sys.exit(main())
