"""Shapes the examples need: shelf frames around boards, the pantry drawer, the kitchen mug's
hulls, the office lids, and who can be grasped (and why not)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from bp_contracts.catalog import load_catalog
from bp_contracts.simready import SimObject
from bp_sdk.storage import open_storage
from bp_simready.settings import SimreadySettings

from tests.conftest import EXAMPLES
from tests.simready._support import (
    Chain,
    chain,
    is_convex,
    obj_faces,
    obj_vertices,
    overlap,
    part_bounds,
    rotation,
)

TOUCH_TOL = 1e-6


def box_in(inner: SimObject, outer: SimObject) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned bounds of ``inner``'s box in ``outer``'s frame."""
    signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)])
    corners = (
        signs * np.asarray(inner.size_m) / 2 @ rotation(inner.orientation_wxyz).T + inner.position_m
    )
    local = (corners - np.asarray(outer.position_m)) @ rotation(outer.orientation_wxyz)
    return local.min(axis=0), local.max(axis=0)


def descendants(objs: dict[str, SimObject], root: str) -> list[SimObject]:
    """Everything resting on ``root`` directly or indirectly."""
    out, frontier = [], [root]
    while frontier:
        sup = frontier.pop()
        kids = [o for o in objs.values() if o.support == sup]
        out += kids
        frontier += [k.id for k in kids]
    return out


def to_world(o: SimObject, v: tuple[float, float, float]) -> np.ndarray:
    """A direction of ``o``'s frame in the world."""
    return rotation(o.orientation_wxyz) @ np.asarray(v)


def test_shelf_frame_has_five_panels_open_towards_the_robot(examples: dict[str, Chain]) -> None:
    """The pantry shelf is an open frame of sides, top, bottom and back; the back is the side away from the robot."""
    m = examples["pantry_shelf"].manifest()
    shelf = m.by_id()["shelf_unit"]
    assert shelf.articulation is None and shelf.volume_source == "primitive"
    names = {p.name for p in shelf.parts}
    assert names == {"back", "left", "right", "top", "bottom"}
    assert all(p.shape == "box" for p in shelf.parts)
    back = next(p for p in shelf.parts if p.name == "back")
    assert m.robot_base is not None
    to_robot = np.asarray(m.robot_base[0]) - np.asarray(shelf.position_m)
    assert float(to_world(shelf, back.pos) @ to_robot) < 0  # back panel is on the far side
    # nothing closes the front: every panel's front face is at or behind the frame's front face
    lo = min(part_bounds(p)[0][1] for p in shelf.parts)
    assert math.isclose(lo, -shelf.size_m[1] / 2, abs_tol=1e-9)


def test_shelf_boards_and_their_loads_do_not_overlap_the_frame_panels(
    examples: dict[str, Chain],
) -> None:
    """Each shelf board (and everything on it) is inside the frame's box and overlaps none of its panels (box-box test)."""
    objs = examples["pantry_shelf"].manifest().by_id()
    shelf = objs["shelf_unit"]
    inside = descendants(objs, "shelf_unit")
    boards = [o for o in inside if o.category == "shelf_board"]
    assert len(boards) == 3
    half = np.asarray(shelf.size_m) / 2
    worst = -1.0
    for o in inside:
        lo, hi = box_in(o, shelf)
        if o.category == "shelf_board":
            assert np.all(lo >= -half - TOUCH_TOL) and np.all(hi <= half + TOUCH_TOL), o.id
        for p in shelf.parts:
            depth = overlap((lo, hi), part_bounds(p))
            worst = max(worst, depth)
            assert depth <= TOUCH_TOL, (
                f"{o.id} overlaps the shelf's {p.name} panel by {depth * 1000:.2f} mm"
            )
    assert worst > -0.001  # the boards touch the side panels: the frame is snug, not loose


def test_pantry_drawer_unit_has_a_slide_towards_the_robot(examples: dict[str, Chain]) -> None:
    """The drawer_unit carries a drawer on a slide joint that opens towards the robot, 0..0.8 x the drawer depth."""
    m = examples["pantry_shelf"].manifest()
    unit = m.by_id()["drawer_unit_1"]
    art = unit.articulation
    assert art is not None
    assert (art.kind, art.joint) == ("drawer", "slide")
    assert art.range[0] == 0.0 and 0.3 <= art.range[1] <= 0.8 * unit.size_m[1]
    assert art.open_direction == art.axis
    assert m.robot_base is not None
    to_robot = np.asarray(m.robot_base[0]) - np.asarray(unit.position_m)
    assert float(to_world(unit, art.axis) @ to_robot) > 0
    assert art.damping > 0 and art.frictionloss > 0
    assert {p.name for p in art.parts} >= {"front", "back", "left", "right", "bottom", "handle_bar"}
    assert "top" not in {p.name for p in art.parts}  # a drawer is an open tray
    bar = next(p for p in art.parts if p.name == "handle_bar")
    assert np.allclose(art.handle_m, bar.pos)
    # the handle is the front-most thing of the unit
    front = min(part_bounds(p)[0][1] + art.part_pos_m[1] for p in art.parts)
    assert math.isclose(front, -unit.size_m[1] / 2, abs_tol=1e-9)
    # the drawer and the carcass do not overlap when closed
    for p in art.parts:
        lo, hi = part_bounds(p)
        moved = (lo + art.part_pos_m, hi + art.part_pos_m)
        for q in unit.parts:
            assert overlap(moved, part_bounds(q)) <= TOUCH_TOL, (p.name, q.name)


def test_kitchen_mug_mesh_gives_convex_hulls_inside_its_box(examples: dict[str, Chain]) -> None:
    """The mug's mesh is decomposed into convex OBJ hulls inside its box; its volume is below its cylinder's bounding volume."""
    c = examples["kitchen_counter"]
    mug = c.manifest().by_id()["mug_blue"]
    unit = c.committed()
    assert mug.volume_source == "mesh" and mug.visual_mesh == "meshes/mug.obj"
    assert 1 <= len(mug.parts) <= 16
    half = np.asarray(mug.size_m) / 2
    for p in mug.parts:
        assert p.shape == "mesh" and p.mesh == f"collision/mug_blue_{p.name.split('_')[1]}.obj"
        data = unit.read_bytes(p.mesh)
        v, f = obj_vertices(data), obj_faces(data)
        assert len(f) >= 4 and is_convex(v, f), p.mesh
        assert np.all(np.abs(v) <= half + 0.001), p.mesh
        assert np.max(np.abs(v), axis=0) == pytest.approx(half, abs=0.002)  # it fills its box
    prior = load_catalog().categories["mug"]
    mesh_volume = mug.volume_m3 / prior.fill
    r, h = min(mug.size_m[:2]) / 2, mug.size_m[2]
    cylinder = math.pi * r * r * h
    assert 0.95 * cylinder < mesh_volume < cylinder  # a 24-gon prism inside its cylinder
    assert mesh_volume < mug.size_m[0] * mug.size_m[1] * mug.size_m[2]
    a, b, zz = mug.inertia.diag_kg_m2  # a solid cylinder's moments, within 3 %
    assert a == pytest.approx(b, rel=1e-6)
    m = mug.inertia.mass_kg
    assert a == pytest.approx(m * (3 * r * r + h * h) / 12, rel=0.03)
    assert zz == pytest.approx(m * r * r / 2, rel=0.03)
    assert np.allclose(mug.inertia.com_m, 0.0, atol=1e-6)


def test_office_lids_hinge_at_the_back_top_edge(examples: dict[str, Chain]) -> None:
    """The storage bin's and the laptop's lids hinge about a horizontal back edge and open upwards, 0..1.9 rad."""
    m = examples["office_desk"].manifest()
    assert m.robot_base is not None
    for oid in ("storage_bin_1", "laptop_1"):
        o = m.by_id()[oid]
        art = o.articulation
        assert art is not None and (art.kind, art.joint) == ("lid", "hinge"), oid
        assert art.range == (0.0, 1.9)
        assert abs(to_world(o, art.axis)[2]) < 1e-9  # horizontal hinge line
        to_robot = np.asarray(m.robot_base[0]) - np.asarray(o.position_m)
        assert float(to_world(o, art.anchor_m) @ to_robot) < 0  # at the back
        assert to_world(o, art.open_direction)[2] > 0.9  # the front edge goes up
    bin_ = m.by_id()["storage_bin_1"]
    assert bin_.articulation is not None
    assert bin_.articulation.anchor_m[2] == pytest.approx(bin_.size_m[2] / 2)
    assert {p.name for p in bin_.parts} == {"bottom", "front", "back", "left", "right"}
    laptop = m.by_id()["laptop_1"].articulation
    assert laptop is not None
    lever = m.by_id()["laptop_1"].size_m[1] / 2
    assert laptop.frictionloss >= laptop.inertia.mass_kg * 9.81 * lever  # holds any angle


def test_graspable_flags_and_reasons(examples: dict[str, Chain]) -> None:
    """Blocks, cans and jars no wider than the gripper limit are graspable; wider cans and jars, wide mugs and apples are not, each with its reason in words."""
    limit = SimreadySettings.model_fields["simready_max_grasp_width_m"].default
    opening = f"the gripper's {limit:.3f} m opening"
    objs = {o.id: o for c in examples.values() for o in c.manifest().objects}
    for c in examples.values():
        assert c.manifest().max_grasp_width_m == limit
    for oid in (
        "toy_block_red",
        "toy_block_green",
        "toy_block_blue",
        "can_soda",
        "can_soup_2",
        "marker_blue",
    ):
        assert objs[oid].graspable, (oid, objs[oid].graspable_reason)
        assert f"fits {opening}" in objs[oid].graspable_reason
    for o in objs.values():  # cans and jars: the width alone decides
        if o.category in ("can", "jar"):
            width = min(o.size_m[:2])
            assert o.graspable == (width <= limit), (o.id, width)
            if not o.graspable:
                assert o.graspable_reason == f"{width:.3f} m wide: wider than {opening}"
    mug = objs["mug_blue"]
    assert not mug.graspable
    assert mug.graspable_reason == f"0.085 m wide: wider than {opening}"
    assert (
        not objs["mug_coffee"].graspable and "0.085 m wide" in objs["mug_coffee"].graspable_reason
    )
    assert not objs["apple_red"].graspable and "0.082 m wide" in objs["apple_red"].graspable_reason
    assert "heavier than the 1 kg grasp limit" in objs["bottle_oil"].graspable_reason
    assert "not graspable by a parallel gripper" in objs["cereal_box_corn"].graspable_reason
    counter = objs["counter"]
    assert not counter.graspable and counter.graspable_reason.count(";") == 2  # every reason named


def test_grasp_width_setting_changes_the_verdict(tmp_path_factory: pytest.TempPathFactory) -> None:
    """SIMREADY_MAX_GRASP_WIDTH_M=0.09 makes the 0.085 m mug graspable and is recorded in the manifest."""
    storage = open_storage(tmp_path_factory.mktemp("sr_width").as_uri())
    c = chain(
        storage, "kitchen_counter", EXAMPLES / "kitchen_counter", SIMREADY_MAX_GRASP_WIDTH_M="0.09"
    )
    assert c.code == 0, c.failure_text()
    m = c.manifest()
    assert m.max_grasp_width_m == 0.09
    assert m.by_id()["mug_blue"].graspable
    assert c.record().params["SIMREADY_MAX_GRASP_WIDTH_M"] == 0.09
