"""Place the movable objects and the distractors of one variant, collision-free.

Groups are placed one after another (largest first). Each candidate is checked against
every fixed body and every body already placed in this variant whose height range
overlaps the group's, except the support chain the group rests on. A group that finds
no spot is recorded as a :class:`Failure` (the stage reports them all at once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from bp_contracts.geometry import Quat, Vec3
from bp_contracts.simready import SimObject
from bp_sim.footprints import FLOOR, Footprint, footprint_of, half_height, yaw_turn
from bp_sim.placement import SpotSearch, free_area, search_free_spot

from bp_variations.jitter import random_rgba
from bp_variations.scene import Body, Group, PlacementScene
from bp_variations.settings import VariationsSettings

DISTRACTOR_PREFIX = "distractor_"


@dataclass(frozen=True)
class Failure:
    """A group that found no free spot in one variant, with what the search saw."""

    object_id: str
    support: str
    carried: tuple[str, ...]
    footprint_m: tuple[float, float]
    margin_m: float
    surface_area_m2: float
    free_area_m2: float
    search: SpotSearch

    def describe(self) -> str:
        """One line for the error: the support's free area vs the footprint, and the search."""
        w, h = self.footprint_m
        carried = f" (carrying {', '.join(self.carried)})" if self.carried else ""
        s = self.search
        return (
            f"{self.object_id}{carried} found no free spot on {self.support}: free area "
            f"{self.free_area_m2:.4f} m² of {self.surface_area_m2:.4f} m² at its height (before clearance), its "
            f"footprint {w:.3f} x {h:.3f} m = {w * h:.4f} m² plus {self.margin_m:g} m clearance; "
            f"{s.evaluations} candidates tried ({s.random_evaluations} random, then a sweep of "
            f"{s.sweep_cells} cells at {s.sweep_step_m * 100:.1f} cm x {s.yaw_candidates} yaws)"
        )


@dataclass
class Arrangement:
    """Poses, bodies and distractors of one variant as they are placed."""

    poses: dict[str, tuple[Vec3, Quat]] = field(default_factory=dict)
    bodies: list[Body] = field(default_factory=list)
    distractors: list[SimObject] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attempts: int = 0


def _obstacles(
    scene: PlacementScene,
    placed: list[Body],
    z0: float,
    z1: float,
    skip: frozenset[str],
    floor: bool,
) -> list[Footprint]:
    bodies = [*scene.fixed, *placed]
    if floor and scene.robot is not None:
        bodies.append(scene.robot)
    return [b.footprint for b in bodies if b.id not in skip and b.at_height(z0, z1)]


def _search(
    scene: PlacementScene,
    arr: Arrangement,
    group: Group,
    rng: np.random.Generator,
    s: VariationsSettings,
    *,
    anywhere: bool,
) -> tuple[SpotSearch, list[Footprint]]:
    # a distractor is a new body: its template (already placed) is an obstacle to it
    skip = group.below if anywhere else group.below | group.ids
    obstacles = _obstacles(
        scene, arr.bodies, group.z0, group.z1, skip, group.surface.support == FLOOR
    )
    jitter = s.variations_placement_mode == "jitter" and not anywhere
    result = search_free_spot(
        group.surface,
        group.half[0],
        group.half[1],
        obstacles,
        rng,
        around=group.centre if jitter else None,
        radius=s.variations_position_jitter_m if jitter else None,
        yaw=group.base_yaw,
        yaw_range=s.variations_yaw_jitter_rad if jitter else math.pi,
        margin=s.variations_margin_m,
        max_candidates=s.variations_max_candidates,
    )
    arr.attempts += result.evaluations
    return result, obstacles


def _moved(group: Group, spot: tuple[float, float, float]) -> list[tuple[SimObject, Vec3, Quat]]:
    """Every member's pose once the group's rectangle sits at ``spot``."""
    x, y, yaw = spot
    dyaw = yaw - group.base_yaw
    c, s = math.cos(yaw), math.sin(yaw)
    ox, oy = group.offset
    px, py = x - (c * ox - s * oy), y - (s * ox + c * oy)  # the root's new xy
    cd, sd = math.cos(dyaw), math.sin(dyaw)
    out = []
    for m in group.members:
        dx, dy = m.position_m[0] - group.pivot[0], m.position_m[1] - group.pivot[1]
        p = (px + cd * dx - sd * dy, py + sd * dx + cd * dy, m.position_m[2] + group.dz)
        out.append((m, p, yaw_turn(m.orientation_wxyz, dyaw)))
    return out


def _record(arr: Arrangement, obj: SimObject, p: Vec3, q: Quat) -> None:
    hz = half_height(obj.size_m, q)
    arr.bodies.append(Body(obj.id, footprint_of(obj, p, q), p[2] - hz, p[2] + hz))


def place_groups(
    scene: PlacementScene, rng: np.random.Generator, s: VariationsSettings
) -> Arrangement:
    """Place every group; failures are collected, not raised."""
    arr = Arrangement()
    for group in scene.groups:
        result, obstacles = _search(scene, arr, group, rng, s, anywhere=False)
        if result.spot is None:
            arr.failures.append(
                Failure(
                    object_id=group.root.id,
                    support=group.surface.support,
                    carried=tuple(m.id for m in group.members[1:]),
                    footprint_m=(2 * group.half[0], 2 * group.half[1]),
                    margin_m=s.variations_margin_m,
                    surface_area_m2=group.surface.area.area,
                    free_area_m2=free_area(group.surface, obstacles),
                    search=result,
                )
            )
            continue
        for m, p, q in _moved(group, result.spot):
            arr.poses[m.id] = (p, q)
            _record(arr, m, p, q)
    return arr


def _free_id(taken: set[str]) -> str:
    k = 0
    while f"{DISTRACTOR_PREFIX}{k}" in taken:  # bounded: at most len(taken) + 1 steps
        k += 1
    return f"{DISTRACTOR_PREFIX}{k}"


def add_distractors(
    scene: PlacementScene, arr: Arrangement, rng: np.random.Generator, s: VariationsSettings
) -> None:
    """Add 0..max clones of graspable objects, each with a new colour, anywhere free on
    its template's support; a distractor without room is skipped with a note."""
    wanted = int(rng.integers(0, s.variations_distractors_max + 1))
    if wanted and not scene.templates:
        arr.notes.append(
            f"no distractors: the scene has no graspable movable object to clone ({wanted} wanted)"
        )
        return
    taken = {o.id for o in scene.objects}
    for _ in range(wanted):
        template = scene.templates[int(rng.integers(0, len(scene.templates)))]
        colour = random_rgba(rng, template.root.rgba[3])
        result, _obstacles = _search(scene, arr, template, rng, s, anywhere=True)
        if result.spot is None:
            arr.notes.append(
                f"distractor (clone of {template.root.id}) skipped: no room on "
                f"{template.surface.support} after {result.evaluations} candidates"
            )
            continue
        ((_, p, q),) = _moved(template, result.spot)
        new_id = _free_id(taken)
        taken.add(new_id)
        clone = template.root.model_copy(
            update={"id": new_id, "position_m": p, "orientation_wxyz": q, "rgba": colour}
        )
        arr.distractors.append(clone)
        _record(arr, clone, p, q)
