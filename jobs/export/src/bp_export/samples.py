"""The sample-frames image of the dataset card: a grid of RGB frames, a row per episode."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
from bp_sdk.errors import PermanentError, Problem
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

MAX_SAMPLE_ROWS: Final = 64


def sample_frames_png(frames: Sequence[tuple[str, Mapping[str, NDArray[np.uint8]]]]) -> bytes:
    """PNG of a grid: one row per ``(episode label, {camera: RGB (H, W, 3) uint8})``, one
    column per camera (header = camera names, each row titled with its label)."""
    problems: list[Problem] = []
    if not frames:
        problems.append(Problem("frames", "no sample frames given"))
    if len(frames) > MAX_SAMPLE_ROWS:
        problems.append(Problem("frames", f"{len(frames)} rows; at most {MAX_SAMPLE_ROWS}"))
    cams: list[str] = []
    for label, images in frames:
        for cam, img in images.items():
            a = np.asarray(img)
            if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or 0 in a.shape:
                problems.append(
                    Problem(f"{label}/{cam}", f"must be (H, W, 3) uint8, got {a.shape} {a.dtype}")
                )
            if cam not in cams:
                cams.append(cam)
    if problems:
        raise PermanentError("cannot draw sample frames", problems=problems)
    cell_w = max(np.asarray(i).shape[1] for _, imgs in frames for i in imgs.values())
    cell_h = max(np.asarray(i).shape[0] for _, imgs in frames for i in imgs.values())
    pad, band = 4, 14
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_w = max(probe.textlength(label[:120], font=font) for label, _ in frames)
    width = max(pad + len(cams) * (cell_w + pad), int(text_w) + 2 * pad)
    height = band + len(frames) * (band + cell_h + pad)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for j, cam in enumerate(cams):
        draw.text((pad + j * (cell_w + pad), 1), cam, fill=(0, 0, 0), font=font)
    for i, (label, images) in enumerate(frames):
        top = band + i * (band + cell_h + pad)
        draw.text((pad, top + 1), label[:120], fill=(60, 60, 60), font=font)
        for j, cam in enumerate(cams):
            if cam in images:
                canvas.paste(
                    Image.fromarray(np.asarray(images[cam])), (pad + j * (cell_w + pad), top + band)
                )
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
