"""Convex decomposition in a child process: ``python -m bp_simready.worker``.

CoACD runs in C and cannot be interrupted from Python, so the stage runs it here, in a
child process with a timeout: a mesh that takes too long is stopped (and reported) instead
of holding the job, and SIGTERM still reaches the job. Input is an ``.npz`` archive on
stdin; the hulls are written as an ``.npz`` archive to the file named by the only
argument (not stdout, which a native library may write to). Both are read with
``allow_pickle=False``:

- in: ``vertices`` (n, 3) float64, ``faces`` (m, 3) int32, ``params`` float64
  [threshold, max_hulls, seed, preprocess_resolution, resolution, mcts_iterations,
  mcts_nodes, mcts_depth, max_hull_vertices, no_preprocess];
- out: ``v<k>`` and ``f<k>`` for each hull k.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import coacd
import numpy as np


def run(data: bytes) -> bytes:
    """Decompose the mesh in the input archive; the hulls as an output archive."""
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        vertices, faces, p = z["vertices"], z["faces"], z["params"]
    coacd.set_log_level("off")
    hulls = coacd.run_coacd(
        coacd.Mesh(
            np.ascontiguousarray(vertices, dtype=np.float64),
            np.ascontiguousarray(faces, dtype=np.int32),
        ),
        threshold=float(p[0]),
        max_convex_hull=int(p[1]),
        seed=int(p[2]),
        preprocess_resolution=int(p[3]),
        resolution=int(p[4]),
        mcts_iterations=int(p[5]),
        mcts_nodes=int(p[6]),
        mcts_max_depth=int(p[7]),
        max_ch_vertex=int(p[8]),
        preprocess_mode="off" if p[9] else "auto",
        decimate=True,
    )
    out: dict[str, np.ndarray] = {}
    for k, (v, f) in enumerate(hulls):
        out[f"v{k}"] = np.asarray(v, dtype=np.float64)
        out[f"f{k}"] = np.asarray(f, dtype=np.int32)
    buf = io.BytesIO()
    np.savez(buf, **out)  # type: ignore[arg-type]
    return buf.getvalue()


def main() -> None:
    """Read the input archive from stdin, write the hulls to the file named by argv[1]."""
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bp_simready.worker OUTPUT.npz < input.npz")
    Path(sys.argv[1]).write_bytes(run(sys.stdin.buffer.read()))


if __name__ == "__main__":
    main()
