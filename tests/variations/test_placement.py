"""bp_sim.placement: footprints, surfaces and the bounded free-spot search."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bp_sim import placement
from bp_sim.footprints import (
    Footprint,
    Surface,
    floor_surface,
    footprint_of,
    support_surface,
    yaw_turn,
)
from bp_sim.placement import find_free_spot, free_area, search_free_spot

from tests.variations._support import box_points, distance, hull, point_in, shadow, sim_object

Q_Y_UP_MUG = (0.5, 0.0, 0.0, 0.866025403784)  # 120 deg about z (the y-up mug, converted)


def _poly(f: Footprint) -> list[tuple[float, float]]:
    return hull(f.corners())


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every candidate the search evaluates (wraps the batch evaluator)."""
    seen: list[int] = []
    real = placement._fits

    def spy(surface, xs, ys, yaws, *args):  # type: ignore[no-untyped-def]
        seen.append(int(xs.shape[0]))
        return real(surface, xs, ys, yaws, *args)

    monkeypatch.setattr(placement, "_fits", spy)
    return seen


def test_footprint_corners_area_and_inside() -> None:
    """Corners turn with yaw, the area is 4·hx·hy, and inside() honours the margin."""
    f = Footprint(1.0, 2.0, 0.2, 0.1, math.pi / 2)
    assert f.area == pytest.approx(0.08)
    xs = sorted(round(x, 9) for x, _ in f.corners())
    ys = sorted(round(y, 9) for _, y in f.corners())
    assert xs == [0.9, 0.9, 1.1, 1.1] and ys == [1.8, 1.8, 2.2, 2.2]
    table = Surface("t", 0.75, Footprint(0.0, 0.0, 0.6, 0.4, 0.0))
    assert Footprint(0.5, 0.0, 0.1, 0.1).inside(table)
    assert not Footprint(0.5, 0.0, 0.1, 0.1).inside(table, margin=0.01)
    assert not Footprint(0.55, 0.0, 0.1, 0.1, math.pi / 4).inside(table)


def test_overlaps_agrees_with_polygon_distance() -> None:
    """On 1500 random rectangle pairs: no overlap with margin m means a true gap >= m; at m=0 the SAT is exact."""
    rng = np.random.default_rng(7)
    for _ in range(1500):
        a = Footprint(*rng.uniform(-0.3, 0.3, 2), *rng.uniform(0.01, 0.2, 2), rng.uniform(-4, 4))
        b = Footprint(*rng.uniform(-0.3, 0.3, 2), *rng.uniform(0.01, 0.2, 2), rng.uniform(-4, 4))
        d = distance(_poly(a), _poly(b))
        margin = float(rng.uniform(0.0, 0.05))
        if not a.overlaps(b, margin):
            assert d >= margin - 1e-9
        assert a.overlaps(b) == (d == 0.0) or abs(d) < 1e-9
        assert a.overlaps(b, margin) == b.overlaps(a, margin)


def test_footprint_of_yawed_and_tilted_objects() -> None:
    """A yawed box gives its turned top face; a box on its side or tilted gives a rectangle covering its shadow."""
    mug = sim_object("mug", (0.095, 0.085, 0.098), (0.1, 0.2, 0.8), orientation=Q_Y_UP_MUG)
    f = footprint_of(mug)
    assert (f.cx, f.cy, f.half_x, f.half_y) == pytest.approx((0.1, 0.2, 0.0475, 0.0425))
    assert f.yaw == pytest.approx(2 * math.pi / 3)
    # 90 deg about x: the book lies on its side, local z along -y
    side = (math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0)
    book = sim_object("book", (0.15, 0.23, 0.03), (0.0, 0.0, 0.9), orientation=side)
    fb = footprint_of(book)
    assert sorted([fb.half_x, fb.half_y]) == pytest.approx([0.015, 0.075])
    rng = np.random.default_rng(3)
    for _ in range(200):
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        obj = sim_object(
            "o", tuple(rng.uniform(0.02, 0.3, 3)), (0.0, 0.0, 1.0), orientation=tuple(q)
        )
        fp = footprint_of(obj)
        poly = _poly(fp)
        for x, y, _ in box_points(obj.size_m, obj.position_m, obj.orientation_wxyz):
            assert point_in(poly, (x, y), 1e-9)
        assert fp.area <= 2.0 * (obj.size_m[0] + obj.size_m[1] + obj.size_m[2]) ** 2


def test_support_surface_is_the_top_face_and_floor_is_large() -> None:
    """A table's surface is its top face at its full footprint; the floor is z = 0 and large."""
    table = sim_object(
        "table", (1.2, 0.8, 0.75), (0.1, 0.0, 0.375), role="support", static=True, yaw=0.3
    )
    s = support_surface(table)
    assert s.support == "table" and s.z_top == pytest.approx(0.75)
    assert (s.area.half_x, s.area.half_y, s.area.yaw) == pytest.approx((0.6, 0.4, 0.3))
    floor = support_surface(None)
    assert floor.support == "floor" and floor.z_top == 0.0 and floor.area.area >= 100.0
    assert floor_surface(Footprint(0, 0, 1, 1)).area.area == 4.0


def test_yaw_turn_turns_about_z_only() -> None:
    """yaw_turn composes a world-z turn: the local vertical axis stays where it was."""
    side = (math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0)
    q = yaw_turn(side, 0.7)
    pts0 = box_points((0.1, 0.2, 0.3), (0, 0, 0), side)
    pts1 = box_points((0.1, 0.2, 0.3), (0, 0, 0), q)
    assert sorted(round(p[2], 9) for p in pts0) == sorted(round(p[2], 9) for p in pts1)
    assert math.sqrt(sum(c * c for c in q)) == pytest.approx(1.0)


def test_full_surface_returns_none_within_the_budget(counted: list[int]) -> None:
    """A surface covered by an obstacle yields None after at most max_candidates evaluations."""
    board = Surface("board", 0.3, Footprint(0.0, 0.0, 0.38, 0.15, 0.0))
    blocker = [Footprint(0.0, 0.0, 0.4, 0.2, 0.0)]
    for budget in (10, 33, 500, 2000):
        counted.clear()
        result = search_free_spot(
            board,
            0.03,
            0.03,
            blocker,
            np.random.default_rng(1),
            around=(0.1, 0.0),
            radius=0.08,
            yaw_range=0.5,
            max_candidates=budget,
        )
        assert result.spot is None
        assert sum(counted) == result.evaluations <= budget
        assert result.evaluations >= budget * 0.8  # it really used the budget


def test_sweep_finds_the_single_free_gap(counted: list[int]) -> None:
    """On a nearly full surface the random phase misses and the ~1 cm sweep finds the one gap."""
    surface = Surface("tray", 0.1, Footprint(0.0, 0.0, 0.3, 0.15, 0.0))
    gap = (0.17, -0.06)  # a 7.5 cm square gap; the object is 6 cm
    gx0, gx1, gy0, gy1 = gap[0] - 0.0375, gap[0] + 0.0375, gap[1] - 0.0375, gap[1] + 0.0375

    def box(x0: float, x1: float, y0: float, y1: float) -> Footprint:
        return Footprint((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2)

    obstacles = [
        box(-0.3, gx0, -0.15, 0.15),  # everything left of the gap
        box(gx1, 0.3, -0.15, 0.15),  # right of it
        box(gx0, gx1, gy1, 0.15),  # above it
        box(gx0, gx1, -0.15, gy0),  # below it
    ]
    free = free_area(surface, obstacles)
    assert free == pytest.approx(0.075 * 0.075, rel=0.2)
    result = search_free_spot(
        surface,
        0.03,
        0.03,
        obstacles,
        np.random.default_rng(5),
        around=(-0.2, 0.05),
        radius=0.05,
        max_candidates=2000,
    )
    assert result.spot is not None
    x, y, yaw = result.spot
    assert abs(x - gap[0]) <= 0.0075 + 1e-9 and abs(y - gap[1]) <= 0.0075 + 1e-9 and yaw == 0.0
    assert result.evaluations > result.random_evaluations and result.sweep_step_m <= 0.0101
    assert sum(counted) == result.evaluations <= 2000
    placed = Footprint(x, y, 0.03, 0.03, yaw)
    assert placed.inside(surface) and not any(placed.overlaps(o) for o in obstacles)


def test_random_phase_stays_near_around_with_yaw_in_range() -> None:
    """On a free surface the spot is within radius of ``around`` and the yaw within ``yaw ± yaw_range``."""
    table = Surface("t", 0.75, Footprint(0.0, 0.0, 0.6, 0.4, 0.0))
    rng = np.random.default_rng(11)
    for _ in range(200):
        spot = find_free_spot(
            table,
            0.04,
            0.02,
            [],
            rng,
            around=(0.2, -0.1),
            radius=0.08,
            yaw=1.0,
            yaw_range=0.5,
            margin=0.01,
            max_candidates=100,
        )
        assert spot is not None
        assert math.dist(spot[:2], (0.2, -0.1)) <= 0.08 + 1e-12
        assert 0.5 <= spot[2] <= 1.5


def test_search_respects_margin_and_is_deterministic() -> None:
    """Spots keep the margin from every obstacle, and the same generator seed gives the same spot."""
    table = Surface("t", 0.75, Footprint(0.0, 0.0, 0.3, 0.2, 0.2))
    obstacles = [Footprint(0.05 * i - 0.2, 0.03 * i - 0.1, 0.03, 0.05, 0.4 * i) for i in range(9)]
    for seed in range(50):
        a = find_free_spot(
            table,
            0.03,
            0.02,
            obstacles,
            np.random.default_rng(seed),
            yaw_range=math.pi,
            margin=0.02,
            max_candidates=400,
        )
        b = find_free_spot(
            table,
            0.03,
            0.02,
            obstacles,
            np.random.default_rng(seed),
            yaw_range=math.pi,
            margin=0.02,
            max_candidates=400,
        )
        assert a == b and a is not None
        poly = _poly(Footprint(a[0], a[1], 0.03, 0.02, a[2]))
        assert all(distance(poly, _poly(o)) >= 0.02 - 1e-9 for o in obstacles)
        assert all(point_in(_poly(table.area), p, 1e-9) for p in poly)


def test_free_area_of_a_half_covered_surface() -> None:
    """free_area measures the uncovered part of a surface."""
    s = Surface("t", 0.0, Footprint(0.0, 0.0, 0.5, 0.5, 0.3))
    assert free_area(s, []) == pytest.approx(1.0)
    half = Footprint(0.25 * math.cos(0.3), 0.25 * math.sin(0.3), 0.25, 0.5, 0.3)
    assert free_area(s, [half]) == pytest.approx(0.5, abs=0.02)


def test_shadow_helper_matches_footprint_for_yaw() -> None:
    """The tests' independent shadow equals the library footprint for a yawed box (sanity of the oracle)."""
    o = sim_object("b", (0.2, 0.1, 0.05), (0.3, 0.1, 0.9), yaw=0.4)
    assert (
        distance(shadow(o.size_m, o.position_m, o.orientation_wxyz), _poly(footprint_of(o))) == 0.0
    )
    got = [c for p in sorted(shadow(o.size_m, o.position_m, o.orientation_wxyz)) for c in p]
    assert got == pytest.approx([c for p in sorted(_poly(footprint_of(o))) for c in p])
