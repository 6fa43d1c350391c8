"""Offscreen rendering: camera images that show the scene, a 2x2 sheet, an inset, PNG bytes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from bp_sim.render import contact_sheet, home_data, png_bytes, render_cameras, with_inset
from PIL import Image

from tests.sim._support import Example, compose


def test_scene_and_wrist_cameras_render_the_scene(examples: dict[str, Example]) -> None:
    """Both cameras give non-blank images of the requested size, the same twice over."""
    ex = examples["kitchen_counter"]
    model = compose(ex.simready, ex.meshes).compile()
    data = home_data(model)
    scene, wrist = render_cameras(model, data, ["scene", "wrist"], 160, 120)
    assert scene.shape == wrist.shape == (120, 160, 3) and scene.dtype == np.uint8
    assert scene.std() > 20 and wrist.std() > 10
    again, _ = render_cameras(model, data, ["scene", "wrist"], 160, 120)
    assert np.array_equal(scene, again)  # same process, same driver: same pixels


def test_contact_sheet_inset_and_png(examples: dict[str, Example]) -> None:
    """Four images tile a 2x2 sheet; an inset lands in the corner; PNG bytes decode to the same pixels."""
    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 255, (30, 40, 3), dtype=np.uint8) for _ in range(4)]
    sheet = contact_sheet(tiles, gap=2)
    assert sheet.shape == (62, 82, 3)
    assert np.array_equal(sheet[32:62, 42:82], tiles[3])
    big = np.zeros((100, 120, 3), dtype=np.uint8)
    inset = with_inset(big, tiles[0], margin=5, border=1)
    assert np.array_equal(inset[65:95, 75:115], tiles[0])
    decoded = np.asarray(Image.open(io.BytesIO(png_bytes(sheet))).convert("RGB"))
    assert np.array_equal(decoded, sheet)
    assert png_bytes(sheet) == png_bytes(sheet.copy())
    with pytest.raises(ValueError, match="1 to 4"):
        contact_sheet(tiles + tiles[:1])
