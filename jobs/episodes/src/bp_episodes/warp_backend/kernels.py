"""Warp kernels that turn the renderer's per-world buffers into the images ``SimBatch``
promises, on the device (so only the final pixels cross to the host).

The renderer keeps, per world, every camera's pixels in one flat row: packed ``0xAARRGGBB``
colour, planar depth (m, 0 where no surface), and ``(id, object type)`` segmentation pairs;
``adr`` is the camera's first pixel in that row.
"""

from __future__ import annotations

import warp as wp


@wp.kernel(enable_backward=False)
def unpack_rgb(
    packed: wp.array2d(dtype=wp.uint32),
    adr: int,
    width: int,
    rgb: wp.array4d(dtype=wp.uint8),
) -> None:
    """Packed colour → N × H × W × 3 uint8."""
    world, pixel = wp.tid()
    v = packed[world, adr + pixel]
    y = pixel // width
    x = pixel - y * width
    rgb[world, y, x, 0] = wp.uint8((v >> wp.uint32(16)) & wp.uint32(0xFF))
    rgb[world, y, x, 1] = wp.uint8((v >> wp.uint32(8)) & wp.uint32(0xFF))
    rgb[world, y, x, 2] = wp.uint8(v & wp.uint32(0xFF))


@wp.kernel(enable_backward=False)
def extract_depth(
    raw: wp.array2d(dtype=wp.float32),
    adr: int,
    width: int,
    far_m: float,
    background: float,
    depth: wp.array3d(dtype=wp.float32),
) -> None:
    """Planar depth (m) → N × H × W float32; nothing hit, or at the far plane: ``background``."""
    world, pixel = wp.tid()
    v = raw[world, adr + pixel]
    y = pixel // width
    x = pixel - y * width
    if v <= 0.0 or v >= far_m:
        v = background
    depth[world, y, x] = v


@wp.kernel(enable_backward=False)
def extract_seg(
    raw: wp.array2d(dtype=wp.vec2i),
    adr: int,
    width: int,
    geom_type: int,
    seg: wp.array3d(dtype=wp.int32),
) -> None:
    """(id, object type) pairs → N × H × W int32 geom ids, -1 where no geom was hit."""
    world, pixel = wp.tid()
    v = raw[world, adr + pixel]
    y = pixel // width
    x = pixel - y * width
    out = int(-1)  # noqa: UP018, RUF046 - Warp: a variable a branch reassigns, not a constant
    if v[1] == geom_type:
        out = v[0]
    seg[world, y, x] = out
