"""Franka Emika Panda with its parallel gripper, position-controlled.

Assets come from the ``robosuite`` wheel (MIT): ``models/assets/robots/panda/robot.xml``
(7-joint arm, torque motors) and ``models/assets/grippers/panda_gripper.xml`` (two finger
slides). Nothing from robosuite is imported: its files are located on disk. When the
environment variable ``MENAGERIE_ROOT`` names a folder holding
``franka_emika_panda/panda.xml`` (MuJoCo Menagerie, Apache-2.0), that model is used instead.

Either way the robot gets the same control interface:

* 7 position actuators on the arm joints (``actuator1`` … ``actuator7``), gains as in
  Menagerie (kp 4500/4500/3500/3500/2000/2000/2000, kv = kp/10) and force limits from
  Franka's datasheet (87 N·m on joints 1–4, 12 N·m on joints 5–7);
* one position actuator ``gripper`` on a tendon that averages the two finger openings
  (control = opening of one finger in metres, 0 closed … 0.04 open), the fingers coupled
  by an equality constraint. Its gain and damping are Menagerie's ×10 (kp 1000, kv 100):
  Menagerie's stock gains give ~1 N per finger and 0.5–1 kg objects slip. The force is
  clamped at ±140 N (Franka's maximum grasp force); scenes use elliptic friction cones
  and ``impratio`` 10 (set by ``compose_scene``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mujoco

from bp_sim.robots.base import (
    RobotBuild,
    RobotModel,
    RobotSourceInfo,
    distribution_license,
    package_root,
    package_version,
    rehome_meshes,
)

NAME = "franka_panda"
ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
ARM_ACTUATORS = tuple(f"actuator{i}" for i in range(1, 8))
ARM_KP = (4500.0, 4500.0, 3500.0, 3500.0, 2000.0, 2000.0, 2000.0)
ARM_FORCE = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)
ARM_ARMATURE = 0.1
GRIPPER_KP = 1000.0  # Menagerie's 100, x10
GRIPPER_KV = 100.0  # Menagerie's 10, x10
GRIPPER_FORCE = 140.0  # N, Franka hand maximum grasp force
FINGER_OPEN = 0.04  # m per finger
# The ready pose puts the hand 0.31 m in front of the base plate and 0.49 m above it,
# pointing down, its fingers closing along the base's y axis.
READY = (0.0, -math.pi / 4, 0.0, -3 * math.pi / 4, 0.0, math.pi / 2, math.pi / 4)
TENDON = "grip"
GRIPPER = "gripper"
EE_SITE = "grip_site"
# robosuite's "eye_in_hand": on the flange, 5 cm off axis, looking along the fingers
WRIST_CAMERA_POS = (0.05, 0.0, 0.0)
WRIST_CAMERA_QUAT = (0.0, 0.707107, 0.707107, 0.0)
WRIST_CAMERA_FOVY = 75.0

ROBOSUITE_FILES = ("robots/panda/robot.xml", "grippers/panda_gripper.xml")
MENAGERIE_FILE = "franka_emika_panda/panda.xml"


def _add_arm_actuators(spec: Any) -> None:
    for joint_name, act, kp, force in zip(
        ARM_JOINTS, ARM_ACTUATORS, ARM_KP, ARM_FORCE, strict=True
    ):
        joint = spec.joint(joint_name)
        joint.armature = ARM_ARMATURE
        a = spec.add_actuator(name=act, target=joint_name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        a.set_to_position(kp=kp, kv=kp / 10.0)
        a.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
        a.ctrlrange = list(joint.range)
        a.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
        a.forcerange = [-force, force]


def _add_gripper(spec: Any, finger1: str, finger2: str, sign2: float) -> None:
    """Tendon = mean finger opening; equality couples the fingers; one position actuator."""
    tendon = spec.add_tendon(name=TENDON)
    tendon.wrap_joint(finger1, 0.5)
    tendon.wrap_joint(finger2, 0.5 * sign2)
    eq = spec.add_equality(
        type=mujoco.mjtEq.mjEQ_JOINT, name="finger_coupling", name1=finger1, name2=finger2
    )
    eq.data[:5] = [0.0, sign2, 0.0, 0.0, 0.0]
    eq.solref = [0.005, 1.0]
    eq.solimp = [0.95, 0.99, 0.001, 0.5, 2.0]
    a = spec.add_actuator(name=GRIPPER, target=TENDON, trntype=mujoco.mjtTrn.mjTRN_TENDON)
    a.set_to_position(kp=GRIPPER_KP, kv=GRIPPER_KV)
    a.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    a.ctrlrange = [0.0, FINGER_OPEN]
    a.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
    a.forcerange = [-GRIPPER_FORCE, GRIPPER_FORCE]


def _hide_helpers(spec: Any) -> None:
    """Collision geoms to group 3 and sites to group 4: datasets show visual meshes only."""
    for geom in spec.geoms:
        if geom.contype or geom.conaffinity:
            geom.group = 3
    for site in spec.sites:
        site.group = 4


def _build_robosuite() -> RobotBuild:
    root = package_root("robosuite") / "models" / "assets"
    arm = mujoco.MjSpec.from_file(str(root / ROBOSUITE_FILES[0]))
    hand = mujoco.MjSpec.from_file(str(root / ROBOSUITE_FILES[1]))
    assets = rehome_meshes(arm, root, "robots/panda")
    assets.update(rehome_meshes(hand, root, "grippers"))
    for s in (arm, hand):
        for actuator in list(s.actuators):
            s.delete(actuator)
        for camera in list(s.cameras):
            s.delete(camera)
        for sensor in list(s.sensors):
            s.delete(sensor)
    for site_name in ("ee_x", "ee_y", "ee_z", "grip_site_cylinder"):
        hand.delete(hand.site(site_name))
    frame = arm.body("right_hand").add_frame()
    frame.attach_body(hand.body("right_gripper"), "hand_", "")
    # the gripper's names get the prefix; keep the public ones short
    arm.site("hand_grip_site").name = EE_SITE
    arm.joint("hand_finger_joint1").name = "finger_joint1"
    arm.joint("hand_finger_joint2").name = "finger_joint2"
    _add_arm_actuators(arm)
    _add_gripper(arm, "finger_joint1", "finger_joint2", -1.0)
    _grippy_pads(arm)
    _hide_helpers(arm)
    arm.modelname = NAME
    return RobotBuild(arm, assets)


def _grippy_pads(spec: Any) -> None:
    """Finger pads that resist an object pivoting between them.

    robosuite's pads are 16 mm boxes with default ``condim`` 3, so a held object can
    pivot freely about the line between the two contact points (no torsional friction):
    tall objects grasped near the top swing out of the fingers when the arm accelerates.
    Real pads are rubber with area; ``condim`` 6 with torsional friction 0.05 m models that.
    """
    for geom in spec.geoms:
        if geom.name.endswith("_pad_collision"):
            geom.condim = 6
            geom.friction = [2.0, 0.05, 0.001]


def _build_menagerie(root: Path) -> RobotBuild:
    spec = mujoco.MjSpec.from_file(str(root / MENAGERIE_FILE))
    assets = rehome_meshes(spec, root, "franka_emika_panda")
    for actuator in list(spec.actuators):
        spec.delete(actuator)
    for tendon in list(spec.tendons):
        spec.delete(tendon)
    for eq in list(spec.equalities):
        spec.delete(eq)
    for key in list(spec.keys):
        spec.delete(key)
    spec.body("hand").add_site(name=EE_SITE, pos=[0.0, 0.0, 0.1034], size=[0.01, 0.01, 0.01])
    _add_arm_actuators(spec)
    _add_gripper(spec, "finger_joint1", "finger_joint2", 1.0)
    _hide_helpers(spec)
    spec.modelname = NAME
    return RobotBuild(spec, assets)


def menagerie_root() -> Path | None:
    """``MENAGERIE_ROOT`` if it is set and holds the Panda model, else None."""
    value = os.environ.get("MENAGERIE_ROOT")
    if not value:
        return None
    root = Path(value)
    return root if (root / MENAGERIE_FILE).is_file() else None


def _menagerie_license(root: Path) -> Path | None:
    """Menagerie keeps each model's licence beside it (``franka_emika_panda/LICENSE``)."""
    path = root / MENAGERIE_FILE
    licence = path.parent / "LICENSE"
    return licence if licence.is_file() else None


def _panda(
    base_body: str,
    home_qpos: tuple[float, ...],
    wrist_camera_body: str,
    source: RobotSourceInfo,
    builder: Callable[[], RobotBuild],
) -> RobotModel:
    """The Panda's interface; only the model files' names and home pose differ by source."""
    return RobotModel(
        name=NAME,
        base_body=base_body,
        arm_joints=ARM_JOINTS,
        arm_actuators=ARM_ACTUATORS,
        home_qpos=home_qpos,
        gripper_joints=("finger_joint1", "finger_joint2"),
        gripper_actuator=GRIPPER,
        gripper_open_ctrl=FINGER_OPEN,
        gripper_closed_ctrl=0.0,
        ee_site=EE_SITE,
        wrist_camera_body=wrist_camera_body,
        wrist_camera_pos=WRIST_CAMERA_POS,
        wrist_camera_quat=WRIST_CAMERA_QUAT,
        wrist_camera_fovy_deg=WRIST_CAMERA_FOVY,
        max_grasp_width_m=2 * FINGER_OPEN,
        max_payload_kg=3.0,
        reach_m=0.855,
        shoulder_height_m=0.333,
        base_radius_m=0.12,
        source=source,
        builder=builder,
    )


def robot() -> RobotModel:
    """The Panda from Menagerie when ``MENAGERIE_ROOT`` has it, else from robosuite."""
    m_root = menagerie_root()
    if m_root is not None:
        source = RobotSourceInfo(
            package="mujoco_menagerie",
            version="local",
            root=m_root,
            files=(MENAGERIE_FILE,),
            license="Apache-2.0",
            license_file=_menagerie_license(m_root),
        )
        # Menagerie's hand is turned 90 deg from robosuite's about the flange
        home = (*READY[:6], READY[6] - math.pi / 2, FINGER_OPEN, FINGER_OPEN)
        return _panda("link0", home, "hand", source, lambda: _build_menagerie(m_root))
    root = package_root("robosuite") / "models" / "assets"
    source = RobotSourceInfo(
        package="robosuite",
        version=package_version("robosuite"),
        root=root,
        files=ROBOSUITE_FILES,
        license="MIT",
        license_file=distribution_license("robosuite"),
    )
    return _panda(
        "base", (*READY, FINGER_OPEN, -FINGER_OPEN), "right_hand", source, _build_robosuite
    )
