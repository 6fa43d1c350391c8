"""Helpers of the variations tests: upstream documents, publishing them, independent geometry."""

from __future__ import annotations

import colorsys
import hashlib
import math
from dataclasses import dataclass
from typing import Any

from bp_contracts.assembly import Assembly, CameraSpec, LightSpec, RobotPlacement, RobotSource
from bp_contracts.scene_manifest import SceneManifest
from bp_contracts.simready import Inertia, SimObject, SimreadyManifest
from bp_contracts.variation import VARIATIONS_INDEX_FILE as INDEX
from bp_contracts.variation import Variant, variant_file, variant_id
from bp_sdk.commit import CommitRecord, load_record, read_committed
from bp_sdk.layout import Unit, run_dir
from bp_sdk.markers import FailureMarker
from bp_sdk.runner import Stage, StageContext, StageResult, run_stage
from bp_sdk.settings import JobSettings
from bp_sdk.storage import Storage
from bp_variations.stage import VariationsStage

from tests.conftest import job_env

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
Pt = tuple[float, float]


# ------------------------------------------------------------------ upstream documents
def sim_object(
    oid: str,
    size: Vec3,
    position: Vec3,
    *,
    category: str = "box",
    yaw: float = 0.0,
    orientation: Quat | None = None,
    support: str = "floor",
    role: str = "object",
    static: bool = False,
    graspable: bool = True,
    rgba: tuple[float, float, float, float] | None = None,
) -> SimObject:
    """A SimObject with plausible (not simready-accurate) physics."""
    q = orientation or (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))
    volume = size[0] * size[1] * size[2]
    mass = max(volume * 500.0, 1e-3)
    return SimObject(
        id=oid,
        category=category,
        role=role,  # type: ignore[arg-type]
        static=static,
        graspable=graspable,
        graspable_reason="test",
        support=support,
        size_m=size,
        position_m=position,
        orientation_wxyz=q,
        material="wood",
        density_kg_m3=500.0,
        volume_m3=volume,
        volume_source="primitive",
        inertia=Inertia(mass_kg=mass, diag_kg_m2=(mass * 1e-3, mass * 1e-3, mass * 1e-3)),
        friction=(0.8, 0.01, 0.001),
        restitution=0.1,
        rgba=rgba or colour_of(oid),
        parts=[],
    )


def colour_of(oid: str) -> tuple[float, float, float, float]:
    """A deterministic, saturated colour per id."""
    h = int(hashlib.sha256(oid.encode()).hexdigest()[:6], 16) / 0xFFFFFF
    r, g, b = colorsys.hsv_to_rgb(h, 0.6, 0.7)
    return (round(r, 6), round(g, 6), round(b, 6), 1.0)


def simready_of(manifest: SceneManifest) -> SimreadyManifest:
    """A simready manifest built straight from an ingested scene manifest."""
    objects = [
        sim_object(
            o.id,
            o.size_m,
            o.position_m,
            category=o.category,
            orientation=o.orientation_wxyz,
            support=o.support,
            role=o.role,
            static=o.static,
            graspable=o.graspable,
        )
        for o in manifest.objects
    ]
    return simready(manifest.scene_id, objects)


def simready(scene_id: str, objects: list[SimObject]) -> SimreadyManifest:
    """A simready manifest of ``objects``."""
    return SimreadyManifest(
        scene_id=scene_id,
        scene_manifest_sha256="0" * 64,
        max_grasp_width_m=0.08,
        max_grasp_mass_kg=2.0,
        materials_version="1",
        catalog_version="2",
        objects=objects,
    )


def assembly(
    scene_id: str, simready_bytes: bytes, robot_xy: tuple[float, float] = (0.0, -0.6)
) -> Assembly:
    """An assembly with one scene camera, one wrist camera and two lights."""
    return Assembly(
        scene_id=scene_id,
        simready_sha256=hashlib.sha256(simready_bytes).hexdigest(),
        timestep_s=0.002,
        robot=RobotPlacement(
            robot="panda",
            base_position_m=(robot_xy[0], robot_xy[1], 0.0),
            yaw_deg=90.0,
            pedestal_height_m=0.7,
            home_qpos=[0.0] * 9,
            source=RobotSource(package="robosuite", version="1.5.2", files=[], license="MIT"),
            placed_by="blueprint",
        ),
        cameras=[
            CameraSpec(
                name="front",
                mount="scene",
                pos_m=(0.0, -1.2, 1.5),
                quat_wxyz=(0.92388, 0.382683, 0.0, 0.0),
                fovy_deg=50.0,
            ),
            CameraSpec(
                name="wrist",
                mount="wrist",
                pos_m=(0.05, 0.0, 0.0),
                quat_wxyz=(1.0, 0.0, 0.0, 0.0),
                fovy_deg=70.0,
            ),
        ],
        lights=[
            LightSpec(
                name="key",
                pos_m=(0.5, -0.5, 2.5),
                dir=(-0.2, 0.2, -1.0),
                diffuse=(0.7, 0.7, 0.7),
                castshadow=True,
            ),
            LightSpec(
                name="fill", pos_m=(-0.5, 0.5, 2.5), dir=(0.0, 0.0, -1.0), diffuse=(0.3, 0.3, 0.35)
            ),
        ],
        mujoco_version="4.0.0",
        files={"mjcf": "scene.xml"},
    )


def dump(model: Any) -> bytes:
    """A model as the JSON bytes an upstream stage would commit."""
    return (model.model_dump_json(indent=2, by_alias=True) + "\n").encode()


class _Publish(Stage[JobSettings]):
    """Commits given files as another stage's outputs, through the real runner."""

    distribution = "bp-sdk"
    settings_cls = JobSettings

    def __init__(self, name: str, files: dict[str, bytes]) -> None:
        self.name = name  # type: ignore[misc]
        self.files = files

    def inputs(self, settings: JobSettings, storage: Storage) -> dict[str, str]:
        return {k: hashlib.sha256(v).hexdigest() for k, v in sorted(self.files.items())}

    def run(self, ctx: StageContext[JobSettings]) -> StageResult:
        for name, data in sorted(self.files.items()):
            ctx.output.write_bytes(name, data)
        return StageResult()


def publish_upstream(
    storage: Storage, scene: str, run: str, sim: SimreadyManifest, asm: Assembly | None = None
) -> tuple[bytes, Assembly]:
    """Commit ``sim`` as simready's and an assembly (built for it when not given) as assemble's outputs."""
    sim_bytes = dump(sim)
    asm = asm or assembly(scene, sim_bytes)
    env = job_env(storage, scene, run)
    assert run_stage(_Publish("simready", {"simready_manifest.json": sim_bytes}), env) == 0
    assert run_stage(_Publish("assemble", {"assembly.json": dump(asm)}), env) == 0
    return sim_bytes, asm


# ------------------------------------------------------------------ running the stage
@dataclass
class Outcome:
    """Exit code of one variations run plus read access to what it wrote."""

    code: int
    storage: Storage
    scene: str
    run: str

    @property
    def unit(self) -> Unit:
        """The variations unit of this run."""
        return Unit(self.scene, self.run, "variations")

    def keys(self) -> list[str]:
        """Every stored key under the variations stage folder of this run."""
        return [i.path for i in self.storage.list(self.unit.dir + "/")]

    def run_keys(self) -> list[str]:
        """Every stored key under the run."""
        return [i.path for i in self.storage.list(run_dir(self.scene, self.run) + "/")]

    def record(self) -> CommitRecord:
        """The commit record (must exist)."""
        rec = load_record(self.storage, self.unit)
        assert rec is not None, f"variations not committed: exit {self.code}; {self.failure_text()}"
        return rec

    def marker(self) -> FailureMarker:
        """The single failure marker of this run."""
        found = [k for k in self.keys() if k.endswith("/_FAILURE.json")]
        assert len(found) == 1, f"expected one failure marker, found {self.keys()}"
        return FailureMarker.model_validate_json(self.storage.read_bytes(found[0]))

    def failure_text(self) -> str:
        """The failure marker's message and problems, if any."""
        found = [k for k in self.keys() if k.endswith("/_FAILURE.json")]
        if not found:
            return "no marker"
        m = FailureMarker.model_validate_json(self.storage.read_bytes(found[0]))
        return f"{m.error_type}: {m.message}\n" + "\n".join(m.problems)

    def files(self) -> dict[str, bytes]:
        """Every committed file, verified against the commit record."""
        self.record()
        units = read_committed(self.storage, self.scene, self.run, "variations")
        assert units
        return {name: units[0].read_bytes(name) for name in sorted(units[0].record.files)}

    def index(self) -> dict[str, Any]:
        """The committed index."""
        units = read_committed(self.storage, self.scene, self.run, "variations")
        assert units, self.failure_text()
        data: dict[str, Any] = units[0].read_json(INDEX)
        return data

    def variants(self) -> list[Variant]:
        """Every committed variant, validated by the SDK schema."""
        units = read_committed(self.storage, self.scene, self.run, "variations")
        assert units, self.failure_text()
        count = self.index()["count"]
        return [units[0].read_model(variant_file(variant_id(i)), Variant) for i in range(count)]


def run_variations(storage: Storage, scene: str, run: str = "r1", **env: str) -> Outcome:
    """Run the real variations stage in-process."""
    code = run_stage(VariationsStage(), job_env(storage, scene, run, **env))
    return Outcome(code, storage, scene, run)


# ------------------------------------------------------------------ independent geometry
def rotation_matrix(q: Quat) -> list[list[float]]:
    """3x3 rotation matrix of a unit quaternion [w, x, y, z]."""
    w, x, y, z = q
    return [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]


def box_points(size: Vec3, position: Vec3, q: Quat) -> list[Vec3]:
    """The 8 corners of a box in the world."""
    r = rotation_matrix(q)
    out = []
    for sx in (-0.5, 0.5):
        for sy in (-0.5, 0.5):
            for sz in (-0.5, 0.5):
                local = (sx * size[0], sy * size[1], sz * size[2])
                out.append(
                    tuple(position[i] + sum(r[i][j] * local[j] for j in range(3)) for i in range(3))
                )
    return out  # type: ignore[return-value]


def hull(points: list[Pt]) -> list[Pt]:
    """Convex hull, counter-clockwise (Andrew's monotone chain)."""
    pts = sorted({(round(x, 12), round(y, 12)) for x, y in points})
    if len(pts) <= 2:
        return pts

    def cross(o: Pt, a: Pt, b: Pt) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Pt] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Pt] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def shadow(size: Vec3, position: Vec3, q: Quat) -> list[Pt]:
    """The box's shadow on the xy plane (convex polygon)."""
    return hull([(p[0], p[1]) for p in box_points(size, position, q)])


def z_range(size: Vec3, position: Vec3, q: Quat) -> tuple[float, float]:
    """Lowest and highest world z of a box."""
    zs = [p[2] for p in box_points(size, position, q)]
    return min(zs), max(zs)


def point_in(poly: list[Pt], p: Pt, tol: float = 1e-7) -> bool:
    """Is ``p`` inside (or within ``tol`` of) the counter-clockwise convex polygon?"""
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        edge = math.hypot(b[0] - a[0], b[1] - a[1])
        if (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) < -tol * edge:
            return False
    return True


def _seg_dist(p: Pt, a: Pt, b: Pt) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    n2 = dx * dx + dy * dy
    t = 0.0 if n2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / n2))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def _segments_cross(a: Pt, b: Pt, c: Pt, d: Pt) -> bool:
    def orient(p: Pt, q: Pt, r: Pt) -> float:
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    return (orient(a, b, c) * orient(a, b, d) < 0) and (orient(c, d, a) * orient(c, d, b) < 0)


def distance(p1: list[Pt], p2: list[Pt]) -> float:
    """Euclidean distance between two convex polygons (0 when they intersect)."""
    if any(point_in(p1, p, 0.0) for p in p2) or any(point_in(p2, p, 0.0) for p in p1):
        return 0.0
    e1 = [(p1[i], p1[(i + 1) % len(p1)]) for i in range(len(p1))]
    e2 = [(p2[i], p2[(i + 1) % len(p2)]) for i in range(len(p2))]
    if any(_segments_cross(a, b, c, d) for a, b in e1 for c, d in e2):
        return 0.0
    gaps = [_seg_dist(p, a, b) for p in p1 for a, b in e2]
    gaps += [_seg_dist(p, a, b) for p in p2 for a, b in e1]
    return min(gaps)


def qconj(q: Quat) -> Quat:
    """Conjugate."""
    return (q[0], -q[1], -q[2], -q[3])


def qmul(a: Quat, b: Quat) -> Quat:
    """Hamilton product."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def angle_between(q1: Quat, q2: Quat) -> float:
    """Rotation angle (radians) taking ``q1`` to ``q2``."""
    d = qmul(q2, qconj(q1))
    return 2 * math.acos(min(1.0, abs(d[0])))
