"""Colour words for objects: the nearest named colour to an RGBA value, judged in CIELAB.

Greys are decided by lightness alone (a low-chroma colour is black, grey or white
whatever its faint hue); see-through objects are "clear". Pure function, no randomness.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# sRGB (0-1) of each chromatic name: typical, not extreme, shades.
CHROMATIC: dict[str, tuple[float, float, float]] = {
    "red": (0.80, 0.10, 0.10),
    "orange": (0.95, 0.50, 0.10),
    "yellow": (0.95, 0.85, 0.15),
    "green": (0.15, 0.60, 0.20),
    "blue": (0.15, 0.30, 0.80),
    "purple": (0.50, 0.20, 0.60),
    "pink": (0.95, 0.55, 0.70),
    "brown": (0.45, 0.28, 0.12),
}
GREY_CHROMA = 12.0  # below this CIELAB chroma a colour has no hue worth naming
BLACK_L, WHITE_L = 25.0, 82.0
CLEAR_ALPHA = 0.5

Lab = tuple[float, float, float]


def _linear(c: float) -> float:
    c = min(max(c, 0.0), 1.0)
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def to_lab(rgb: Sequence[float]) -> Lab:
    """CIELAB (D65) of an sRGB colour with components in [0, 1]."""
    r, g, b = (_linear(c) for c in rgb[:3])
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return math.cbrt(t) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz))


_PALETTE = {name: to_lab(rgb) for name, rgb in CHROMATIC.items()}


def colour_name(rgba: Sequence[float]) -> str:
    """The word a person would use for this colour: red, blue, grey, clear, ..."""
    if len(rgba) > 3 and rgba[3] < CLEAR_ALPHA:
        return "clear"
    lab = to_lab(rgba)
    lightness, a, b = lab
    if math.hypot(a, b) < GREY_CHROMA:
        if lightness < BLACK_L:
            return "black"
        return "white" if lightness > WHITE_L else "grey"
    return min(sorted(_PALETTE), key=lambda n: math.dist(lab, _PALETTE[n]))
