"""Pick an object and place it in a target region: approach, descend, close, lift,
carry over the tallest obstacle on the way, lower, open, retreat."""

from __future__ import annotations

from bp_episodes.expert.base import Expert, Waypoint, World, grasp_yaw

CLEARANCE = 0.06  # above the tallest thing on the way
APPROACH = 0.10  # above the grasp point before descending
MAX_FINGER_DEPTH = 0.04  # below the top: deeper and the palm meets the top of tall objects
RELEASE_GAP = 0.005  # release this far above the surface


class PickPlaceExpert(Expert):
    """Top-down grasp and place."""

    kind = "pick_place"

    def plan(self, world: World) -> list[Waypoint]:
        """Waypoints for the task's object and target region."""
        st = world.objects[world.task.object]
        if world.target is None:
            raise ValueError(f"pick_place task {world.task.task_id} has no target region")
        height = st.obj.size_m[2]
        depth = min(MAX_FINGER_DEPTH, height / 2)
        grasp_z = st.top_z - depth
        yaw = grasp_yaw(st, world.hand_yaw)
        gx, gy = st.pos[0], st.pos[1]
        tx, ty = world.target.center_m[0], world.target.center_m[1]
        support_top = world.target.center_m[2] - world.target.half_extents_m[2]
        support_top = max(support_top, world.extras.get("target_surface_z", support_top))
        place_z = support_top + (grasp_z - (st.pos[2] - height / 2)) + RELEASE_GAP
        tall = world.tallest_between((gx, gy), (tx, ty), skip=st.obj.id)
        start_bottom = st.pos[2] - height / 2
        # the held object's bottom (hand - (height - depth)) clears every obstacle on the way
        carry_z = max(tall, start_bottom, support_top) + CLEARANCE + (height - depth)
        above = grasp_z + APPROACH
        return [
            Waypoint((gx, gy, max(above, carry_z)), yaw, 1.0, "approach", speed_m_s=0.5),
            Waypoint((gx, gy, grasp_z), yaw, 1.0, "descend", speed_m_s=0.2),
            Waypoint((gx, gy, grasp_z), yaw, 0.0, "grasp", min_s=0.1, hold_s=0.6),
            Waypoint((gx, gy, carry_z), yaw, 0.0, "lift", speed_m_s=0.2),
            Waypoint((tx, ty, carry_z), yaw, 0.0, "carry", speed_m_s=0.12),
            Waypoint((tx, ty, place_z), yaw, 0.0, "lower", speed_m_s=0.12),
            Waypoint((tx, ty, place_z), yaw, 1.0, "release", min_s=0.1, hold_s=0.5),
            Waypoint((tx, ty, place_z + APPROACH), yaw, 1.0, "retreat", speed_m_s=0.3),
        ]
