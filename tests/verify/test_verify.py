"""``bp verify`` on real exported datasets: clean ones pass, every kind of damage fails,
naming the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from bp_dataset.checksum_check import check_checksums
from bp_dataset.layout import SHA256SUMS, TASKS
from bp_dataset.root import open_target
from bp_dataset.verify import run_checks, verify_dataset

from tests.datasets import ExportedDataset
from tests.gate.helpers import (
    bp,
    copy_dataset,
    dataset_files,
    flip_byte,
    parquet_files,
    resign,
    rewrite_parquet,
    truncate,
)

pytestmark = pytest.mark.slow  # the fixtures export real datasets (once per session)


def report(root: Path) -> dict[str, Any]:
    """``bp verify --json`` of a folder, with its exit code."""
    result = bp("verify", str(root), "--json")
    body = json.loads(result.stdout)
    body["exit_code"] = result.exit_code
    return body


def problems(body: dict[str, Any], check: str) -> str:
    """Every problem line of one check, joined."""
    return "\n".join(next(c for c in body["checks"] if c["name"] == check)["problems"])


@pytest.mark.parametrize("which", ["core", "full"])
def test_clean_dataset_passes(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """An untouched export verifies: every check passes, exit 0, the table says so."""
    ds: ExportedDataset = request.getfixturevalue(f"exported_{which}")
    root = copy_dataset(ds, tmp_path / "ds")
    result = bp("verify", str(root))
    assert result.exit_code == 0, result.output
    assert "verified: every check holds" in result.output
    for name in ("checksums", "schema", "tier", "frames", "values"):
        assert name in result.output
    body = report(root)
    assert body["passed"] is True and body["exit_code"] == 0
    assert [c["name"] for c in body["checks"]] == [
        "checksums",
        "schema",
        "tier",
        "frames",
        "values",
    ]
    tier = next(c for c in body["checks"] if c["name"] == "tier")
    assert tier["value"]["tier"] == which
    assert (tier["value"]["lossless_files"] > 0) == (which == "full")
    frames = next(c for c in body["checks"] if c["name"] == "frames")
    assert frames["value"]["frames_decoded"] == frames["value"]["frames_expected"] > 0


def test_uri_and_checksums_only(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """A file:// URI works like a path; --checksums-only runs the checksums check alone."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    result = bp("verify", root.as_uri(), "--checksums-only", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [c["name"] for c in body["checks"]] == ["checksums"]
    assert body["checks"][0]["value"]["files"] == len(dataset_files(root)) - 1


@pytest.mark.parametrize("which", ["core", "full"])
def test_one_flipped_byte_in_any_file_fails_naming_it(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Flipping one bit of ANY file (each file of the dataset in turn) → exit 1, the file named."""
    ds: ExportedDataset = request.getfixturevalue(f"exported_{which}")
    files = dataset_files(ds.root)
    assert len(files) >= 10
    missed = []
    for i, rel in enumerate(files):
        root = copy_dataset(ds, tmp_path / f"ds{i}")
        flip_byte(root / rel)
        result = bp("verify", str(root))
        if result.exit_code != 1 or rel not in result.output:
            missed.append((rel, result.exit_code))
    assert not missed, f"corruption not reported (file, exit code): {missed}"


def test_deleted_file_fails_naming_it(exported_full: ExportedDataset, tmp_path: Path) -> None:
    """Deleting any one file → exit 1 naming it (SHA256SUMS itself included)."""
    missed = []
    for i, rel in enumerate(dataset_files(exported_full.root)):
        root = copy_dataset(exported_full, tmp_path / f"ds{i}")
        (root / rel).unlink()
        result = bp("verify", str(root))
        if result.exit_code != 1 or rel not in result.output:
            missed.append(rel)
    assert not missed


def test_truncated_video_fails_frames_check_even_when_resigned(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """A truncated video fails checksums, and the decode itself catches it when SHA256SUMS was
    rewritten to match: the frames check names the file."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    video = sorted((root / "videos").rglob("*.mp4"))[0]
    rel = video.relative_to(root).as_posix()
    truncate(video)
    body = report(root)
    assert body["exit_code"] == 1
    assert rel in problems(body, "checksums") and rel in problems(body, "frames")
    resign(root)
    body = report(root)
    assert body["exit_code"] == 1
    failed = [c["name"] for c in body["checks"] if not c["passed"]]
    assert failed == ["frames"], failed
    assert rel in problems(body, "frames")


def test_unlisted_and_malformed_sums(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """A file not in SHA256SUMS, and a malformed SHA256SUMS line, each fail naming them."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    (root / "extra.txt").write_text("not part of the dataset\n")
    sums = root / SHA256SUMS
    sums.write_text(sums.read_text() + "nothex  README.md\n")
    body = report(root)
    text = problems(body, "checksums")
    assert "extra.txt: present but not listed" in text
    assert f"{SHA256SUMS} line" in text and body["exit_code"] == 1


def test_nan_in_data_fails_values_naming_file_and_column(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """A NaN written into the frame table (and re-signed) fails the values check."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    data = next(parquet_files(root, "data"))

    def poison(t: pa.Table) -> pa.Table:
        col = t.column("observation.state").combine_chunks()
        flat = np.asarray(col.flatten().to_numpy(zero_copy_only=False)).copy()
        flat[5] = np.nan
        arr = pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), col.type.list_size)
        return t.set_column(t.schema.get_field_index("observation.state"), "observation.state", arr)

    rewrite_parquet(data, poison)
    resign(root)
    body = report(root)
    assert body["exit_code"] == 1
    text = problems(body, "values")
    assert data.relative_to(root).as_posix() in text and "observation.state" in text
    assert "non-finite" in text


def test_non_unit_quaternion_and_done_flags(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """A scaled end-effector quaternion and a misplaced next.done are value problems."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    data = next(parquet_files(root, "data"))

    def damage(t: pa.Table) -> pa.Table:
        col = t.column("observation.ee_pose").combine_chunks()
        flat = np.asarray(col.flatten().to_numpy(zero_copy_only=False)).reshape(-1, 7).copy()
        flat[0, 3:7] *= 2.0
        arr = pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel(), pa.float32()), 7)
        t = t.set_column(
            t.schema.get_field_index("observation.ee_pose"), "observation.ee_pose", arr
        )
        done = t.column("next.done").to_numpy(zero_copy_only=False).copy()
        done[0] = True
        return t.set_column(t.schema.get_field_index("next.done"), "next.done", pa.array(done))

    rewrite_parquet(data, damage)
    resign(root)
    text = problems(report(root), "values")
    assert "observation.ee_pose" in text and "norm" in text
    assert "next.done" in text


def test_schema_problems_are_all_listed(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """A dropped data column, a wrong total and task strings without the pandas index are
    each reported, naming the file (every problem at once)."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    data = next(parquet_files(root, "data"))
    rewrite_parquet(data, lambda t: t.drop_columns(["observation.velocity"]))
    info_path = root / "meta/info.json"
    info = json.loads(info_path.read_text())
    info["total_frames"] += 1
    info_path.write_text(json.dumps(info))
    rewrite_parquet(root / TASKS, lambda t: t.replace_schema_metadata({}))
    resign(root)
    body = report(root)
    text = problems(body, "schema")
    assert "observation.velocity" in text and data.relative_to(root).as_posix() in text
    assert "meta/info.json: total_frames" in text
    assert f"{TASKS}: the task strings must be the pandas index" in text


def test_codebase_version_must_be_v3(exported_core: ExportedDataset, tmp_path: Path) -> None:
    """An info.json claiming another LeRobot codebase version fails the schema check."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    info_path = root / "meta/info.json"
    info = json.loads(info_path.read_text())
    info["codebase_version"] = "v2.1"
    info_path.write_text(json.dumps(info))
    resign(root)
    assert "codebase_version is 'v2.1', expected 'v3.0'" in problems(report(root), "schema")


def test_tier_must_match_exactly(
    exported_core: ExportedDataset, exported_full: ExportedDataset, tmp_path: Path
) -> None:
    """A lossless file in a core dataset, or a full dataset missing one declared stream,
    fails the tier check naming the file."""
    core = copy_dataset(exported_core, tmp_path / "core")
    full_lossless = sorted((exported_full.root / "lossless").rglob("*.npz"))[0]
    rel = full_lossless.relative_to(exported_full.root).as_posix()
    (core / rel).parent.mkdir(parents=True)
    (core / rel).write_bytes(full_lossless.read_bytes())
    resign(core)
    assert f"{rel}: lossless file in a tier 'core' dataset" in problems(report(core), "tier")

    full = copy_dataset(exported_full, tmp_path / "full")
    with np.load(full / rel, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    dropped = next(k for k in sorted(arrays) if "observation.depth" in k)
    del arrays[dropped]
    with (full / rel).open("wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    resign(full)
    text = problems(report(full), "tier")
    assert rel in text and dropped in text and "missing" in text


def test_failure_rollout_in_core_is_a_tier_problem(
    exported_core: ExportedDataset, tmp_path: Path
) -> None:
    """An episode whose last frame is not a success (a failure rollout) in a core dataset
    fails the tier check (and the success flag no longer matches its data)."""
    root = copy_dataset(exported_core, tmp_path / "ds")
    data = next(parquet_files(root, "data"))

    def unsucceed(t: pa.Table) -> pa.Table:
        ep = t.column("episode_index").to_numpy()
        s = t.column("next.success").to_numpy(zero_copy_only=False).copy()
        s[ep == ep[0]] = False
        return t.set_column(t.schema.get_field_index("next.success"), "next.success", pa.array(s))

    rewrite_parquet(data, unsucceed)
    resign(root)
    text = problems(report(root), "tier")
    assert "failure rollouts" in text and "flagged" in text


def test_missing_location_is_a_usage_error(tmp_path: Path) -> None:
    """A path that does not exist, a file, or a bad URI: exit 2, one clear line, no traceback."""
    for target in (str(tmp_path / "nope"), "file:///no/such/dataset", "ftp://x/y"):
        result = bp("verify", target)
        assert result.exit_code == 2, (target, result.output)
        assert "error:" in result.output and "Traceback" not in result.output
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    result = bp("verify", str(afile))
    assert result.exit_code == 2 and "is not a folder" in result.output
    assert not (Path("/no/such/dataset")).exists()  # nothing was created


def test_parallel_hashes_equal_sequential(exported_full: ExportedDataset) -> None:
    """The threaded checksum pass computes each file's plain sha256 and reports progress."""
    import hashlib

    root = open_target(str(exported_full.root))
    seen: list[tuple[int, int]] = []
    out = check_checksums(root, workers=2, progress=lambda _w, d, t: seen.append((d, t)))
    assert out.result.passed
    for rel, digest in out.digests.items():
        assert digest == hashlib.sha256((exported_full.root / rel).read_bytes()).hexdigest()
    assert seen and seen[-1][0] == seen[-1][1]
    assert out.digest == hashlib.sha256((exported_full.root / SHA256SUMS).read_bytes()).hexdigest()


def test_library_report_matches_cli(exported_core: ExportedDataset) -> None:
    """The library returns the same verdicts the CLI prints, and the data scan it used."""
    root = open_target(str(exported_core.root))
    v = run_checks(root)
    assert v.report.passed and v.scan is not None and v.meta.episodes is not None
    assert set(v.scan.last_success) == set(range(len(v.meta.episodes)))
    assert verify_dataset(root).failed() == []


@pytest.mark.parametrize("command", ["verify", "approve"])
def test_help_renders(command: str) -> None:
    """``bp verify --help`` and ``bp approve --help`` render (no markup errors)."""
    result = bp(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
