"""Each job image carries exactly its job's locked packages, runs as a non-root user, holds no
build tools, and names its revision; the GPU image is the episodes code on NVIDIA's EGL."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.containers.conftest import (
    IMAGE_USER,
    image_for,
    jobs_with_entry_point,
    locked_distributions,
    normalise,
    run_in_image,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

RENDERING = {"assemble", "episodes"}  # the jobs that call bp_sim.gl.select_gl

# what the image reports about itself, from the inside
PROBE = """
import importlib.metadata as md, importlib.util as iu, json, os, shutil, sys
dists = {d.metadata["Name"]: d.version for d in md.distributions()}
libs = "/usr/lib/x86_64-linux-gnu"
print(json.dumps({
    "dists": dists,
    "uid": os.getuid(),
    "modules": {m: iu.find_spec(m) is not None for m in ("pip", "setuptools", "wheel", "ensurepip")},
    "tools": {t: shutil.which(t) for t in ("gcc", "cc", "make", "uv", "pip", "pip3", "git")},
    "env": {k: os.environ.get(k) for k in ("PYTHONDONTWRITEBYTECODE", "BUILD_REVISION", "MUJOCO_GL",
            "NVIDIA_DRIVER_CAPABILITIES", "NVIDIA_VISIBLE_DEVICES", "BP_JOB")},
    "egl": sorted(f for f in os.listdir(libs) if f.startswith(("libEGL", "libLLVM"))),
    "dri": os.path.isdir(os.path.join(libs, "dri")) and sorted(os.listdir(os.path.join(libs, "dri"))),
    "vendors": {f: open(os.path.join(d, f)).read() for d in ("/usr/share/glvnd/egl_vendor.d",)
                if os.path.isdir(d) for f in os.listdir(d)},
    "writable_site": os.access(sys.prefix, os.W_OK),
    "python": list(sys.version_info[:2]),
}))
"""


def probe(client: Any, image: str) -> dict[str, Any]:
    """Run :data:`PROBE` in the image."""
    out: dict[str, Any] = json.loads(run_in_image(client, image, PROBE).strip().splitlines()[-1])
    return out


@pytest.mark.parametrize("job", jobs_with_entry_point())
def test_image_holds_only_its_jobs_locked_packages(docker_engine: Any, job: str) -> None:
    """Installed distributions equal uv.lock's set for bp-<job> (same versions, nothing more),
    as a non-root user, without pip or compilers, with the revision recorded."""
    image = image_for(docker_engine, job)
    seen = probe(docker_engine, image)
    installed = {normalise(k): v for k, v in seen["dists"].items()}
    assert installed == locked_distributions(job)
    assert seen["python"] == [3, 11]
    assert seen["uid"] == IMAGE_USER and not seen["writable_site"]
    assert not any(seen["modules"].values()), seen["modules"]
    assert not any(seen["tools"].values()), seen["tools"]
    assert seen["env"]["PYTHONDONTWRITEBYTECODE"] == "1" and seen["env"]["BP_JOB"] == job
    attrs = docker_engine.images.get(image).attrs["Config"]
    assert attrs["Entrypoint"] == ["/usr/local/bin/bp-job"]
    assert (
        attrs["Labels"]["org.opencontainers.image.revision"]
        == seen["env"]["BUILD_REVISION"]
        != "unknown"
    )
    assert attrs["Labels"]["org.blueprintpipeline.job"] == job
    if job in RENDERING:
        assert "libEGL_mesa.so.0" in seen["egl"] and seen["env"]["MUJOCO_GL"] == "egl"
    else:
        assert seen["egl"] == [] and seen["env"]["MUJOCO_GL"] == "disable"


def test_each_image_lacks_the_other_jobs_packages(docker_engine: Any) -> None:
    """The ingest image has no MuJoCo or NumPy; the episodes image has no h5py, USD or CoACD."""
    ingest = {
        normalise(k) for k in probe(docker_engine, image_for(docker_engine, "ingest"))["dists"]
    }
    episodes = {
        normalise(k) for k in probe(docker_engine, image_for(docker_engine, "episodes"))["dists"]
    }
    assert "ijson" in ingest and not ingest & {"mujoco", "numpy", "bp-sim", "bp-episodes", "bp-cli"}
    assert "mujoco" in episodes and not episodes & {
        "h5py",
        "usd-core",
        "coacd",
        "trimesh",
        "bp-ingest",
        "bp-cli",
    }


def test_gpu_image_is_the_episodes_code_on_nvidia_egl(docker_engine: Any) -> None:
    """The CPU episodes image's distributions plus the warp extra's, at uv.lock's versions;
    glvnd tries NVIDIA's EGL first and no software rasteriser is there to fall back on silently
    (no Mesa DRI drivers, no LLVM); driver capabilities for graphics; the entry point starts (a
    bad config exits 2) without a GPU."""
    gpu = image_for(docker_engine, "episodes-gpu")
    cpu = image_for(docker_engine, "episodes")
    seen, cpu_seen = probe(docker_engine, gpu), probe(docker_engine, cpu)
    installed = {normalise(k): v for k, v in seen["dists"].items()}
    assert installed == locked_distributions("episodes", extras=("warp",))
    assert seen["dists"].items() >= cpu_seen["dists"].items()  # every CPU file, same versions
    assert not any(seen["modules"].values()), seen["modules"]  # the warp tier brought no pip
    assert seen["uid"] == IMAGE_USER and not any(seen["tools"].values())
    vendor = json.loads(seen["vendors"]["10_nvidia.json"])
    assert vendor["ICD"]["library_path"] == "libEGL_nvidia.so.0"
    assert "libEGL.so.1" in seen["egl"]
    assert sorted(seen["vendors"])[0] == "10_nvidia.json"  # glvnd reads vendor files in name order
    assert not [f for f in seen["egl"] if f.startswith("libLLVM")] and not seen["dri"]
    assert cpu_seen["dri"] and "swrast_dri.so" in cpu_seen["dri"]
    assert "graphics" in seen["env"]["NVIDIA_DRIVER_CAPABILITIES"].split(",")
    assert seen["env"]["MUJOCO_GL"] == "egl" and seen["env"]["NVIDIA_VISIBLE_DEVICES"] == "all"
    container = docker_engine.containers.run(gpu, environment={"EPISODES_FPS": "7"}, detach=True)
    try:
        status = container.wait(timeout=300)
        logs = container.logs().decode()
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 2, logs
    assert "invalid configuration for episodes" in logs and "EPISODES_FPS" in logs
    assert "Traceback" not in logs


# imports the warp extra the way the stage does (warp_backend.runtime): warp, then mujoco_warp
WARP_PROBE = """
import importlib.metadata as md, importlib.util as iu, json, warnings
warnings.simplefilter("ignore")
found = {m: iu.find_spec(m) is not None for m in ("warp", "mujoco_warp")}
out = {"found": found}
if all(found.values()):
    import warp, mujoco_warp
    out |= {"warp": warp.config.version, "warp-lang": md.version("warp-lang"),
            "mujoco-warp": md.version("mujoco-warp"), "where": [warp.__file__, mujoco_warp.__file__]}
print(json.dumps(out))
"""


def warp_probe(client: Any, image: str) -> dict[str, Any]:
    """Run :data:`WARP_PROBE` in the image (its last JSON line; Warp may warn before it)."""
    lines = run_in_image(client, image, WARP_PROBE).strip().splitlines()
    out: dict[str, Any] = json.loads(next(x for x in reversed(lines) if x.startswith("{")))
    return out


def test_gpu_image_imports_the_warp_extra_and_the_cpu_image_does_not(docker_engine: Any) -> None:
    """bp-episodes-gpu imports warp and mujoco_warp (no GPU needed to import them) at uv.lock's
    versions, from the runtime venv; bp-episodes has neither (EPISODES_BACKEND=warp is a
    configuration error there, naming the extra)."""
    gpu = image_for(docker_engine, "episodes-gpu")
    cpu = image_for(docker_engine, "episodes")
    locked = locked_distributions("episodes", extras=("warp",))
    seen = warp_probe(docker_engine, gpu)
    assert seen["found"] == {"warp": True, "mujoco_warp": True}, seen
    assert seen["warp"] == seen["warp-lang"] == locked["warp-lang"]
    assert seen["mujoco-warp"] == locked["mujoco-warp"]
    assert all(p.startswith("/opt/venv/lib/python3.11/site-packages/") for p in seen["where"])
    assert warp_probe(docker_engine, cpu)["found"] == {"warp": False, "mujoco_warp": False}
    assert not {"warp-lang", "mujoco-warp"} & set(locked_distributions("episodes"))
