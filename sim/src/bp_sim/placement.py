"""2D placement on support surfaces: footprints, surfaces and a bounded free-spot search.

Pure Python and numpy (no MuJoCo), shared by variations (re-placing objects and adding
distractors) and tasks (finding free target regions). World frame: metres, z up,
yaw in radians counter-clockwise about +z seen from above.

A :class:`Footprint` is an oriented rectangle in the xy plane; two footprints *overlap*
with a margin ``m`` unless a separating axis (one of the four edge normals) shows a gap
of at least ``m`` between them, so "no overlap" guarantees a true clearance of at least
``m``. :func:`find_free_spot` looks for a pose of a rectangle on a :class:`Surface` that
stays inside it and clear of every obstacle: a few random candidates first (near a
preferred point when given), then a deterministic grid sweep over the whole surface,
never more than ``max_candidates`` evaluations in all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from bp_contracts.geometry import Quat, qmul, qnorm, quat_to_matrix, yaw_quat_rad
from bp_contracts.simready import SimObject

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Spot = tuple[float, float, float]

FLOOR: Final = "floor"
FLOOR_HALF_M: Final = 10.0  # default floor area: 20 m x 20 m about the origin
RESOLUTION_M: Final = 0.01  # sweep grid step (coarsened only to respect the budget)
RANDOM_CANDIDATES: Final = 32  # random candidates tried before the sweep
YAW_STEPS: Final = 5  # yaw candidates per sweep cell when a yaw range is given
BATCH: Final = 256  # candidates evaluated per numpy batch
EPS: Final = 1e-9  # numeric slack of the inside test
VERTICAL_TOL: Final = 1e-9  # |R[2][k]| this close to 1: local axis k is vertical
MAX_AREA_SAMPLES: Final = 250_000


@dataclass(frozen=True)
class Footprint:
    """An oriented rectangle in world xy: centre, half extents along its own axes, yaw."""

    cx: float
    cy: float
    half_x: float
    half_y: float
    yaw: float = 0.0

    @property
    def area(self) -> float:
        """Area in square metres."""
        return 4.0 * self.half_x * self.half_y

    def corners(self) -> list[tuple[float, float]]:
        """The four corners, counter-clockwise from (-x, -y) in the rectangle's frame."""
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        out = []
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            lx, ly = sx * self.half_x, sy * self.half_y
            out.append((self.cx + c * lx - s * ly, self.cy + s * lx + c * ly))
        return out

    def overlaps(self, other: Footprint, margin: float = 0.0) -> bool:
        """True unless a separating axis shows a gap of at least ``margin`` (SAT)."""
        hit = _hits(
            np.array([self.cx]),
            np.array([self.cy]),
            np.array([self.yaw]),
            self.half_x,
            self.half_y,
            _stack([other]),
            margin,
        )
        return bool(hit[0])

    def inside(self, surface: Surface | Footprint, margin: float = 0.0) -> bool:
        """True if every corner lies inside ``surface`` shrunk by ``margin`` on each side."""
        area = surface.area if isinstance(surface, Surface) else surface
        ok = _inside(
            area,
            np.array([self.cx]),
            np.array([self.cy]),
            np.array([self.yaw]),
            self.half_x,
            self.half_y,
            margin,
        )
        return bool(ok[0])

    def moved(self, cx: float, cy: float, yaw: float) -> Footprint:
        """The same rectangle at another centre and yaw."""
        return Footprint(cx, cy, self.half_x, self.half_y, yaw)


@dataclass(frozen=True)
class Surface:
    """The usable top of a support: its height, its area in xy and which object it is."""

    support: str
    z_top: float
    area: Footprint


def half_height(size: tuple[float, float, float], orientation: Quat) -> float:
    """Half the vertical extent of a box of full ``size`` turned by ``orientation``."""
    r = quat_to_matrix(qnorm(orientation))
    return sum(abs(r[2][j]) * size[j] for j in range(3)) / 2.0


def footprint_of(
    obj: SimObject,
    position: tuple[float, float, float] | None = None,
    orientation: Quat | None = None,
) -> Footprint:
    """The xy projection of the object's rotated size box as an oriented rectangle.

    For a pure yaw (one local axis vertical) this is exactly the box's top face. For any
    other rotation it is the bounding rectangle of the projected box, aligned with the
    horizontal direction of the local axis that lies flattest.
    """
    p = obj.position_m if position is None else position
    q = qnorm(obj.orientation_wxyz if orientation is None else orientation)
    r = quat_to_matrix(q)
    size = obj.size_m
    # columns of r: the object's local axes in the world
    horizontal = [math.hypot(r[0][j], r[1][j]) for j in range(3)]
    vertical = max(range(3), key=lambda j: abs(r[2][j]))
    if abs(abs(r[2][vertical]) - 1.0) <= VERTICAL_TOL:
        i, k = (j for j in range(3) if j != vertical)
        yaw = math.atan2(r[1][i], r[0][i])
        return Footprint(p[0], p[1], size[i] / 2.0, size[k] / 2.0, yaw)
    i = max(range(3), key=lambda j: horizontal[j])
    ax = (r[0][i] / horizontal[i], r[1][i] / horizontal[i])
    ay = (-ax[1], ax[0])
    hx = sum(abs(ax[0] * r[0][j] + ax[1] * r[1][j]) * size[j] for j in range(3)) / 2.0
    hy = sum(abs(ay[0] * r[0][j] + ay[1] * r[1][j]) * size[j] for j in range(3)) / 2.0
    return Footprint(p[0], p[1], hx, hy, math.atan2(ax[1], ax[0]))


def floor_surface(area: Footprint | None = None) -> Surface:
    """The floor (z = 0): ``area`` or a 20 m x 20 m square about the origin."""
    return Surface(FLOOR, 0.0, area or Footprint(0.0, 0.0, FLOOR_HALF_M, FLOOR_HALF_M, 0.0))


def support_surface(support: SimObject | None) -> Surface:
    """The top face of a support (shelf board, table, countertop, tray...); None: the floor."""
    if support is None:
        return floor_surface()
    z_top = support.position_m[2] + half_height(support.size_m, support.orientation_wxyz)
    return Surface(support.id, z_top, footprint_of(support))


def yaw_turn(orientation: Quat, yaw: float) -> Quat:
    """``orientation`` turned by ``yaw`` radians about the world z axis."""
    return qnorm(qmul(yaw_quat_rad(yaw), orientation))


# ----------------------------------------------------------------- batch geometry
def _stack(obstacles: list[Footprint]) -> FloatArray:
    """Obstacles as an (M, 5) array: cx, cy, half_x, half_y, yaw."""
    if not obstacles:
        return np.zeros((0, 5))
    return np.array([[o.cx, o.cy, o.half_x, o.half_y, o.yaw] for o in obstacles], dtype=float)


def _inside(
    area: Footprint,
    xs: FloatArray,
    ys: FloatArray,
    yaws: FloatArray,
    hx: float,
    hy: float,
    margin: float,
) -> BoolArray:
    """For each candidate: is the rectangle inside ``area`` shrunk by ``margin``?"""
    c, s = math.cos(area.yaw), math.sin(area.yaw)
    dx, dy = xs - area.cx, ys - area.cy
    u = dx * c + dy * s
    v = -dx * s + dy * c
    rel = yaws - area.yaw
    ac, as_ = np.abs(np.cos(rel)), np.abs(np.sin(rel))
    eu = hx * ac + hy * as_
    ev = hx * as_ + hy * ac
    ok_u = np.abs(u) + eu <= area.half_x - margin + EPS
    ok_v = np.abs(v) + ev <= area.half_y - margin + EPS
    result: BoolArray = ok_u & ok_v
    return result


def _hits(
    xs: FloatArray,
    ys: FloatArray,
    yaws: FloatArray,
    hx: float,
    hy: float,
    obstacles: FloatArray,
    margin: float,
) -> BoolArray:
    """For each candidate: does it overlap any obstacle (separating-axis test with margin)?"""
    n = xs.shape[0]
    if obstacles.shape[0] == 0:
        return np.zeros(n, dtype=bool)
    ca, sa = np.cos(yaws)[:, None], np.sin(yaws)[:, None]  # candidate axes (N, 1)
    ox, oy = obstacles[None, :, 0], obstacles[None, :, 1]
    ohx, ohy, oyaw = obstacles[None, :, 2], obstacles[None, :, 3], obstacles[None, :, 4]
    cb, sb = np.cos(oyaw), np.sin(oyaw)  # obstacle axes (1, M)
    dx, dy = ox - xs[:, None], oy - ys[:, None]
    separated = np.zeros((n, obstacles.shape[0]), dtype=bool)
    # candidate axes a1 = (ca, sa), a2 = (-sa, ca); obstacle axes b1 = (cb, sb), b2 = (-sb, cb)
    for axx, axy in ((ca, sa), (-sa, ca), (cb, sb), (-sb, cb)):
        dist = np.abs(dx * axx + dy * axy)
        r_cand = hx * np.abs(ca * axx + sa * axy) + hy * np.abs(-sa * axx + ca * axy)
        r_obst = ohx * np.abs(cb * axx + sb * axy) + ohy * np.abs(-sb * axx + cb * axy)
        separated |= dist >= r_cand + r_obst + margin
    # a hit: some obstacle with no separating axis
    return np.asarray((~separated).any(axis=1), dtype=bool)


def _fits(
    surface: Surface,
    xs: FloatArray,
    ys: FloatArray,
    yaws: FloatArray,
    hx: float,
    hy: float,
    obstacles: FloatArray,
    margin: float,
    edge_margin: float,
) -> BoolArray:
    """Evaluate a batch of candidates: inside the surface and clear of every obstacle."""
    ok = _inside(surface.area, xs, ys, yaws, hx, hy, edge_margin)
    if ok.any():
        idx = np.flatnonzero(ok)
        ok[idx] = ~_hits(xs[idx], ys[idx], yaws[idx], hx, hy, obstacles, margin)
    return ok


# ----------------------------------------------------------------- the search
@dataclass(frozen=True)
class SpotSearch:
    """Outcome of one bounded search: the spot (or None) and what it cost."""

    spot: Spot | None
    evaluations: int
    random_evaluations: int
    sweep_cells: int
    sweep_step_m: float
    yaw_candidates: int


def _yaws(yaw: float, yaw_range: float, n: int) -> list[float]:
    """``n`` (odd) yaws: ``yaw`` first, then pairs further and further out to ``± yaw_range``."""
    out = [yaw]
    half = n // 2
    for k in range(1, half + 1):
        off = yaw_range * k / half
        out += [yaw - off, yaw + off]
    return out


def _grid(
    surface: Surface, hx: float, hy: float, yaws: list[float], step: float
) -> tuple[FloatArray, FloatArray] | None:
    """Cell centres (world x, y) at ``step`` covering where the rectangle's centre can be."""
    area = surface.area
    rel = [y - area.yaw for y in yaws]
    eu = min(hx * abs(math.cos(a)) + hy * abs(math.sin(a)) for a in rel)
    ev = min(hx * abs(math.sin(a)) + hy * abs(math.cos(a)) for a in rel)
    ru, rv = area.half_x - eu, area.half_y - ev
    if ru < -EPS or rv < -EPS:
        return None  # too large for the surface at every yaw
    ru, rv = max(ru, 0.0), max(rv, 0.0)
    nu = math.floor(2 * ru / step + EPS) + 1
    nv = math.floor(2 * rv / step + EPS) + 1
    us = np.linspace(-ru, ru, nu) if nu > 1 else np.zeros(1)
    vs = np.linspace(-rv, rv, nv) if nv > 1 else np.zeros(1)
    mu, mv = np.meshgrid(us, vs, indexing="ij")
    gu, gv = mu.ravel(), mv.ravel()
    c, s = math.cos(area.yaw), math.sin(area.yaw)
    return area.cx + gu * c - gv * s, area.cy + gu * s + gv * c


def _sweep_plan(
    surface: Surface,
    hx: float,
    hy: float,
    yaw: float,
    yaw_range: float,
    budget: int,
    resolution: float,
) -> tuple[FloatArray, FloatArray, float, list[float]]:
    """The sweep within ``budget`` evaluations: position resolution comes first.

    ``YAW_STEPS`` yaws per cell when the grid at ``resolution`` still fits, else 3, else
    one; only then is the grid coarsened (by 5 % at a time) until it fits.
    """
    empty = (np.zeros(0), np.zeros(0), resolution, [yaw])
    counts = (YAW_STEPS, 3, 1) if yaw_range > 0 else (1,)
    for n in counts:
        yaws = _yaws(yaw, yaw_range, n)
        grid = _grid(surface, hx, hy, yaws, resolution)
        if grid is None:
            return empty
        if grid[0].shape[0] * n <= budget:
            return grid[0], grid[1], resolution, yaws
    if budget < 1:
        return empty
    step = resolution
    for _ in range(400):  # bounded: 1.05**400 > 1e8 covers any surface
        step *= 1.05
        grid = _grid(surface, hx, hy, [yaw], step)
        if grid is None:
            return empty
        if grid[0].shape[0] <= budget:
            return grid[0], grid[1], step, [yaw]
    return empty  # pragma: no cover


def search_free_spot(
    surface: Surface,
    half_x: float,
    half_y: float,
    obstacles: list[Footprint],
    rng: np.random.Generator,
    *,
    around: tuple[float, float] | None = None,
    radius: float | None = None,
    yaw: float = 0.0,
    yaw_range: float = 0.0,
    margin: float = 0.0,
    edge_margin: float = 0.0,
    max_candidates: int = 2000,
    random_candidates: int = RANDOM_CANDIDATES,
    resolution: float = RESOLUTION_M,
) -> SpotSearch:
    """:func:`find_free_spot` with its cost: how many candidates were evaluated and how.

    Phase 1 evaluates up to ``random_candidates`` random poses: uniform in the disc of
    ``radius`` about ``around`` when given, else uniform over the surface; yaw uniform in
    ``yaw ± yaw_range``. Phase 2 sweeps a grid over every centre the rectangle can take
    on the surface at ``resolution`` with up to ``YAW_STEPS`` yaws per cell when
    ``yaw_range > 0`` (fewer yaws, then a coarser grid, only as the remaining budget
    requires), cells nearest to ``around`` (else to the surface centre) first, ``around``
    itself before any cell.
    The first free candidate wins. At most ``max_candidates`` evaluations in all.
    """
    if half_x <= 0 or half_y <= 0 or max_candidates < 1:
        raise ValueError("half extents must be > 0 and max_candidates >= 1")
    obs = _stack(obstacles)
    evaluations = 0
    n_random = min(random_candidates, max_candidates)
    if n_random > 0:
        if around is not None:
            r = (radius or 0.0) * np.sqrt(rng.random(n_random))
            phi = rng.random(n_random) * 2.0 * math.pi
            xs, ys = around[0] + r * np.cos(phi), around[1] + r * np.sin(phi)
        else:
            a = surface.area
            inner = min(half_x, half_y)  # at any yaw the rectangle reaches this far
            ru, rv = max(a.half_x - inner, 0.0), max(a.half_y - inner, 0.0)
            u = rng.uniform(-ru, ru, n_random)
            v = rng.uniform(-rv, rv, n_random)
            c, s = math.cos(a.yaw), math.sin(a.yaw)
            xs, ys = a.cx + u * c - v * s, a.cy + u * s + v * c
        yaws = (
            yaw + rng.uniform(-yaw_range, yaw_range, n_random)
            if yaw_range > 0
            else np.full(n_random, yaw)
        )
        for start in range(0, n_random, 8):
            sl = slice(start, min(start + 8, n_random))
            ok = _fits(surface, xs[sl], ys[sl], yaws[sl], half_x, half_y, obs, margin, edge_margin)
            evaluations += ok.shape[0]
            if ok.any():
                k = start + int(np.argmax(ok))
                spot = (float(xs[k]), float(ys[k]), float(yaws[k]))
                return SpotSearch(spot, evaluations, evaluations, 0, resolution, 0)
    n_rand_done = evaluations
    budget = max_candidates - evaluations
    first: list[tuple[float, float]] = []
    if around is not None and budget >= 1:
        first = [around]
        budget -= 1
    gx, gy, step, yaw_list = _sweep_plan(
        surface, half_x, half_y, yaw, yaw_range, budget, resolution
    )
    centre = around if around is not None else (surface.area.cx, surface.area.cy)
    order = np.argsort(np.hypot(gx - centre[0], gy - centre[1]), kind="stable")
    n_y = len(yaw_list)
    cand_x = np.concatenate([[p[0] for p in first], np.repeat(gx[order], n_y)])
    cand_y = np.concatenate([[p[1] for p in first], np.repeat(gy[order], n_y)])
    cand_yaw = np.concatenate([[yaw] * len(first), np.tile(np.array(yaw_list), gx.shape[0])])
    for start in range(0, cand_x.shape[0], BATCH):
        sl = slice(start, start + BATCH)
        ok = _fits(
            surface, cand_x[sl], cand_y[sl], cand_yaw[sl], half_x, half_y, obs, margin, edge_margin
        )
        evaluations += ok.shape[0]
        if ok.any():
            k = start + int(np.argmax(ok))
            spot = (float(cand_x[k]), float(cand_y[k]), float(cand_yaw[k]))
            return SpotSearch(spot, evaluations, n_rand_done, int(gx.shape[0]), step, n_y)
    return SpotSearch(None, evaluations, n_rand_done, int(gx.shape[0]), step, n_y)


def find_free_spot(
    surface: Surface,
    half_x: float,
    half_y: float,
    obstacles: list[Footprint],
    rng: np.random.Generator,
    *,
    around: tuple[float, float] | None = None,
    radius: float | None = None,
    yaw: float = 0.0,
    yaw_range: float = 0.0,
    margin: float = 0.0,
    edge_margin: float = 0.0,
    max_candidates: int = 2000,
) -> Spot | None:
    """A free pose ``(x, y, yaw)`` for a ``2*half_x`` x ``2*half_y`` rectangle, or None.

    Bounded: random candidates near ``around`` (within ``radius``), then a deterministic
    ~1 cm grid sweep of the whole surface; never more than ``max_candidates`` evaluations.
    The yaw returned is absolute (``yaw`` ± ``yaw_range``).
    """
    return search_free_spot(
        surface,
        half_x,
        half_y,
        obstacles,
        rng,
        around=around,
        radius=radius,
        yaw=yaw,
        yaw_range=yaw_range,
        margin=margin,
        edge_margin=edge_margin,
        max_candidates=max_candidates,
    ).spot


def free_area(
    surface: Surface, obstacles: list[Footprint], resolution: float = RESOLUTION_M
) -> float:
    """Area of ``surface`` not covered by any obstacle, in m², sampled on a grid."""
    a = surface.area
    step = max(resolution, math.sqrt(a.area / MAX_AREA_SAMPLES))
    nu = max(1, round(2 * a.half_x / step))
    nv = max(1, round(2 * a.half_y / step))
    us = (np.arange(nu) + 0.5) / nu * 2 * a.half_x - a.half_x
    vs = (np.arange(nv) + 0.5) / nv * 2 * a.half_y - a.half_y
    gu, gv = np.meshgrid(us, vs, indexing="ij")
    c, s = math.cos(a.yaw), math.sin(a.yaw)
    px = (a.cx + gu * c - gv * s).ravel()
    py = (a.cy + gu * s + gv * c).ravel()
    covered = np.zeros(px.shape[0], dtype=bool)
    for o in obstacles:
        oc, os_ = math.cos(o.yaw), math.sin(o.yaw)
        du, dv = px - o.cx, py - o.cy
        covered |= (np.abs(du * oc + dv * os_) <= o.half_x) & (
            np.abs(-du * os_ + dv * oc) <= o.half_y
        )
    return float(a.area * (1.0 - covered.mean()))


__all__ = [
    "FLOOR",
    "Footprint",
    "SpotSearch",
    "Surface",
    "find_free_spot",
    "floor_surface",
    "footprint_of",
    "free_area",
    "half_height",
    "search_free_spot",
    "support_surface",
    "yaw_turn",
]
