"""Fixtures of the MuJoCo Warp backend's tests: kitchen_counter prepared through the real
upstream stages (ingest → tasks, one variant), its v0000 scene compiled once, seeded initial
states, and WarpBatch next to MujocoBatch on the same compiled model.

Warp runs on the CPU here (``BP_WARP_TEST_DEVICE``, default ``cpu``; ``cuda:0`` on a GPU
machine). The first run compiles MuJoCo Warp's kernels into Warp's kernel cache (minutes on
two cores); later runs load them.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before anything imports mujoco

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

pytest.importorskip("warp", reason="the bp-episodes[warp] extra is not installed")
pytest.importorskip("mujoco_warp", reason="the bp-episodes[warp] extra is not installed")

from bp_contracts.simready import SimObject
from bp_episodes.compiled import compile_committed
from bp_episodes.initial_state import Perturbation, sample_initial_state
from bp_episodes.scene import SceneHandles
from bp_episodes.warp_backend.batch import WarpBatch, WarpOptions
from bp_episodes.worklist import build_worklist
from bp_sdk.storage import Storage

from tests.episodes.conftest import prepare

SCENE = "kitchen_counter"
RESOLUTION = 64
SUBSTEPS = 25  # one frame at 20 fps of 2 ms physics steps
START = Perturbation(object_jitter_m=0.03, object_yaw_rad=0.2, joint_noise_rad=0.05)


@dataclass(frozen=True)
class Scene:
    """One compiled variant of kitchen_counter and seeded initial states of its tasks."""

    model: Any
    h: SceneHandles
    objects: dict[str, SimObject]
    starts: list[np.ndarray]  # full qpos of distinct, collision-free episode starts


@pytest.fixture(scope="session")
def kitchen_warp(tmp_path_factory: pytest.TempPathFactory) -> Storage:
    """kitchen_counter prepared up to tasks (1 variant)."""
    return prepare(tmp_path_factory.mktemp("kitchen_warp"), SCENE, variants=1)


@pytest.fixture(scope="session")
def scene(kitchen_warp: Storage) -> Scene:
    """v0000 compiled as the stage compiles it, and 4 seeded starts (2 tasks x 2 episodes)."""
    c, tasks = compile_committed(kitchen_warp, SCENE, "r1", resolution=RESOLUTION)
    model, h, objects = c.model, c.h, c.objects
    picks = [t for t in tasks.tasks if t.kind == "pick_place" and "v0000" in t.targets][:2]
    plans = build_worklist(SCENE, "warp-tests", 7, ["v0000"], picks, 2)
    starts = [sample_initial_state(h, p, objects, START).qpos for p in plans]
    return Scene(model, h, objects, starts)


@pytest.fixture(scope="session")
def device() -> str:
    """The Warp device the tests run on (BP_WARP_TEST_DEVICE, default cpu)."""
    return os.environ.get("BP_WARP_TEST_DEVICE", "cpu")


@pytest.fixture
def make_warp(scene: Scene, device: str) -> Iterator[Callable[..., WarpBatch]]:
    """A WarpBatch factory on the test device; closes what it made."""
    made: list[WarpBatch] = []

    def make(worlds: int, kinds: tuple[str, ...] = ()) -> WarpBatch:
        batch = WarpBatch(scene.model, worlds, RESOLUTION, WarpOptions(device=device, kinds=kinds))
        made.append(batch)
        return batch

    yield make
    for b in made:
        b.close()


def controls(scene: Scene, worlds: int, frames: int, seed: int) -> list[np.ndarray]:
    """Seeded per-frame controls (frames x worlds x nu): the arm held at home plus a smooth
    random sway of up to 0.15 rad per joint, the gripper closing over the run."""
    h, m = scene.h, scene.model
    rng = np.random.default_rng(seed)
    home = h.home_qpos[h.arm_qadr]
    amp = rng.uniform(-0.15, 0.15, size=(worlds, len(home)))
    phase = rng.uniform(0, 2 * np.pi, size=(worlds, len(home)))
    out = []
    for k in range(frames):
        c = np.zeros((worlds, m.nu))
        c[:, : len(home)] = home + amp * np.sin(2 * np.pi * 0.5 * k / 20 + phase)
        c[:, -1] = h.robot.gripper_open_ctrl * (1.0 - k / max(frames - 1, 1))
        out.append(c)
    return out
