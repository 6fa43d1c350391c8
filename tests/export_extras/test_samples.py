"""The card's sample grid: which episodes it shows, their lossless streams, full captions,
failures marked."""

from __future__ import annotations

import io

import numpy as np
import pytest
from bp_dataset.features import Recording
from bp_export import samples
from bp_export.extras import sample_row
from bp_export.samples import (
    FAILURE_RGB,
    SamplePicker,
    SampleRow,
    depth_rgb,
    sample_frames_png,
    sample_grid_png,
    segmentation_rgb,
)
from bp_sdk.errors import PermanentError
from PIL import Image

from tests.export_extras.builders import CAMERAS, FPS, RES, make_arrays, make_record


def _image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (RES, RES, 3), dtype=np.uint8)


def _find(canvas: np.ndarray, img: np.ndarray, x: int) -> int | None:
    """The row at which ``img`` is pasted unchanged with its left edge at column ``x``."""
    for y in range(canvas.shape[0] - img.shape[0] + 1):
        if np.array_equal(canvas[y : y + img.shape[0], x : x + img.shape[1]], img):
            return y
    return None


def test_every_frame_is_pasted_unchanged_in_its_row_and_column() -> None:
    """Each image lies unchanged in its column, rows top to bottom in order; deterministic."""
    rows = [
        SampleRow(f"episode {i}", True, {c: _image(10 * i + j) for j, c in enumerate(CAMERAS)})
        for i in range(3)
    ]
    png = sample_grid_png(rows)
    canvas = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    tops = []
    for row in rows:
        found = [
            _find(canvas, row.images[c], samples.PAD + j * (RES + samples.PAD))
            for j, c in enumerate(CAMERAS)
        ]
        assert found[0] is not None and len(set(found)) == 1, found
        tops.append(found[0])
    assert tops == sorted(tops)
    assert sample_grid_png(rows) == png


def test_long_captions_are_wrapped_not_cut_and_failures_are_marked() -> None:
    """A long caption takes more lines (every word kept); a failure row has a red band."""
    long = "FAILURE (failure rollout) " + " ".join(f"word{i}" for i in range(80))
    lines = samples._wrap(long, samples.MIN_TEXT_W)
    assert " ".join(lines).split() == long.split()
    short = sample_grid_png([SampleRow("ok", True, {"scene rgb": _image(1)})])
    tall = sample_grid_png([SampleRow(long, False, {"scene rgb": _image(1)})])
    h_short = Image.open(io.BytesIO(short)).height
    canvas = np.asarray(Image.open(io.BytesIO(tall)).convert("RGB"))
    assert canvas.shape[0] >= h_short + (len(lines) - 1) * samples.LINE_H
    assert (canvas[:, 0] == FAILURE_RGB).all(axis=1).sum() > RES  # the red band beside the row


def test_picker_shows_one_row_per_task_and_variant_and_the_first_failure() -> None:
    """First episode of each (scene, run, variant, task), plus its first failure; bounded."""
    picker = SamplePicker(limit=4)
    row = SampleRow("x", True, {"c": _image(0)})
    shown = []
    for group, ok in [
        (("s", "r", "v0", "t1"), True),
        (("s", "r", "v0", "t1"), True),  # a repeat: not shown
        (("s", "r", "v1", "t1"), True),  # another variant: shown
        (("s", "r", "v0", "t1"), False),  # the group's first failure: shown
        (("s", "r", "v0", "t1"), False),  # its second failure: not shown
        (("s", "r", "v0", "t2"), True),
        (("s", "r", "v0", "t3"), True),  # past the bound
    ]:
        picker.seen(group)
        if picker.wants(group, ok):
            picker.take(group, ok, row)
            shown.append((group, ok))
    assert shown == [
        (("s", "r", "v0", "t1"), True),
        (("s", "r", "v1", "t1"), True),
        (("s", "r", "v0", "t1"), False),
        (("s", "r", "v0", "t2"), True),
    ]
    assert len(picker.groups) == 4


def test_a_full_tier_row_shows_every_lossless_image_stream() -> None:
    """Tier full: RGB, depth and segmentation of every camera; failures captioned FAILURE."""
    rec = Recording(FPS, RES, CAMERAS, "full", "franka_panda")
    record = make_record(0, frames=12, success=False, tier="full")
    row = sample_row(record, make_arrays(12, tier="full"), rec)
    assert list(row.images) == [f"{c} {k}" for c in CAMERAS for k in ("rgb", "depth", "seg")]
    assert row.caption.startswith("FAILURE") and record.instruction in row.caption
    assert not row.success
    core = sample_row(
        make_record(1, frames=12), make_arrays(12), Recording(FPS, RES, CAMERAS, "core", "x")
    )
    assert list(core.images) == [f"{c} rgb" for c in CAMERAS]


def test_depth_and_segmentation_colours() -> None:
    """Depth: background (0) black, nearer brighter; segmentation: -1 black, one colour per id."""
    depth = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    rgb = depth_rgb(depth)
    assert (rgb[0, 0] == 0).all() and rgb[0, 1].sum() > rgb[1, 1].sum()
    seg = segmentation_rgb(np.array([[-1, 3], [3, 4]]))
    assert (
        (seg[0, 0] == 0).all() and (seg[0, 1] == seg[1, 0]).all() and (seg[0, 1] != seg[1, 1]).any()
    )


def test_bad_frames_are_refused() -> None:
    """Empty input or a frame that is not (H, W, 3) uint8 is an error naming it."""
    with pytest.raises(PermanentError):
        sample_frames_png([])
    with pytest.raises(PermanentError, match="ep/scene"):
        sample_frames_png([("ep", {"scene": np.zeros((4, 4), np.float32)})])
