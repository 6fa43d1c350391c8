"""One fixed, named object list per dataset: every episode's object streams get its rows,
with a presence mask; segmentation maps and depth encoding come from the episodes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bp_contracts.episode import DepthEncoding
from bp_export.objects import build_index, depth_info
from bp_export.sources import Candidate
from bp_sdk.errors import PermanentError

from tests.export_extras.builders import make_arrays, make_record, record_of


def _candidate(scene: str, variant: str, objects: list[str], eid: str, **meta: Any) -> Candidate:
    m = record_of(eid, variant_id=variant, movable_objects=objects, **meta)
    return Candidate(scene, "r1", eid, m, None, None)  # type: ignore[arg-type]


def _seg(owners: list[Any]) -> dict[str, Any]:
    return {
        "geoms": {
            "name": [f"g{i}" for i in range(len(owners))],
            "body": ["b"] * len(owners),
            "object": owners,
        }
    }


def test_object_list_is_the_union_in_source_variant_and_recorded_order() -> None:
    """Scenes in source order, variants in order, each variant's recorded order; names scene/id."""
    cands = [
        _candidate("office", "v0000", ["pen", "cup"], "e3"),
        _candidate("kitchen", "v0001", ["mug", "bowl", "distractor_0"], "e2"),
        _candidate("kitchen", "v0000", ["mug", "bowl"], "e1", object_categories={"mug": "mug"}),
    ]
    index = build_index(cands, ["kitchen/r1", "office/r1"])
    assert index.names == [
        "kitchen/mug", "kitchen/bowl", "kitchen/distractor_0", "office/pen", "office/cup",
    ]  # fmt: skip
    assert index.categories["kitchen/mug"] == ["mug"]
    assert index.variants["kitchen/mug"] == ["kitchen/r1/v0000", "kitchen/r1/v0001"]
    doc = index.document()
    assert [o["name"] for o in doc["objects"]] == index.names


def test_remap_gives_every_episode_the_same_shape_with_presence() -> None:
    """A 2-object episode in a 3-object dataset: its rows land at their names, the absent row
    is a unit-quaternion zero pose with no contacts, and presence says which rows exist."""
    index = build_index(
        [
            _candidate("s", "v1", ["a", "x", "b"], "e2"),
            _candidate("s", "v0", ["a", "b"], "e1"),
        ],
        ["s/r1"],
    )
    assert index.names == ["s/a", "s/b", "s/x"]
    arrays = make_arrays(5, tier="full", n_objects=2)
    out = index.remap(arrays, record_of("e1", movable_objects=["a", "b"]), "s")
    poses, contacts = out["observation.object_poses"], out["observation.contacts"]
    assert poses.shape == (5, 3, 7) and contacts.shape == (5, 3, 4)
    np.testing.assert_array_equal(poses[:, :2], arrays["observation.object_poses"])
    np.testing.assert_array_equal(poses[:, 2], np.tile([0, 0, 0, 1, 0, 0, 0], (5, 1)))
    assert not contacts[:, 2].any()
    assert out["observation.object_present"].dtype == np.uint8
    np.testing.assert_array_equal(out["observation.object_present"], np.tile([1, 1, 0], (5, 1)))
    three = index.remap(
        make_arrays(5, tier="full", n_objects=3), record_of("e2", movable_objects=["a", "x", "b"]), "s"
    )
    np.testing.assert_array_equal(three["observation.object_present"], np.ones((5, 3)))
    core = make_arrays(5)
    assert index.remap(core, record_of("e3", movable_objects=["a"]), "s").keys() == core.keys()


def test_segmentation_maps_per_scene_variant_and_conflicts_refused() -> None:
    """Each scene variant's geom table with owners named as dataset objects; a second episode
    of the same variant with another table is an error."""
    seg = _seg([None, "table", "a", "robot"])
    index = build_index([_candidate("s", "v0", ["a"], "e1", segmentation=seg)], ["s/r1"])
    m = index.maps["s/r1/v0"]
    assert m["owner"] == [None, "s/table", "s/a", "robot"] and m["movable"] == [
        False,
        False,
        True,
        False,
    ]
    assert index.max_geom_id == 3
    index.note_episode(make_record(0, scene_id="s", run_id="r1", variant_id="v0"))
    assert index.document()["segmentation"]["episodes"] == ["s/r1/v0"]
    with pytest.raises(PermanentError, match="segmentation ids"):
        build_index(
            [
                _candidate("s", "v0", ["a"], "e1", segmentation=seg),
                _candidate("s", "v0", ["a"], "e2", segmentation=_seg([None, "a"])),
            ],
            ["s/r1"],
        )


def test_depth_encoding_spans_the_scenes() -> None:
    """near = the smallest near plane, far = the largest far plane; none recorded: None."""
    d = depth_info(
        [
            ("a", DepthEncoding(near_m=0.02, far_m=100.0)),
            ("b", DepthEncoding(near_m=0.01, far_m=80.0)),
            ("a", DepthEncoding(near_m=0.02, far_m=100.0)),
        ]
    )
    assert d is not None and (d.near_m, d.far_m, d.background_value) == (0.01, 100.0, 0.0)
    assert d.per_scene == {"a": (0.02, 100.0), "b": (0.01, 80.0)}
    assert depth_info([("a", None)]) is None
