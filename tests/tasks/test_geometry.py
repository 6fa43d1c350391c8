"""Footprints, overlap and containment, surfaces and colour words."""

from __future__ import annotations

import math

import pytest
from bp_contracts.geometry import yaw_quat_rad
from bp_tasks.colours import colour_name
from bp_tasks.geometry import Box, convex_hull, inside, overlap, rect
from bp_tasks.world import Layout, Robot, body_of

from tests.tasks._support import clip_area, footprint, sim_object


def test_overlap_of_rectangles() -> None:
    """Overlapping rectangles overlap; touching or apart ones do not."""
    a = rect(0.0, 0.0, 0.5, 0.5)
    assert overlap(a, rect(0.9, 0.0, 0.5, 0.5))
    assert not overlap(a, rect(1.0, 0.0, 0.5, 0.5))  # touching edges
    assert not overlap(a, rect(0.0, 2.0, 0.5, 0.5))


def test_yawed_box_footprint_is_its_true_outline() -> None:
    """A box turned 45° is a diamond: it misses a square in its bounding box's corner."""
    box = Box((0.0, 0.0, 0.5), yaw_quat_rad(math.pi / 4), (1.0, 1.0, 1.0))
    half = math.sqrt(2) / 2
    assert box.half_extents[0] == pytest.approx(half)
    assert len(box.footprint) == 4
    corner = rect(half - 0.1, half - 0.1, 0.05, 0.05)
    assert not overlap(box.footprint, corner)
    assert overlap(box.footprint, rect(0.0, 0.0, 0.05, 0.05))


@pytest.mark.parametrize("yaw_deg", [0.0, 17.0, 45.0, 90.0, 133.0])
def test_footprint_area_matches_independent_clipping(yaw_deg: float) -> None:
    """The footprint polygon and the test's own clipping agree on a rotated box's area."""
    q = yaw_quat_rad(math.radians(yaw_deg))
    box = Box((0.2, -0.1, 0.5), q, (0.3, 0.1, 0.2))
    ours = clip_area(list(box.footprint), -10, -10, 10, 10)
    obj = sim_object("b", "box", (0.3, 0.1, 0.2), (0.2, -0.1, 0.5), quat=q)
    theirs = clip_area(footprint(obj, obj.position_m, q), -10, -10, 10, 10)
    assert ours == pytest.approx(0.03) and theirs == pytest.approx(0.03)


def test_inside_and_hull() -> None:
    """A small square lies inside a big one; the hull drops interior points."""
    big = rect(0.0, 0.0, 1.0, 1.0)
    assert inside(rect(0.5, 0.5, 0.4, 0.4), big)
    assert not inside(rect(0.8, 0.0, 0.4, 0.4), big)
    assert len(convex_hull([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5)])) == 4


def test_surface_of_a_yawed_table_and_its_spots() -> None:
    """A table turned 30° has an oriented top; every spot it offers keeps the box on it."""
    q = yaw_quat_rad(math.radians(30))
    table = body_of(sim_object("t", "table", (1.2, 0.6, 0.75), (0.0, 0.0, 0.375), quat=q))
    lay = Layout("v0000", {"t": table})
    robot = Robot((0.0, -1.0, 0.0), 90.0, 0.5, (0.0, -1.0, 0.833))
    surface = lay.surface("t", robot)
    assert surface.z_top == pytest.approx(0.75)
    spots = list(surface.spots(0.05, 0.05, 0.02))
    assert spots
    assert all(inside(rect(x, y, 0.05, 0.05), surface.outline, 1e-9) for x, y in spots)


def test_round_support_uses_its_inscribed_square() -> None:
    """A plate offers the square inscribed in its round top."""
    plate = body_of(sim_object("p", "plate", (0.26, 0.26, 0.02), (0.0, 0.0, 0.01)))
    surface = Layout("v0000", {"p": plate}).surface(
        "p", Robot((0.0, -1.0, 0.0), 90.0, 0.5, (0.0, -1.0, 0.833))
    )
    assert surface.half_u == pytest.approx(0.13 / math.sqrt(2))


@pytest.mark.parametrize(
    ("rgba", "word"),
    [
        ((0.8, 0.15, 0.12, 1.0), "red"),
        ((0.22, 0.47, 0.78, 1.0), "blue"),
        ((0.96, 0.86, 0.2, 1.0), "yellow"),
        ((0.98, 0.55, 0.1, 1.0), "orange"),
        ((0.15, 0.6, 0.2, 1.0), "green"),
        ((0.1, 0.1, 0.12, 1.0), "black"),
        ((0.94, 0.93, 0.9, 1.0), "white"),
        ((0.61, 0.61, 0.59, 1.0), "grey"),
        ((0.56, 0.41, 0.26, 1.0), "brown"),
        ((0.65, 0.78, 0.81, 0.3), "clear"),
    ],
)
def test_colour_words(rgba: tuple[float, float, float, float], word: str) -> None:
    """RGBA values get the colour word a person would use."""
    assert colour_name(rgba) == word
