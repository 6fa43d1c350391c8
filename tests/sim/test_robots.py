"""The robot registry and the Panda: actuators, home pose, a gripper that really holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import pytest
from bp_sim.compose import HOME_KEY, compose_scene
from bp_sim.robots import UnknownRobotError, get_robot, robot_names
from bp_sim.robots.panda import menagerie_root
from bp_sim.scene_defaults import default_placement

from tests.sim._simready import bare_manifest, box_object

PANDA = "franka_panda"


def _robot_scene(objects: list[Any] | None = None, pedestal: float = 0.5) -> Any:
    """A compiled scene with the Panda at the origin (facing +x) on a pedestal."""
    robot = get_robot(PANDA)
    far = box_object("far_stand", (0.1, 0.1, 0.3), (2.0, 2.0, 0.15), 5.0, static=True)
    manifest = bare_manifest("robot_only", objects or [far], robot_base=((0.0, 0.0, 0.0), 0.0))
    placement = default_placement(manifest, robot).model_copy(
        update={"pedestal_height_m": pedestal}
    )
    return compose_scene(manifest, placement, [], []).compile()


def _at_home(model: Any) -> Any:
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key(HOME_KEY).id)
    mujoco.mj_forward(model, data)
    return data


def _run(model: Any, data: Any, seconds: float) -> None:
    for _ in range(round(seconds / model.opt.timestep)):
        mujoco.mj_step(model, data)


def test_registry_lists_names_and_refuses_unknown_robots() -> None:
    """get_robot knows franka_panda; an unknown name fails with the list of valid names."""
    assert PANDA in robot_names()
    with pytest.raises(UnknownRobotError, match="valid names: franka_panda"):
        get_robot("ur5e")


def test_panda_source_is_recorded_and_its_files_exist() -> None:
    """The Panda comes from the robosuite wheel (MIT) and every listed file is on disk."""
    robot = get_robot(PANDA)
    assert robot.source.package == "robosuite" and robot.source.license == "MIT"
    assert robot.source.version
    for rel in robot.source.files:
        assert (robot.source.root / rel).is_file(), rel
    assets = robot.build().assets
    assert assets and all(name.startswith("robot_assets/") for name in assets)


def test_panda_has_seven_arm_actuators_one_gripper_and_a_home_key() -> None:
    """Seven position actuators on the arm joints with Franka's torque limits, one tendon gripper, a home keyframe."""
    robot = get_robot(PANDA)
    model = _robot_scene()
    names = [model.actuator(i).name for i in range(model.nu)]
    assert names == [robot.scoped(a) for a in robot.arm_actuators] + [robot.scoped("gripper")]
    for i, joint in enumerate(robot.arm_joints):
        assert model.actuator_trntype[i] == mujoco.mjtTrn.mjTRN_JOINT
        assert model.joint(model.actuator_trnid[i, 0]).name == robot.scoped(joint)
        assert model.actuator_biastype[i] == mujoco.mjtBias.mjBIAS_AFFINE  # position servo
        limit = 87.0 if i < 4 else 12.0
        assert tuple(model.actuator_forcerange[i]) == (-limit, limit)
    g = model.nu - 1
    assert model.actuator_trntype[g] == mujoco.mjtTrn.mjTRN_TENDON
    assert model.actuator_gainprm[g, 0] == pytest.approx(1000.0)  # Menagerie's 100, x10
    assert tuple(model.actuator_ctrlrange[g]) == (0.0, 0.04)
    assert model.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC and model.opt.impratio == 10.0
    key = model.key(HOME_KEY).id
    data = _at_home(model)
    for joint, q in zip(robot.joints, robot.home_qpos, strict=True):
        assert data.qpos[model.joint(robot.scoped(joint)).qposadr[0]] == pytest.approx(q)
    assert list(model.key_ctrl[key]) == pytest.approx(list(robot.home_ctrl))


def test_panda_home_is_a_ready_pose_above_the_base_and_it_holds_it() -> None:
    """At home the hand points down ~0.49 m above the base plate and 0.31 m in front; 1 s later it has not moved."""
    robot = get_robot(PANDA)
    model = _robot_scene(pedestal=0.5)
    data = _at_home(model)
    site = data.site(robot.scoped(robot.ee_site))
    assert site.xpos[0] == pytest.approx(0.307, abs=0.01)
    assert site.xpos[2] - 0.5 == pytest.approx(0.494, abs=0.01)
    assert site.xmat.reshape(3, 3)[2, 2] == pytest.approx(-1.0, abs=1e-6)  # z axis down
    start = site.xpos.copy()
    _run(model, data, 1.0)
    arm = [data.qpos[model.joint(robot.scoped(j)).qposadr[0]] for j in robot.arm_joints]
    assert np.max(np.abs(np.asarray(arm) - robot.home_qpos[:7])) < 0.01
    assert np.linalg.norm(site.xpos - start) < 0.005


def _grasp_and_lift(stock_gains: bool) -> tuple[float, float]:
    """Close on a 0.5 kg, 5 cm box resting on a stand, lift the arm; (lift of the box, slip in the hand)."""
    robot = get_robot(PANDA)
    probe = _at_home(_robot_scene())
    p = probe.site(robot.scoped(robot.ee_site)).xpos.copy()
    box = box_object("box", (0.05, 0.05, 0.05), (p[0], p[1], p[2]), 0.5)
    stand_h = p[2] - 0.025
    stand = box_object("stand", (0.1, 0.1, stand_h), (p[0], p[1], stand_h / 2), 5.0, static=True)
    model = _robot_scene([stand, box])
    g = model.actuator(robot.scoped(robot.gripper_actuator)).id
    if stock_gains:  # Menagerie's stock gripper gains, for contrast
        model.actuator_gainprm[g, 0] = 100.0
        model.actuator_biasprm[g, 1:3] = (-100.0, -10.0)
    data = _at_home(model)
    site, body = data.site(robot.scoped(robot.ee_site)), data.body("box")
    _run(model, data, 0.3)
    data.ctrl[g] = robot.gripper_closed_ctrl
    _run(model, data, 0.8)
    offset, z0 = body.xpos - site.xpos, float(body.xpos[2])
    a2, a4 = (model.actuator(robot.scoped(a)).id for a in ("actuator2", "actuator4"))
    c2, c4 = float(data.ctrl[a2]), float(data.ctrl[a4])
    steps = 500
    for i in range(1, steps + 1):
        data.ctrl[a2], data.ctrl[a4] = c2 - 0.3 * i / steps, c4 + 0.4 * i / steps
        mujoco.mj_step(model, data)
    _run(model, data, 1.0)
    return float(body.xpos[2]) - z0, float(np.linalg.norm(body.xpos - site.xpos - offset))


def test_gripper_holds_a_half_kilo_box_while_the_arm_lifts() -> None:
    """With the x10 gripper the box rises with the hand (>20 cm) and slips < 3 mm in it."""
    lift, slip = _grasp_and_lift(stock_gains=False)
    assert lift > 0.2
    assert slip < 0.003


def test_stock_gripper_gains_do_not_lift_the_box() -> None:
    """With Menagerie's stock gains (x1) the same box stays on its stand: the x10 scaling matters."""
    lift, _ = _grasp_and_lift(stock_gains=True)
    assert lift < 0.01


def test_menagerie_root_is_used_only_when_it_holds_the_panda(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MENAGERIE_ROOT without franka_emika_panda/panda.xml falls back to robosuite; with it, Menagerie is the source."""
    monkeypatch.setenv("MENAGERIE_ROOT", str(tmp_path))
    assert menagerie_root() is None
    assert get_robot(PANDA).source.package == "robosuite"
    (tmp_path / "franka_emika_panda").mkdir()
    (tmp_path / "franka_emika_panda" / "panda.xml").write_text("<mujoco/>", encoding="utf-8")
    assert menagerie_root() == tmp_path
    robot = get_robot(PANDA)
    assert robot.source.package == "mujoco_menagerie" and robot.source.license == "Apache-2.0"
    assert robot.base_body == "link0" and robot.wrist_camera_body == "hand"


# A Menagerie-shaped Panda (same tree, names, joint ranges and kinematics as
# mujoco_menagerie/franka_emika_panda/panda.xml; capsules instead of most meshes).
_MENAGERIE_LIKE = """<mujoco model="panda">
  <compiler angle="radian" meshdir="assets" autolimits="true"/>
  <default>
    <joint armature="0.1" damping="1" axis="0 0 1" range="-2.8973 2.8973"/>
    <geom type="capsule" size="0.05 0.05" rgba="1 1 1 1"/>
  </default>
  <asset><mesh name="link0_c" file="link0.stl"/></asset>
  <worldbody>
    <body name="link0">
      <inertial mass="0.63" pos="-0.04 0 0.05" diaginertia="0.003 0.004 0.004"/>
      <geom type="mesh" mesh="link0_c"/>
      <body name="link1" pos="0 0 0.333">
        <inertial mass="4.97" pos="0 0 -0.05" diaginertia="0.7 0.7 0.01"/>
        <joint name="joint1"/><geom fromto="0 0 -0.1 0 0 0"/>
        <body name="link2" quat="1 -1 0 0">
          <inertial mass="0.65" pos="0 -0.03 0" diaginertia="0.008 0.028 0.026"/>
          <joint name="joint2" range="-1.7628 1.7628"/><geom fromto="0 0 0 0 -0.2 0"/>
          <body name="link3" pos="0 -0.316 0" quat="1 1 0 0">
            <inertial mass="3.23" pos="0.03 0.04 -0.07" diaginertia="0.037 0.036 0.011"/>
            <joint name="joint3"/><geom fromto="0 0 -0.1 0.08 0 0"/>
            <body name="link4" pos="0.0825 0 0" quat="1 1 0 0">
              <inertial mass="3.59" pos="-0.05 0.1 0.03" diaginertia="0.026 0.02 0.028"/>
              <joint name="joint4" range="-3.0718 -0.0698"/><geom fromto="0 0 0 -0.08 0.3 0"/>
              <body name="link5" pos="-0.0825 0.384 0" quat="1 -1 0 0">
                <inertial mass="1.23" pos="0 0.04 -0.04" diaginertia="0.036 0.029 0.009"/>
                <joint name="joint5"/><geom fromto="0 0 -0.2 0 0 0"/>
                <body name="link6" quat="1 1 0 0">
                  <inertial mass="1.67" pos="0.06 -0.01 -0.01" diaginertia="0.002 0.004 0.005"/>
                  <joint name="joint6" range="-0.0175 3.7525"/><geom fromto="0 0 0 0.08 0 0"/>
                  <body name="link7" pos="0.088 0 0" quat="1 1 0 0">
                    <inertial mass="0.74" pos="0.01 0 0.06" diaginertia="0.013 0.01 0.005"/>
                    <joint name="joint7"/><geom fromto="0 0 0 0 0 0.08"/>
                    <body name="link8" pos="0 0 0.107">
                      <body name="hand" quat="0.9238795 0 0 -0.3826834">
                        <inertial mass="0.73" pos="-0.01 0 0.03" diaginertia="0.001 0.0025 0.0017"/>
                        <geom type="box" size="0.02 0.09 0.03" pos="0 0 0.03"/>
                        <body name="left_finger" pos="0 0 0.0584">
                          <inertial mass="0.015" pos="0 0 0" diaginertia="2.4e-6 2.4e-6 7.5e-7"/>
                          <joint name="finger_joint1" type="slide" axis="0 1 0" range="0 0.04"/>
                          <geom type="box" size="0.01 0.005 0.025" pos="0 0.005 0.03"/>
                        </body>
                        <body name="right_finger" pos="0 0 0.0584" quat="0 0 0 1">
                          <inertial mass="0.015" pos="0 0 0" diaginertia="2.4e-6 2.4e-6 7.5e-7"/>
                          <joint name="finger_joint2" type="slide" axis="0 1 0" range="0 0.04"/>
                          <geom type="box" size="0.01 0.005 0.025" pos="0 0.005 0.03"/>
                        </body>
                      </body>
                    </body>
                  </body>
                </body>
              </body>
            </body>
          </body>
        </body>
      </body>
    </body>
  </worldbody>
  <tendon><fixed name="split"><joint joint="finger_joint1" coef="0.5"/><joint joint="finger_joint2" coef="0.5"/></fixed></tendon>
  <equality><joint joint1="finger_joint1" joint2="finger_joint2"/></equality>
  <actuator><general name="actuator8" tendon="split" ctrlrange="0 255" gainprm="0.0157" biasprm="0 -100 -10"/></actuator>
  <keyframe><key name="home" qpos="0 0 0 -1.57079 0 1.57079 -0.7853 0.04 0.04" ctrl="255"/></keyframe>
</mujoco>
"""


def test_a_menagerie_layout_panda_builds_with_the_same_interface(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Menagerie-layout panda.xml is rebuilt with our actuators, holds its home pose, and its meshes move under robot_assets/."""
    root = tmp_path / "menagerie"
    (root / "franka_emika_panda" / "assets").mkdir(parents=True)
    (root / "franka_emika_panda" / "panda.xml").write_text(_MENAGERIE_LIKE, encoding="utf-8")
    stl = get_robot(PANDA).source.root / "robots" / "panda" / "meshes" / "link0.stl"
    (root / "franka_emika_panda" / "assets" / "link0.stl").write_bytes(stl.read_bytes())
    monkeypatch.setenv("MENAGERIE_ROOT", str(root))
    robot = get_robot(PANDA)
    assert set(robot.build().assets) == {"robot_assets/franka_emika_panda/assets/link0.stl"}
    model = _robot_scene()
    assert [model.actuator(i).name for i in range(model.nu)] == [
        robot.scoped(a) for a in robot.arm_actuators
    ] + [robot.scoped("gripper")]
    assert model.nkey == 1 and model.ntendon == 1 and model.neq == 1
    data = _at_home(model)
    _run(model, data, 1.0)
    arm = [data.qpos[model.joint(robot.scoped(j)).qposadr[0]] for j in robot.arm_joints]
    assert np.max(np.abs(np.asarray(arm) - robot.home_qpos[:7])) < 0.02
    fingers = [data.qpos[model.joint(robot.scoped(j)).qposadr[0]] for j in robot.gripper_joints]
    assert fingers == pytest.approx([0.04, 0.04], abs=1e-3)
