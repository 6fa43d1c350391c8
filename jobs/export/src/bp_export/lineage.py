"""``meta/lineage.json``: where every byte of a dataset came from.

Built from the commit records of every upstream stage of every source run (the only
trusted record of what ran: attempt, code version, input digests, parameters, seeds),
the assemble stage's ``assembly.json`` and compiled ``scene.xml`` (robot source and
license, simulator version, physics options, actuator gains), and ingest's scene manifest
(the blueprint's license). Anything that could not be established is listed under
``gaps`` instead of being guessed.

Settings are recorded as digests only (they hold storage URIs); each record's ``params``
(the stage's own, non-infrastructure settings) are recorded as they are.

``collect_source`` reads one source run's records and files from storage (verified against
their commit records); the pieces below turn them into the entries that
:func:`bp_export.lineage_doc.build_lineage` (pure) assembles into the document.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bp_contracts.assembly import ASSEMBLY_FILE, Assembly
from bp_contracts.episode import EpisodeRecord
from bp_contracts.scene_manifest import SCENE_MANIFEST_FILE, SceneManifest
from bp_contracts.stages import RUN_STAGES
from bp_sdk.commit import CommitRecord, read_committed
from bp_sdk.digest import sha256_json
from bp_sdk.storage import Storage

# MuJoCo's documented defaults for <option> attributes a compiled model may leave out
MJ_OPTION_DEFAULTS: Final[dict[str, Any]] = {
    "timestep": 0.002,
    "integrator": "Euler",
    "cone": "pyramidal",
    "impratio": 1.0,
    "solver": "Newton",
    "iterations": 100,
    "tolerance": 1e-8,
    "gravity": [0.0, 0.0, -9.81],
}
MENAGERIE_PANDA_GRIPPER_KP: Final = 100.0  # MuJoCo Menagerie's stock Panda gripper gain


@dataclass(frozen=True)
class SourceLineage:
    """What lineage needs from one source run (read by :func:`collect_source`)."""

    scene_id: str
    run_id: str
    stages: Mapping[str, Sequence[CommitRecord]]  # stage → record(s); sharded stages: one per shard
    assembly: Assembly | None = None
    scene_manifest: SceneManifest | None = None
    mjcf: str | None = field(default=None, repr=False)  # assemble's scene.xml

    @property
    def label(self) -> str:
        """``scene/run``."""
        return f"{self.scene_id}/{self.run_id}"


def collect_source(storage: Storage, scene_id: str, run_id: str) -> SourceLineage:
    """Commit records of every upstream stage, the assembly, the MJCF and the scene manifest.

    Files are read through their commit records (size and sha256 verified). A stage that
    has not committed is simply absent (``build_lineage`` reports it as a gap).
    """
    stages: dict[str, list[CommitRecord]] = {}
    for stage in RUN_STAGES:  # every scene-run stage the episodes came from
        units = read_committed(storage, scene_id, run_id, stage)
        if units:
            stages[stage] = [u.record for u in units]
    assembly = manifest = mjcf = None
    if "assemble" in stages:
        (unit,) = read_committed(storage, scene_id, run_id, "assemble") or []
        if ASSEMBLY_FILE in unit.record.files:
            assembly = unit.read_model(ASSEMBLY_FILE, Assembly)
            mjcf_name = assembly.files.get("mjcf", "scene.xml")
            if mjcf_name in unit.record.files:
                mjcf = unit.read_bytes(mjcf_name).decode("utf-8")
    if "ingest" in stages:
        (unit,) = read_committed(storage, scene_id, run_id, "ingest") or []
        if SCENE_MANIFEST_FILE in unit.record.files:
            manifest = unit.read_model(SCENE_MANIFEST_FILE, SceneManifest)
    return SourceLineage(scene_id, run_id, stages, assembly, manifest, mjcf)


# ---------------------------------------------------------------------- physics


def _number(text: str) -> Any:
    parts = text.split()
    try:
        values = [float(p) for p in parts]
    except ValueError:
        return text
    if len(values) == 1:
        v = values[0]
        return int(v) if v.is_integer() and "." not in text and "e" not in text.lower() else v
    return values


def physics_from_mjcf(mjcf: str) -> dict[str, Any]:
    """Simulation options and actuator gains of a compiled scene (MuJoCo's defaults filled in).

    The MJCF is the assemble stage's own output, read through its commit record (sha256
    verified); Python's expat (>= 2.4.1) refuses entity-expansion attacks.
    """
    root = ET.fromstring(mjcf)  # noqa: S314  (our own committed, checksum-verified file)
    opt = root.find("option")
    given = {k: _number(v) for k, v in (opt.attrib.items() if opt is not None else [])}
    options = {**MJ_OPTION_DEFAULTS, **given}
    flags = root.find("option/flag")
    out: dict[str, Any] = {
        "option": options,
        "option_set_explicitly": sorted(given),
        "flags": dict(flags.attrib) if flags is not None else {},
        "actuators": {},
    }
    act = root.find("actuator")
    for el in list(act) if act is not None else []:
        name = el.get("name", "")
        gain = _number(el.get("gainprm", "1"))
        bias = _number(el.get("biasprm", "0 0 0"))
        kp = gain[0] if isinstance(gain, list) else gain
        kv = -bias[2] if isinstance(bias, list) and len(bias) >= 3 else 0.0
        out["actuators"][name] = {
            "type": el.tag,
            "target": el.get("joint") or el.get("tendon") or el.get("site") or "",
            "kp": kp,
            "kv": kv,
            "forcerange": _number(el.get("forcerange", "")) if el.get("forcerange") else None,
            "ctrlrange": _number(el.get("ctrlrange", "")) if el.get("ctrlrange") else None,
        }
    grippers = [n for n in out["actuators"] if n.rsplit("/", 1)[-1] == "gripper"]
    if grippers:
        g = out["actuators"][grippers[0]]
        out["gripper"] = {
            "actuator": grippers[0],
            "kp": g["kp"],
            "kv": g["kv"],
            "forcerange": g["forcerange"],
            "gain_scale_vs_menagerie": (
                round(float(g["kp"]) / MENAGERIE_PANDA_GRIPPER_KP, 6)
                if isinstance(g["kp"], int | float)
                else None
            ),
        }
    return out


# ---------------------------------------------------------------------- records


def record_entry(rec: CommitRecord) -> dict[str, Any]:
    return {
        "shard": f"{rec.shard.index}/{rec.shard.count}" if rec.shard else None,
        "attempt": rec.attempt.model_dump(),
        "committed_at": rec.committed_at.isoformat(),
        "code": dict(rec.code),
        "inputs": dict(rec.inputs),
        "inputs_digest": rec.inputs_digest,
        "outputs_digest": rec.outputs_digest,
        "files": len(rec.files),
        "params": dict(rec.params),
        "settings_digest": sha256_json(rec.settings),
    }


def simulator_of(src: SourceLineage, metas: list[EpisodeRecord], gaps: list[str]) -> dict[str, Any]:
    """MuJoCo version: what episodes recorded if anything, else assemble's (with a gap)."""
    versions: set[str] = set()
    for m in metas:
        if m.simulator is not None and m.simulator.version:
            versions.add(m.simulator.version)
    for rec in src.stages.get("episodes", []):
        if rec.code.get("mujoco_version"):
            versions.add(str(rec.code["mujoco_version"]))
    assemble_v = src.assembly.mujoco_version if src.assembly else None
    if not versions:
        gaps.append(
            f"{src.label}: the episodes stage does not record the MuJoCo version it simulated "
            f"with; reported is the version assemble compiled and settled the scene with "
            f"({assemble_v or 'unknown'}). Fix: record the episodes again with the current "
            "episodes stage (its record names the simulator and its version)."
        )
    return {
        "name": "mujoco",
        "episodes_version": sorted(versions)[0] if len(versions) == 1 else sorted(versions) or None,
        "assemble_version": assemble_v,
        "version": (sorted(versions)[0] if len(versions) == 1 else None) or assemble_v,
    }


def licenses_of(src: SourceLineage, gaps: list[str]) -> dict[str, Any]:
    man = src.scene_manifest
    if man is None:
        gaps.append(f"{src.label}: no scene manifest (ingest) committed; blueprint license unknown")
        return {"blueprint": None, "assets": []}
    if not man.license:
        gaps.append(
            f"{src.label}: the blueprint {man.name!r} declares no license (scene.json 'license')"
        )
    assets = [
        {
            "object": o.id,
            "mesh": o.mesh,
            "mesh_sha256": o.mesh_sha256,
            "license": man.license,
            "license_source": "blueprint (no per-asset license field exists)",
        }
        for o in man.objects
        if o.mesh
    ]
    if assets:
        gaps.append(
            f"{src.label}: {len(assets)} mesh asset(s) carry no license of their own (the blueprint "
            "schema has no per-asset license field); they are recorded under the blueprint's license"
        )
    return {
        "blueprint": {"name": man.name, "sha256": man.blueprint_sha256, "license": man.license},
        "assets": assets,
    }


def robot_of(src: SourceLineage) -> dict[str, Any] | None:
    if src.assembly is None:
        return None
    r = src.assembly.robot
    return {
        "model": r.robot,
        "source": r.source.model_dump(),
        "base_position_m": list(r.base_position_m),
        "yaw_deg": r.yaw_deg,
        "pedestal_height_m": r.pedestal_height_m,
        "home_qpos": list(r.home_qpos),
    }


def physics_of(src: SourceLineage, gaps: list[str]) -> dict[str, Any] | None:
    if src.assembly is None:
        gaps.append(f"{src.label}: no assembly.json committed; physics parameters unknown")
        return None
    out: dict[str, Any] = {"timestep_s": src.assembly.timestep_s}
    if src.mjcf is None:
        gaps.append(
            f"{src.label}: compiled scene (scene.xml) unavailable; integrator, contact options "
            "and actuator gains not recorded"
        )
        return out
    try:
        parsed = physics_from_mjcf(src.mjcf)
    except ET.ParseError as exc:
        gaps.append(f"{src.label}: scene.xml does not parse ({exc}); physics options not recorded")
        return out
    opt = parsed["option"]
    out.update(
        {
            "integrator": opt["integrator"],
            "cone": opt["cone"],
            "impratio": opt["impratio"],
            "solver": opt["solver"],
            "iterations": opt["iterations"],
            "tolerance": opt["tolerance"],
            "gravity": opt["gravity"],
            "mjcf_option": opt,
            "gripper": parsed.get("gripper"),
            "actuators": parsed["actuators"],
        }
    )
    if (
        isinstance(opt.get("timestep"), float)
        and "timestep" in parsed["option_set_explicitly"]
        and abs(opt["timestep"] - src.assembly.timestep_s) > 1e-12
    ):
        gaps.append(
            f"{src.label}: scene.xml timestep {opt['timestep']} differs from assembly.json "
            f"{src.assembly.timestep_s}"
        )
    return out
