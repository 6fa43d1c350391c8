"""``assembly.json`` and ``stability.json`` (schema v1), written by assemble.

The assembly says how the scene was compiled (robot, placement, cameras, lights,
physics options) so that later stages recompose exactly the same model with
``bp_sim.compose``; the stability report proves the compiled scene settles.
"""

from __future__ import annotations

from typing import Final, Literal

from bp_sdk.ids import Identifier
from pydantic import BaseModel, ConfigDict, Field

from bp_contracts.geometry import Quat, Vec3

ASSEMBLY_FILE: Final = "assembly.json"  # in assemble's committed outputs
STABILITY_FILE: Final = "stability.json"
ASSEMBLY_SCHEMA: Final = "bp.assembly/v1"
STABILITY_SCHEMA: Final = "bp.stability/v1"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RobotSource(_Frozen):
    """Where the robot model came from (recorded in lineage)."""

    package: str
    version: str
    files: list[str]
    license: str


class RobotPlacement(_Frozen):
    """Which robot, where, on what pedestal, and its home pose."""

    robot: str
    base_position_m: Vec3  # on the floor
    yaw_deg: float
    pedestal_height_m: float = Field(ge=0)
    home_qpos: list[float]
    source: RobotSource
    placed_by: Literal["blueprint", "default"]


class CameraSpec(_Frozen):
    """A camera: fixed in the scene or mounted on the wrist."""

    name: str
    mount: Literal["scene", "wrist"]
    pos_m: Vec3  # world (scene) or hand frame (wrist)
    quat_wxyz: Quat
    fovy_deg: float = Field(gt=0, lt=180)


class LightSpec(_Frozen):
    """A directional or spot light."""

    name: str
    pos_m: Vec3
    dir: Vec3
    diffuse: Vec3
    castshadow: bool = False


class Assembly(_Frozen):
    """How the scene was compiled."""

    schema_: Literal["bp.assembly/v1"] = Field(default=ASSEMBLY_SCHEMA, alias="schema")
    scene_id: Identifier
    simready_sha256: str
    timestep_s: float = Field(gt=0)
    robot: RobotPlacement
    cameras: list[CameraSpec]
    lights: list[LightSpec]
    mujoco_version: str
    files: dict[str, str]  # role → file name (mjcf, usd, preview, stability)


class ObjectStability(_Frozen):
    """Settling figures for one movable object."""

    id: Identifier
    drift_m: float
    drop_m: float  # how far it sank below where it started (fell through a support if large)
    max_speed_end_m_s: float
    ok: bool
    reasons: list[str] = Field(default_factory=list)


class StabilityReport(_Frozen):
    """Proof that the compiled scene is simulation-ready."""

    schema_: Literal["bp.stability/v1"] = Field(default=STABILITY_SCHEMA, alias="schema")
    scene_id: Identifier
    steps: int = Field(ge=500)
    timestep_s: float
    max_drift_allowed_m: float
    max_penetration_allowed_m: float
    max_penetration_m: float
    worst_contact: str | None = None
    robot_home_error_rad: float
    robot_ok: bool
    objects: list[ObjectStability]
    ok: bool
    reasons: list[str] = Field(default_factory=list)
