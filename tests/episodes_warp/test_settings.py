"""EPISODES_BACKEND and the Warp settings: parsed with clear errors, kept out of the inputs
digest when they change nothing, and turned into the right batch by ``open_batch``."""

from __future__ import annotations

import pytest
from bp_episodes.backend import MujocoBatch
from bp_episodes.settings import EpisodesSettings
from bp_episodes.simulators import BackendOptions, open_batch, simulator_info
from bp_episodes.stage import EpisodesStage
from bp_episodes.warp_backend.runtime import device_problem, missing_packages
from bp_sdk.errors import ConfigError, ExitCode
from bp_sdk.runner import run_stage
from bp_sdk.settings import load_settings
from bp_sdk.storage import Storage

from tests.conftest import job_env
from tests.episodes_warp.conftest import RESOLUTION

BASE = {"STORAGE_URI": "file:///tmp/x", "SCENE_ID": "s", "RUN_ID": "r"}


@pytest.fixture(scope="module")
def no_cuda() -> None:
    """Skip where Warp finds a CUDA device (these tests need a machine without one)."""
    if device_problem("cuda:0") is None:
        pytest.skip("a CUDA device is present")


def test_cuda_without_a_gpu_is_a_named_config_error(no_cuda) -> None:
    """EPISODES_BACKEND=warp with the default cuda:0 where Warp finds no GPU names
    EPISODES_WARP_DEVICE and says what to do instead."""
    with pytest.raises(ConfigError) as info:
        load_settings(EpisodesSettings, {**BASE, "EPISODES_BACKEND": "warp"})
    problem = next(p for p in info.value.problems if p.where == "EPISODES_WARP_DEVICE")
    assert "finds no CUDA device" in problem.message
    assert "EPISODES_WARP_DEVICE=cpu" in problem.message
    assert problem.message.startswith(str(device_problem("cuda:0")))


def test_the_stage_stops_before_any_work(no_cuda, file_storage: Storage) -> None:
    """bp-episodes with EPISODES_BACKEND=warp on a machine without a GPU exits 2."""
    env = job_env(file_storage, "kitchen_counter", EPISODES_BACKEND="warp")
    assert run_stage(EpisodesStage(), env) == ExitCode.CONFIG


@pytest.mark.parametrize(
    ("env", "name", "text"),
    [
        ({"EPISODES_BACKEND": "mjx"}, "EPISODES_BACKEND", "mujoco"),
        ({"EPISODES_WARP_DEVICE": "gpu0"}, "EPISODES_WARP_DEVICE", "pattern"),
        ({"EPISODES_WARP_NJMAX": "0"}, "EPISODES_WARP_NJMAX", "greater than or equal to 16"),
    ],
)
def test_bad_values_are_named(env: dict[str, str], name: str, text: str) -> None:
    """An unknown backend, a malformed device or a zero capacity is named with its rule."""
    with pytest.raises(ConfigError) as info:
        load_settings(EpisodesSettings, {**BASE, **env})
    problem = next(p for p in info.value.problems if p.where == name)
    assert text in problem.message


def test_digest_covers_what_changes_the_output() -> None:
    """The default backend adds nothing to the inputs digest; warp adds itself, its device and
    its determinism; the kernel cache and the capacities never count."""
    default = load_settings(EpisodesSettings, BASE).output_params()
    assert not {k for k in default if k.startswith(("EPISODES_BACKEND", "EPISODES_WARP_"))}
    env = {"EPISODES_BACKEND": "warp", "EPISODES_WARP_DEVICE": "cpu"}
    env |= {"EPISODES_WARP_DETERMINISTIC": "false"}
    env |= {"EPISODES_WARP_KERNEL_CACHE": "/tmp/k", "EPISODES_WARP_NJMAX": "512"}
    warp = load_settings(EpisodesSettings, {**BASE, **env})
    params = warp.output_params()
    assert params["EPISODES_BACKEND"] == "warp" and params["EPISODES_WARP_DEVICE"] == "cpu"
    assert params["EPISODES_WARP_DETERMINISTIC"] is False  # it changes the bits recorded
    assert not {"EPISODES_WARP_KERNEL_CACHE", "EPISODES_WARP_NJMAX", "EPISODES_WARP_NCONMAX"} & set(
        params
    )
    opts = BackendOptions.from_settings(warp)
    got = (opts.backend, opts.warp_device, opts.warp_kernel_cache, opts.warp_njmax)
    assert got == ("warp", "cpu", "/tmp/k", 512) and opts.warp_deterministic is False
    assert missing_packages() == []


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_open_batch_picks_the_backend(scene, device: str) -> None:
    """mujoco opens MujocoBatch; warp opens WarpBatch on the device with the tier's image
    kinds only; the episode record names the simulator that ran."""
    cpu = open_batch(scene.model, 1, BackendOptions(resolution=RESOLUTION))
    assert isinstance(cpu, MujocoBatch)
    cpu.close()
    warp = open_batch(
        scene.model, 2, BackendOptions("warp", RESOLUTION, tier="plus", warp_device=device)
    )
    try:
        assert warp.num_worlds == 2
        warp.reset(scene.starts[:2])
        cam = scene.h.cameras[0].name
        assert warp.render(cam, "depth").shape == (2, RESOLUTION, RESOLUTION)
        with pytest.raises(ValueError, match="not enabled"):
            warp.render(cam, "seg")
    finally:
        warp.close()
    assert simulator_info("warp")["name"] == "mujoco_warp"
    assert simulator_info("mujoco")["name"] == "mujoco"


def test_a_kernel_cache_it_cannot_write_falls_back_with_a_warning(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    """A kernel cache folder that cannot be made or written (here: under a file) is not used:
    Warp's default cache is, and the warning names the setting and the folder."""
    from bp_episodes.warp_backend.runtime import writable_cache

    good = tmp_path / "kcache"
    assert writable_cache(str(good)) == str(good) and good.is_dir()
    assert list(good.iterdir()) == []  # the write check leaves nothing behind
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with caplog.at_level("WARNING", logger="bp.episodes.warp"):
        assert writable_cache(str(blocker / "kcache")) is None
    assert "EPISODES_WARP_KERNEL_CACHE" in caplog.text and "a-file" in caplog.text
    assert writable_cache(None) is None and writable_cache("") is None
