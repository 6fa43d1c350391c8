"""An image strip of sample frames, so a person can see what was recorded."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

FRAMES_PER_ROW = 6


def sample_strip(rows: list[tuple[str, list[NDArray[Any]]]]) -> bytes:
    """PNG: one row per (label, frames), ``FRAMES_PER_ROW`` frames evenly spaced."""
    if not rows:
        return b""
    h, w = rows[0][1][0].shape[:2]
    label_h = 14
    sheet = Image.new("RGB", (w * FRAMES_PER_ROW, (h + label_h) * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (label, frames) in enumerate(rows):
        y = r * (h + label_h)
        draw.text((2, y + 1), label[:120], fill=(0, 0, 0))
        picks: list[int] = (
            np.linspace(0, len(frames) - 1, FRAMES_PER_ROW).round().astype(int).tolist()
            if frames
            else []
        )
        for c, idx in enumerate(picks):
            sheet.paste(
                Image.fromarray(np.asarray(frames[idx], dtype=np.uint8)), (c * w, y + label_h)
            )
    buf = io.BytesIO()
    sheet.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
