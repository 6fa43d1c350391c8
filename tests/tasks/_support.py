"""Helpers of the tasks tests: build upstream documents, commit them, check tasks independently.

The checks here re-derive geometry with their own code (rotation matrices, polygon
clipping, distances) rather than calling ``bp_tasks``, so a bug in the stage's geometry
cannot hide behind the same bug in its test.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from bp_contracts.assembly import Assembly, RobotPlacement, RobotSource
from bp_contracts.catalog import load_catalog
from bp_contracts.simready import Articulation, CollisionPart, Inertia, SimObject, SimreadyManifest
from bp_contracts.tasks import TaskSet
from bp_contracts.variation import ObjectPose, Variant
from bp_sdk.commit import read_committed
from bp_sdk.digest import sha256_bytes, sha256_json
from bp_sdk.layout import run_dir
from bp_sdk.markers import FailureMarker
from bp_sdk.runner import Stage, StageContext, StageResult, run_stage
from bp_sdk.settings import JobSettings
from bp_sdk.storage import Storage
from bp_tasks.stage import TasksStage

from tests.conftest import job_env

SHOULDER_ABOVE_MOUNT = 0.333
MAX_REACH = 0.80
MIN_HORIZONTAL = 0.25
TOL = 1e-6
CONTAINERS = {"bowl", "basket"}
Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]


# ------------------------------------------------------------------ building documents
def sim_object(
    oid: str,
    category: str,
    size: Vec3,
    pos: Vec3,
    *,
    support: str = "floor",
    quat: Quat = (1.0, 0.0, 0.0, 0.0),
    graspable: bool | None = None,
    static: bool | None = None,
    rgba: tuple[float, float, float, float] = (0.5, 0.5, 0.5, 1.0),
    articulation: Articulation | None = None,
    mass: float = 0.2,
) -> SimObject:
    """A simready object with plausible physics; role and graspability from the catalog."""
    prior = load_catalog().get(category)
    role = prior.role if prior else "object"
    grasp = (prior.graspable if prior else False) if graspable is None else graspable
    shape = prior.shape if prior and prior.shape in ("box", "cylinder", "sphere") else "box"
    half = (size[0] / 2, size[1] / 2, size[2] / 2)
    part_size = {
        "box": half,
        "cylinder": (min(half[0], half[1]), half[2], 0.0),
        "sphere": (min(half), 0.0, 0.0),
    }[shape]
    return SimObject(
        id=oid,
        category=category,
        role=role,
        static=role in ("support", "fixture") if static is None else static,
        graspable=grasp,
        graspable_reason=f"{min(size[0], size[1]):.3f} m wide" + ("" if grasp else ": too wide"),
        support=support,
        size_m=size,
        position_m=pos,
        orientation_wxyz=quat,
        material="wood",
        density_kg_m3=600.0,
        volume_m3=size[0] * size[1] * size[2],
        volume_source="primitive",
        inertia=Inertia(mass_kg=mass, diag_kg_m2=(1e-4, 1e-4, 1e-4)),
        friction=(0.8, 0.02, 0.001),
        restitution=0.1,
        rgba=rgba,
        parts=[CollisionPart(name="body", shape=shape, size=part_size)],
        articulation=articulation,
    )


def drawer(
    width: float = 0.4, depth: float = 0.4, travel: float = 0.3, handle_z: float = 0.0
) -> Articulation:
    """A drawer sliding out along the object's -y (its front), handle at the front."""
    return Articulation(
        kind="drawer",
        joint="slide",
        axis=(0.0, -1.0, 0.0),
        anchor_m=(0.0, 0.0, handle_z),
        range=(0.0, travel),
        damping=1.0,
        frictionloss=0.1,
        part_pos_m=(0.0, 0.0, handle_z),
        parts=[CollisionPart(name="front", shape="box", size=(width / 2 - 0.02, 0.01, 0.05))],
        inertia=Inertia(mass_kg=1.0, diag_kg_m2=(0.01, 0.01, 0.01)),
        handle_m=(0.0, -depth / 2 - 0.03, 0.0),
        open_direction=(0.0, -1.0, 0.0),
    )


def door(width: float = 0.4, depth: float = 0.4) -> Articulation:
    """A door hinged about the object's front-left vertical edge, opening towards -y."""
    return Articulation(
        kind="door",
        joint="hinge",
        axis=(0.0, 0.0, 1.0),
        anchor_m=(-width / 2, -depth / 2, 0.0),
        range=(-math.radians(110), 0.0),
        damping=1.0,
        frictionloss=0.1,
        part_pos_m=(0.0, -depth / 2, 0.0),
        parts=[CollisionPart(name="panel", shape="box", size=(width / 2, 0.01, 0.2))],
        inertia=Inertia(mass_kg=1.0, diag_kg_m2=(0.01, 0.01, 0.01)),
        handle_m=(width / 2 - 0.05, -0.03, 0.0),
        open_direction=(0.0, -1.0, 0.0),
    )


def simready(scene: str, objects: list[SimObject]) -> SimreadyManifest:
    """A simready manifest holding ``objects``."""
    return SimreadyManifest(
        scene_id=scene,
        scene_manifest_sha256="0" * 64,
        max_grasp_width_m=0.078,
        max_grasp_mass_kg=1.0,
        materials_version="1",
        catalog_version="2",
        objects=objects,
    )


def assembly(
    scene: str, base: Vec3 = (0.0, -0.6, 0.0), yaw: float = 90.0, pedestal: float = 0.65
) -> Assembly:
    """An assembly with a Panda at ``base`` facing ``yaw`` on a pedestal."""
    return Assembly(
        scene_id=scene,
        simready_sha256="0" * 64,
        timestep_s=0.002,
        robot=RobotPlacement(
            robot="panda",
            base_position_m=base,
            yaw_deg=yaw,
            pedestal_height_m=pedestal,
            home_qpos=[0.0, -0.785, 0.0, -2.356, 0.0, 1.571, 0.785, 0.04, 0.04],
            source=RobotSource(package="robosuite", version="1.5.2", files=[], license="MIT"),
            placed_by="blueprint",
        ),
        cameras=[],
        lights=[],
        mujoco_version="3.3.0",
        files={},
    )


def variant(
    scene: str,
    index: int,
    poses: dict[str, tuple[Vec3, Quat]] | None = None,
    distractors: Iterable[SimObject] = (),
    colours: dict[str, tuple[float, float, float, float]] | None = None,
) -> Variant:
    """Variant ``index`` with the given poses, distractors and colours."""
    return Variant(
        scene_id=scene,
        variant_id=f"v{index:04d}",
        index=index,
        seed=index,
        nominal=index == 0 and not poses,
        poses=[
            ObjectPose(id=k, position_m=p, orientation_wxyz=q)
            for k, (p, q) in sorted((poses or {}).items())
        ],
        colours=colours or {},
        distractors=list(distractors),
        lights=[],
        cameras=[],
        ranges={},
        placement_attempts=0,
    )


# ------------------------------------------------------------------ committing upstream outputs
class _Publish(Stage[JobSettings]):
    """Commits given files as if the named upstream stage had written them."""

    distribution = "bp-sdk"
    settings_cls = JobSettings
    name: ClassVar[str] = "publish"

    def __init__(self, name: str, files: dict[str, bytes]) -> None:
        self.name = name  # type: ignore[misc]
        self.files = files

    def inputs(self, settings: JobSettings, storage: Storage) -> dict[str, str]:
        return {"files": sha256_json({k: sha256_bytes(v) for k, v in sorted(self.files.items())})}

    def run(self, ctx: StageContext[JobSettings]) -> StageResult:
        for name, data in sorted(self.files.items()):
            ctx.output.write_bytes(name, data)
        return StageResult()


def _dump(model: Any) -> bytes:
    return (
        json.dumps(model.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True) + "\n"
    ).encode()


def variation_files(variants: list[Variant]) -> dict[str, bytes]:
    """``variations/index.json`` and one file per variant, as variations writes them."""
    files = {f"variations/{v.variant_id}.json": _dump(v) for v in variants}
    index = {
        "schema": "bp.variations_index/v1",
        "scene_id": variants[0].scene_id if variants else "x",
        "count": len(variants),
        "variants": [
            {
                "variant_id": v.variant_id,
                "file": f"variations/{v.variant_id}.json",
                "index": v.index,
            }
            for v in variants
        ],
    }
    files["variations/index.json"] = json.dumps(index, indent=2, sort_keys=True).encode()
    return files


def publish(
    storage: Storage,
    scene: str,
    run: str,
    sim: SimreadyManifest,
    asm: Assembly,
    variants: list[Variant],
) -> None:
    """Commit the three upstream stages of ``run``."""
    for name, files in (
        ("simready", {"simready_manifest.json": _dump(sim)}),
        ("assemble", {"assembly.json": _dump(asm)}),
        ("variations", variation_files(variants)),
    ):
        code = run_stage(_Publish(name, files), job_env(storage, scene, run))
        assert code == 0, f"could not commit {name}"


@dataclass
class Outcome:
    """Exit code of one tasks run plus read access to what it left."""

    code: int
    storage: Storage
    scene: str
    run: str

    def files(self) -> dict[str, bytes]:
        """Every committed file of the tasks stage, verified against the commit record."""
        units = read_committed(self.storage, self.scene, self.run, "tasks")
        assert units, f"tasks not committed (exit {self.code}): {self.marker_text()}"
        return {name: units[0].read_bytes(name) for name in sorted(units[0].record.files)}

    def taskset(self) -> TaskSet:
        """The committed tasks.json, validated."""
        return TaskSet.model_validate_json(self.files()["tasks.json"])

    def stored_keys(self) -> list[str]:
        """Every stored key of the run's tasks stage."""
        return [i.path for i in self.storage.list(run_dir(self.scene, self.run) + "/tasks/")]

    def markers(self) -> list[FailureMarker]:
        """Every failure marker of the tasks stage."""
        return [
            FailureMarker.model_validate_json(self.storage.read_bytes(k))
            for k in self.stored_keys()
            if k.endswith("_FAILURE.json")
        ]

    def marker_text(self) -> str:
        """The first marker's message and problems, for assertion messages."""
        ms = self.markers()
        return "no marker" if not ms else ms[0].message + "\n" + "\n".join(ms[0].problems)


def run_tasks(storage: Storage, scene: str, run: str = "r1", **env: str) -> Outcome:
    """Run the real tasks stage in-process."""
    return Outcome(
        run_stage(TasksStage(), job_env(storage, scene, run, **env)), storage, scene, run
    )


# ------------------------------------------------------------------ independent geometry
def rotation_matrix(q: Quat) -> list[list[float]]:
    """3x3 rotation matrix of a unit quaternion [w, x, y, z]."""
    w, x, y, z = q
    return [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]


def corners(pos: Vec3, q: Quat, size: Vec3) -> list[Vec3]:
    """The 8 corners of an oriented box."""
    r = rotation_matrix(q)
    out = []
    for a in (-0.5, 0.5):
        for b in (-0.5, 0.5):
            for c in (-0.5, 0.5):
                local = (a * size[0], b * size[1], c * size[2])
                out.append(
                    tuple(pos[i] + sum(r[i][j] * local[j] for j in range(3)) for i in range(3))
                )  # type: ignore[misc]
    return out


def z_range(pos: Vec3, q: Quat, size: Vec3) -> tuple[float, float]:
    """Lowest and highest world z of an oriented box."""
    zs = [c[2] for c in corners(pos, q, size)]
    return min(zs), max(zs)


def hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Convex hull by gift wrapping (counter-clockwise)."""
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts
    start = pts[0]
    out = [start]
    while True:
        cand = pts[0] if pts[0] != out[-1] else pts[1]
        for p in pts:
            cross = (cand[0] - out[-1][0]) * (p[1] - out[-1][1]) - (cand[1] - out[-1][1]) * (
                p[0] - out[-1][0]
            )
            if cross < 0 or (cross == 0 and math.dist(out[-1], p) > math.dist(out[-1], cand)):
                cand = p
        if cand == start:
            return out
        out.append(cand)


def clip_area(poly: list[tuple[float, float]], x0: float, y0: float, x1: float, y1: float) -> float:
    """Area of ``poly`` inside the rectangle [x0, x1] x [y0, y1] (Sutherland-Hodgman, then shoelace)."""

    def clip(pts: list[tuple[float, float]], inside: Any, cut: Any) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for i, p in enumerate(pts):
            q = pts[i - 1]
            if inside(p):
                if not inside(q):
                    out.append(cut(q, p))
                out.append(p)
            elif inside(q):
                out.append(cut(q, p))
        return out

    def at_x(x: float) -> Any:
        return lambda a, b: (x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0]))

    def at_y(y: float) -> Any:
        return lambda a, b: (a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y)

    pts = list(poly)
    for inside, cut in (
        (lambda p: p[0] >= x0, at_x(x0)),
        (lambda p: p[0] <= x1, at_x(x1)),
        (lambda p: p[1] >= y0, at_y(y0)),
        (lambda p: p[1] <= y1, at_y(y1)),
    ):
        if not pts:
            return 0.0
        pts = clip(pts, inside, cut)
    return (
        abs(sum(pts[i - 1][0] * pts[i][1] - pts[i][0] * pts[i - 1][1] for i in range(len(pts)))) / 2
    )


def footprint(obj: SimObject, pos: Vec3, q: Quat) -> list[tuple[float, float]]:
    """The object's outline seen from above at pose (pos, q)."""
    return hull([(c[0], c[1]) for c in corners(pos, q, obj.size_m)])


def shoulder(asm: Assembly) -> Vec3:
    """The robot's shoulder: base + pedestal + 0.333 m."""
    b = asm.robot.base_position_m
    return (b[0], b[1], b[2] + asm.robot.pedestal_height_m + SHOULDER_ABOVE_MOUNT)


def reach_ok(asm: Assembly, p: Vec3, max_reach: float = MAX_REACH) -> bool:
    """Within the maximum reach of the shoulder and beyond the minimum horizontal reach."""
    s = shoulder(asm)
    return (
        math.dist(p, s) <= max_reach + TOL
        and math.hypot(p[0] - s[0], p[1] - s[1]) > MIN_HORIZONTAL - TOL
    )


# ------------------------------------------------------------------ checking a task set
def world_of(sim: SimreadyManifest, v: Variant) -> dict[str, tuple[SimObject, Vec3, Quat]]:
    """Every body of a variant: (object, position, orientation), distractors included."""
    out = {o.id: (o, o.position_m, o.orientation_wxyz) for o in sim.objects}
    for p in v.poses:
        out[p.id] = (out[p.id][0], p.position_m, p.orientation_wxyz)
    for d in v.distractors:
        out[d.id] = (d, d.position_m, d.orientation_wxyz)
    return out


def support_chain(bodies: dict[str, tuple[SimObject, Vec3, Quat]], oid: str) -> set[str]:
    """``oid`` and everything under it."""
    out = set()
    while oid in bodies and oid not in out:
        out.add(oid)
        oid = bodies[oid][0].support
    return out


def inside_support(region: Any, bodies: dict[str, tuple[SimObject, Vec3, Quat]]) -> bool:
    """The region's footprint lies on the top of its support (a disc for round supports)."""
    if region.support == "floor":
        return True
    obj, pos, q = bodies[region.support]
    (cx, cy, _), (hx, hy, _) = region.center_m, region.half_extents_m
    rect = [(cx - hx, cy - hy), (cx + hx, cy - hy), (cx + hx, cy + hy), (cx - hx, cy + hy)]
    prior = load_catalog().get(obj.category)
    if prior is not None and prior.shape == "cylinder":
        r = min(obj.size_m[0], obj.size_m[1]) / 2
        return all(math.hypot(x - pos[0], y - pos[1]) <= r + TOL for x, y in rect)
    outline = footprint(obj, pos, q)
    area = clip_area(outline, cx - hx, cy - hy, cx + hx, cy + hy)
    return area >= 4 * hx * hy - 1e-7


def task_problems(
    ts: TaskSet,
    sim: SimreadyManifest,
    asm: Assembly,
    variants: list[Variant],
    max_reach: float = MAX_REACH,
) -> list[str]:
    """Everything wrong with a task set, recomputed independently of bp_tasks."""
    bad: list[str] = []
    objs = {o.id: o for o in sim.objects}
    by_variant = {v.variant_id: v for v in variants}
    if ts.variants != [v.variant_id for v in variants]:
        bad.append(f"variants {ts.variants}")
    ids = [t.task_id for t in ts.tasks]
    if len(ids) != len(set(ids)):
        bad.append("task ids repeat")
    for t in ts.tasks:
        where = t.task_id
        if t.object not in objs:
            bad.append(f"{where}: unknown object {t.object}")
            continue
        words = objs[t.object].category.replace("_", " ")
        texts = [t.instruction, *t.paraphrases]
        if not (2 <= len(t.paraphrases) <= 3) or len(set(texts)) != len(texts):
            bad.append(f"{where}: paraphrases {t.paraphrases}")
        for text in texts:
            if not text.strip() or words not in text.lower():
                bad.append(f"{where}: {text!r} does not mention the {words}")
        if not t.targets or not set(t.targets) <= set(by_variant):
            bad.append(f"{where}: targets for {sorted(t.targets)}")
        if t.time_limit_s <= 0:
            bad.append(f"{where}: time limit {t.time_limit_s}")
        bad += _predicate_problems(t)
        for vid, region in t.targets.items():
            v = by_variant.get(vid)
            if v is None:
                continue
            bodies = world_of(sim, v)
            _, start, _ = bodies[t.object]
            need = (
                [region.center_m]
                if t.kind.endswith(("drawer", "door"))
                else [start, region.center_m]
            )
            for p in need:
                if not reach_ok(asm, p, max_reach):
                    bad.append(f"{where}/{vid}: {p} is out of reach")
                if math.dist(p, shoulder(asm)) > t.reach_m + TOL:
                    bad.append(f"{where}/{vid}: reach_m {t.reach_m} < distance to {p}")
            if t.kind in ("pick_place", "push"):
                if not inside_support(region, bodies):
                    bad.append(f"{where}/{vid}: region is not inside its support {region.support}")
                bad += [f"{where}/{vid}: {b}" for b in _blockers(t, region, bodies)]
            if t.kind == "pick_place" and region.support == objs[t.object].support:
                moved = math.hypot(region.center_m[0] - start[0], region.center_m[1] - start[1])
                if moved < 0.15 - TOL:
                    bad.append(f"{where}/{vid}: target only {moved:.3f} m from the start")
    for oid in ts.skipped:
        if oid not in objs or any(t.object == oid for t in ts.tasks):
            bad.append(f"skipped {oid} is unknown or has a task")
    for o in sim.objects:
        if o.id not in ts.skipped and not any(t.object == o.id for t in ts.tasks):
            bad.append(f"{o.id} has neither a task nor a skip reason")
    return bad


def _predicate_problems(t: Any) -> list[str]:
    kinds = [p.kind for p in t.success]
    expected = {
        "pick_place": ["object_in_region", "object_at_rest", "gripper_released"],
        "push": ["object_displaced", "object_at_rest"],
        "open_drawer": ["joint_at_least"],
        "open_door": ["joint_at_least"],
        "close_drawer": ["joint_at_most"],
        "close_door": ["joint_at_most"],
    }[t.kind]
    bad = []
    if kinds != expected:
        bad.append(f"{t.task_id}: predicates {kinds}")
    for p in t.success:
        if p.object != t.object:
            bad.append(f"{t.task_id}: predicate on {p.object}")
        if p.kind == "object_at_rest" and p.value != 0.05:
            bad.append(f"{t.task_id}: at rest below {p.value}")
        if p.kind == "object_displaced" and (
            p.value is None
            or p.value < 0.10 - TOL
            or p.direction is None
            or abs(math.hypot(*p.direction) - 1) > 1e-6
        ):
            bad.append(f"{t.task_id}: displaced {p.value} {p.direction}")
        if p.kind in ("joint_at_least", "joint_at_most") and not (
            p.value is not None and 0 <= p.value <= 1
        ):
            bad.append(f"{t.task_id}: joint fraction {p.value}")
    return bad


def _blockers(t: Any, region: Any, bodies: dict[str, tuple[SimObject, Vec3, Quat]]) -> list[str]:
    (cx, cy, cz), (hx, hy, hz) = region.center_m, region.half_extents_m
    if region.support == "floor":
        top = 0.0
    else:
        obj, pos, q = bodies[region.support]
        top = z_range(pos, q, obj.size_m)[1]
    container = region.support in bodies and bodies[region.support][0].category in CONTAINERS
    lo = (cz - hz if container else top) + 0.005
    hi = cz + hz
    skip = support_chain(bodies, region.support)
    if t.kind == "push":
        skip.add(t.object)
    out = []
    for oid, (obj, pos, q) in bodies.items():
        if oid in skip:
            continue
        zlo, zhi = z_range(pos, q, obj.size_m)
        if zhi <= lo or zlo >= hi:
            continue
        area = clip_area(footprint(obj, pos, q), cx - hx, cy - hy, cx + hx, cy + hy)
        if area > 1e-8:
            out.append(f"{oid} overlaps the region by {area * 1e4:.2f} cm²")
    return out


def republish(storage: Storage, scene: str, src: str, dst: str) -> None:
    """Commit the upstream outputs of run ``src`` again, byte for byte, as run ``dst``."""
    for name in ("simready", "assemble", "variations"):
        units = read_committed(storage, scene, src, name)
        assert units, f"{name} of {scene}/{src} is not committed"
        files = {f: units[0].read_bytes(f) for f in sorted(units[0].record.files)}
        code = run_stage(_Publish(name, files), job_env(storage, scene, dst))
        assert code == 0, f"could not commit {name} as {dst}"


def committed_upstream(
    storage: Storage, scene: str, run: str
) -> tuple[SimreadyManifest, Assembly, list[Variant]]:
    """The simready manifest, assembly and variants a run committed (read here, not through bp_tasks)."""
    sim = read_committed(storage, scene, run, "simready")[0].read_model(
        "simready_manifest.json", SimreadyManifest
    )  # type: ignore[index]
    asm = read_committed(storage, scene, run, "assemble")[0].read_model("assembly.json", Assembly)  # type: ignore[index]
    var = read_committed(storage, scene, run, "variations")[0]  # type: ignore[index]
    index = json.loads(var.read_bytes("variations/index.json"))
    variants = [
        var.read_model(e["file"], Variant)
        for e in sorted(index["variants"], key=lambda e: e["index"])
    ]
    return sim, asm, variants
