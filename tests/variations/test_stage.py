"""The variations stage on hand-built scenes: failures, carried objects, modes, settings."""

from __future__ import annotations

import json
import math

import pytest
from bp_contracts.simready import SimObject
from bp_contracts.variation import Variant
from bp_sdk.errors import ExitCode
from bp_sdk.storage import Storage
from bp_variations.scene import build_scene
from bp_variations.settings import VariationsSettings
from bp_variations.variant import as_json, make_variant

from tests.conftest import config_markers_only, job_env
from tests.variations._support import (
    assembly,
    distance,
    dump,
    publish_upstream,
    run_variations,
    shadow,
    sim_object,
    simready,
)

TABLE = sim_object(
    "table",
    (1.2, 0.8, 0.75),
    (0.0, 0.0, 0.375),
    category="table",
    role="support",
    static=True,
    graspable=False,
)


def _on_table(
    oid: str, size: tuple[float, float, float], x: float, y: float, **kw: object
) -> SimObject:
    return sim_object(oid, size, (x, y, 0.75 + size[2] / 2), support="table", **kw)  # type: ignore[arg-type]


def _crowded() -> list[SimObject]:
    """A static 20 cm tray holding four 9 cm boxes 1 cm apart (fits only with clearance <= 1 cm)."""
    tray = _on_table(
        "tray",
        (0.2, 0.2, 0.02),
        0.3,
        0.0,
        category="tray",
        role="support",
        static=True,
        graspable=False,
    )
    boxes = [
        sim_object(f"box_{i}", (0.09, 0.09, 0.09), (0.3 + dx, dy, 0.77 + 0.045), support="tray")
        for i, (dx, dy) in enumerate(((-0.05, -0.05), (0.05, -0.05), (-0.05, 0.05), (0.05, 0.05)))
    ]
    return [TABLE, tray, *boxes, _on_table("mug", (0.09, 0.09, 0.1), -0.2, 0.0, category="mug")]


def test_crowded_support_fails_permanently_naming_the_objects(file_storage: Storage) -> None:
    """A support crowded beyond capacity: exit 3, every stuck object named with its support, free area, footprint and candidates; nothing else written."""
    publish_upstream(file_storage, "crowded", "r1", simready("crowded", _crowded()))
    out = run_variations(
        file_storage, "crowded", VARIATIONS_MARGIN_M="0.03", VARIATIONS_MAX_CANDIDATES="300"
    )
    assert out.code == ExitCode.PERMANENT
    m = out.marker()
    assert m.permanent and m.error_type == "PermanentError"
    assert "could not be placed" in m.message and "nothing was written" in m.message
    text = "\n".join(m.problems)
    stuck = [p for p in m.problems if p.startswith("object box_")]
    assert stuck, text
    for p in stuck:
        assert "found no free spot on tray" in p
        assert "free area" in p and "m² of 0.0400 m²" in p
        assert "footprint 0.090 x 0.090 m" in p and "0.03 m clearance" in p
        tried = int(p.split(" candidates tried")[0].rsplit(" ", 1)[1])
        assert 0 < tried <= 300
        assert "VARIATIONS_MARGIN_M" in p
    assert "object mug" not in text
    written = out.keys()
    assert len(written) == 1 and written[0].endswith("/_FAILURE.json")
    # a retry of the same inputs stops at once on the permanent marker
    again = run_variations(
        file_storage, "crowded", VARIATIONS_MARGIN_M="0.03", VARIATIONS_MAX_CANDIDATES="300"
    )
    # ... doing no work: its own attempt holds only a marker repeating the reason
    written = again.keys()
    assert again.code == ExitCode.PERMANENT and len(written) == 2
    assert all(k.endswith("/_FAILURE.json") for k in written)


def test_items_on_a_movable_tray_move_with_it(file_storage: Storage) -> None:
    """A non-static tray is placed as one group: its items keep their offset and turn with it."""
    tray = _on_table(
        "tray",
        (0.4, 0.3, 0.02),
        0.0,
        0.0,
        category="tray",
        role="support",
        static=False,
        graspable=False,
    )
    mug = sim_object("mug", (0.09, 0.09, 0.1), (0.1, 0.05, 0.82), support="tray", category="mug")
    apple = sim_object(
        "apple", (0.08, 0.08, 0.08), (-0.1, -0.05, 0.81), support="tray", category="apple", yaw=0.3
    )
    publish_upstream(file_storage, "carry", "r1", simready("carry", [TABLE, tray, mug, apple]))
    out = run_variations(file_storage, "carry", VARIATIONS_DISTRACTORS_MAX="0")
    assert out.code == 0, out.failure_text()
    moved = 0
    for v in out.variants()[1:]:
        poses = {p.id: p for p in v.poses}
        t = poses["tray"]
        dyaw = 2 * math.atan2(t.orientation_wxyz[3], t.orientation_wxyz[0])
        c, s = math.cos(dyaw), math.sin(dyaw)
        for item in (mug, apple):
            # offset from the tray's blueprint centre (the origin), turned with the tray
            dx, dy = item.position_m[0], item.position_m[1]
            want = (
                t.position_m[0] + c * dx - s * dy,
                t.position_m[1] + s * dx + c * dy,
                item.position_m[2],
            )
            assert poses[item.id].position_m == pytest.approx(want, abs=1e-8)
        moved += math.dist(t.position_m[:2], (0.0, 0.0)) > 1e-3
    assert moved >= 5


def test_no_template_means_no_distractors_and_a_note(file_storage: Storage) -> None:
    """Without a graspable movable object, no distractor is added and the index says why."""
    kettle = _on_table("kettle", (0.21, 0.16, 0.25), 0.0, 0.0, category="kettle", graspable=False)
    publish_upstream(file_storage, "plain", "r1", simready("plain", [TABLE, kettle]))
    out = run_variations(
        file_storage, "plain", VARIATIONS_COUNT="12", VARIATIONS_DISTRACTORS_MAX="3"
    )
    assert out.code == 0, out.failure_text()
    assert all(v.distractors == [] for v in out.variants())
    notes = [n for e in out.index()["variants"] for n in e["notes"]]
    assert notes and all("no graspable movable object to clone" in n for n in notes)


def test_distractor_ids_avoid_existing_ids(file_storage: Storage) -> None:
    """A scene object already called distractor_0 is never duplicated."""
    objs = [
        TABLE,
        _on_table("distractor_0", (0.06, 0.06, 0.1), 0.2, 0.1, category="can"),
        _on_table("cup", (0.08, 0.08, 0.1), -0.2, 0.0, category="cup"),
    ]
    publish_upstream(file_storage, "ids", "r1", simready("ids", objs))
    out = run_variations(file_storage, "ids", VARIATIONS_COUNT="6", VARIATIONS_DISTRACTORS_MAX="4")
    assert out.code == 0, out.failure_text()
    seen = 0
    for v in out.variants():
        ids = [d.id for d in v.distractors]
        seen += len(ids)
        assert "distractor_0" not in ids and len(set(ids)) == len(ids)
    assert seen > 0


def test_replace_mode_spreads_objects_over_the_support(file_storage: Storage) -> None:
    """In replace mode objects land anywhere on their support, still clear of each other."""
    objs = [
        TABLE,
        *(
            _on_table(f"block_{i}", (0.05, 0.05, 0.05), -0.3 + 0.1 * i, -0.2, category="toy_block")
            for i in range(6)
        ),
    ]
    publish_upstream(file_storage, "spread", "r1", simready("spread", objs))
    out = run_variations(
        file_storage,
        "spread",
        VARIATIONS_PLACEMENT_MODE="replace",
        VARIATIONS_COUNT="6",
        VARIATIONS_DISTRACTORS_MAX="0",
    )
    assert out.code == 0, out.failure_text()
    far = 0
    nominal = {o.id: o for o in objs}
    for v in out.variants()[1:]:
        assert v.ranges["replace_anywhere"] == 1.0
        polys = {
            p.id: shadow((0.05, 0.05, 0.05), p.position_m, p.orientation_wxyz) for p in v.poses
        }
        for p in v.poses:
            far += math.dist(p.position_m[:2], nominal[p.id].position_m[:2]) > 0.08
            for q in v.poses:
                if p.id < q.id:
                    assert distance(polys[p.id], polys[q.id]) >= 0.01 - 1e-6
    assert far >= 10


def test_nominal_first_off_and_seed_settings(file_storage: Storage) -> None:
    """With VARIATIONS_NOMINAL_FIRST=false v0000 is randomised; a new base seed gives new seeds."""
    objs = [TABLE, _on_table("cup", (0.08, 0.08, 0.1), 0.0, 0.0, category="cup")]
    publish_upstream(file_storage, "seeds", "r1", simready("seeds", objs))
    publish_upstream(file_storage, "seeds", "r2", simready("seeds", objs))
    a = run_variations(
        file_storage, "seeds", "r1", VARIATIONS_NOMINAL_FIRST="false", VARIATIONS_COUNT="3"
    )
    b = run_variations(
        file_storage,
        "seeds",
        "r2",
        VARIATIONS_NOMINAL_FIRST="false",
        VARIATIONS_COUNT="3",
        VARIATIONS_BASE_SEED="1",
    )
    assert a.code == b.code == 0
    va, vb = a.variants(), b.variants()
    assert not any(v.nominal for v in va) and va[0].placement_attempts > 0
    assert not {v.seed for v in va} & {v.seed for v in vb}


def test_same_seed_gives_the_same_variant_byte_for_byte() -> None:
    """make_variant with the same scene, configuration and index returns identical JSON; another index differs."""
    objs = [
        TABLE,
        *(
            _on_table(f"can_{i}", (0.066, 0.066, 0.12), -0.4 + 0.2 * i, 0.1, category="can")
            for i in range(5)
        ),
    ]
    sim = simready("same", objs)
    asm = assembly("same", dump(sim))
    s = VariationsSettings(storage_uri="file:///tmp/x", scene_id="same", run_id="r1")
    scene = build_scene(sim, asm)

    def text(i: int) -> str:
        outcome = make_variant("same", scene, asm, i, "cfg", s)
        assert outcome.variant is not None
        return json.dumps(as_json(outcome.variant), sort_keys=True)

    assert text(3) == text(3)
    assert text(3) != text(4)
    assert Variant.model_validate_json(text(3)).seed != Variant.model_validate_json(text(4)).seed


def test_inconsistent_upstream_is_one_input_error(file_storage: Storage) -> None:
    """A wrong simready digest in assembly.json and an unknown support are reported together (exit 3)."""
    bad = [TABLE, sim_object("cup", (0.08, 0.08, 0.1), (0.0, 0.0, 0.8), support="shelf")]
    sim = simready("bad", bad)
    asm = assembly("bad", b"some other manifest")
    publish_upstream(file_storage, "bad", "r1", sim, asm)
    out = run_variations(file_storage, "bad")
    assert out.code == ExitCode.PERMANENT
    m = out.marker()
    assert m.error_type == "InputError"
    text = "\n".join(m.problems)
    assert "assembly.simready_sha256" in text and "unknown support 'shelf'" in text


def test_missing_upstream_is_permanent(file_storage: Storage) -> None:
    """Without committed simready/assemble outputs the stage stops with exit 3 and says what to run."""
    out = run_variations(file_storage, "nothing")
    assert out.code == ExitCode.PERMANENT
    assert "simready" in out.marker().message and "no commit record" in out.marker().message


def test_bad_settings_are_reported_together(file_storage: Storage) -> None:
    """Out-of-range settings exit 2 naming every variable, before any work."""
    from bp_sdk.runner import run_stage
    from bp_variations.stage import VariationsStage

    env = job_env(file_storage, "s", VARIATIONS_COUNT="0", VARIATIONS_HUE_JITTER="2")
    assert run_stage(VariationsStage(), env) == ExitCode.CONFIG
    env = job_env(
        file_storage,
        "s",
        VARIATIONS_LIGHT_INTENSITY_MIN="1.5",
        VARIATIONS_LIGHT_INTENSITY_MAX="1.2",
    )
    assert run_stage(VariationsStage(), env) == ExitCode.CONFIG
    assert config_markers_only(file_storage) == []


def test_floor_objects_avoid_fixed_furniture_and_the_robot(file_storage: Storage) -> None:
    """A movable basket on the floor never lands under the static table or on the robot's base."""
    basket = sim_object(
        "basket", (0.3, 0.22, 0.15), (0.0, -0.75, 0.075), category="basket", graspable=False
    )
    objs = [TABLE, basket]
    publish_upstream(file_storage, "floor", "r1", simready("floor", objs))  # robot at (0, -0.6)
    out = run_variations(
        file_storage,
        "floor",
        VARIATIONS_PLACEMENT_MODE="replace",
        VARIATIONS_COUNT="10",
        VARIATIONS_DISTRACTORS_MAX="0",
    )
    assert out.code == 0, out.failure_text()
    table = shadow(TABLE.size_m, TABLE.position_m, TABLE.orientation_wxyz)
    robot = shadow((0.6, 0.6, 1.0), (0.0, -0.6, 0.5), (1.0, 0.0, 0.0, 0.0))
    for v in out.variants()[1:]:
        (p,) = v.poses
        assert p.position_m[2] == pytest.approx(0.075)
        poly = shadow(basket.size_m, p.position_m, p.orientation_wxyz)
        assert distance(poly, table) >= 0.01 - 1e-6
        assert distance(poly, robot) >= 0.01 - 1e-6


def test_more_variants_keep_the_earlier_ones(file_storage: Storage) -> None:
    """Raising VARIATIONS_COUNT (new run id) leaves v0000..v<old N-1> byte-identical."""
    objs = [
        TABLE,
        *(
            _on_table(f"cup_{i}", (0.08, 0.08, 0.1), -0.3 + 0.15 * i, 0.0, category="cup")
            for i in range(4)
        ),
    ]
    for run in ("r1", "r2"):
        publish_upstream(file_storage, "grow", run, simready("grow", objs))
    small = run_variations(file_storage, "grow", "r1", VARIATIONS_COUNT="3").files()
    large = run_variations(file_storage, "grow", "r2", VARIATIONS_COUNT="5").files()
    for i in range(3):
        name = f"variations/v{i:04d}.json"
        assert small[name] == large[name]
    assert (
        "variations/v0004.json" in large
        and small["variations/index.json"] != large["variations/index.json"]
    )
