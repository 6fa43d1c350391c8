"""Each episode's own initial state: seeded from the plan, collision-free, on its support;
depth background and segmentation ids defined (kitchen_counter, real MuJoCo, no episodes run)."""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
import pytest
from bp_contracts.assembly import Assembly
from bp_contracts.episode import DEPTH_BACKGROUND_M as DEPTH_BACKGROUND
from bp_contracts.simready import SimObject, SimreadyManifest
from bp_contracts.tasks import TaskSet
from bp_contracts.variation import Variant
from bp_episodes.backend import MujocoBatch
from bp_episodes.initial_state import (
    PENETRATION_TOL_M,
    Perturbation,
    sample_initial_state,
    start_qpos,
)
from bp_episodes.scene import SceneHandles, geom_table, handles
from bp_episodes.worklist import EpisodePlan, build_worklist
from bp_sdk.commit import require_committed
from bp_sdk.storage import Storage
from bp_sim.compose import compose_scene
from bp_sim.footprints import footprint_of, support_surface
from bp_sim.robots import get_robot

SCENE = "kitchen_counter"
DEFAULT = Perturbation(object_jitter_m=0.03, object_yaw_rad=0.2, joint_noise_rad=0.05)


def _scene(storage: Storage, vid: str) -> tuple[SceneHandles, dict[str, SimObject], TaskSet]:
    up = {
        k: require_committed(storage, SCENE, "r1", k)
        for k in ("simready", "assemble", "variations", "tasks")
    }
    sr = up["simready"].read_model("simready_manifest.json", SimreadyManifest)
    asm = up["assemble"].read_model("assembly.json", Assembly)
    variant = up["variations"].read_model(f"variations/{vid}.json", Variant)
    spec = compose_scene(sr, asm.robot, asm.cameras, asm.lights, variant, timestep=asm.timestep_s,
                         mesh_loader=up["simready"].read_bytes)  # fmt: skip
    objects = {o.id: o for o in [*sr.objects, *variant.distractors]}
    h = handles(spec.compile(), get_robot("franka_panda"), list(objects.values()), asm.cameras, 48)
    return h, objects, up["tasks"].read_model("tasks.json", TaskSet)


def _plans(tasks: TaskSet, vid: str, n: int) -> list[EpisodePlan]:
    picks = [t for t in tasks.tasks if t.kind == "pick_place" and vid in t.targets][:2]
    return build_worklist(SCENE, "cfg", 0, [vid], picks, n)


def _penetrations(h: SceneHandles, q: np.ndarray) -> dict[tuple[int, int], float]:
    d = mujoco.MjData(h.model)
    d.qpos[:] = q
    mujoco.mj_forward(h.model, d)
    out: dict[tuple[int, int], float] = {}
    for c in d.contact[: d.ncon]:
        key = (min(c.geom1, c.geom2), max(c.geom1, c.geom2))
        out[key] = max(out.get(key, 0.0), -float(c.dist))
    return out


def _owner(h: SceneHandles) -> dict[int, str]:
    owner = {g: o for o, gs in h.object_geoms.items() for g in gs}
    owner.update(dict.fromkeys(h.robot_geoms, "robot"))
    return owner


def test_every_episode_starts_differently_and_the_same_plan_alike(kitchen: Storage) -> None:
    """Repeated episodes of a task get different object poses and robot starts; the same plan
    always gets the same state, bit for bit; the state is recorded with its seed."""
    h, objects, tasks = _scene(kitchen, "v0000")
    plans = _plans(tasks, "v0000", 3)
    states = [sample_initial_state(h, p, objects, DEFAULT) for p in plans]
    again = [sample_initial_state(h, p, objects, DEFAULT) for p in plans]
    for a, b in zip(states, again, strict=True):
        np.testing.assert_array_equal(a.qpos, b.qpos)
        assert a.to_json() == b.to_json()
    task = plans[0].task.object
    xy = np.array([s.objects[task][0][:2] for s in states[:3]])
    assert np.linalg.norm(xy - xy.mean(axis=0), axis=1).max() > 0.002  # not near-duplicates
    assert len({tuple(np.round(s.robot_qpos, 9)) for s in states}) == len(states)
    home = start_qpos(h, plans[0])
    for s in states:
        assert max(abs(a - b) for a, b in zip(s.robot_qpos, home[h.arm_qadr], strict=True)) <= 0.05
        moved = np.linalg.norm(
            np.array(s.objects[task][0][:2]) - home[h.free_qadr[task] : h.free_qadr[task] + 2]
        )
        assert moved <= 0.03 + 1e-9
        doc = s.to_json()
        assert doc["seed"] == s.seed and set(doc["objects"]) == set(h.movable)


@pytest.mark.parametrize("vid", ["v0000", "v0001"])
def test_states_are_collision_free_even_with_large_perturbations(
    kitchen: Storage, vid: str
) -> None:
    """Trying to break it: 30 cm / 1 rad jitter over many seeds, with a distractor in v0001.
    No object or robot geom penetrates anything deeper than at the variant's placement, every
    object stays on its support's top face, and objects that found no free pose say so."""
    h, objects, tasks = _scene(kitchen, vid)
    wild = Perturbation(object_jitter_m=0.3, object_yaw_rad=1.0, joint_noise_rad=0.2)
    owner = _owner(h)
    kept = 0
    for plan in _plans(tasks, vid, 6):
        base = _penetrations(h, start_qpos(h, plan))
        state = sample_initial_state(h, plan, objects, wild)
        kept += len(state.kept)
        for (a, b), depth in _penetrations(h, state.qpos).items():
            if owner.get(a) == owner.get(b) or a in h.ignore_geoms or b in h.ignore_geoms:
                continue
            assert depth <= base.get((a, b), 0.0) + PENETRATION_TOL_M, (
                f"{plan.episode_id}: {h.model.geom(a).name} / {h.model.geom(b).name} {depth}"
            )
        for oid in h.movable:
            obj, (pos, quat) = objects[oid], state.objects[oid]
            area = support_surface(objects.get(obj.support)).area
            fp = footprint_of(obj, tuple(pos), tuple(quat))  # type: ignore[arg-type]
            assert fp.inside(area), f"{plan.episode_id}: {oid} left its support"
        assert all("no collision-free" in why for why in state.kept.values())
    assert kept > 0  # such jitter cannot place everything: the record says which were kept


def test_zero_perturbation_is_the_variant_placement(kitchen: Storage) -> None:
    """No jitter and no noise: the state is the variant's placement itself."""
    h, objects, tasks = _scene(kitchen, "v0000")
    plan = _plans(tasks, "v0000", 1)[0]
    state = sample_initial_state(h, plan, objects, Perturbation())
    np.testing.assert_array_equal(state.qpos, start_qpos(h, plan))
    assert state.moved == [] and state.kept == {}


def test_depth_background_and_segmentation_ids_are_defined(kitchen: Storage) -> None:
    """Depth: metres along the optical axis in [near, far), 0 where nothing is hit; every
    segmentation id is -1 or a geom of the table, whose owners name the objects and robot."""
    h, _objects, _tasks = _scene(kitchen, "v0001")
    batch = MujocoBatch(h.model, 1, 48)
    try:
        batch.reset([h.home_qpos.copy()])
        near, far = batch.depth_range_m()
        depth = batch.render("scene", "depth")[0]
        seg = batch.render("scene", "seg")[0]
    finally:
        batch.close()
    background = depth == DEPTH_BACKGROUND
    assert background.any() and not background.all()
    assert depth[~background].min() >= near * 0.999 and depth[~background].max() < far
    assert (seg[background] == -1).all()  # the depth background sees no geom
    table: dict[str, Any] = geom_table(h)
    assert len(table["name"]) == h.model.ngeom == len(table["object"]) == len(table["body"])
    assert set(np.unique(seg)) <= {-1, *range(h.model.ngeom)}
    owners = set(table["object"])
    assert "robot" in owners and set(h.movable) <= owners and "distractor_0" in owners
