"""Articulated and unusual objects beyond the examples: doors, turned carcasses, a yawed bin,
a shelf whose board leaves no room for a back panel, an unknown category and material."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from bp_sdk.storage import open_storage

from tests.simready._mjcf import pull, sweep_penetration
from tests.simready._support import (
    REALISTIC_KG,
    Chain,
    chain,
    overlap,
    part_bounds,
    rotation,
    total_mass,
)

ROBOT = (0.0, -1.0, 0.0)
C45, C15, S15 = math.sqrt(0.5), math.cos(math.radians(15)), math.sin(math.radians(15))


def thing(
    oid: str,
    category: str,
    size: list[float],
    pos: list[float],
    support: str = "floor",
    q: list[float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One blueprint object."""
    pose: dict[str, Any] = {"position": pos}
    if q is not None:
        pose["orientation_wxyz"] = q
    return {
        "id": oid,
        "category": category,
        "size": size,
        "pose": pose,
        "support": support,
        **extra,
    }


BLUEPRINT: dict[str, Any] = {
    "schema_version": "1",
    "name": "articulated furniture",
    "units": "m",
    "up_axis": "z",
    "robot_base": {"position": list(ROBOT), "yaw_deg": 90.0},
    "objects": [
        thing("cabinet_front", "cabinet", [0.6, 0.55, 0.85], [-0.8, 0.0, 0.425]),
        thing("microwave_1", "microwave", [0.5, 0.38, 0.3], [-0.8, 0.0, 1.0], "cabinet_front"),
        thing("cabinet_side", "cabinet", [0.6, 0.55, 0.85], [1.6, -1.0, 0.425]),
        thing(
            "drawer_turned", "drawer_unit", [0.45, 0.5, 0.6], [0.4, 0.4, 0.3], q=[C45, 0, 0, C45]
        ),
        thing(
            "bin_yawed",
            "storage_bin",
            [0.35, 0.25, 0.2],
            [0.4, 0.4, 0.7],
            "drawer_turned",
            q=[C15, 0, 0, S15],
        ),
        thing("shelf_tight", "shelf", [0.8, 0.3, 1.8], [-2.0, 0.5, 0.9]),
        thing("board_deep", "shelf_board", [0.76, 0.3, 0.02], [-2.0, 0.5, 0.6], "shelf_tight"),
        thing("gizmo_1", "gizmo", [0.06, 0.06, 0.06], [0.0, -0.3, 0.03], material="unobtainium"),
    ],
}


@pytest.fixture(scope="module")
def furniture(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    """The articulated blueprint through ingest and simready."""
    storage = open_storage(tmp_path_factory.mktemp("sr_furniture").as_uri())
    c = chain(storage, "furniture", BLUEPRINT)
    assert c.ingest_code == 0 and c.code == 0, c.failure_text()
    return c


def world(o: Any, v: Any) -> np.ndarray:
    """A vector of ``o``'s frame in the world."""
    return rotation(o.orientation_wxyz) @ np.asarray(v)


def to_robot(o: Any) -> np.ndarray:
    """Horizontal direction from the object to the robot."""
    d = np.asarray(ROBOT) - np.asarray(o.position_m)
    d[2] = 0.0
    return d / np.linalg.norm(d)


def test_doors_drawers_and_lids_face_the_robot(furniture: Chain) -> None:
    """Each moving part opens on the side facing the robot, whatever the object's yaw (snapped to its own axes)."""
    objs = furniture.manifest().by_id()
    for oid in ("cabinet_front", "microwave_1", "cabinet_side", "drawer_turned"):
        art = objs[oid].articulation
        assert art is not None, oid
        assert float(world(objs[oid], art.open_direction) @ to_robot(objs[oid])) > 0.7, oid
    bin_ = objs["bin_yawed"]
    assert bin_.articulation is not None
    assert float(world(bin_, bin_.articulation.anchor_m) @ to_robot(bin_)) < 0  # hinge at the back


def test_door_hinges_about_a_vertical_front_edge(furniture: Chain) -> None:
    """A cabinet door is a full-front panel on a vertical hinge at one front corner, 0..1.6 rad, with a handle bar at the free edge."""
    for oid in ("cabinet_front", "cabinet_side", "microwave_1"):
        o = furniture.manifest().by_id()[oid]
        art = o.articulation
        assert art is not None and (art.kind, art.joint) == ("door", "hinge")
        assert art.range == (0.0, 1.6)
        assert abs(abs(art.axis[2]) - 1.0) < 1e-12
        half = np.asarray(o.size_m[:2]) / 2
        inset = half - np.abs(np.asarray(art.anchor_m[:2]))
        assert min(inset) == pytest.approx(0.0, abs=1e-9)  # at a side edge ...
        assert max(inset) <= 0.03 + 1e-9  # ... on the front face, behind the handle's depth
        handle = np.asarray(art.handle_m) + art.part_pos_m
        assert float(np.linalg.norm((handle - art.anchor_m)[:2])) > 0.7 * min(o.size_m[:2])
        assert "handle_bar" in {p.name for p in art.parts}


def test_masses_of_furniture_are_realistic(furniture: Chain) -> None:
    """Cabinets, the steel-sheet microwave, the drawer unit and the plastic bin weigh what such things weigh."""
    for o in furniture.manifest().objects:
        if o.category in REALISTIC_KG:
            low, high = REALISTIC_KG[o.category]
            assert low <= total_mass(o) <= high, (o.id, total_mass(o))


def test_moving_parts_sweep_freely_and_open_when_pulled(furniture: Chain) -> None:
    """Doors, drawer and lid sweep their whole range without penetrating their carcass, and a 20 N pull opens them."""
    read = furniture.committed().read_bytes
    for o in furniture.manifest().objects:
        if o.articulation is None:
            continue
        assert sweep_penetration(o, read) <= 1e-4, o.id
        q = pull(o, read, 1.5)
        assert 0.25 * o.articulation.range[1] < q <= o.articulation.range[1] + 0.02, (o.id, q)


def test_a_board_flush_with_the_back_drops_the_back_panel_with_a_warning(furniture: Chain) -> None:
    """A board as deep as its shelf leaves no room for a back panel: it is left out, the board overlaps nothing, and a warning says so."""
    objs = furniture.manifest().by_id()
    shelf, board = objs["shelf_tight"], objs["board_deep"]
    assert {p.name for p in shelf.parts} == {"left", "right", "top", "bottom"}
    lo = np.asarray(board.position_m) - np.asarray(shelf.position_m) - np.asarray(board.size_m) / 2
    hi = lo + np.asarray(board.size_m)
    assert all(overlap((lo, hi), part_bounds(p)) <= 1e-6 for p in shelf.parts)
    warnings = furniture.record().summary["warnings"]
    assert any(w.startswith("shelf_tight: back panel left out: board_deep") for w in warnings), (
        warnings
    )


def test_unknown_category_and_material_get_documented_defaults(furniture: Chain) -> None:
    """An unknown category is a half-filled box of the 'generic' material, not graspable, with the reason and a warning."""
    o = furniture.manifest().by_id()["gizmo_1"]
    assert o.material == "generic" and o.density_kg_m3 == 800
    assert [p.shape for p in o.parts] == ["box"]
    assert o.volume_m3 == pytest.approx(0.5 * 0.06**3)
    assert not o.graspable and o.graspable_reason.startswith("unknown category 'gizmo'")
    warnings = furniture.record().summary["warnings"]
    assert "gizmo_1: unknown material 'unobtainium'; 'generic' used" in warnings
