"""simready's own physics tables (documented in docs/SIMREADY.md).

Densities, friction and restitution come from the SDK's ``materials.json``; shapes and
fill fractions from ``categories.json``. What is here is what those tables do not say:
panel and sheet thicknesses, joint constants, the colour palette and the plausibility
ranges.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final, Literal

from bp_contracts.catalog import CategoryPrior

RGBA = tuple[float, float, float, float]

# ----------------------------------------------------------------- panels and frames
PANEL_M: Final = 0.02  # collision panels of shelf frames and carcasses
MIN_PANEL_M: Final = 0.003  # a shelf-frame panel thinner than this is left out
PANEL_MAX_SHARE: Final = 0.2  # a panel is at most this share of the extent it spans
CLEARANCE_M: Final = 0.002  # gap between a moving part and the carcass around it
HANDLE_DEPTH_M: Final = 0.03  # room in front of doors and drawers for the handle
HANDLE_BAR_M: Final = 0.012  # square section of a handle bar
HANDLE_POST_M: Final = 0.01  # square section of the posts holding the bar
TRAY_WALL_M: Final = 0.012  # drawer box sides, back and bottom

# Real sheet thickness of each material's panels. A carcass/frame panel is a PANEL_M-thick
# collision box whose solid fraction is sheet / PANEL_M (≤ 1), so a steel microwave is not
# a 2 cm steel block: its mass is that of 1.5 mm sheet.
SHEET_M: Final[dict[str, float]] = {
    "wood": 0.02,
    "stone": 0.02,
    "metal": 0.0015,
    "ceramic": 0.008,
    "glass": 0.005,
    "plastic": 0.003,
    "cardboard": 0.004,
    "paper": 0.004,
    "organic": 0.02,
    "foam": 0.02,
    "wicker": 0.008,
    "generic": 0.02,
}


def sheet_fraction(material: str) -> float:
    """Solid fraction of a PANEL_M collision panel made of ``material``."""
    return min(1.0, SHEET_M.get(material, SHEET_M["generic"]) / PANEL_M)


# ----------------------------------------------------------------- unknown categories
UNKNOWN_PRIOR: Final = CategoryPrior(
    typical_size_m=(0.1, 0.1, 0.1),
    role="object",
    graspable=False,
    material="generic",
    articulation=None,
    shape="box",
    fill=0.5,
)


# ----------------------------------------------------------------- joints
@dataclass(frozen=True)
class JointConstants:
    """Damping (N·s/m or N·m·s/rad) and friction loss (N or N·m) of one joint kind."""

    damping: float
    frictionloss: float
    range_factor: float  # slide: x the drawer box's depth; hinge: radians


JOINTS: Final[dict[Literal["drawer", "door", "lid"], JointConstants]] = {
    "drawer": JointConstants(damping=5.0, frictionloss=1.0, range_factor=0.8),
    "door": JointConstants(damping=0.2, frictionloss=0.1, range_factor=1.6),
    "lid": JointConstants(damping=0.1, frictionloss=0.05, range_factor=1.9),
}
# A lid on a split box (laptop-like) holds any angle: its hinge friction is this many
# times the lid's largest gravity torque.
HOLDING_HINGE_FACTOR: Final = 1.5
GRAVITY: Final = 9.81

# ----------------------------------------------------------------- plausibility ranges
MASS_KG: Final = (0.01, 500.0)
FRICTION: Final = (0.0, 2.0)
EXTENT_M: Final = (1e-6, 10.0)
MIN_INERTIA: Final = 1e-12  # kg·m²: "positive"
TRIANGLE: Final = (0.0, 2.0)  # min (Ia + Ib - Ic) / max(I); 0 would be a flat rod
PART_TOLERANCE_M: Final = 0.001

# ----------------------------------------------------------------- colours
MATERIAL_RGBA: Final[dict[str, RGBA]] = {
    "wood": (0.62, 0.45, 0.28, 1.0),
    "stone": (0.58, 0.58, 0.56, 1.0),
    "metal": (0.72, 0.74, 0.77, 1.0),
    "ceramic": (0.92, 0.91, 0.88, 1.0),
    "glass": (0.72, 0.86, 0.9, 0.6),
    "plastic": (0.22, 0.47, 0.78, 1.0),
    "cardboard": (0.74, 0.6, 0.42, 1.0),
    "paper": (0.93, 0.93, 0.88, 1.0),
    "organic": (0.55, 0.7, 0.3, 1.0),
    "foam": (0.95, 0.85, 0.3, 1.0),
    "wicker": (0.7, 0.55, 0.33, 1.0),
    "generic": (0.6, 0.6, 0.6, 1.0),
}
# Categories whose colour is part of what they are (a blue banana confuses a VLM).
CATEGORY_RGBA: Final[dict[str, RGBA]] = {
    "apple": (0.78, 0.1, 0.1, 1.0),
    "orange": (0.98, 0.55, 0.1, 1.0),
    "banana": (0.97, 0.85, 0.25, 1.0),
    "sponge": (0.96, 0.86, 0.2, 1.0),
    "plant_pot": (0.72, 0.38, 0.24, 1.0),
    "can": (0.8, 0.15, 0.12, 1.0),
    "laptop": (0.3, 0.31, 0.33, 1.0),
    "phone": (0.1, 0.1, 0.12, 1.0),
    "remote": (0.12, 0.12, 0.12, 1.0),
    "book": (0.2, 0.3, 0.6, 1.0),
}
SHADE: Final = 0.1  # ± brightness change derived from the category name


def colour(category: str, material: str) -> RGBA:
    """Deterministic colour: the category's own colour, else the material's, shaded
    by up to ±10 % from the sha256 of the category name (so categories of one material differ)."""
    if category in CATEGORY_RGBA:
        return CATEGORY_RGBA[category]
    r, g, b, a = MATERIAL_RGBA.get(material, MATERIAL_RGBA["generic"])
    byte = hashlib.sha256(category.encode()).digest()[0]
    k = 1.0 + SHADE * (byte / 127.5 - 1.0)
    return (
        round(min(1.0, r * k), 3),
        round(min(1.0, g * k), 3),
        round(min(1.0, b * k), 3),
        a,
    )
