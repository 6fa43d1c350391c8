"""The assemble stage: simready manifest → MuJoCo scene + USD, proven stable, previewed.

Reads simready's committed ``simready_manifest.json`` and collision meshes, places the
robot, composes the scene with :func:`bp_sim.compose.compose_scene`, compiles it and
settles it (:func:`bp_sim.stability.settle`). An unstable scene is a permanent error
naming every object and why, and nothing is written. Otherwise it writes ``scene.xml``
with every file it names (``meshes/`` and ``robot_assets/``, see :mod:`bp_assemble.assets`),
``scene.usda`` (+ ``robot_assets/<robot>.usdc``), ``assembly.json``, ``stability.json``
and ``preview.png``.
"""

from __future__ import annotations

from typing import Any

import mujoco
from bp_contracts.assembly import (
    ASSEMBLY_FILE,
    STABILITY_FILE,
    Assembly,
    RobotPlacement,
    StabilityReport,
)
from bp_contracts.simready import SIMREADY_MANIFEST_FILE, SimreadyManifest
from bp_sdk.commit import CommittedUnit, require_committed, upstream_digests
from bp_sdk.errors import InputError, PermanentError, Problem
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage
from bp_sim.compose import (
    MESH_DIR,
    compile_as_written,
    compose_scene,
    floor_half_size,
    mesh_file,
)
from bp_sim.render import downscale, home_data, png_bytes, render_cameras, with_inset
from bp_sim.robots import get_robot
from bp_sim.robots.base import ROBOT_ASSETS, RobotModel
from bp_sim.scene_defaults import (
    SCENE_CAMERA,
    WRIST_CAMERA,
    base_overlaps,
    default_cameras,
    default_lights,
    default_placement,
)
from bp_sim.stability import Bounds, settle

from bp_assemble.assets import robot_license, robot_usd_name, scene_files
from bp_assemble.robot_usd import robot_usdc
from bp_assemble.settings import AssembleSettings
from bp_assemble.usd import write_usda

UPSTREAM = "simready"
SCENE_XML = "scene.xml"
SCENE_USD = "scene.usda"
PREVIEW = "preview.png"
INSET_FRACTION = 4  # wrist inset is 1/4 of the preview's width and height


def _mesh_paths(manifest: SimreadyManifest) -> list[str]:
    paths: set[str] = set()
    for obj in manifest.objects:
        parts = list(obj.parts) + (list(obj.articulation.parts) if obj.articulation else [])
        paths.update(p.mesh for p in parts if p.shape == "mesh" and p.mesh)
    return sorted(paths)


def _read_meshes(unit: CommittedUnit, manifest: SimreadyManifest) -> dict[str, bytes]:
    """Every collision mesh the manifest names, verified; one InputError for all missing."""
    problems = []
    by_file: dict[str, str] = {}
    for path in _mesh_paths(manifest):
        if path not in unit.record.files:
            problems.append(
                Problem(
                    f"{SIMREADY_MANIFEST_FILE}: mesh {path!r}",
                    "is named by a collision part but simready committed no such file",
                    "re-run simready for this scene (its manifest and files disagree)",
                )
            )
        target = mesh_file(path)
        if target in by_file:
            problems.append(
                Problem(
                    f"{SIMREADY_MANIFEST_FILE}: mesh {path!r}",
                    f"lands on the same file {target!r} as {by_file[target]!r}",
                    "give collision meshes distinct names",
                )
            )
        by_file[target] = path
    if problems:
        raise InputError("simready output is inconsistent", problems=problems)
    return {path: unit.read_bytes(path) for path in by_file.values()}


def _check_base_clear(
    manifest: SimreadyManifest, placement: RobotPlacement, robot: RobotModel
) -> None:
    """The robot's pedestal and base plate must not stand inside an object (physics cannot see it)."""
    hits = base_overlaps(manifest, placement, robot)
    if not hits:
        return
    bx, by, _ = placement.base_position_m
    where = (
        "blueprint robot_base" if placement.placed_by == "blueprint" else "default robot placement"
    )
    raise InputError(
        f"the robot's base stands inside {len(hits)} object{'s' if len(hits) != 1 else ''}",
        problems=[
            Problem(
                f"{oid}, robot",
                f"the {where} at ({bx:.3f}, {by:.3f}) m puts the robot's pedestal and base inside {oid}",
                "move robot_base clear of the object (or leave it out for the default placement)",
            )
            for oid in hits
        ],
    )


def _unstable(report: StabilityReport) -> PermanentError:
    problems = []
    for o in report.objects:
        for r in o.reasons:
            problems.append(
                Problem(
                    o.id,
                    r,
                    "make it rest on its support (position = support top + half its height) "
                    "and check its collision shape and mass in simready",
                )
            )
    object_reasons = {r for o in report.objects for r in o.reasons}
    for r in report.reasons:
        if r in object_reasons:
            continue
        if r.startswith("robot left"):
            problems.append(Problem("robot", r, "move robot_base away from the scene's objects"))
        else:
            where = r.split(" interpenetrate", 1)[0].replace(" and ", ", ")
            hint = "move the objects apart so they do not overlap"
            if "robot" in where.split(", "):
                hint = "move robot_base (or leave it out for the default placement) so the arm clears the scene"
            problems.append(Problem(where, r, hint))
    return PermanentError(
        f"scene {report.scene_id!r} is not stable after {report.steps} steps "
        f"({len(problems)} problem{'s' if len(problems) != 1 else ''})",
        problems=problems,
        next_step="Fix the blueprint (or simready) so every object rests on its support without overlaps, then run again with a new RUN_ID.",
    )


class AssembleStage(Stage[AssembleSettings]):
    """Compile the scene to MJCF and USD, check its stability, render a preview."""

    name = "assemble"
    distribution = "bp-assemble"
    settings_cls = AssembleSettings

    def inputs(self, settings: AssembleSettings, storage: Storage) -> dict[str, str]:
        """The committed simready output's digest."""
        return upstream_digests(storage, settings.scene_id, settings.run_id, [UPSTREAM])

    def run(self, ctx: StageContext[AssembleSettings]) -> StageResult:
        """Compose, compile, settle; write only if stable."""
        s = ctx.settings
        unit = require_committed(ctx.storage, s.scene_id, s.run_id, UPSTREAM)
        manifest = unit.read_model(SIMREADY_MANIFEST_FILE, SimreadyManifest)
        meshes = _read_meshes(unit, manifest)
        robot = get_robot(s.assemble_robot)
        if manifest.max_grasp_width_m > robot.max_grasp_width_m:
            ctx.log.warning(
                "simready judged graspability for a %.3f m grasp; %s opens only %.3f m",
                manifest.max_grasp_width_m,
                robot.name,
                robot.max_grasp_width_m,
            )
        placement = default_placement(manifest, robot)
        _check_base_clear(manifest, placement, robot)
        cameras = default_cameras(manifest, placement, robot)
        lights = default_lights(manifest, placement)
        spec = compose_scene(
            manifest,
            placement,
            cameras,
            lights,
            timestep=s.assemble_timestep_s,
            mesh_loader=meshes.__getitem__,
        )
        try:
            xml, model = compile_as_written(spec)
        except ValueError as exc:
            raise PermanentError(
                f"scene {s.scene_id!r} does not compile in MuJoCo: {exc}",
                next_step="Check the simready manifest (shapes, inertias, meshes) named in the message.",
            ) from None
        assets = _scene_assets(xml, spec, robot)
        ctx.log.info(
            "compiled %d bodies, %d joints, %d geoms; robot %s placed by %s",
            model.nbody,
            model.njnt,
            model.ngeom,
            robot.name,
            placement.placed_by,
        )
        report = settle(
            model,
            manifest.objects,
            robot,
            s.scene_id,
            steps=s.assemble_settle_steps,
            bounds=Bounds(
                max_drift_m=s.assemble_max_drift_m,
                max_penetration_m=s.assemble_max_penetration_m,
                max_home_error_rad=s.assemble_max_home_error_rad,
            ),
            progress=lambda done, total: ctx.progress("settling steps", done, total),
        )
        ctx.partial["stability"] = _figures(report)
        if not report.ok:
            raise _unstable(report)
        preview = self._preview(model, s)
        usd_robot = robot_usd_name(robot)
        usd = write_usda(
            manifest,
            robot,
            placement,
            cameras,
            lights,
            floor_half_size(manifest.objects, placement),
            meshes.__getitem__,
            usd_robot,
        )
        assembly = Assembly(
            scene_id=s.scene_id,
            simready_sha256=unit.record.files[SIMREADY_MANIFEST_FILE].sha256,
            timestep_s=s.assemble_timestep_s,
            robot=placement,
            cameras=cameras,
            lights=lights,
            mujoco_version=mujoco.__version__,
            files=_file_roles(usd_robot, bool(meshes)),
        )
        ctx.output.write_bytes(SCENE_XML, xml.encode())
        for path, data in assets.items():
            ctx.output.write_bytes(path, data)
        ctx.output.write_bytes(usd_robot, robot_usdc(model, robot, placement))
        ctx.output.write_bytes(SCENE_USD, usd)
        ctx.output.write_json(STABILITY_FILE, report)
        ctx.output.write_bytes(PREVIEW, preview)
        ctx.output.write_json(ASSEMBLY_FILE, assembly)
        robot_files = [p for p in assets if p.startswith(f"{ROBOT_ASSETS}/")]
        summary = {
            "objects": len(manifest.objects),
            "meshes": len(meshes),
            "robot": robot.name,
            "robot_asset_files": len(robot_files),
            "robot_asset_bytes": sum(len(assets[p]) for p in robot_files),
            "placed_by": placement.placed_by,
            "pedestal_height_m": placement.pedestal_height_m,
            **_figures(report),
        }
        return StageResult(summary=summary)

    @staticmethod
    def _preview(model: Any, s: AssembleSettings) -> bytes:
        w, h = s.assemble_preview_width, s.assemble_preview_height
        data = home_data(model)
        main, wrist = render_cameras(model, data, [SCENE_CAMERA, WRIST_CAMERA], w, h)
        inset = downscale(wrist, w // INSET_FRACTION, h // INSET_FRACTION)
        return png_bytes(with_inset(main, inset))


def _file_roles(robot_usd: str, meshes: bool) -> dict[str, str]:
    """``assembly.json`` → ``files``: role → file (or folder) in the committed output."""
    files = {
        "mjcf": SCENE_XML,
        "usd": SCENE_USD,
        "preview": PREVIEW,
        "stability": STABILITY_FILE,
        "robot_assets": f"{ROBOT_ASSETS}/",
        "robot_usd": robot_usd,
    }
    if meshes:
        files["meshes"] = f"{MESH_DIR}/"
    return files


def _scene_assets(xml: str, spec: Any, robot: RobotModel) -> dict[str, bytes]:
    """Every file ``scene.xml`` names (the bytes its checked model was compiled from) and
    the robot source's licence, by their paths in the committed folder."""
    files, problems = scene_files(xml, dict(spec.assets))
    if problems:
        raise PermanentError(
            f"scene.xml would not open on its own ({len(problems)} problems)",
            problems=[
                Problem(SCENE_XML, p, "report this: it is a defect of bp_sim") for p in problems
            ],
            next_step="Report this marker: the composed scene names files assemble cannot commit.",
        )
    licence = robot_license(robot)
    clash = sorted(set(files) & set(licence))
    if clash:
        raise PermanentError(f"robot {robot.name!r} ships a mesh named like its licence: {clash}")
    return {**files, **licence}


def _figures(report: StabilityReport) -> dict[str, Any]:
    return {
        "stable": report.ok,
        "max_drift_m": max((o.drift_m for o in report.objects), default=0.0),
        "max_drop_m": max((o.drop_m for o in report.objects), default=0.0),
        "max_penetration_m": report.max_penetration_m,
        "robot_home_error_rad": report.robot_home_error_rad,
        "reasons": report.reasons[:20],
    }
