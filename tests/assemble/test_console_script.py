"""The ``bp-assemble`` console script: MUJOCO_GL defaults to egl before MuJoCo loads; a bad value is a config error."""

from __future__ import annotations

import subprocess

from bp_sdk.storage import Storage

from tests.assemble._support import Outcome
from tests.assemble.conftest import prepare
from tests.conftest import EXAMPLES, job_env, put_scene, script

SCENE = "office_desk"


def test_console_script_assembles_without_mujoco_gl_set(file_storage: Storage) -> None:
    """Run as a process with no MUJOCO_GL in its environment: exit 0 and a rendered preview (EGL chosen by main)."""
    put_scene(file_storage, SCENE, EXAMPLES / SCENE)
    prepare(file_storage, SCENE, "r1")
    env = job_env(file_storage, SCENE, "r1")
    assert "MUJOCO_GL" not in env
    proc = subprocess.run(
        [script("bp-assemble")], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = Outcome(proc.returncode, file_storage, SCENE, "r1")
    assert out.committed().record.files["preview.png"].size > 10_000


def test_console_script_refuses_an_unknown_gl_backend(file_storage: Storage) -> None:
    """MUJOCO_GL=glx (not egl/osmesa/glfw) exits 2 naming MUJOCO_GL, instead of crashing inside MuJoCo's import."""
    env = job_env(file_storage, SCENE, "r1", MUJOCO_GL="glx")
    proc = subprocess.run(
        [script("bp-assemble")], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "MUJOCO_GL" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
