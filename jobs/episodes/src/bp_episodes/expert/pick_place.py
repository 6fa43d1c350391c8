"""Pick an object and place it in a target region, with a top or a side grasp.

Top grasp (:mod:`.top_grasp`) for squat objects with room above: approach from above,
descend, close, lift, carry over the tallest obstacle on the way, lower, open, retreat.

Side grasp (:mod:`.side_grasp`) for objects at least ``TALL_M`` tall — gripped near the
top, gravity has a long lever to pivot them out of the pads during a carry — and for
objects under a low ceiling (the next shelf board). When no side grasp is free of the
scene's boxes and followable by the arm, the top grasp is used.
"""

from __future__ import annotations

from bp_episodes.expert.base import Expert, ObjectState, Waypoint, World
from bp_episodes.expert.side_grasp import side_plan
from bp_episodes.expert.top_grasp import top_plan

RELEASE_GAP = 0.005  # release this far above the surface
TALL_M = 0.15  # objects this tall are grasped from the side when they can be
TOP_HEADROOM = 0.40  # room a top grasp needs over the object (hand, wrist, forearm)


class PickPlaceExpert(Expert):
    """Top-down or side grasp, then place."""

    kind = "pick_place"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints for the task's object and target region."""
        st = world.objects[world.task.object]
        if world.target is None:
            raise ValueError(f"pick_place task {world.task.task_id} has no target region")
        support_top = world.target.center_m[2] - world.target.half_extents_m[2]
        support_top = max(support_top, world.extras.get("target_surface_z", support_top))
        if st.obj.size_m[2] >= TALL_M or low_ceiling(world, st):
            side = side_plan(world, st, world.target, support_top, RELEASE_GAP)
            if side is not None:
                return side
        return top_plan(world, st, world.target, support_top, RELEASE_GAP)


def low_ceiling(world: World, st: ObjectState) -> bool:
    """Whether something lies less than ``TOP_HEADROOM`` over the object or the target."""
    xy = (st.pos[0], st.pos[1])
    skip = (st.obj.id,)
    room = world.ceiling(xy, xy, above=st.top_z, skip=skip) - st.top_z
    if world.target is not None:
        t = world.target
        txy = (t.center_m[0], t.center_m[1])
        over = t.center_m[2] - t.half_extents_m[2] + st.obj.size_m[2]
        room = min(room, world.ceiling(txy, txy, above=over, skip=skip) - over)
    return room < TOP_HEADROOM
