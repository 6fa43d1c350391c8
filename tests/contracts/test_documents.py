"""Each inter-stage document: its file name, its model and its rules, in one module each."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from bp_contracts import assembly, episode, scene_manifest, simready, tasks, variation
from bp_contracts.catalog import load_catalog, load_materials
from bp_contracts.scene_manifest import ManifestObject
from bp_contracts.tasks import Predicate, Region
from bp_contracts.variation import VariationsIndex, variant_file, variant_id
from pydantic import ValidationError

REPO = Path(__file__).resolve().parents[2]
CODE = [REPO / d for d in ("sdk/src", "sim/src", "dataset/src", "cli/src", "flow/src")] + sorted(
    (REPO / "jobs").glob("*/src")
)


def test_file_names_are_the_documented_ones() -> None:
    """Every document's file name is defined by its module, as the stages have always written it."""
    assert scene_manifest.SCENE_MANIFEST_FILE == "scene_manifest.json"
    assert simready.SIMREADY_MANIFEST_FILE == "simready_manifest.json"
    assert assembly.ASSEMBLY_FILE == "assembly.json"
    assert assembly.STABILITY_FILE == "stability.json"
    assert variation.VARIATIONS_INDEX_FILE == "variations/index.json"
    assert variant_file(variant_id(3)) == "variations/v0003.json"
    assert tasks.TASKS_FILE == "tasks.json"
    assert episode.episode_file("e1") == "episodes/e1.json"
    assert episode.episode_data_file("e1") == "episodes/e1.npz"
    assert episode.is_episode_file("episodes/e1.json") and not episode.is_episode_file(
        "episodes/e1.npz"
    )


@pytest.mark.parametrize(
    "literal",
    [
        "scene_manifest.json",
        "simready_manifest.json",
        "assembly.json",
        "stability.json",
        "tasks.json",
        "variations/",
        "episodes/",
    ],
)
def test_no_stage_spells_a_document_file_name(literal: str) -> None:
    """Outside bp_contracts no Python code writes a document's file name as a string literal."""
    pattern = re.compile(r"""f?["']""" + re.escape(literal))
    found = [
        f"{path.relative_to(REPO)}:{n}"
        for root in CODE
        for path in root.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found, f"{literal!r} spelled outside bp_contracts: {found}"


def test_bp_sdk_holds_no_document_model() -> None:
    """bp_sdk keeps only infrastructure: no schemas package, no catalogs."""
    sdk = REPO / "sdk/src/bp_sdk"
    assert not (sdk / "schemas").exists() and not (sdk / "data").exists()


def test_contracts_depend_on_nothing_but_the_sdk() -> None:
    """bp_contracts imports bp_sdk, pydantic and numpy only: never bp_sim, a job or the CLI."""
    pattern = re.compile(r"^\s*(?:from|import)\s+(bp_\w+)", re.M)
    for path in (REPO / "contracts/src/bp_contracts").rglob("*.py"):
        used = set(pattern.findall(path.read_text(encoding="utf-8")))
        assert used <= {"bp_sdk", "bp_contracts"}, (path.name, used)


def test_scene_manifest_object_rules() -> None:
    """Sizes must be positive and orientations unit quaternions."""
    ok = {
        "id": "mug",
        "category": "mug",
        "known_category": True,
        "role": "object",
        "graspable": True,
        "static": False,
        "size_m": (0.1, 0.1, 0.1),
        "position_m": (0.0, 0.0, 0.05),
        "orientation_wxyz": (1.0, 0.0, 0.0, 0.0),
        "support": "floor",
        "material": "ceramic",
    }
    ManifestObject.model_validate(ok)
    with pytest.raises(ValidationError, match="sizes must be > 0"):
        ManifestObject.model_validate({**ok, "size_m": (0.1, 0.0, 0.1)})
    with pytest.raises(ValidationError, match="unit quaternion"):
        ManifestObject.model_validate({**ok, "orientation_wxyz": (1.0, 0.1, 0.0, 0.0)})
    with pytest.raises(ValidationError):
        ManifestObject.model_validate({**ok, "position_m": (math.nan, 0.0, 0.0)})


def test_catalogs_load_from_the_contracts_package() -> None:
    """The category and material catalogs are packaged with the contracts and validate."""
    catalog, materials = load_catalog(), load_materials()
    assert catalog.categories and materials.materials
    for prior in catalog.categories.values():
        assert materials.get(prior.material) is not None


def test_region_and_predicate_rules() -> None:
    """A region cannot have negative extents; a push direction cannot be the zero vector."""
    with pytest.raises(ValidationError, match="half extents"):
        Region(center_m=(0.0, 0.0, 0.0), half_extents_m=(-0.1, 0.1, 0.1), support="floor")
    with pytest.raises(ValidationError, match="zero vector"):
        Predicate(kind="object_displaced", object="box", value=0.1, direction=(0.0, 0.0, 0.0))
    with pytest.raises(ValidationError):
        Predicate(kind="object_teleported", object="box")  # type: ignore[arg-type]


def test_variations_index_keeps_what_readers_need() -> None:
    """The index model reads the listed variants in index order and ignores the writer's extras."""
    index = VariationsIndex.model_validate(
        {
            "schema": "bp.variations_index/v1",
            "scene_id": "s",
            "count": 2,
            "base_seed": 0,
            "variants": [
                {"variant_id": "v0001", "file": "variations/v0001.json", "index": 1, "seed": 5},
                {"variant_id": "v0000", "file": "variations/v0000.json", "index": 0, "seed": 4},
            ],
        }
    )
    assert index.variant_ids() == ["v0000", "v0001"]
    with pytest.raises(ValidationError):
        VariationsIndex.model_validate({"schema": "bp.variant/v1", "scene_id": "s", "variants": []})
