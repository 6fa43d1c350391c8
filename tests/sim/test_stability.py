"""settle(): every example scene is stable; floating and overlapping objects are caught and named."""

from __future__ import annotations

import pytest
from bp_contracts.assembly import StabilityReport
from bp_sim.robots import get_robot
from bp_sim.stability import settle

from tests.conftest import EXAMPLE_SCENES
from tests.sim._support import ROBOT, Example, compose

DRIFT = 0.005
PENETRATION = 0.005
SINK = 0.002


def _settle(ex: Example, objects_from: Example | None = None, steps: int = 500) -> StabilityReport:
    simready = (objects_from or ex).simready
    model = compose(simready, ex.meshes).compile()
    return settle(model, simready.objects, get_robot(ROBOT), ex.scene, steps=steps)


@pytest.mark.parametrize("scene", EXAMPLE_SCENES)
def test_example_scene_settles(scene: str, examples: dict[str, Example]) -> None:
    """No object drifts > 5 mm or sinks > 2 mm, contacts penetrate < 5 mm, the robot stays home (< 0.05 rad)."""
    report = _settle(examples[scene])
    assert report.ok, report.reasons
    movable = {o.id for o in examples[scene].simready.objects if not o.static or o.articulation}
    assert {o.id for o in report.objects} == movable
    for o in report.objects:
        assert o.drift_m <= DRIFT, o
        assert o.drop_m <= SINK, o  # nothing sinks into its support
        assert o.max_speed_end_m_s < 0.01, o
    assert report.max_penetration_m <= PENETRATION
    assert report.robot_ok and report.robot_home_error_rad < 0.02
    assert report.steps == 500 and report.timestep_s == 0.002


def test_a_floating_object_is_named_with_its_drift(examples: dict[str, Example]) -> None:
    """A mug 5 cm above the counter falls: the report names it, how far it moved and the limit."""
    ex = examples["kitchen_counter"]
    mug = ex.simready.by_id()["mug_blue"]
    lifted = mug.model_copy(
        update={"position_m": (mug.position_m[0], mug.position_m[1], mug.position_m[2] + 0.05)}
    )
    simready = ex.simready.model_copy(
        update={"objects": [lifted if o.id == "mug_blue" else o for o in ex.simready.objects]}
    )
    report = _settle(ex, Example(ex.scene, ex.manifest, simready, ex.meshes))
    assert not report.ok
    bad = {o.id: o for o in report.objects if not o.ok}
    assert set(bad) == {"mug_blue"}
    assert bad["mug_blue"].drift_m > 0.04
    assert any(r.startswith("mug_blue drifted") and "(limit 5.0 mm)" in r for r in report.reasons)


def test_overlapping_objects_are_named_as_a_pair(examples: dict[str, Example]) -> None:
    """A can put inside the bottle is reported as the two interpenetrating (and pushed apart)."""
    ex = examples["kitchen_counter"]
    objs = ex.simready.by_id()
    bottle = objs["bottle_water"]
    can = objs["can_soda"].model_copy(
        update={
            "position_m": (
                bottle.position_m[0] + 0.02,
                bottle.position_m[1],
                objs["can_soda"].position_m[2],
            )
        }
    )
    simready = ex.simready.model_copy(
        update={"objects": [can if o.id == "can_soda" else o for o in ex.simready.objects]}
    )
    report = _settle(ex, Example(ex.scene, ex.manifest, simready, ex.meshes))
    assert not report.ok
    assert report.max_penetration_m > PENETRATION
    assert any(r.startswith("bottle_water and can_soda interpenetrate") for r in report.reasons)


def test_settle_needs_at_least_500_steps(examples: dict[str, Example]) -> None:
    """Fewer than 500 settling steps is refused."""
    ex = examples["office_desk"]
    model = compose(ex.simready, ex.meshes).compile()
    with pytest.raises(ValueError, match="at least 500"):
        settle(model, ex.simready.objects, get_robot(ROBOT), ex.scene, steps=499)
