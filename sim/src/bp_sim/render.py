"""Offscreen rendering helpers: camera images, a 2×2 contact sheet, an inset, PNG bytes.

``MUJOCO_GL`` must be set (``egl`` on servers) before :mod:`mujoco` is first imported;
stage entry points do it. Images are ``uint8`` arrays of shape (height, width, 3).
Pillow (resizing, PNG) is imported only by the functions that need it, so a job that
only renders frames does not need it installed.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import mujoco
import numpy as np
import numpy.typing as npt

from bp_sim.compose import HOME_KEY

RGB = npt.NDArray[np.uint8]


def home_data(model: Any) -> Any:
    """MjData at the model's ``home`` keyframe (forward kinematics done)."""
    data = mujoco.MjData(model)
    if model.nkey:
        mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    mujoco.mj_forward(model, data)
    return data


def render_cameras(
    model: Any, data: Any, cameras: Sequence[str], width: int, height: int
) -> list[RGB]:
    """One RGB image per named camera, at ``width`` × ``height``."""
    vis = model.vis.global_
    vis.offwidth = max(int(vis.offwidth), width)
    vis.offheight = max(int(vis.offheight), height)
    images = []
    with mujoco.Renderer(model, height=height, width=width) as renderer:
        for name in cameras:
            renderer.update_scene(data, camera=name)
            images.append(np.array(renderer.render(), dtype=np.uint8, copy=True))
    return images


def contact_sheet(images: Sequence[RGB], gap: int = 4) -> RGB:
    """Up to four equally sized images in a 2×2 grid (missing cells stay black)."""
    if not images or len(images) > 4:
        raise ValueError(f"a contact sheet holds 1 to 4 images, got {len(images)}")
    h, w = images[0].shape[:2]
    if any(im.shape != images[0].shape for im in images):
        raise ValueError("contact sheet images must share one shape")
    sheet = np.zeros((2 * h + gap, 2 * w + gap, 3), dtype=np.uint8)
    for i, im in enumerate(images):
        r, c = divmod(i, 2)
        sheet[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = im
    return sheet


def with_inset(image: RGB, inset: RGB, margin: int = 8, border: int = 2) -> RGB:
    """``image`` with ``inset`` in its bottom-right corner, framed in white."""
    out = image.copy()
    h, w = inset.shape[:2]
    y0 = image.shape[0] - margin - h
    x0 = image.shape[1] - margin - w
    if y0 - border < 0 or x0 - border < 0:
        raise ValueError("inset does not fit in the image")
    out[y0 - border : y0 + h + border, x0 - border : x0 + w + border] = 255
    out[y0 : y0 + h, x0 : x0 + w] = inset
    return out


def downscale(image: RGB, width: int, height: int) -> RGB:
    """``image`` resized with a box filter (anti-aliased, deterministic)."""
    from PIL import Image  # noqa: PLC0415 - Pillow is needed only for resizing and PNG

    small = Image.fromarray(image, mode="RGB").resize((width, height), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.uint8).copy()


def png_bytes(image: RGB) -> bytes:
    """Lossless PNG encoding (no timestamps or text chunks, so bytes depend on pixels only)."""
    from PIL import Image  # noqa: PLC0415 - Pillow is needed only for resizing and PNG

    buf = io.BytesIO()
    Image.fromarray(image, mode="RGB").save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()
