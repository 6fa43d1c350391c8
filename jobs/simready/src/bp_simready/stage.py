"""The simready stage: ``scene_manifest.json`` → ``simready_manifest.json`` + collision hulls.

For every object: density from the material table, volume from the category's primitive
(or panels, or the blueprint mesh) x fill, mass and inertia, friction and restitution,
colour, collision parts, the moving part of drawers/doors/lids, graspability with its
reason, and plausibility checks. Problems are collected over the whole scene and raised
once; nothing is written until every object has passed.
"""

from __future__ import annotations

from typing import Any

from bp_contracts.catalog import load_catalog, load_materials
from bp_contracts.scene_manifest import SCENE_MANIFEST_FILE, SceneManifest
from bp_contracts.simready import SIMREADY_MANIFEST_FILE, SimreadyManifest
from bp_sdk.commit import require_committed, upstream_digests
from bp_sdk.digest import derive_seed, sha256_json, sha256_stream
from bp_sdk.errors import InputError, NotFoundError, PermanentError, Problem
from bp_sdk.layout import input_dir
from bp_sdk.runner import Stage, StageContext, StageResult
from bp_sdk.storage import Storage, join

from bp_simready import checks
from bp_simready.build import Built, Context, build, mesh_gives_physics
from bp_simready.meshes import MeshProblem, SourceMesh, decompose, parse, read_verified
from bp_simready.placement import contents
from bp_simready.settings import SimreadySettings
from bp_simready.solids import rlen, rvec
from bp_simready.tables import UNKNOWN_PRIOR

UPSTREAM = "ingest"
SEED_MODULUS = 2**31  # CoACD takes an unsigned 32-bit seed


class SimreadyStage(Stage[SimreadySettings]):
    """Physics for every object of a scene."""

    name = "simready"
    distribution = "bp-simready"
    settings_cls = SimreadySettings

    def __init__(self) -> None:
        self._cached: tuple[str, SceneManifest] | None = None

    def _manifest(self, s: SimreadySettings, storage: Storage) -> tuple[SceneManifest, str]:
        """The committed scene manifest (read once per commit) and its sha256."""
        unit = require_committed(storage, s.scene_id, s.run_id, UPSTREAM)
        sha = (
            unit.record.files[SCENE_MANIFEST_FILE].sha256
            if SCENE_MANIFEST_FILE in unit.record.files
            else ""
        )
        if self._cached is None or self._cached[0] != sha:
            self._cached = (sha, unit.read_model(SCENE_MANIFEST_FILE, SceneManifest))
        return self._cached[1], self._cached[0]

    def inputs(self, settings: SimreadySettings, storage: Storage) -> dict[str, str]:
        """The committed ingest outputs, and the sha256 of every mesh the manifest names."""
        digests = upstream_digests(storage, settings.scene_id, settings.run_id, [UPSTREAM])
        manifest, _ = self._manifest(settings, storage)
        for path in sorted({o.mesh for o in manifest.objects if o.mesh}):
            try:
                with storage.open_read(join(input_dir(settings.scene_id), path)) as f:
                    digests["input/" + path] = sha256_stream(f)[0]
            except NotFoundError:
                digests["input/" + path] = "missing"
        return digests

    def run(self, ctx: StageContext[SimreadySettings]) -> StageResult:
        """Build, check, then write every output."""
        s = ctx.settings
        manifest, manifest_sha = self._manifest(s, ctx.storage)
        catalog, materials = load_catalog(), load_materials()
        meshes, seeds, mesh_problems = _meshes(ctx, manifest)
        frames = {
            o.id
            for o in manifest.objects
            if (catalog.get(o.category) or UNKNOWN_PRIOR).shape == "shelf_frame"
        }
        build_ctx = Context(
            catalog, materials, s, manifest.robot_base, contents(manifest.objects, frames), meshes
        )
        built: list[Built] = []
        problems = list(mesh_problems)
        total = len(manifest.objects)
        for i, obj in enumerate(manifest.objects):
            b = build(obj, build_ctx)
            built.append(b)
            problems += checks.problems(i, b.obj)
            ctx.progress("objects", i + 1, total)
        ctx.partial["objects_built"] = len(built)
        if problems:
            raise InputError(_headline(s.scene_id, problems), problems=problems)
        out = SimreadyManifest(
            scene_id=manifest.scene_id,
            scene_manifest_sha256=manifest_sha,
            robot_base=(
                (rvec(manifest.robot_base.position_m), rlen(manifest.robot_base.yaw_deg))
                if manifest.robot_base
                else None
            ),
            max_grasp_width_m=s.simready_max_grasp_width_m,
            max_grasp_mass_kg=s.simready_max_grasp_kg,
            materials_version=materials.version,
            catalog_version=catalog.version,
            objects=[b.obj for b in built],
        )
        files = {name: data for b in built for name, data in b.files.items()}
        for name in sorted(files):
            ctx.output.write_bytes(name, files[name])
        ctx.output.write_json(SIMREADY_MANIFEST_FILE, out)
        warnings = [w for b in built for w in b.warnings]
        for w in warnings:
            ctx.log.warning(w)
        return StageResult(summary=_summary(built, files, meshes, warnings), seeds=seeds)


def _meshes(
    ctx: StageContext[SimreadySettings], manifest: SceneManifest
) -> tuple[dict[str, SourceMesh], dict[str, int], list[Problem]]:
    """Verify every referenced mesh; parse and decompose those that give an object its
    physics. Tampered or missing meshes stop the stage at once (permanent error); meshes
    that cannot be used are returned as problems."""
    s = ctx.settings
    catalog = load_catalog()
    users: dict[str, list[int]] = {}
    physical: set[str] = set()
    for i, o in enumerate(manifest.objects):
        if o.mesh is None:
            continue
        users.setdefault(o.mesh, []).append(i)
        if mesh_gives_physics(catalog.get(o.category) or UNKNOWN_PRIOR):
            physical.add(o.mesh)
    data: dict[str, bytes] = {}
    tampered: list[Problem] = []
    for path in sorted(users):
        first = manifest.objects[users[path][0]]
        try:
            data[path] = read_verified(ctx.storage, s.scene_id, path, first.mesh_sha256)
        except MeshProblem as exc:
            ids = ", ".join(manifest.objects[i].id for i in users[path][:5])
            tampered.append(
                Problem(
                    f"input/{path} (used by {ids})",
                    str(exc),
                    "re-run ingest on the current input under a new RUN_ID",
                )
            )
    if tampered:
        raise PermanentError(
            f"{len(tampered)} mesh{'es' if len(tampered) != 1 else ''} of scene {s.scene_id!r} "
            "do not match the scene manifest",
            problems=tampered,
            next_step="Re-upload the scene and run ingest again under a new RUN_ID; committed inputs are never edited in place.",
        )
    config = sha256_json(s.output_params())
    meshes: dict[str, SourceMesh] = {}
    seeds: dict[str, int] = {}
    problems: list[Problem] = []
    for n, path in enumerate(sorted(physical)):
        first = manifest.objects[users[path][0]]
        sha = first.mesh_sha256 or ""
        seed = derive_seed(s.scene_id, config, 0, sha) % SEED_MODULUS
        try:
            mesh = parse(path, data[path], s.simready_max_mesh_faces)
            meshes[path] = decompose(
                path,
                sha,
                mesh,
                s.simready_coacd_threshold,
                s.simready_coacd_max_hulls,
                seed,
                s.simready_coacd_timeout_s,
            )
        except MeshProblem as exc:
            ids = ", ".join(manifest.objects[i].id for i in users[path][:5])
            problems.append(
                Problem(
                    f"input/{path} (used by {ids})",
                    str(exc),
                    exc.hint or "export the mesh as a closed OBJ, STL, PLY or GLB",
                )
            )
            continue
        seeds[f"coacd:{path}"] = seed
        ctx.log.info(
            "mesh %s: %d convex hulls in %.2fs",
            path,
            len(meshes[path].hulls),
            meshes[path].seconds,
            extra={"fields": {"mesh": path, "hulls": len(meshes[path].hulls)}},
        )
        ctx.progress("meshes decomposed", n + 1, len(physical))
    return meshes, seeds, problems


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'es' if word.endswith('sh') else 's'}" if n != 1 else f"1 {word}"


def _headline(scene: str, problems: list[Problem]) -> str:
    """``scene 'x': 2 objects cannot be simulated as given (3 problems)``, meshes counted apart."""
    wheres = {p.where for p in problems}
    meshes = sum(w.startswith("input/") for w in wheres)
    what = [
        _count(n, word) for n, word in ((len(wheres) - meshes, "object"), (meshes, "mesh")) if n
    ]
    return (
        f"scene {scene!r}: {' and '.join(what)} cannot be simulated as given "
        f"({_count(len(problems), 'problem')})"
    )


def _summary(
    built: list[Built], files: dict[str, bytes], meshes: dict[str, SourceMesh], warnings: list[str]
) -> dict[str, Any]:
    objs = [b.obj for b in built]
    total = sum(
        o.inertia.mass_kg + (o.articulation.inertia.mass_kg if o.articulation else 0.0)
        for o in objs
    )
    return {
        "objects": len(objs),
        "graspable": sum(o.graspable for o in objs),
        "articulated": sum(o.articulation is not None for o in objs),
        "mesh_objects": sum(o.volume_source == "mesh" for o in objs),
        "meshes_decomposed": len(meshes),
        "collision_files": len(files),
        "total_mass_kg": round(total, 3),
        "decomposition_s": {path: round(m.seconds, 3) for path, m in sorted(meshes.items())},
        "warnings": warnings[:100],
    }
