"""Each episode's own initial state: object poses and robot start, seeded and collision-free.

Repeated episodes of a task in one variant must not be near-duplicates, so every episode
starts from its own perturbation of the variant's placement, drawn from
``derive_seed(plan.seed, "initial_state")`` (the plan's seed derives from scene,
configuration, base seed, variant, task and index — never run id, time or attempt):

* **robot**: the ``home`` arm joints plus uniform noise in ±``joint_noise_rad`` (clipped to
  the joint ranges); a candidate that makes the robot penetrate the scene is redrawn;
* **objects**: every movable object resting on something fixed (a *root*; objects carried
  by a movable one move rigidly with it) is shifted uniformly in the disc of radius
  ``object_jitter_m`` about its variant position and turned about world z by a uniform
  angle in ±``object_yaw_rad``, roots in id order. A candidate is rejected when MuJoCo
  finds any of its geoms penetrating another body deeper than at the variant's placement
  (+1 mm), when its footprint leaves its support's top face, or when it comes to overlap
  the task's target region (each rule only if the variant's placement satisfied it).

After :data:`ATTEMPTS` rejected draws an object (or the robot) keeps the variant's pose,
and the record says so. Everything here is deterministic: the same plan gives the same
state, bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Final

import mujoco
import numpy as np
from bp_contracts.simready import SimObject
from bp_contracts.tasks import Region
from bp_sdk.digest import derive_seed
from bp_sim.footprints import Footprint, footprint_of, support_surface, yaw_turn
from numpy.typing import NDArray

from bp_episodes.scene import SceneHandles
from bp_episodes.worklist import EpisodePlan

F64 = NDArray[np.float64]
ATTEMPTS: Final = 24  # draws per object (and for the robot) before keeping the variant's pose
PENETRATION_TOL_M: Final = 0.001  # deeper than at the variant's placement by this: a collision
DIGITS: Final = 9


@dataclass(frozen=True)
class Perturbation:
    """How far an episode's initial state may differ from the variant's placement."""

    object_jitter_m: float = 0.0
    object_yaw_rad: float = 0.0
    joint_noise_rad: float = 0.0


@dataclass
class InitialState:
    """The full qpos an episode starts from, and what it means."""

    seed: int
    qpos: F64
    robot_qpos: list[float]
    objects: dict[str, tuple[list[float], list[float]]]  # movable object → (position, wxyz)
    moved: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # object (or "robot") → why unperturbed
    attempts: int = 0
    perturbation: Perturbation = field(default_factory=Perturbation)

    def to_json(self) -> dict[str, Any]:
        """The episode JSON's ``initial_state`` block."""
        return {
            "seed": self.seed,
            "robot_qpos": [round(x, DIGITS) for x in self.robot_qpos],
            "objects": {
                oid: {
                    "position_m": [round(x, DIGITS) for x in pos],
                    "orientation_wxyz": [round(x, DIGITS) for x in quat],
                }
                for oid, (pos, quat) in self.objects.items()
            },
            "moved": self.moved,
            "kept": self.kept,
            "attempts": self.attempts,
            "perturbation": {
                "object_jitter_m": self.perturbation.object_jitter_m,
                "object_yaw_rad": self.perturbation.object_yaw_rad,
                "joint_noise_rad": self.perturbation.joint_noise_rad,
            },
        }


class _Checker:
    """Penetrations of a candidate qpos against the variant's placement (MuJoCo contacts)."""

    def __init__(self, h: SceneHandles, q: F64) -> None:
        self.model = h.model
        self.data = mujoco.MjData(h.model)
        self.ignore = h.ignore_geoms
        self.base = self._pairs(q)

    def _pairs(self, q: F64) -> dict[tuple[int, int], float]:
        d = self.data
        d.qpos[:] = q
        d.qvel[:] = 0.0
        mujoco.mj_forward(self.model, d)
        out: dict[tuple[int, int], float] = {}
        for c in d.contact[: d.ncon]:
            key = (min(int(c.geom1), int(c.geom2)), max(int(c.geom1), int(c.geom2)))
            out[key] = max(out.get(key, 0.0), -float(c.dist))
        return out

    def collides(self, q: F64, mine: frozenset[int]) -> bool:
        """True if a geom of ``mine`` penetrates a geom outside it deeper than at the start."""
        for (a, b), depth in self._pairs(q).items():
            if (a in mine) == (b in mine) or a in self.ignore or b in self.ignore:
                continue
            if depth > self.base.get((a, b), 0.0) + PENETRATION_TOL_M:
                return True
        return False


def _groups(h: SceneHandles, objects: dict[str, SimObject]) -> dict[str, list[str]]:
    """Root movable object → itself and every movable object it carries (transitively)."""
    movable = set(h.movable)

    def root(oid: str) -> str:
        seen = {oid}
        while objects[oid].support in movable and objects[oid].support not in seen:
            oid = objects[oid].support
            seen.add(oid)
        return oid

    out: dict[str, list[str]] = {}
    for oid in h.movable:
        out.setdefault(root(oid), []).append(oid)
    return {r: sorted(m, key=lambda o: (o != r, o)) for r, m in sorted(out.items())}


def _pose(h: SceneHandles, q: F64, oid: str) -> tuple[F64, F64]:
    adr = h.free_qadr[oid]
    return q[adr : adr + 3].copy(), q[adr + 3 : adr + 7].copy()


def _footprint(obj: SimObject, pos: F64, quat: F64) -> Footprint:
    p = (float(pos[0]), float(pos[1]), float(pos[2]))
    r = (float(quat[0]), float(quat[1]), float(quat[2]), float(quat[3]))
    return footprint_of(obj, p, r)


def _moved(h: SceneHandles, q: F64, group: list[str], dx: float, dy: float, dyaw: float) -> F64:
    """``q`` with the group turned by ``dyaw`` about its root's vertical axis and shifted."""
    out = q.copy()
    root_pos, _ = _pose(h, q, group[0])
    c, s = math.cos(dyaw), math.sin(dyaw)
    for oid in group:
        pos, quat = _pose(h, q, oid)
        rx, ry = pos[0] - root_pos[0], pos[1] - root_pos[1]
        adr = h.free_qadr[oid]
        out[adr] = root_pos[0] + c * rx - s * ry + dx
        out[adr + 1] = root_pos[1] + s * rx + c * ry + dy
        out[adr + 3 : adr + 7] = yaw_turn((quat[0], quat[1], quat[2], quat[3]), dyaw)
    return out


class _Rules:
    """The placement rules a candidate must keep (only those the variant's placement keeps)."""

    def __init__(
        self, h: SceneHandles, objects: dict[str, SimObject], target: Region | None, q: F64
    ) -> None:
        self.h, self.objects = h, objects
        self.target = (
            Footprint(
                target.center_m[0],
                target.center_m[1],
                target.half_extents_m[0],
                target.half_extents_m[1],
            )
            if target is not None
            else None
        )
        self.nominal = q

    def _inside(self, q: F64, root: str) -> bool:
        obj = self.objects[root]
        support = self.objects.get(obj.support)
        pos, quat = _pose(self.h, q, root)
        return _footprint(obj, pos, quat).inside(support_surface(support).area)

    def _on_target(self, q: F64, group: list[str]) -> bool:
        if self.target is None:
            return False
        return any(
            _footprint(self.objects[o], *_pose(self.h, q, o)).overlaps(self.target) for o in group
        )

    def keeps(self, q: F64, group: list[str]) -> bool:
        """True if the candidate breaks no rule the nominal placement keeps."""
        if self._inside(self.nominal, group[0]) and not self._inside(q, group[0]):
            return False
        return not (self._on_target(q, group) and not self._on_target(self.nominal, group))


def start_qpos(h: SceneHandles, plan: EpisodePlan) -> F64:
    """The variant's placement: ``home`` keyframe, a close task's part opened first."""
    q = h.home_qpos.copy()
    joint = h.joints.get(plan.task.object)
    if joint is not None and plan.task.kind.startswith("close_"):
        adr, jlo, jhi = joint
        q[adr] = jlo + plan.task.initial_joint_fraction() * (jhi - jlo)  # a close task starts open
    return q


def sample_initial_state(
    h: SceneHandles,
    plan: EpisodePlan,
    objects: dict[str, SimObject],
    how: Perturbation,
) -> InitialState:
    """The episode's seeded, collision-free initial state (see the module docstring)."""
    seed = derive_seed(plan.seed, "initial_state")
    rng = np.random.default_rng(seed)
    q = start_qpos(h, plan)
    check = _Checker(h, q)
    out = InitialState(seed=seed, qpos=q, robot_qpos=[], objects={}, perturbation=how)
    if how.joint_noise_rad > 0:
        q = _robot(h, q, rng, how.joint_noise_rad, check, out)
    rules = _Rules(h, objects, plan.task.targets.get(plan.variant_id), q)
    if how.object_jitter_m > 0 or how.object_yaw_rad > 0:
        for root, group in _groups(h, objects).items():
            q = _object(h, q, root, group, rng, how, check, rules, out)
    out.qpos = q
    out.robot_qpos = [float(x) for x in q[h.arm_qadr]]
    for oid in h.movable:
        pos, quat = _pose(h, q, oid)
        out.objects[oid] = ([float(x) for x in pos], [float(x) for x in quat])
    return out


def _robot(
    h: SceneHandles,
    q: F64,
    rng: np.random.Generator,
    noise: float,
    check: _Checker,
    out: InitialState,
) -> F64:
    home = q[h.arm_qadr].copy()
    lo, hi = h.arm_range[:, 0], h.arm_range[:, 1]
    for _ in range(ATTEMPTS):
        out.attempts += 1
        cand = q.copy()
        cand[h.arm_qadr] = np.clip(home + rng.uniform(-noise, noise, size=len(home)), lo, hi)
        if not check.collides(cand, h.robot_geoms):
            return cand
    out.kept["robot"] = f"no collision-free start within ±{noise} rad in {ATTEMPTS} draws"
    return q


def _object(
    h: SceneHandles,
    q: F64,
    root: str,
    group: list[str],
    rng: np.random.Generator,
    how: Perturbation,
    check: _Checker,
    rules: _Rules,
    out: InitialState,
) -> F64:
    mine = frozenset().union(*(h.object_geoms[o] for o in group))
    for _ in range(ATTEMPTS):
        out.attempts += 1
        r = how.object_jitter_m * math.sqrt(float(rng.uniform()))
        theta = float(rng.uniform(0.0, 2 * math.pi))
        dyaw = float(rng.uniform(-how.object_yaw_rad, how.object_yaw_rad))
        cand = _moved(h, q, group, r * math.cos(theta), r * math.sin(theta), dyaw)
        if rules.keeps(cand, group) and not check.collides(cand, mine):
            out.moved.extend(group)
            return cand
    out.kept[root] = (
        f"no collision-free pose within {how.object_jitter_m} m / ±{how.object_yaw_rad} rad "
        f"in {ATTEMPTS} draws: the variant's placement is kept"
    )
    return q
