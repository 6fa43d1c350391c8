"""Room above an object or a target for a top-down grasp.

The scripted expert approaches from above; an object on a lower shelf board, with the next
board a few centimetres over it, cannot be grasped that way. A task is posed only where
nothing (but the support chain) lies within ``TASKS_MIN_HEADROOM_M`` above the object's
top, over its footprint.
"""

from __future__ import annotations

from bp_tasks.geometry import Polygon, rect
from bp_tasks.placement import blocker, support_exclusions
from bp_tasks.world import Layout


def headroom_issue(
    lay: Layout, outline: Polygon, top: float, support: str, oid: str, need: float
) -> str | None:
    """Why there is too little room above ``outline`` (up to ``need`` over ``top``), or None."""
    # what holds the object up is no obstacle, unless it rises over it (a shelf frame's top panel)
    exclude = {
        b for b in support_exclusions(lay, support) if lay.bodies[b].box.z_range[1] <= top + 1e-3
    } | {oid}
    hit = blocker(outline, lay.obstacles(top + 1e-3, top + need, exclude))
    if hit is None:
        return None
    return f"{hit} is less than {need:.2f} m above it: no room for a top-down grasp"


def region_outline(center: tuple[float, float, float], half: tuple[float, float, float]) -> Polygon:
    """The footprint of a target region."""
    return rect(center[0], center[1], half[0], half[1])
