"""Doors with real contacts: the expert grasps the handle bar and swings a hinged microwave
door open and shut. The scene is a blueprint built here (no example scene has a door) and
taken through the real upstream stages."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bp_contracts.tasks import TaskSpec
from bp_episodes.backend import MujocoBatch
from bp_episodes.compiled import compile_committed
from bp_episodes.episode import RecordOptions, run_episode
from bp_episodes.scene import SceneHandles
from bp_episodes.worklist import build_worklist
from bp_sdk.runner import run_stage
from bp_sdk.storage import Storage, open_storage

from tests.conftest import job_env, put_scene
from tests.episodes.conftest import UPSTREAM

pytestmark = pytest.mark.slow
SCENE = "door_scene"
# a microwave on a table to the robot's left, its door (hinged at its left edge) facing the robot
BLUEPRINT = {
    "schema_version": "1",
    "name": "microwave on a table",
    "units": "m",
    "up_axis": "z",
    "robot_base": {"position": [0.0, -0.6, 0.0], "yaw_deg": 90.0},
    "objects": [
        {
            "id": "table",
            "category": "table",
            "size": [1.4, 0.8, 0.75],
            "pose": {"position": [0.0, 0.1, 0.375]},
            "support": "floor",
        },
        {
            "id": "microwave_1",
            "category": "microwave",
            "size": [0.4, 0.32, 0.25],
            "pose": {"position": [-0.3, 0.16, 0.875]},
            "support": "table",
        },
    ],
}


class _Observed(MujocoBatch):
    """The real backend, also noting after every control step the door's joint fraction and
    whether the fingers touch the handle bar (read from MuJoCo's own contact list)."""

    def __init__(self, model: Any, h: SceneHandles, oid: str) -> None:
        super().__init__(model, 1, 64)
        self.adr, self.lo, self.hi = h.joints[oid]
        bar = {g for g in h.object_geoms[oid] if "handle" in model.geom(g).name}
        fingers = {g for g in h.gripper_geoms if "finger" in model.geom(g).name}
        self.pairs = {(a, b) for a in fingers for b in bar} | {(b, a) for a in fingers for b in bar}
        self.fraction: list[float] = []
        self.on_bar: list[bool] = []

    def step(self, ctrl: Any, substeps: int) -> None:
        """Step, then note the joint and the finger–bar contacts."""
        super().step(ctrl, substeps)
        d = self.datas[0]
        self.fraction.append((float(d.qpos[self.adr]) - self.lo) / (self.hi - self.lo))
        self.on_bar.append(any((c.geom1, c.geom2) in self.pairs for c in self.contacts(0)))


@pytest.fixture(scope="module")
def door_scene(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    """The blueprint through ingest → tasks (1 variant)."""
    storage = open_storage(tmp_path_factory.mktemp("door").as_uri())
    put_scene(storage, SCENE, BLUEPRINT)
    env = job_env(storage, SCENE, VARIATIONS_COUNT="1")
    for make in UPSTREAM:
        assert run_stage(make(), env) == 0, f"{make.__name__} failed"
    return storage


def _run(storage: Storage, kind: str, tier: str = "core") -> tuple[Any, _Observed, TaskSpec]:
    c, ts = compile_committed(storage, SCENE, "r1", resolution=64)
    model, h, objects = c.model, c.h, c.objects
    tasks = [t for t in ts.tasks if t.kind == kind and "v0000" in t.targets]
    assert tasks, f"the tasks stage posed no {kind} task: {ts.skipped}"
    plan = build_worklist(SCENE, "door", 0, ["v0000"], tasks[:1], 1)[0]
    batch = _Observed(model, h, tasks[0].object)
    try:
        rec, met = run_episode(batch, h, plan, objects, RecordOptions(20, tier, 600, 0.02))
    finally:
        batch.close()
    return (rec, met), batch, tasks[0]


def test_open_door_swings_the_door_by_its_handle(door_scene: Storage) -> None:
    """The fingers close on the handle bar and hold it while the door turns from shut to past
    0.8 of its range; the task's predicate succeeds with no robot–scene collision."""
    (rec, met), seen, _ = _run(door_scene, "open_door")
    frac, on_bar = np.array(seen.fraction), np.array(seen.on_bar)
    width = rec.stacked()["observation.state"][:, 7]
    assert met.success, met.failure_reason
    assert frac[0] < 0.01 and frac[-1] >= 0.8
    assert met.collision_frames == 0 and not met.nonfinite
    # the door moved only while the fingers were on the bar, which they really held (not shut on air)
    moving = np.flatnonzero(np.diff(frac) > 1e-3) + 1
    assert len(moving) > 20
    assert on_bar[moving].mean() > 0.95
    assert np.all(width[moving] > 0.008)


def test_close_door_swings_it_shut(door_scene: Storage) -> None:
    """From 70 % open, the expert grasps the handle and swings the door back under 0.1 of its
    range, holding the bar on the way; at tier full, the scene having no movable object, the
    object streams are empty per frame (they used to crash the recording)."""
    (rec, met), seen, _ = _run(door_scene, "close_door", tier="full")
    frac, on_bar = np.array(seen.fraction), np.array(seen.on_bar)
    assert met.success, met.failure_reason
    assert frac[0] == pytest.approx(0.7, abs=0.01) and frac[-1] <= 0.1
    closing = np.flatnonzero(np.diff(frac) < -1e-3) + 1
    assert len(closing) > 20 and on_bar[closing].mean() > 0.95
    assert met.collision_frames == 0 and not met.nonfinite
    assert len(set(met.frame_counts.values())) == 1
    arrays = rec.stacked()
    frames = len(arrays["observation.state"])
    assert arrays["observation.object_poses"].shape == (frames, 0, 7)
    assert arrays["observation.contacts"].shape == (frames, 0, 4)
