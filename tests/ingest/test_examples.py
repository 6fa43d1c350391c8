"""Every example scene ingests into a valid, physically consistent, deterministic manifest."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from bp_contracts.catalog import load_catalog
from bp_contracts.scene_manifest import SceneManifest
from bp_sdk.storage import Storage, open_storage

from tests.conftest import EXAMPLE_SCENES, EXAMPLES, put_scene
from tests.ingest._support import Outcome, bottom, by_id, half_extents, ingest, ok_manifest, top

REST_TOL = 0.002  # 2 mm
BOX_TOL = 1e-6


@pytest.fixture(scope="module")
def ingested(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Storage, Outcome, Outcome]]:
    """Each example ingested twice (runs r1 and r2) into one module-wide file:// storage."""
    root = tmp_path_factory.mktemp("examples_storage")
    storage = open_storage(root.as_uri())
    out: dict[str, tuple[Storage, Outcome, Outcome]] = {}
    for scene in EXAMPLE_SCENES:
        put_scene(storage, scene, EXAMPLES / scene)
        out[scene] = (storage, ingest(storage, scene, "r1"), ingest(storage, scene, "r2"))
    return out


def blueprint_of(scene: str) -> dict[str, Any]:
    """The example's scene.json."""
    return json.loads((EXAMPLES / scene / "scene.json").read_text(encoding="utf-8"))


def manifest_of(ingested: dict[str, tuple[Storage, Outcome, Outcome]], scene: str) -> SceneManifest:
    """The validated manifest of the example's first run."""
    return ok_manifest(ingested[scene][1])


def test_there_are_example_scenes() -> None:
    """The examples folder holds the four documented scenes."""
    assert set(EXAMPLE_SCENES) >= {
        "kitchen_counter",
        "cluttered_tabletop",
        "pantry_shelf",
        "office_desk",
    }


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_ingests_to_a_valid_manifest(
    scene: str, ingested: dict[str, tuple[Storage, Outcome, Outcome]]
) -> None:
    """The example commits a schema-valid manifest with one object per blueprint object, in order."""
    bp = blueprint_of(scene)
    m = manifest_of(ingested, scene)
    assert m.scene_id == scene and m.name == bp["name"]
    assert m.units == "m" and m.up_axis == "z"
    assert m.object_count == len(bp["objects"]) == len(m.objects)
    assert [o.id for o in m.objects] == [o["id"] for o in bp["objects"]]
    assert [o.support for o in m.objects] == [o.get("support", "floor") for o in bp["objects"]]
    assert m.license == bp.get("license")
    raw = (EXAMPLES / scene / "scene.json").read_bytes()
    assert m.blueprint_sha256 == hashlib.sha256(raw).hexdigest()
    assert (
        m.calibration.source_units == bp["units"] and m.calibration.source_up_axis == bp["up_axis"]
    )
    assert all(o.known_category for o in m.objects)
    assert m.warnings == []


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_needs_no_calibration(
    scene: str, ingested: dict[str, tuple[Storage, Outcome, Outcome]]
) -> None:
    """The examples are authored at their priors' scale: no scale change at all."""
    cal = manifest_of(ingested, scene).calibration
    assert cal.changes == []
    assert cal.scene_scale == 1.0
    assert cal.median_prior_ratio is not None and 1 / 1.3 <= cal.median_prior_ratio <= 1.3


def inside(inner: Any, outer: Any, tol: float) -> bool:
    """The world bounding box of ``inner`` lies within that of ``outer``."""
    hi, ho = (
        half_extents(inner.orientation_wxyz, inner.size_m),
        half_extents(outer.orientation_wxyz, outer.size_m),
    )
    return all(
        outer.position_m[i] - ho[i] - tol <= inner.position_m[i] - hi[i]
        and inner.position_m[i] + hi[i] <= outer.position_m[i] + ho[i] + tol
        for i in range(3)
    )


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_every_object_rests_on_its_support(
    scene: str, ingested: dict[str, tuple[Storage, Outcome, Outcome]]
) -> None:
    """Each object's bottom is its support's top (the floor is z = 0) within 2 mm; boards inside a frame sit within it."""
    m = manifest_of(ingested, scene)
    objs = by_id(m)
    catalog = load_catalog()
    wrong = []
    for o in m.objects:
        if o.support == "floor":
            if abs(bottom(o)) > REST_TOL:
                wrong.append(f"{o.id}: bottom {bottom(o):.4f} m above the floor")
            continue
        sup = objs[o.support]
        cx, cy = o.position_m[0], o.position_m[1]
        hs = half_extents(sup.orientation_wxyz, sup.size_m)
        if not (abs(cx - sup.position_m[0]) <= hs[0] and abs(cy - sup.position_m[1]) <= hs[1]):
            wrong.append(f"{o.id}: centre ({cx:.3f}, {cy:.3f}) is outside {sup.id}'s footprint")
        if abs(bottom(o) - top(sup)) <= REST_TOL:
            continue
        prior, sup_prior = catalog.get(o.category), catalog.get(sup.category)
        in_frame = (
            prior is not None
            and prior.role == "support"
            and sup_prior is not None
            and sup_prior.role == "support"
        )
        if in_frame and inside(o, sup, BOX_TOL):
            continue  # a board sits inside its frame at its own height, not on top
        wrong.append(
            f"{o.id}: bottom {bottom(o):.4f} m, top of {sup.id} {top(sup):.4f} m"
            + (" (and not inside it)" if in_frame else "")
        )
    assert not wrong, "\n".join(wrong)


def test_pantry_boards_sit_inside_the_shelf_frame(
    ingested: dict[str, tuple[Storage, Outcome, Outcome]],
) -> None:
    """The pantry's three shelf boards are within the shelf's bounding box at 0.30, 0.70 and 1.10 m."""
    objs = by_id(manifest_of(ingested, "pantry_shelf"))
    frame = objs["shelf_unit"]
    boards = [objs[b] for b in ("shelf_board_low", "shelf_board_mid", "shelf_board_high")]
    assert all(inside(b, frame, BOX_TOL) for b in boards)
    assert [round(top(b), 6) for b in boards] == [0.3, 0.7, 1.1]


def test_y_up_centimetre_example_is_normalised(
    ingested: dict[str, tuple[Storage, Outcome, Outcome]],
) -> None:
    """cluttered_tabletop (cm, y-up): the table stands on the floor 0.75 m high and yaws about +y become yaws about +z."""
    m = manifest_of(ingested, "cluttered_tabletop")
    objs = by_id(m)
    table = objs["table"]
    assert table.size_m == (1.4, 0.8, 0.75) and table.position_m == (0.0, 0.0, 0.375)
    w, x, y, z = objs["toy_block_green"].orientation_wxyz
    assert abs(x) < 1e-9 and abs(y) < 1e-9 and abs(w - 0.965926) < 1e-6 and abs(z - 0.258819) < 1e-6
    assert m.robot_base is not None and m.robot_base.position_m == (0.0, -0.58, 0.0)
    assert m.calibration.axis_conversion is not None and m.calibration.unit_factor == 0.01


def test_kitchen_mesh_is_recorded_with_its_digest(
    ingested: dict[str, tuple[Storage, Outcome, Outcome]],
) -> None:
    """kitchen_counter's mug references meshes/mug.obj, recorded with the uploaded file's sha256."""
    mug = by_id(manifest_of(ingested, "kitchen_counter"))["mug_blue"]
    data = (EXAMPLES / "kitchen_counter" / "meshes" / "mug.obj").read_bytes()
    assert mug.mesh == "meshes/mug.obj"
    assert mug.mesh_sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_ingest_is_deterministic(
    scene: str, ingested: dict[str, tuple[Storage, Outcome, Outcome]]
) -> None:
    """Two runs with different run ids commit byte-identical manifests (equal sha256 in both commit records)."""
    _, first, second = ingested[scene]
    r1, r2 = first.record(), second.record()
    assert r1.run_id == "r1" and r2.run_id == "r2"
    assert r1.attempt_dir != r2.attempt_dir
    assert r1.files["scene_manifest.json"].sha256 == r2.files["scene_manifest.json"].sha256
    assert r1.inputs_digest == r2.inputs_digest
    b1, b2 = first.manifest_bytes(), second.manifest_bytes()
    assert b1 == b2
    assert hashlib.sha256(b1).hexdigest() == r1.files["scene_manifest.json"].sha256
    assert json.loads(b1)["scene_id"] == scene


def test_rerun_with_the_same_run_id_is_skipped(
    ingested: dict[str, tuple[Storage, Outcome, Outcome]],
) -> None:
    """Ingesting an already committed scene again under the same run id exits 0 and leaves the commit untouched."""
    storage, first, _ = ingested["office_desk"]
    before = first.record()
    again = ingest(storage, "office_desk", "r1")
    assert again.code == 0
    assert again.record() == before
