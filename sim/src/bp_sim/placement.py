"""The bounded free-spot search on support surfaces, and the free area left on one.

Pure Python and numpy (no MuJoCo), shared by variations (re-placing objects and adding
distractors) and tasks (finding free target regions). World frame: metres, z up,
yaw in radians counter-clockwise about +z seen from above. Footprints and surfaces are
:mod:`bp_sim.footprints`.

:func:`find_free_spot` looks for a pose of a rectangle on a :class:`Surface` that
stays inside it and clear of every obstacle (no :class:`Footprint` overlap with the
margin): a few random candidates first (near a preferred point when given), then a
deterministic grid sweep over the whole surface, never more than ``max_candidates``
evaluations in all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from bp_sim.footprints import (
    EPS,
    BoolArray,
    FloatArray,
    Footprint,
    Surface,
    hits_batch,
    inside_batch,
    stack_footprints,
)

Spot = tuple[float, float, float]

RESOLUTION_M: Final = 0.01  # sweep grid step (coarsened only to respect the budget)
RANDOM_CANDIDATES: Final = 32  # random candidates tried before the sweep
YAW_STEPS: Final = 5  # yaw candidates per sweep cell when a yaw range is given
BATCH: Final = 256  # candidates evaluated per numpy batch
RANDOM_BATCH: Final = 8  # random candidates evaluated per batch
MAX_AREA_SAMPLES: Final = 250_000


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
    ok = inside_batch(surface.area, xs, ys, yaws, hx, hy, edge_margin)
    if ok.any():
        idx = np.flatnonzero(ok)
        ok[idx] = ~hits_batch(xs[idx], ys[idx], yaws[idx], hx, hy, obstacles, margin)
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


@dataclass(frozen=True)
class _Fit:
    """One search's fixed terms: the surface, the rectangle, the obstacles and margins."""

    surface: Surface
    hx: float
    hy: float
    obstacles: FloatArray
    margin: float
    edge_margin: float

    def first(
        self, xs: FloatArray, ys: FloatArray, yaws: FloatArray, batch: int
    ) -> tuple[int | None, int]:
        """Index of the first candidate that fits (None: none does) and how many were tried."""
        evaluations = 0
        for start in range(0, xs.shape[0], batch):
            sl = slice(start, start + batch)
            ok = _fits(
                self.surface,
                xs[sl],
                ys[sl],
                yaws[sl],
                self.hx,
                self.hy,
                self.obstacles,
                self.margin,
                self.edge_margin,
            )
            evaluations += ok.shape[0]
            if ok.any():
                return start + int(np.argmax(ok)), evaluations
        return None, evaluations


def _random_poses(
    fit: _Fit,
    rng: np.random.Generator,
    n: int,
    around: tuple[float, float] | None,
    radius: float | None,
    yaw: float,
    yaw_range: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``n`` random poses: in the disc about ``around``, else over the surface; yaw in range."""
    if around is not None:
        r = (radius or 0.0) * np.sqrt(rng.random(n))
        phi = rng.random(n) * 2.0 * math.pi
        xs, ys = around[0] + r * np.cos(phi), around[1] + r * np.sin(phi)
    else:
        a = fit.surface.area
        inner = min(fit.hx, fit.hy)  # at any yaw the rectangle reaches this far
        ru, rv = max(a.half_x - inner, 0.0), max(a.half_y - inner, 0.0)
        u = rng.uniform(-ru, ru, n)
        v = rng.uniform(-rv, rv, n)
        c, s = math.cos(a.yaw), math.sin(a.yaw)
        xs, ys = a.cx + u * c - v * s, a.cy + u * s + v * c
    yaws = yaw + rng.uniform(-yaw_range, yaw_range, n) if yaw_range > 0 else np.full(n, yaw)
    return xs, ys, yaws


def _sweep_candidates(
    gx: FloatArray,
    gy: FloatArray,
    yaw_list: list[float],
    first: list[tuple[float, float]],
    yaw: float,
    centre: tuple[float, float],
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The sweep's poses in order: ``first``, then cells nearest ``centre``, each at every yaw."""
    order = np.argsort(np.hypot(gx - centre[0], gy - centre[1]), kind="stable")
    n_y = len(yaw_list)
    cand_x = np.concatenate([[p[0] for p in first], np.repeat(gx[order], n_y)])
    cand_y = np.concatenate([[p[1] for p in first], np.repeat(gy[order], n_y)])
    cand_yaw = np.concatenate([[yaw] * len(first), np.tile(np.array(yaw_list), gx.shape[0])])
    return cand_x, cand_y, cand_yaw


def _sweep(
    fit: _Fit,
    budget: int,
    n_rand_done: int,
    around: tuple[float, float] | None,
    yaw: float,
    yaw_range: float,
    resolution: float,
) -> SpotSearch:
    """Phase 2: ``around`` itself, then the grid sweep, within ``budget`` evaluations."""
    first: list[tuple[float, float]] = []
    if around is not None and budget >= 1:
        first = [around]
        budget -= 1
    area = fit.surface.area
    gx, gy, step, yaw_list = _sweep_plan(
        fit.surface, fit.hx, fit.hy, yaw, yaw_range, budget, resolution
    )
    centre = around if around is not None else (area.cx, area.cy)
    xs, ys, yaws = _sweep_candidates(gx, gy, yaw_list, first, yaw, centre)
    k, evaluations = fit.first(xs, ys, yaws, BATCH)
    spot = None if k is None else (float(xs[k]), float(ys[k]), float(yaws[k]))
    cells = int(gx.shape[0])
    return SpotSearch(spot, n_rand_done + evaluations, n_rand_done, cells, step, len(yaw_list))


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
    fit = _Fit(surface, half_x, half_y, stack_footprints(obstacles), margin, edge_margin)
    evaluations = 0
    n_random = min(random_candidates, max_candidates)
    if n_random > 0:
        xs, ys, yaws = _random_poses(fit, rng, n_random, around, radius, yaw, yaw_range)
        k, evaluations = fit.first(xs, ys, yaws, RANDOM_BATCH)
        if k is not None:
            spot = (float(xs[k]), float(ys[k]), float(yaws[k]))
            return SpotSearch(spot, evaluations, evaluations, 0, resolution, 0)
    budget = max_candidates - evaluations
    return _sweep(fit, budget, evaluations, around, yaw, yaw_range, resolution)


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
