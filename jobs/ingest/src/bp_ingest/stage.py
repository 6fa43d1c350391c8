"""The ingest stage: blueprint → validated, normalised, calibrated ``scene_manifest.json``.

Two passes over bounded memory: the reader streams the blueprint, validating each
object and spooling it to a local temporary file; scene-wide checks (ids, supports,
meshes, header) follow (pass 1, bp_ingest.scan); then the spool is normalised and
streamed into the manifest (pass 2, this module).
Any problem anywhere → one :class:`InputError` listing them all, and nothing is written.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from typing import IO, Any, BinaryIO

from bp_contracts.catalog import CategoryPrior, load_catalog
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

from bp_ingest.blueprint import UNIT_FACTORS, BlueprintHeader, RobotBaseIn
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
from bp_ingest.scan import MIN_OBJECTS_FOR_SCENE_SCALE, PROGRESS_EVERY, Scan, Spooled
from bp_ingest.settings import IngestSettings

BLUEPRINT = "scene.json"
PREVIEW = "scene_topdown.svg"


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
            scan = Scan(ctx, spool)
            result = read_blueprint(
                lambda: ctx.storage.open_read(key), scan.on_object, s.ingest_max_objects
            )
            header = scan.finish(result, inputs)
            spool.seek(0)
            summary = _write_manifest(ctx, header, scan, spool, inputs)
        return StageResult(summary=summary)


def _v3(v: tuple[float, ...]) -> Vec3:
    return (v[0], v[1], v[2])


def _q(v: tuple[float, ...]) -> Quat:
    return (v[0], v[1], v[2], v[3])


def _convert(header: BlueprintHeader, obj: Spooled) -> tuple[Vec3, Quat, Vec3, float]:
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
    scan: Scan,
    spool: IO[str],
    inputs: dict[str, str],
) -> dict[str, Any]:
    """Pass 2: the spool, normalised and calibrated, into the manifest; the preview; the log."""
    writer = _ManifestWriter(ctx, header, scan, inputs)
    writer.calibrate_scene()
    spool.seek(0)
    with ctx.output.open(SCENE_MANIFEST_FILE) as out:
        head = writer.head()
        out.write(_opening(head))
        writer.write_objects(out, spool)
        writer.warn_about_objects()
        out.write(_closing(writer.calibration(), writer.warnings))
    writer.write_preview(head)
    writer.log()
    return writer.summary()


def _opening(head: dict[str, Any]) -> bytes:
    """The manifest up to its first object: the head's fields, then the ``objects`` array."""
    text = json.dumps(head, indent=2)
    return (text[:-2] + ',\n  "objects": [\n').encode()


def _closing(calib: Calibration, warnings: list[str]) -> bytes:
    """The manifest after its last object: the calibration and the warnings."""
    tail = (
        ',\n  "calibration": '
        + calib.model_dump_json()
        + ',\n  "warnings": '
        + json.dumps(warnings)
        + "\n}\n"
    )
    return ("  ]" + tail).encode()


class _ManifestWriter:
    """The steps of pass 2, and what they changed and found along the way."""

    def __init__(
        self,
        ctx: StageContext[IngestSettings],
        header: BlueprintHeader,
        scan: Scan,
        inputs: dict[str, str],
    ) -> None:
        self.ctx = ctx
        self.header = header
        self.scan = scan
        self.inputs = inputs
        self.catalog = load_catalog()
        # scene scale: median ratio of size to prior over objects with a known category
        self.median, self.scene_scale = scan.median, scan.scene_scale  # worked out by Scan.finish
        self.changes: list[ScaleChange] = []
        self.warnings: list[str] = []
        self.unknown: Counter[str] = Counter()
        self.kept: list[ManifestObject] = []  # for the preview, bounded
        self.renormalised = 0

    def calibrate_scene(self) -> None:
        """Record the whole-scene rescale, or warn that too few objects allowed none."""
        median, scene_scale, known = self.median, self.scene_scale, len(self.scan.raw_ratios)
        if median is not None and known >= MIN_OBJECTS_FOR_SCENE_SCALE:
            tol = self.ctx.settings.ingest_scale_tolerance
            if scene_scale != 1.0:
                self.changes.append(
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
            self.warnings.append(
                f"only {known} objects with a known category: scene scale not calibrated"
            )

    def head(self) -> dict[str, Any]:
        """The manifest's fields before its objects."""
        header = self.header
        head: dict[str, Any] = {
            "schema": SCENE_MANIFEST_SCHEMA,
            "scene_id": self.ctx.settings.scene_id,
            "name": header.name,
            "description": header.description,
            "license": header.license,
            "blueprint_sha256": self.inputs["input/" + BLUEPRINT],
            "units": "m",
            "up_axis": "z",
            "object_count": self.scan.valid,
        }
        if header.robot_base is not None:
            head["robot_base"] = self._robot_base(header.robot_base).model_dump()
        return head

    def _robot_base(self, base: RobotBaseIn) -> RobotBase:
        """The robot base in metres, z up, scaled with the scene."""
        header, scene_scale = self.header, self.scene_scale
        k = UNIT_FACTORS[header.units]
        rb = base.position
        p: Vec3 = (rb[0] * k, rb[1] * k, rb[2] * k)
        if header.up_axis == "y":
            p = y_up_to_z_up_point(p)
        p = (p[0] * scene_scale, p[1] * scene_scale, p[2] * scene_scale)
        return RobotBase(position_m=_v3(rvec(p)), yaw_deg=round(base.yaw_deg, 9))

    def write_objects(self, out: BinaryIO, spool: IO[str]) -> None:
        """Every spooled object, normalised, one line each (keeping the first for the preview)."""
        valid = self.scan.valid
        for n, line in enumerate(spool):
            mo = self._object(Spooled(*json.loads(line)))
            if len(self.kept) < MAX_PREVIEW:
                self.kept.append(mo)
            sep = ",\n" if n + 1 < valid else "\n"
            out.write(("    " + mo.model_dump_json() + sep).encode())
            if n % PROGRESS_EVERY == 0 or n + 1 == valid:
                self.ctx.progress("objects written", n + 1, valid)

    def _object(self, obj: Spooled) -> ManifestObject:
        """One spooled object in metres, z up, scaled with the scene and fitted to its prior."""
        pos, q, size = self._placed(obj)
        prior = self.catalog.get(obj.category)
        if prior is None:
            self.unknown[obj.category] += 1
        else:
            pos, size = self._fit_to_prior(obj, prior, pos, q, size)
        return self._manifest_object(obj, prior, pos, q, size)

    def _placed(self, obj: Spooled) -> tuple[Vec3, Quat, Vec3]:
        """Position, unit orientation and size in metres, z up, scaled with the scene."""
        pos, q, size, norm = _convert(self.header, obj)
        if abs(norm - 1.0) > 1e-3:
            self.renormalised += 1
        scene_scale = self.scene_scale
        pos = (pos[0] * scene_scale, pos[1] * scene_scale, pos[2] * scene_scale)
        size = (size[0] * scene_scale, size[1] * scene_scale, size[2] * scene_scale)
        return pos, q, size

    def _fit_to_prior(
        self, obj: Spooled, prior: CategoryPrior, pos: Vec3, q: Quat, size: Vec3
    ) -> tuple[Vec3, Vec3]:
        """Scale an outlier about its base to its category's prior size (recording the change)."""
        outlier = self.ctx.settings.ingest_outlier_factor
        r = characteristic(size) / prior.scale_m
        if r > outlier or r < 1 / outlier:
            pos, size = scale_about_base(pos, q, size, 1.0 / r)
            self.changes.append(
                ScaleChange(
                    target=obj.id,
                    factor=round(1.0 / r, 9),
                    reason=(
                        f"{obj.category} is {r:.3g}x its prior size {prior.scale_m:.3g} m "
                        f"(limit {outlier:g}x); scaled about its base to the prior"
                    ),
                )
            )
        return pos, size

    def _manifest_object(
        self, obj: Spooled, prior: CategoryPrior | None, pos: Vec3, q: Quat, size: Vec3
    ) -> ManifestObject:
        """The manifest entry: the object's placement plus what its category implies."""
        role = prior.role if prior else "object"
        return ManifestObject(
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
            mesh_sha256=self.inputs["input/" + obj.mesh] if obj.mesh else None,
        )

    def warn_about_objects(self) -> None:
        """Warnings about the objects: unknown categories, orientations that were normalised."""
        for cat, count in sorted(self.unknown.items()):
            self.warnings.append(
                f"unknown category {cat!r} ({count} objects): no size prior, default material 'generic'"
            )
        if self.renormalised:
            self.warnings.append(
                f"{self.renormalised} orientation quaternions were not unit length and were normalised"
            )

    def calibration(self) -> Calibration:
        """What calibration did: source units and axes, scene scale, every scale change."""
        header, median = self.header, self.median
        return Calibration(
            source_units=header.units,
            unit_factor=UNIT_FACTORS[header.units],
            source_up_axis=header.up_axis,
            axis_conversion="+90 deg about x (y-up to z-up)" if header.up_axis == "y" else None,
            median_prior_ratio=round(median, 9) if median is not None else None,
            scene_scale=round(self.scene_scale, 9),
            changes=self.changes,
        )

    def write_preview(self, head: dict[str, Any]) -> None:
        """The top-down SVG, or a warning when there are too many objects to draw."""
        if self.scan.valid <= MAX_PREVIEW:
            robot = RobotBase.model_validate(head["robot_base"]) if "robot_base" in head else None
            svg = render_svg(self.header.name, self.kept, robot)
            self.ctx.output.write_bytes(PREVIEW, svg.encode())
        else:
            self.warnings.append(f"no {PREVIEW}: more than {MAX_PREVIEW} objects")

    def log(self) -> None:
        """Log every warning, then every scale change."""
        for w in self.warnings:
            self.ctx.log.warning(w)
        for c in self.changes:
            self.ctx.log.info("calibration: %s: %s", c.target, c.reason)

    def summary(self) -> dict[str, Any]:
        """The stage's summary."""
        return {
            "objects": self.scan.valid,
            "scene_scale": round(self.scene_scale, 9),
            "scale_changes": len(self.changes),
            "warnings": len(self.warnings),
            "unknown_categories": sorted(self.unknown),
        }
