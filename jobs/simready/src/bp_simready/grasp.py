"""Whether a parallel gripper can pick an object up, and why (in words)."""

from __future__ import annotations

from bp_contracts.catalog import CategoryPrior
from bp_contracts.scene_manifest import ManifestObject

from bp_simready.placement import up_axis


def grip_width(obj: ManifestObject) -> float:
    """Narrowest horizontal extent: the smaller of the object's two extents across its up axis."""
    up = up_axis(obj)
    return min(s for i, s in enumerate(obj.size_m) if i != up)


def graspable(
    obj: ManifestObject,
    prior: CategoryPrior | None,
    mass_kg: float,
    max_width_m: float,
    max_kg: float,
) -> tuple[bool, str]:
    """(graspable, reason): the category prior allows it, it fits the gripper's opening,
    and it is light enough. The reason names every limit that fails, or both that pass."""
    width = grip_width(obj)
    why_not: list[str] = []
    if prior is None:
        why_not.append(f"unknown category {obj.category!r}: no grasp prior")
    elif not prior.graspable:
        why_not.append(f"the {obj.category} category is not graspable by a parallel gripper")
    if width > max_width_m:
        why_not.append(f"{width:.3f} m wide: wider than the gripper's {max_width_m:.3f} m opening")
    if mass_kg > max_kg:
        why_not.append(f"{mass_kg:.3g} kg: heavier than the {max_kg:g} kg grasp limit")
    if why_not:
        return False, "; ".join(why_not)
    return True, (
        f"{width:.3f} m wide and {mass_kg:.3g} kg: fits the gripper's {max_width_m:.3f} m "
        f"opening and the {max_kg:g} kg limit"
    )
