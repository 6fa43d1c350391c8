"""WarpBatch against MujocoBatch on the same compiled kitchen_counter: the same starts and
controls give the same trajectories (float32 against float64) and the same contacts."""

from __future__ import annotations

import numpy as np
import pytest
from bp_episodes.backend import MujocoBatch

from tests.episodes_warp.conftest import SUBSTEPS, controls

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

FRAMES = 10  # 0.5 s of physics, 250 steps: the arm sways, the gripper closes
POS_TOL_M = 2e-3  # every body, every frame (measured: worst 8e-5 m)
QUAT_TOL = 1e-2  # |q_warp - q_mujoco| of every orientation, sign-aligned (measured: 2.6e-4)


def test_trajectories_agree_with_mujoco(scene, make_warp) -> None:
    """Two worlds from different seeded starts under seeded swaying controls: every body's
    pose stays within 2 mm and 0.01 (quaternion) of CPU MuJoCo's for 10 frames."""
    starts = scene.starts[:2]
    warp = make_warp(2)
    cpu = MujocoBatch(scene.model, 2, 32)
    try:
        warp.reset(starts)
        cpu.reset(starts)
        worst_pos = worst_quat = 0.0
        for ctrl in controls(scene, 2, FRAMES, seed=3):
            warp.step(ctrl, SUBSTEPS)
            cpu.step(ctrl, SUBSTEPS)
            for body in range(1, scene.model.nbody):
                wp_pos, wp_quat = warp.body_pose(body)
                mj_pos, mj_quat = cpu.body_pose(body)
                worst_pos = max(worst_pos, float(np.abs(wp_pos - mj_pos).max()))
                sign = np.sign(np.sum(wp_quat * mj_quat, axis=1, keepdims=True))
                worst_quat = max(worst_quat, float(np.abs(wp_quat * sign - mj_quat).max()))
        assert worst_pos < POS_TOL_M, worst_pos
        assert worst_quat < QUAT_TOL, worst_quat
        np.testing.assert_allclose(warp.qpos(), cpu.qpos(), atol=5e-3)
        for name in ("site", "camera"):
            pose = warp.site_pose if name == "site" else warp.camera_pose
            ref = cpu.site_pose if name == "site" else cpu.camera_pose
            ident = scene.h.site if name == "site" else scene.h.cameras[0].id
            np.testing.assert_allclose(pose(ident)[0], ref(ident)[0], atol=POS_TOL_M)
            np.testing.assert_allclose(pose(ident)[1], ref(ident)[1], atol=QUAT_TOL)
    finally:
        cpu.close()


def test_contacts_found_on_both(scene, make_warp) -> None:
    """After the objects settle, every contact pair CPU MuJoCo finds (each object on its
    support, the fingers on the pads' neighbours) Warp finds too, with nearly the same depth."""
    warp = make_warp(1)
    cpu = MujocoBatch(scene.model, 1, 32)
    try:
        warp.reset(scene.starts[:1])
        cpu.reset(scene.starts[:1])
        hold = controls(scene, 1, 1, seed=0)[0]
        for _ in range(4):
            warp.step(hold, SUBSTEPS)
            cpu.step(hold, SUBSTEPS)

        def pairs(contacts) -> dict[tuple[int, int], float]:
            out: dict[tuple[int, int], float] = {}
            for c in contacts:
                key = (min(c.geom1, c.geom2), max(c.geom1, c.geom2))
                out[key] = min(out.get(key, np.inf), c.dist)
            return out

        mine, ref = pairs(warp.contacts(0)), pairs(cpu.contacts(0))
        assert len(ref) >= 5  # objects resting on the counter, the robot on its pedestal
        missing = sorted(set(ref) - set(mine))
        assert not missing, f"pairs MuJoCo finds and Warp does not: {missing}"
        for key, dist in ref.items():
            assert abs(mine[key] - dist) < 2e-3, (key, mine[key], dist)
        w, g1, g2, d = warp.contact_arrays()
        assert len(w) == len(g1) == len(g2) == len(d) == len(warp.contacts(0))
    finally:
        cpu.close()
