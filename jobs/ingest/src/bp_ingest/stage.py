"""The ingest stage: blueprint → validated, normalised, calibrated ``scene_manifest.json``.

Two passes over bounded memory: the reader streams the blueprint, validating each
object and spooling it to a local temporary file; scene-wide checks (ids, supports,
meshes, header) follow; then the spool is normalised and streamed into the manifest.
Any problem anywhere → one :class:`InputError` listing them all, and nothing is written.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any, NamedTuple

from bp_contracts.catalog import load_catalog
from bp_contracts.geometry import Quat, Vec3, rvec
from bp_contracts.scene_manifest import (
    SCENE_MANIFEST_FILE,
    SCENE_MANIFEST_SCHEMA,
    Calibration,
    ManifestObject,
    RobotBase,
    ScaleChange,
)
from bp_sdk.digest import sha256_stream
from bp_sdk.errors import InputError, NotFoundError, Problem
from bp_sdk.layout import input_dir
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage, join

from bp_ingest import limits
from bp_ingest.blueprint import (
    FLOOR,
    UNIT_FACTORS,
    BlueprintHeader,
    validate_header,
    validate_object,
)
from bp_ingest.geometry import (
    characteristic,
    qnormalize,
    scale_about_base,
    y_up_to_z_up_orientation,
    y_up_to_z_up_point,
    y_up_to_z_up_size,
)
from bp_ingest.preview import MAX_OBJECTS as MAX_PREVIEW
from bp_ingest.preview import render_svg
from bp_ingest.reader import read_blueprint
from bp_ingest.settings import IngestSettings

BLUEPRINT = "scene.json"
PREVIEW = "scene_topdown.svg"
MAX_PROBLEMS = 1000
MIN_OBJECTS_FOR_SCENE_SCALE = 3
PROGRESS_EVERY = 1024


class IngestStage(Stage[IngestSettings]):
    """Validate and normalise a scene blueprint."""

    name = "ingest"
    distribution = "bp-ingest"
    settings_cls = IngestSettings

    def inputs(self, settings: IngestSettings, storage: Storage) -> dict[str, str]:
        """sha256 of every file under ``scenes/<scene>/input/``."""
        prefix = input_dir(settings.scene_id) + "/"
        digests: dict[str, str] = {}
        for info in storage.list(prefix):
            with storage.open_read(info.path) as f:
                digests["input/" + info.path[len(prefix) :]] = sha256_stream(f)[0]
        if "input/" + BLUEPRINT not in digests:
            raise NotFoundError(
                f"no blueprint at {prefix}{BLUEPRINT}",
                next_step=f"Upload the scene folder first, e.g. `bp stage ingest --scene examples/scenes/{settings.scene_id}`.",
            )
        self._inputs = digests
        return digests

    def run(self, ctx: StageContext[IngestSettings]) -> StageResult:
        """Validate, normalise, calibrate and write the manifest."""
        s = ctx.settings
        key = join(input_dir(s.scene_id), BLUEPRINT)
        info = ctx.storage.stat(key)
        if info is None:  # pragma: no cover - inputs() already checked
            raise NotFoundError(f"no blueprint at {key}")
        if info.size > s.ingest_max_blueprint_bytes:
            raise InputError(
                "blueprint too large",
                problems=[
                    Problem(
                        "$",
                        f"file is {info.size} bytes, limit {s.ingest_max_blueprint_bytes}",
                        "split the scene or raise INGEST_MAX_BLUEPRINT_BYTES",
                    )
                ],
            )
        inputs = getattr(self, "_inputs", None) or self.inputs(s, ctx.storage)
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as spool:
            scan = _Scan(ctx, spool)
            result = read_blueprint(
                lambda: ctx.storage.open_read(key), scan.on_object, s.ingest_max_objects
            )
            header = scan.finish(result, inputs)
            spool.seek(0)
            summary = _write_manifest(ctx, header, scan, spool, inputs)
        return StageResult(summary=summary)


class _Scan:
    """Pass 1: validate objects as they stream by; keep only what scene-wide checks need."""

    def __init__(self, ctx: StageContext[IngestSettings], spool: IO[str]) -> None:
        self.ctx = ctx
        self.spool = spool
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.first_index: dict[str, int] = {}
        self.supports: dict[str, tuple[int, str]] = {}
        self.meshes: dict[str, int] = {}
        self.valid = 0
        self.catalog = load_catalog()
        # size / prior ratio in blueprint units (the unit factor is applied once the header is known)
        self.raw_ratios = array("d")
        self.invalid_ids: set[str] = set()
        self.bounds = limits.Bounds()  # extremes of the lengths, for the limits (bp_ingest.limits)
        self.indices = array("l")
        self.median: float | None = None  # median size/prior ratio, in metres
        self.scene_scale = 1.0

    def _problem(self, items: list[Problem]) -> None:
        self.problem_count += len(items)
        room = MAX_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(items[:room])

    def on_object(self, index: int, raw: Any) -> None:
        obj, problems = validate_object(raw, index)
        if obj is None:
            self._problem(problems)
            if isinstance(raw, dict) and isinstance(raw.get("id"), str):
                self.invalid_ids.add(raw["id"][:200])
            return
        if obj.id in self.first_index:
            self._problem(
                [
                    Problem(
                        f"$.objects[{index}].id",
                        f"duplicate id {obj.id!r} (first used by $.objects[{self.first_index[obj.id]}])",
                        "give every object a unique id",
                    )
                ]
            )
            return
        self.first_index[obj.id] = index
        self.supports[obj.id] = (index, obj.support)
        if obj.mesh:
            self.meshes.setdefault(obj.mesh, index)
        pose = obj.pose
        row = _Spooled(
            obj.id,
            obj.category,
            obj.size,
            pose.position,
            pose.orientation_wxyz,
            obj.support,
            obj.mesh,
            obj.material,
            obj.static,
        )
        self.spool.write(json.dumps(row) + "\n")
        self.indices.append(index)
        self.bounds.add(obj.size, pose.position)
        prior = self.catalog.get(obj.category)
        if prior is not None:
            self.raw_ratios.append(
                characteristic((obj.size[0], obj.size[1], obj.size[2])) / prior.scale_m
            )
        self.valid += 1
        if index % PROGRESS_EVERY == 0:
            self.ctx.progress("objects validated", index + 1)

    def finish(self, result: Any, inputs: dict[str, str]) -> BlueprintHeader:
        """Scene-wide checks; raise one InputError with every problem found."""
        self._problem(result.problems)
        if result.fatal:
            raise InputError(
                f"blueprint {self.ctx.settings.scene_id!r} is invalid ({self.problem_count} problem{'s' if self.problem_count != 1 else ''})",
                problems=self.problems,
            )
        header, hp = validate_header(result.header)
        self._problem(hp)
        if not result.saw_objects and not any(p.where == "$" for p in result.problems):
            self._problem(
                [Problem("$.objects", "required key is missing", 'add "objects": [{...}, ...]')]
            )
        elif (
            result.saw_objects
            and result.object_count == 0
            and not any(p.where == "$.objects" for p in result.problems)
        ):
            self._problem([Problem("$.objects", "no objects", "a scene needs at least one object")])
        for oid, (index, support) in self.supports.items():
            if support == FLOOR:
                continue
            if support == oid:
                self._problem(
                    [
                        Problem(
                            f"$.objects[{index}].support",
                            "an object cannot support itself",
                            "name the object it rests on, or 'floor'",
                        )
                    ]
                )
            elif support not in self.supports and support not in self.invalid_ids:
                self._problem(
                    [
                        Problem(
                            f"$.objects[{index}].support",
                            f"unknown object {support!r}",
                            "name an existing object id, or 'floor'",
                        )
                    ]
                )
        self._problem(self._cycles())
        for mesh, index in sorted(self.meshes.items()):
            if "input/" + mesh not in inputs:
                self._problem(
                    [
                        Problem(
                            f"$.objects[{index}].mesh",
                            f"mesh {mesh!r} not found under input/",
                            "upload it next to scene.json or fix the path",
                        )
                    ]
                )
        self._limits(header, result.header)
        if self.problem_count or header is None:
            raise InputError(
                f"blueprint {self.ctx.settings.scene_id!r} is invalid ({self.problem_count} problem{'s' if self.problem_count != 1 else ''})",
                problems=self.problems,
            )
        return header

    def _limits(self, header: BlueprintHeader | None, raw: dict[str, Any]) -> None:
        """Lengths outside the documented limits (bp_ingest.limits), in metres; the units
        and robot base of an otherwise invalid header still count when valid themselves."""
        units = header.units if header is not None else raw.get("units")
        if not isinstance(units, str) or units not in UNIT_FACTORS:
            return
        k = UNIT_FACTORS[units]
        robot = limits.robot_position(header.robot_base if header else raw.get("robot_base"))
        found: list[Problem] = []
        if self.bounds.out_of_range(k):
            for index, row in self._spooled():
                found += limits.object_problems(index, row.id, row.size, row.position, units, k)
        if robot is not None:
            found += limits.robot_base_problems(robot, units, k)
        if not found and header is not None:
            tol = self.ctx.settings.ingest_scale_tolerance
            self.median, self.scene_scale = _scene_scale(self.raw_ratios, k, tol)
            reach = limits.Reach()
            if self.bounds.may_reach_too_far(k, self.scene_scale):
                for index, row in self._spooled():
                    reach.add(index, row.id, row.size, row.position, row.orientation_wxyz)
            found = reach.problems(units, k, self.scene_scale, robot)
        self._problem(found)

    def _spooled(self) -> Iterator[tuple[int, _Spooled]]:
        """Every spooled object with its blueprint index (then back to the spool's end)."""
        self.spool.seek(0)
        for index, line in zip(self.indices, self.spool, strict=True):
            yield index, _Spooled(*json.loads(line))
        self.spool.seek(0, 2)

    def _cycles(self) -> list[Problem]:
        found: list[Problem] = []
        state: dict[str, int] = {}
        for start in self.supports:
            path: list[str] = []
            node = start
            while node in self.supports and state.get(node) is None:
                state[node] = 1
                path.append(node)
                node = self.supports[node][1]
            if node in self.supports and state.get(node) == 1 and node in path and path[-1] != node:
                cycle = path[path.index(node) :]
                index = self.supports[cycle[0]][0]
                found.append(
                    Problem(
                        f"$.objects[{index}].support",
                        "support cycle: " + " -> ".join([*cycle, cycle[0]]),
                        "objects must rest on the floor through a chain without loops",
                    )
                )
            for p in path:
                state[p] = 2
        return found


def _scene_scale(raw_ratios: array[float], k: float, tol: float) -> tuple[float | None, float]:
    """The median size/prior ratio in metres and the scene scale it calls for (1 when
    within [1/tol, tol] or with too few objects of a known category)."""
    ratios = array("d", (r * k for r in raw_ratios))
    median = statistics.median(ratios) if ratios else None
    if median is None or len(ratios) < MIN_OBJECTS_FOR_SCENE_SCALE or 1 / tol <= median <= tol:
        return median, 1.0
    return median, 1.0 / median


def _v3(v: tuple[float, ...]) -> Vec3:
    return (v[0], v[1], v[2])


def _q(v: tuple[float, ...]) -> Quat:
    return (v[0], v[1], v[2], v[3])


class _Spooled(NamedTuple):
    """A validated object as spooled between the passes (a JSON list per line)."""

    id: str
    category: str
    size: list[float]
    position: list[float]
    orientation_wxyz: list[float] | None
    support: str
    mesh: str | None
    material: str | None
    static: bool | None


def _convert(header: BlueprintHeader, obj: _Spooled) -> tuple[Vec3, Quat, Vec3, float]:
    k = UNIT_FACTORS[header.units]
    pos: Vec3 = (obj.position[0] * k, obj.position[1] * k, obj.position[2] * k)
    size: Vec3 = (obj.size[0] * k, obj.size[1] * k, obj.size[2] * k)
    q_in = obj.orientation_wxyz or [1.0, 0.0, 0.0, 0.0]
    q, norm = qnormalize((q_in[0], q_in[1], q_in[2], q_in[3]))
    if header.up_axis == "y":
        pos, size, q = y_up_to_z_up_point(pos), y_up_to_z_up_size(size), y_up_to_z_up_orientation(q)
    return pos, q, size, norm


def _write_manifest(
    ctx: StageContext[IngestSettings],
    header: BlueprintHeader,
    scan: _Scan,
    spool: IO[str],
    inputs: dict[str, str],
) -> dict[str, Any]:
    s = ctx.settings
    catalog = load_catalog()
    # scene scale: median ratio of size to prior over objects with a known category
    median, scene_scale = scan.median, scan.scene_scale  # worked out by _Scan.finish
    changes: list[ScaleChange] = []
    warnings: list[str] = []
    if median is not None and len(scan.raw_ratios) >= MIN_OBJECTS_FOR_SCENE_SCALE:
        tol = s.ingest_scale_tolerance
        if scene_scale != 1.0:
            changes.append(
                ScaleChange(
                    target="scene",
                    factor=round(scene_scale, 9),
                    reason=(
                        f"objects are a median {median:.3g}x their category priors (tolerance {tol:g}x); "
                        f"the whole scene was scaled by {scene_scale:.4g} about the origin"
                    ),
                )
            )
    elif median is not None:
        warnings.append(
            f"only {len(scan.raw_ratios)} objects with a known category: scene scale not calibrated"
        )

    unknown: Counter[str] = Counter()
    kept: list[ManifestObject] = []  # for the preview, bounded
    renormalised = 0
    spool.seek(0)
    with ctx.output.open(SCENE_MANIFEST_FILE) as out:
        head: dict[str, Any] = {
            "schema": SCENE_MANIFEST_SCHEMA,
            "scene_id": s.scene_id,
            "name": header.name,
            "description": header.description,
            "license": header.license,
            "blueprint_sha256": inputs["input/" + BLUEPRINT],
            "units": "m",
            "up_axis": "z",
            "object_count": scan.valid,
        }
        if header.robot_base is not None:
            k = UNIT_FACTORS[header.units]
            rb = header.robot_base.position
            p: Vec3 = (rb[0] * k, rb[1] * k, rb[2] * k)
            if header.up_axis == "y":
                p = y_up_to_z_up_point(p)
            p = (p[0] * scene_scale, p[1] * scene_scale, p[2] * scene_scale)
            head["robot_base"] = RobotBase(
                position_m=_v3(rvec(p)), yaw_deg=round(header.robot_base.yaw_deg, 9)
            ).model_dump()
        text = json.dumps(head, indent=2)
        out.write((text[:-2] + ',\n  "objects": [\n').encode())
        for n, line in enumerate(spool):
            obj = _Spooled(*json.loads(line))
            pos, q, size, norm = _convert(header, obj)
            if abs(norm - 1.0) > 1e-3:
                renormalised += 1
            pos = (pos[0] * scene_scale, pos[1] * scene_scale, pos[2] * scene_scale)
            size = (size[0] * scene_scale, size[1] * scene_scale, size[2] * scene_scale)
            prior = catalog.get(obj.category)
            if prior is None:
                unknown[obj.category] += 1
            else:
                r = characteristic(size) / prior.scale_m
                if r > s.ingest_outlier_factor or r < 1 / s.ingest_outlier_factor:
                    pos, size = scale_about_base(pos, q, size, 1.0 / r)
                    changes.append(
                        ScaleChange(
                            target=obj.id,
                            factor=round(1.0 / r, 9),
                            reason=(
                                f"{obj.category} is {r:.3g}x its prior size {prior.scale_m:.3g} m "
                                f"(limit {s.ingest_outlier_factor:g}x); scaled about its base to the prior"
                            ),
                        )
                    )
            role = prior.role if prior else "object"
            mo = ManifestObject(
                id=obj.id,
                category=obj.category,
                known_category=prior is not None,
                role=role,
                graspable=prior.graspable if prior else False,
                static=obj.static if obj.static is not None else role in ("support", "fixture"),
                size_m=_v3(rvec(size)),
                position_m=_v3(rvec(pos)),
                orientation_wxyz=_q(rvec(q, 12)),
                support=obj.support,
                material=obj.material or (prior.material if prior else "generic"),
                mesh=obj.mesh,
                mesh_sha256=inputs["input/" + obj.mesh] if obj.mesh else None,
            )
            if len(kept) < MAX_PREVIEW:
                kept.append(mo)
            sep = ",\n" if n + 1 < scan.valid else "\n"
            out.write(("    " + mo.model_dump_json() + sep).encode())
            if n % PROGRESS_EVERY == 0 or n + 1 == scan.valid:
                ctx.progress("objects written", n + 1, scan.valid)
        for cat, count in sorted(unknown.items()):
            warnings.append(
                f"unknown category {cat!r} ({count} objects): no size prior, default material 'generic'"
            )
        if renormalised:
            warnings.append(
                f"{renormalised} orientation quaternions were not unit length and were normalised"
            )
        calib = Calibration(
            source_units=header.units,
            unit_factor=UNIT_FACTORS[header.units],
            source_up_axis=header.up_axis,
            axis_conversion="+90 deg about x (y-up to z-up)" if header.up_axis == "y" else None,
            median_prior_ratio=round(median, 9) if median is not None else None,
            scene_scale=round(scene_scale, 9),
            changes=changes,
        )
        tail = (
            ',\n  "calibration": '
            + calib.model_dump_json()
            + ',\n  "warnings": '
            + json.dumps(warnings)
            + "\n}\n"
        )
        out.write(("  ]" + tail).encode())
    if scan.valid <= MAX_PREVIEW:
        robot = RobotBase.model_validate(head["robot_base"]) if "robot_base" in head else None
        ctx.output.write_bytes(PREVIEW, render_svg(header.name, kept, robot).encode())
    else:
        warnings.append(f"no {PREVIEW}: more than {MAX_PREVIEW} objects")
    for w in warnings:
        ctx.log.warning(w)
    for c in changes:
        ctx.log.info("calibration: %s: %s", c.target, c.reason)
    return {
        "objects": scan.valid,
        "scene_scale": round(scene_scale, 9),
        "scale_changes": len(changes),
        "warnings": len(warnings),
        "unknown_categories": sorted(unknown),
    }
