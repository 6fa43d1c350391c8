"""The fuzz targets in the test suite: every seed runs clean, property-based runs (hypothesis)
find nothing, the findings fixed stay fixed, and the engine reports each kind of fault.

The coverage-guided runs are ``scripts/fuzz.sh [seconds]`` (``python -m tests.fuzz.engine``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.datasets import ExportedDataset
from tests.fuzz.engine import seeds
from tests.fuzz.mutate import apply_program, content_changed, program
from tests.fuzz.targets import BlueprintTarget, DatasetTarget, Finding, mesh_target, strict_json

HERE = Path(__file__).resolve().parent
SLOW = settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                database=None)


@pytest.fixture(autouse=True, scope="module")
def _hypothesis_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hypothesis' caches go to a temp dir while these tests run, not into the repository."""
    from hypothesis import configuration

    before = configuration.__dict__.get("__hypothesis_home_directory")
    configuration.set_hypothesis_home_dir(tmp_path_factory.mktemp("hypothesis"))
    yield
    configuration.set_hypothesis_home_dir(before)


@pytest.fixture(scope="module")
def blueprint_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlueprintTarget]:
    """The blueprint target on its own store."""
    target = BlueprintTarget(tmp_path_factory.mktemp("fuzz-blueprint"))
    yield target
    target.close()


@pytest.fixture(scope="module")
def dataset_target(exported_core: ExportedDataset, tmp_path_factory: pytest.TempPathFactory) -> DatasetTarget:
    """The dataset target on the session's exported dataset."""
    return DatasetTarget(tmp_path_factory.mktemp("fuzz-dataset"), exported_core.root)


@pytest.mark.parametrize("index", range(len(seeds("blueprint"))))
def test_blueprint_seeds_run_clean(index: int, blueprint_target: BlueprintTarget) -> None:
    """Every committed blueprint seed is accepted or refused as documented."""
    blueprint_target(seeds("blueprint")[index])


@pytest.mark.parametrize("index", range(len(seeds("mesh"))))
def test_mesh_seeds_run_clean(index: int) -> None:
    """Every committed mesh seed loads or is refused with a MeshProblem."""
    mesh_target(seeds("mesh")[index])


@pytest.mark.slow
def test_dataset_seeds_run_clean(dataset_target: DatasetTarget) -> None:
    """Every committed mutation program gives a report, never a pass for changed bytes."""
    for data in seeds("dataset"):
        dataset_target(data)


def test_fixed_findings_stay_fixed(blueprint_target: BlueprintTarget) -> None:
    """A vertical tab between JSON values was committed; 2D or out-of-range meshes crashed."""
    from bp_simready.meshes import MeshProblem, parse

    vt = (HERE / "corpus/blueprint/regress-vertical-tab.json").read_bytes()
    with pytest.raises(ValueError):
        strict_json(vt)
    blueprint_target(vt)  # exit 3 (checked by the target), not a commit
    for name, why in [("regress-2d-vertices.bin", "does not hold 3D vertices"),
                      ("regress-face-out-of-range.bin", "name vertices it does not have"),
                      ("regress-hole-loop-out-of-range.bin", "name vertices it does not have")]:
        data = (HERE / "corpus/mesh" / name).read_bytes()
        from tests.fuzz.targets import sniff

        with pytest.raises(MeshProblem, match=why):
            parse(f"m.{sniff(data)}", data, 20_000)


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                      st.text(max_size=8))
JSON = st.recursive(JSON_LEAF, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                    max_leaves=12)
VEC = st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.integers(-10, 10), min_size=0, max_size=5)
OBJECT = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "table", "x-1", "", "bad id"]),
     "category": st.sampled_from(["table", "mug", "apple", "shelf", "Bad", "zz_unknown"]),
     "size": VEC, "pose": st.fixed_dictionaries({"position": VEC}, optional={"orientation_wxyz": VEC})},
    optional={"support": st.sampled_from(["floor", "a", "b", "table", "nope"]),
              "mesh": st.sampled_from(["meshes/m.obj", "../x.obj", "m.txt", "meshes/none.obj"]),
              "static": st.booleans() | JSON, "extra": JSON},
)
BLUEPRINT = st.fixed_dictionaries(
    {"schema_version": st.sampled_from(["1", 1, "2"]), "name": st.text(max_size=10),
     "units": st.sampled_from(["m", "cm", "mm", "in", "ft", "km"]), "up_axis": st.sampled_from(["z", "y", "x"]),
     "objects": st.lists(OBJECT, max_size=6) | JSON},
    optional={"robot_base": st.fixed_dictionaries({"position": VEC}) | JSON, "description": JSON},
)


@SLOW
@given(doc=BLUEPRINT, raw=st.booleans(), junk=st.binary(max_size=8))
def test_blueprint_properties(blueprint_target: BlueprintTarget, doc: dict[str, Any], raw: bool,
                              junk: bytes) -> None:
    """Blueprint-shaped documents (with junk bytes spliced in): exit 0 or 3, never a crash or a bad commit."""
    data = json.dumps(doc, allow_nan=True).encode()
    if raw:
        cut = len(data) // 2
        data = data[:cut] + junk + data[cut:]
    blueprint_target(data)


NUM = st.sampled_from(["0", "1", "-1", "1e308", "-1e308", "nan", "inf", "1e-320", "0.5", "x", ""])
INDEX = st.integers(-5, 12).map(str) | st.sampled_from(["1/1/1", "0", "", "a", "99999999999"])


@SLOW
@given(vertices=st.lists(st.tuples(NUM, NUM, NUM), max_size=10),
       faces=st.lists(st.lists(INDEX, min_size=1, max_size=5), max_size=10),
       tail=st.binary(max_size=16))
def test_obj_properties(vertices: list[tuple[str, str, str]], faces: list[list[str]], tail: bytes) -> None:
    """OBJ text with odd numbers and indices: a usable mesh or a MeshProblem, nothing else."""
    text = "".join(f"v {x} {y} {z}\n" for x, y, z in vertices)
    text += "".join("f " + " ".join(f) + "\n" for f in faces)
    mesh_target(text.encode() + tail)


@SLOW
@given(data=st.binary(max_size=2048))
def test_mesh_bytes_properties(data: bytes) -> None:
    """Arbitrary bytes, sniffed as any format: a usable mesh or a MeshProblem."""
    mesh_target(data)


@pytest.mark.slow
@settings(deadline=None, max_examples=12, derandomize=True, suppress_health_check=list(HealthCheck),
          database=None)
@given(data=st.binary(min_size=1, max_size=40))
def test_dataset_properties(dataset_target: DatasetTarget, data: bytes) -> None:
    """Random mutation programs on a real dataset: a report, never a pass for changed bytes."""
    dataset_target(data)


def test_programs_change_what_they_say() -> None:
    """The dataset programs are what the oracle assumes: no-op is no change, flips change bytes."""
    base = {"a.txt": b"hello", "meta/SHA256SUMS": b"x"}
    assert apply_program(base, program(False)) == (base, False)
    changed, resigned = apply_program(base, program(True, ("flip", 0, 100, b"")))
    assert resigned and changed["a.txt"] != b"hello" and content_changed(changed, base)
    added, _ = apply_program(base, program(False, ("add", 0, 0, b"x.bin")))
    assert "x.bin" in added and content_changed(added, base)
    with pytest.raises(Finding):
        raise Finding("the exception type the engine reports")


@pytest.mark.slow
def test_engine_reports_every_kind_of_fault(tmp_path: Path) -> None:
    """The engine, on a target with planted faults: a crash, a hang, a hang in native code, a fatal signal."""
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz.engine", "selftest", "--seconds", "20",
                           "--out", str(out), "--engine", "builtin"],
                          capture_output=True, text=True, timeout=120, check=False, cwd=HERE.parents[1])
    assert proc.returncode == 1, proc.stderr
    texts = [p.read_text() for p in sorted((out / "findings").glob("*.txt"))]
    assert any("planted crash" in t for t in texts)
    assert any(t.startswith("ran longer than") for t in texts)
    assert any("a hang in native code" in t for t in texts)
    assert any("child ended with -11" in t for t in texts)


@pytest.mark.slow
def test_fuzz_script_fails_on_a_finding_and_lists_it(tmp_path: Path) -> None:
    """scripts/fuzz.sh (run by scripts/test.sh) exits 1 on a finding and prints each one with what happened."""
    env = {**os.environ, "BP_FUZZ_TARGET": "selftest", "TMPDIR": str(tmp_path)}
    proc = subprocess.run(["bash", "scripts/fuzz.sh", "15"], capture_output=True, text=True,
                          timeout=180, check=False, cwd=HERE.parents[1], env=env)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "fuzz: findings kept in" in proc.stderr
    listed = [ln for ln in proc.stderr.splitlines() if ln.startswith("-- finding ")]
    assert listed and all(Path(ln.removeprefix("-- finding ").rstrip(":")).is_file() for ln in listed)
