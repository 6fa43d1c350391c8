"""The `bp` CLI runs a job through its entry point, as its container would."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from bp_contracts.scene_manifest import SceneManifest
from bp_sdk.commit import commit, load_record, read_committed
from bp_sdk.errors import ExitCode
from bp_sdk.layout import Unit
from bp_sdk.storage import open_storage

from tests.conftest import EXAMPLES, script


def _bp(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [script("bp"), *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def test_stage_from_folder_then_skip(tmp_path: Path) -> None:
    """`bp stage ingest --scene DIR` uploads the folder, runs bp-ingest, commits; a re-run skips."""
    uri = (tmp_path / "store").as_uri()
    first = _bp("stage", "ingest", "--scene", str(EXAMPLES / "kitchen_counter"), "--storage", uri)
    assert first.returncode == 0, first.stderr
    assert "ingest: ok" in first.stderr
    store = open_storage(uri)
    runs = store.list_dirs("scenes/kitchen_counter/runs/")
    assert len(runs) == 1 and runs[0].startswith("r-")
    units = read_committed(store, "kitchen_counter", runs[0], "ingest")
    assert units is not None
    manifest = units[0].read_model("scene_manifest.json", SceneManifest)
    assert manifest.object_count == 12
    assert manifest.objects[0].mesh is None or manifest.objects[0].mesh_sha256
    second = _bp("stage", "ingest", "--scene", "kitchen_counter", "--storage", uri)
    assert second.returncode == 0
    assert "skipping" in second.stderr
    assert store.list_dirs("scenes/kitchen_counter/runs/") == runs  # same derived run id


def test_default_storage_is_local_folder(tmp_path: Path) -> None:
    """Without --storage, bp uses ./bp-data (the embedded default)."""
    out = _bp(
        "stage",
        "ingest",
        "--scene",
        str(EXAMPLES / "office_desk"),
        "--log-format",
        "json",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "bp-data" / "scenes" / "office_desk" / "input" / "scene.json").is_file()
    job_lines = [json.loads(x) for x in out.stderr.splitlines() if x.startswith("{")]
    assert job_lines and all("logging.googleapis.com/labels" in x for x in job_lines)


def test_set_changes_run_id(tmp_path: Path) -> None:
    """--set overrides reach the job and are part of the derived run id."""
    uri = (tmp_path / "store").as_uri()
    scene = str(EXAMPLES / "kitchen_counter")
    assert _bp("stage", "ingest", "--scene", scene, "--storage", uri).returncode == 0
    out = _bp(
        "stage", "ingest", "--scene", scene, "--storage", uri, "--set", "INGEST_OUTLIER_FACTOR=5"
    )
    assert out.returncode == 0, out.stderr
    store = open_storage(uri)
    runs = store.list_dirs("scenes/kitchen_counter/runs/")
    assert len(runs) == 2
    params = [read_committed(store, "kitchen_counter", r, "ingest")[0].record.params for r in runs]  # type: ignore[index]
    assert sorted(p["INGEST_OUTLIER_FACTOR"] for p in params) == [3.0, 5.0]


def test_stage_set_in_another_run_says_why(tmp_path: Path) -> None:
    """A stage given --set values its upstream ran without: the CLI names the runs and the fix, the job's marker too."""
    uri = (tmp_path / "store").as_uri()
    ingest = _bp("stage", "ingest", "--scene", str(EXAMPLES / "kitchen_counter"), "--storage", uri)
    assert ingest.returncode == 0, ingest.stderr
    store = open_storage(uri)
    (first,) = store.list_dirs("scenes/kitchen_counter/runs/")
    grasp = "SIMREADY_MAX_GRASP_KG=2"
    out = _bp("stage", "simready", "--scene", "kitchen_counter", "--storage", uri, "--set", grasp)
    assert out.returncode == ExitCode.CONFIG, out.stderr
    assert "the --set values are part of the run id" in out.stderr
    assert (
        "ingest has not committed in run r-" in out.stderr
        and f"it has in run {first}" in out.stderr
    )
    assert (
        f"--run-id {first} --set {grasp}" in out.stderr
        and f"run ingest with --set {grasp}" in out.stderr
    )
    assert "running bp-simready" not in out.stderr  # refused before the job started
    assert store.list_dirs("scenes/kitchen_counter/runs/") == [first]
    found = re.search(r"has not committed in run (r-[0-9a-f]+)", out.stderr)
    assert found is not None
    # the job's own marker (a run id given explicitly) names the run and RUN_ID too
    derived = found.group(1)
    args = ("--scene", "kitchen_counter", "--storage", uri, "--run-id", derived, "--set", grasp)
    job = _bp("stage", "simready", *args)
    assert job.returncode == ExitCode.PERMANENT, job.stderr
    assert f"it has committed in run {first} of this scene" in job.stderr
    assert f"RUN_ID={first}" in job.stderr and "--set values" in job.stderr


def test_dataset_stage_set_in_another_run_says_why(tmp_path: Path) -> None:
    """gate given --set values export ran without: the error names the run whose dataset export committed."""
    uri = (tmp_path / "store").as_uri()
    ingest = _bp("stage", "ingest", "--scene", str(EXAMPLES / "kitchen_counter"), "--storage", uri)
    assert ingest.returncode == 0, ingest.stderr
    store = open_storage(uri)
    (first,) = store.list_dirs("scenes/kitchen_counter/runs/")
    # an export commit in the first run's dataset (ingest's record, committed there; gate never starts)
    record = load_record(store, Unit("kitchen_counter", first, "ingest"))
    assert record is not None
    dataset = f"kitchen_counter-{first}"
    commit(store, record.model_copy(update={"stage": "export", "dataset_id": dataset}))
    assert load_record(store, Unit("kitchen_counter", first, "export", dataset=dataset)) is not None
    out = _bp(
        "stage", "gate", "--scene", "kitchen_counter", "--storage", uri, "--set", "GATE_WORKERS=1"
    )
    assert out.returncode == ExitCode.CONFIG, out.stderr
    assert (
        "export has not committed in run r-" in out.stderr
        and f"it has in run {first}" in out.stderr
    )
    assert f"--run-id {first} --set GATE_WORKERS=1" in out.stderr
    assert "run ingest … export with --set GATE_WORKERS=1 too" in out.stderr


def test_unknown_stage_lists_valid_names(tmp_path: Path) -> None:
    """An unknown stage name is a configuration error listing the installed stages."""
    out = _bp(
        "stage",
        "nosuch",
        "--scene",
        str(EXAMPLES / "kitchen_counter"),
        "--storage",
        (tmp_path / "s").as_uri(),
    )
    assert out.returncode == ExitCode.CONFIG
    assert "unknown stage 'nosuch'" in out.stderr and "ingest" in out.stderr


def test_bad_blueprint_shows_problems(tmp_path: Path) -> None:
    """A failing job's marker is shown: problems with JSON paths and the next step; exit 3."""
    scene = tmp_path / "broken"
    scene.mkdir()
    (scene / "scene.json").write_text(
        json.dumps(
            {
                "schema_version": "1",
                "name": "x",
                "units": "m",
                "up_axis": "z",
                "objects": [
                    {
                        "id": "a",
                        "category": "mug",
                        "size": [0, 1, 1],
                        "pose": {"position": [0, 0, 0]},
                    }
                ],
            }
        )
    )
    out = _bp("stage", "ingest", "--scene", str(scene), "--storage", (tmp_path / "s").as_uri())
    assert out.returncode == ExitCode.PERMANENT
    assert "$.objects[0].size[0]" in out.stderr
    assert "next:" in out.stderr


def test_scene_id_not_in_storage(tmp_path: Path) -> None:
    """--scene with an id that has no input in storage says to pass the folder."""
    out = _bp("stage", "ingest", "--scene", "ghost", "--storage", (tmp_path / "s").as_uri())
    assert out.returncode == ExitCode.CONFIG
    assert "pass the scene folder" in out.stderr


def test_stages_lists_ingest() -> None:
    """`bp stages` lists installed stages from package metadata."""
    out = _bp("stages")
    assert out.returncode == 0 and "ingest" in out.stdout.split()


def test_run_chains_installed_stages_until(tmp_path: Path) -> None:
    """`bp run --until ingest` runs the pipeline prefix with one run id and prints a summary table."""
    uri = (tmp_path / "store").as_uri()
    out = _bp("run", str(EXAMPLES / "kitchen_counter"), "--storage", uri, "--until", "ingest")
    assert out.returncode == 0, out.stderr
    assert "ingest" in out.stderr and "scene kitchen_counter" in out.stderr
    store = open_storage(uri)
    (run,) = store.list_dirs("scenes/kitchen_counter/runs/")
    assert read_committed(store, "kitchen_counter", run, "ingest") is not None


def test_run_unknown_until_lists_stages(tmp_path: Path) -> None:
    """`bp run --until nosuch` is a configuration error listing the installed stages in order."""
    out = _bp(
        "run",
        str(EXAMPLES / "kitchen_counter"),
        "--storage",
        (tmp_path / "s").as_uri(),
        "--until",
        "nosuch",
    )
    assert out.returncode == ExitCode.CONFIG
    assert "installed, in order: ingest" in out.stderr


def test_bad_storage_uri_is_one_clear_error(tmp_path: Path) -> None:
    """An unsupported --storage scheme is a configuration error naming the accepted forms, no traceback."""
    out = _bp(
        "stage",
        "ingest",
        "--scene",
        str(EXAMPLES / "kitchen_counter"),
        "--storage",
        "s3://bucket/x",
    )
    assert out.returncode == ExitCode.CONFIG
    assert (
        "invalid storage URI 's3://bucket/x'" in out.stderr and "gs://bucket[/prefix]" in out.stderr
    )
    assert "Traceback" not in out.stderr and "│" not in out.stderr


def test_every_command_help_renders() -> None:
    """`bp <command> --help` renders for every command (help text is never parsed as markup)."""
    for command in ("run", "stage", "stages", "cleanup", "verify", "approve", "report", "workflow"):
        out = _bp(command, "--help")
        assert out.returncode == 0, f"{command}: {out.stderr[-500:]}"
        assert "Usage" in out.stdout and "Traceback" not in out.stdout + out.stderr


def test_pipeline_knows_where_dataset_stages_commit() -> None:
    """`bp run` reads export/gate/deliver from datasets/<id>/<stage> (default id <scene>-<run>, or the override)."""
    from bp_cli.units import stage_unit

    assert stage_unit("gate", "kitchen", "r-1", {}).dir == "datasets/kitchen-r-1/gate"  # type: ignore[union-attr]
    override = stage_unit("export", "kitchen", "r-1", {"DATASET_ID": "lab-a-2026"})
    assert override is not None and override.dir == "datasets/lab-a-2026/export"
    assert stage_unit("tasks", "kitchen", "r-1", {}).dir == "scenes/kitchen/runs/r-1/tasks"  # type: ignore[union-attr]
    assert stage_unit("episodes", "kitchen", "r-1", {}) is None  # sharded: one unit per shard
