"""The sample-frames image of the dataset card: a grid of frames, a row per sample.

Rows are chosen by :class:`SamplePicker`: the first episode of every (scene, run, variant,
task) in dataset order, and the first failure rollout of each when the first episode is
not one, up to :data:`MAX_SAMPLE_ROWS`. Each row shows the episode's middle frame of
every camera and of every lossless image stream the tier holds (depth: near bright,
far dark, background black; segmentation: one colour per geom id, background black).
Captions are wrapped, never cut; failures get a red band and ``FAILURE``.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from bp_sdk.errors import PermanentError, Problem
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

MAX_SAMPLE_ROWS: Final = 24
PAD: Final = 4
LINE_H: Final = 12
MIN_TEXT_W: Final = 480
FAILURE_RGB: Final = (200, 30, 30)
SUCCESS_RGB: Final = (40, 140, 60)
DEPTH_STOPS: Final = np.array(
    [[250, 230, 80], [240, 120, 50], [150, 50, 120], [40, 30, 110]], dtype=np.float64
)  # near → far


@dataclass(frozen=True)
class SampleRow:
    """One row: its caption, whether the episode succeeded, and its images by column."""

    caption: str
    success: bool
    images: Mapping[str, NDArray[np.uint8]]


def depth_rgb(depth: NDArray[Any], background: float = 0.0) -> NDArray[np.uint8]:
    """A depth image (m) as colours: near bright, far dark, background black."""
    d = np.asarray(depth, dtype=np.float64)
    valid = np.isfinite(d) & (d != background)
    out = np.zeros((*d.shape, 3), dtype=np.uint8)
    if not valid.any():
        return out
    lo, hi = float(d[valid].min()), float(d[valid].max())
    u = np.zeros_like(d) if hi <= lo else (d - lo) / (hi - lo)
    x = np.clip(u, 0, 1) * (len(DEPTH_STOPS) - 1)
    i = np.minimum(x.astype(int), len(DEPTH_STOPS) - 2)
    f = (x - i)[..., None]
    rgb = DEPTH_STOPS[i] * (1 - f) + DEPTH_STOPS[i + 1] * f
    out[valid] = rgb[valid].astype(np.uint8)
    return out


def segmentation_rgb(seg: NDArray[Any]) -> NDArray[np.uint8]:
    """Segmentation ids as colours (a fixed colour per id, -1 black)."""
    ids = np.asarray(seg, dtype=np.int64)
    h = np.asarray((ids * 0.618033988749895) % 1.0, dtype=np.float64)
    rgb = np.stack([_channel(h, k) for k in (0.0, 1 / 3, 2 / 3)], axis=-1)
    out = (rgb * 200 + 40).astype(np.uint8)
    out[ids < 0] = 0
    return out


def _channel(h: NDArray[np.float64], shift: float) -> NDArray[np.float64]:
    return np.asarray(0.5 + 0.5 * np.cos(2 * np.pi * (h + shift)))


class SamplePicker:
    """Which episodes the card shows (decided while the export streams, in dataset order)."""

    def __init__(self, limit: int = MAX_SAMPLE_ROWS) -> None:
        self.limit = limit
        self.first: set[tuple[str, ...]] = set()
        self.failure: set[tuple[str, ...]] = set()
        self.rows: list[SampleRow] = []
        self.groups: set[tuple[str, ...]] = set()

    def wants(self, group: tuple[str, ...], success: bool) -> bool:
        """True if an episode of ``group`` with this outcome would be shown."""
        if len(self.rows) >= self.limit:
            return False
        if group not in self.first:
            return True
        return not success and group not in self.failure

    def seen(self, group: tuple[str, ...]) -> None:
        """Count an exported episode's group (the card says how many are not shown)."""
        self.groups.add(group)

    def take(self, group: tuple[str, ...], success: bool, row: SampleRow) -> None:
        """Record a shown episode."""
        self.first.add(group)
        if not success:
            self.failure.add(group)
        self.rows.append(row)


def _font() -> Any:
    return ImageFont.load_default()


def _wrap(caption: str, width_px: int) -> list[str]:
    chars = max(20, width_px // 6)
    lines: list[str] = []
    for part in caption.split("\n"):
        lines += textwrap.wrap(part, chars, break_long_words=True) or [""]
    return lines


def _wrap_header(col: str, cell_w: int) -> list[str]:
    """A column name on as many lines as the cell's width needs (never cut)."""
    return textwrap.wrap(col, max(4, cell_w // 6), break_long_words=True) or [""]


def _check(rows: Sequence[SampleRow]) -> list[str]:
    problems: list[Problem] = []
    if not rows:
        problems.append(Problem("frames", "no sample frames given"))
    if len(rows) > MAX_SAMPLE_ROWS * 2:
        problems.append(Problem("frames", f"{len(rows)} rows; at most {MAX_SAMPLE_ROWS * 2}"))
    cols: list[str] = []
    for row in rows:
        for col, img in row.images.items():
            a = np.asarray(img)
            if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or 0 in a.shape:
                problems.append(
                    Problem(
                        f"{row.caption[:40]}/{col}",
                        f"must be (H, W, 3) uint8, got {a.shape} {a.dtype}",
                    )
                )
            if col not in cols:
                cols.append(col)
    if problems:
        raise PermanentError("cannot draw sample frames", problems=problems)
    return cols


def sample_grid_png(rows: Sequence[SampleRow]) -> bytes:
    """PNG of the grid: a header of column names, then per row its wrapped caption (red band
    and FAILURE for failures) above its images."""
    cols = _check(rows)
    cell_w = max(np.asarray(i).shape[1] for r in rows for i in r.images.values())
    cell_h = max(np.asarray(i).shape[0] for r in rows for i in r.images.values())
    width = max(PAD + len(cols) * (cell_w + PAD), MIN_TEXT_W)
    captions = [_wrap(r.caption, width - 3 * PAD) for r in rows]
    heads = [_wrap_header(col, cell_w) for col in cols]
    head_h = max(len(h) for h in heads) * LINE_H + PAD
    height = head_h + sum(len(c) * LINE_H + cell_h + 3 * PAD for c in captions)
    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    font = _font()
    for j, lines in enumerate(heads):
        for k, line in enumerate(lines):
            draw.text((PAD + j * (cell_w + PAD), 1 + k * LINE_H), line, fill=(0, 0, 0), font=font)
    top = head_h
    for row, lines in zip(rows, captions, strict=True):
        band = SUCCESS_RGB if row.success else FAILURE_RGB
        block = len(lines) * LINE_H + cell_h + 2 * PAD
        draw.rectangle((0, top, 2, top + block), fill=band)
        for k, line in enumerate(lines):
            colour = FAILURE_RGB if not row.success and k == 0 else (40, 40, 40)
            draw.text((2 * PAD, top + k * LINE_H), line, fill=colour, font=font)
        y = top + len(lines) * LINE_H + PAD
        for j, col in enumerate(cols):
            if col in row.images:
                img = Image.fromarray(np.asarray(row.images[col]))
                canvas.paste(img, (PAD + j * (cell_w + PAD), y))
        top += block + PAD
    buf = io.BytesIO()
    canvas.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def sample_frames_png(frames: Sequence[tuple[str, Mapping[str, NDArray[np.uint8]]]]) -> bytes:
    """The grid for ``(caption, {column: RGB image})`` rows (a caption with ``FAILURE``
    marks a failure)."""
    return sample_grid_png([SampleRow(c, "FAILURE" not in c, imgs) for c, imgs in frames])
