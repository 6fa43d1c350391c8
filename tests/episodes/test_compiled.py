"""bp_episodes.compiled: a prepared scene's variant compiled as the episodes stage compiles it."""

from __future__ import annotations

import subprocess
import sys

from bp_contracts.assembly import ASSEMBLY_FILE, Assembly
from bp_contracts.simready import SIMREADY_MANIFEST_FILE, SimreadyManifest
from bp_contracts.tasks import TASKS_FILE, TaskSet
from bp_contracts.variation import Variant, variant_file
from bp_episodes.compiled import compile_committed
from bp_episodes.scene import intrinsics
from bp_sdk.commit import require_committed
from bp_sdk.storage import Storage

SCENE = "kitchen_counter"


def test_importing_the_module_imports_no_mujoco() -> None:
    """The module can be imported before MUJOCO_GL is set: MuJoCo comes in only on a call."""
    code = "import sys, bp_episodes.compiled; assert 'mujoco' not in sys.modules, 'mujoco'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_compile_committed_matches_the_assembly_and_variant(kitchen: Storage) -> None:
    """Each variant's model has the assembly's cameras at the asked resolution and a body for
    every simready object and distractor; the tasks are the committed task set."""
    up = {
        k: require_committed(kitchen, SCENE, "r1", k)
        for k in ("simready", "assemble", "variations", "tasks")
    }
    sr = up["simready"].read_model(SIMREADY_MANIFEST_FILE, SimreadyManifest)
    asm = up["assemble"].read_model(ASSEMBLY_FILE, Assembly)
    for vid in ("v0000", "v0001"):
        var = up["variations"].read_model(variant_file(vid), Variant)
        c, tasks = compile_committed(kitchen, SCENE, "r1", vid, resolution=48)
        assert tasks == up["tasks"].read_model(TASKS_FILE, TaskSet)
        assert c.h.model is c.model
        assert c.model.opt.timestep == asm.timestep_s
        assert [cam.name for cam in c.h.cameras] == [cam.name for cam in asm.cameras]
        for info, spec in zip(c.h.cameras, asm.cameras, strict=True):
            assert c.model.camera(info.id).name == spec.name
            assert info.intrinsics == intrinsics(spec.fovy_deg, 48)
        assert list(c.objects) == [o.id for o in [*sr.objects, *var.distractors]]
        assert c.h.bodies == {oid: c.model.body(oid).id for oid in c.objects}
