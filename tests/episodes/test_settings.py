"""Bad episode settings fail before any simulation with a clear message."""

from __future__ import annotations

import pytest
from bp_episodes.settings import EpisodesSettings
from bp_episodes.stage import EpisodesStage
from bp_sdk.commit import load_record
from bp_sdk.errors import ConfigError, ExitCode
from bp_sdk.layout import Unit
from bp_sdk.settings import load_settings
from bp_sdk.storage import Storage
from bp_sim.robots import robot_names

from tests.conftest import job_env

BASE = {"STORAGE_URI": "file:///tmp/x", "SCENE_ID": "s", "RUN_ID": "r"}


@pytest.mark.parametrize(
    ("env", "name", "text"),
    [
        ({"EPISODES_FPS": "30"}, "EPISODES_FPS", "does not divide the 500 Hz physics rate"),
        ({"EPISODES_PER_TASK": "0"}, "EPISODES_PER_TASK", "greater than or equal to 1"),
        ({"EPISODES_ROBOT": "ur5"}, "EPISODES_ROBOT", "unknown robot 'ur5'; valid: franka_panda"),
        ({"EPISODES_TIER": "gold"}, "EPISODES_TIER", "core"),
        ({"EPISODES_DEFLATE_LEVEL": "10"}, "EPISODES_DEFLATE_LEVEL", "less than or equal to 9"),
        ({"EPISODES_WRITERS": "-1"}, "EPISODES_WRITERS", "greater than or equal to 0"),
    ],
)
def test_bad_settings_named(env: dict[str, str], name: str, text: str) -> None:
    """fps not dividing the physics rate, zero episodes, an unknown robot or tier are named."""
    with pytest.raises(ConfigError) as info:
        load_settings(EpisodesSettings, {**BASE, **env})
    problem = next(p for p in info.value.problems if p.where == name)
    assert text in problem.message


def test_every_registry_robot_is_accepted() -> None:
    """EPISODES_ROBOT accepts exactly the registry's robots (the validator reads the registry)."""
    for name in robot_names():
        assert load_settings(EpisodesSettings, {**BASE, "EPISODES_ROBOT": name}).episodes_robot == name


def test_unknown_task_fails_before_simulating(kitchen: Storage) -> None:
    """EPISODES_TASKS naming no task is a configuration error listing the valid ids; nothing is committed."""
    code = run(kitchen, EPISODES_TASKS="pick_place_nothing", CLOUD_RUN_TASK_COUNT="3")
    assert code == ExitCode.CONFIG
    assert load_record(kitchen, Unit("kitchen_counter", "r1", "episodes", 0, 3)) is None


def test_fps_must_divide_rate_at_job_start(kitchen: Storage) -> None:
    """bp-episodes with EPISODES_FPS=30 exits 2 before any work."""
    assert run(kitchen, EPISODES_FPS="30") == ExitCode.CONFIG


def run(storage: Storage, **extra: str) -> int:
    """Run the episodes stage in-process."""
    from bp_sdk.runner import run_stage

    return run_stage(EpisodesStage(), job_env(storage, "kitchen_counter", **extra))


def test_bad_gl_backend_is_a_config_error(tmp_path) -> None:
    """bp-episodes with MUJOCO_GL=vulkan exits 2 naming MUJOCO_GL instead of MuJoCo failing to import."""
    import subprocess

    from tests.conftest import script

    env = {"PATH": "/usr/bin:/bin", "STORAGE_URI": tmp_path.as_uri(), "SCENE_ID": "s", "RUN_ID": "r",
           "MUJOCO_GL": "vulkan"}
    out = subprocess.run([script("bp-episodes")], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == ExitCode.CONFIG
    assert "MUJOCO_GL" in out.stderr and "Traceback" not in out.stderr


def test_how_episodes_are_written_is_not_what_they_hold() -> None:
    """The deflate level and the writer count change bytes and speed, not the arrays: neither
    enters the inputs digest (so changing them reuses a committed run's seeds)."""
    fast = {"EPISODES_DEFLATE_LEVEL": "1", "EPISODES_WRITERS": "3"}
    slow = {"EPISODES_DEFLATE_LEVEL": "9", "EPISODES_WRITERS": "12"}
    a = load_settings(EpisodesSettings, {**BASE, **fast}).output_params()
    b = load_settings(EpisodesSettings, {**BASE, **slow}).output_params()
    assert a == b
    assert not {"EPISODES_DEFLATE_LEVEL", "EPISODES_WRITERS"} & set(a)
