"""A top-down SVG of the normalised scene, so a person can see what was ingested.

Plain SVG text (no plotting dependency), deterministic byte for byte. Objects are drawn
as their rotated footprints, lowest first, coloured by role; the robot base is a
circle with an arrow along its heading. Every text from data goes through
``bp_sdk.text.for_xml``: control characters (not allowed in XML 1.0 at all), surrogates
and bidi controls become visible escapes, so the document is well-formed whatever the
manifest holds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bp_contracts.scene_manifest import ManifestObject, RobotBase
from bp_sdk.text import for_xml

MAX_OBJECTS = 2000
MAX_LABELS = 200
WIDTH = 800
MARGIN = 40
COLOURS = {"support": "#d8c3a0", "fixture": "#a9a9a9", "graspable": "#3f7fd0", "object": "#9bb8d8"}


def _corners(obj: ManifestObject) -> list[tuple[float, float]]:
    w, x, y, z = obj.orientation_wxyz
    # first two columns of the rotation matrix, projected onto the floor
    ax = (1 - 2 * (y * y + z * z), 2 * (x * y + w * z))
    ay = (2 * (x * y - w * z), 1 - 2 * (x * x + z * z))
    hx, hy = obj.size_m[0] / 2, obj.size_m[1] / 2
    cx, cy = obj.position_m[0], obj.position_m[1]
    return [
        (cx + sx * hx * ax[0] + sy * hy * ay[0], cy + sx * hx * ax[1] + sy * hy * ay[1])
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]


def _draw_order(item: tuple[ManifestObject, list[tuple[float, float]]]) -> tuple[int, float, str]:
    """Supports and fixtures first, then movable objects, each lowest first (none hidden)."""
    o = item[0]
    return (0 if o.role != "object" else 1, o.position_m[2] + o.size_m[2] / 2, o.id)


def render_svg(name: str, objects: Sequence[ManifestObject], robot: RobotBase | None) -> str:
    """The SVG document (call only with at most :data:`MAX_OBJECTS` objects)."""
    polys = [(o, _corners(o)) for o in objects]
    xs = [p[0] for _, c in polys for p in c]
    ys = [p[1] for _, c in polys for p in c]
    if robot is not None:
        xs += [robot.position_m[0] - 0.3, robot.position_m[0] + 0.3]
        ys += [robot.position_m[1] - 0.3, robot.position_m[1] + 0.3]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    scale = (WIDTH - 2 * MARGIN) / max(x1 - x0, y1 - y0, 1e-6)
    height = int((y1 - y0) * scale + 2 * MARGIN + 30)

    def px(x: float, y: float) -> str:
        return f"{MARGIN + (x - x0) * scale:.1f},{height - 30 - MARGIN - (y - y0) * scale + 30:.1f}"

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="22" font-size="15">{for_xml(name)} — top view, z up, 1 m = {scale:.0f} px</text>',
    ]
    for o, corners in sorted(polys, key=_draw_order):
        kind = o.role if o.role != "object" else ("graspable" if o.graspable else "object")
        pts = " ".join(px(*c) for c in corners)
        out.append(
            f'<polygon points="{pts}" fill="{COLOURS[kind]}" fill-opacity="0.85" stroke="#333" stroke-width="0.8">'
            f"<title>{for_xml(o.id)} ({for_xml(o.category)})</title></polygon>"
        )
    if len(polys) <= MAX_LABELS:
        for o, _ in polys:
            if o.role == "object":
                lx, ly = px(o.position_m[0], o.position_m[1]).split(",")
                out.append(
                    f'<text x="{lx}" y="{ly}" font-size="9" text-anchor="middle">{for_xml(o.id)}</text>'
                )
    if robot is not None:
        rx, ry = robot.position_m[0], robot.position_m[1]
        yaw = math.radians(robot.yaw_deg)
        cx, cy = px(rx, ry).split(",")
        out.append(
            f'<circle cx="{cx}" cy="{cy}" r="{0.1 * scale:.1f}" fill="#e07b39" stroke="#333"/>'
        )
        out.append(
            f'<polyline points="{px(rx, ry)} {px(rx + 0.25 * math.cos(yaw), ry + 0.25 * math.sin(yaw))}" '
            'stroke="#e07b39" stroke-width="3" fill="none"/>'
        )
        out.append(
            f'<text x="{cx}" y="{float(cy) + 0.1 * scale + 12:.1f}" font-size="10" text-anchor="middle">robot</text>'
        )
    legend = [
        ("support", "support"),
        ("fixture", "fixture"),
        ("graspable", "graspable object"),
        ("object", "other object"),
    ]
    for i, (key, label) in enumerate(legend):
        x = MARGIN + i * 170
        out.append(
            f'<rect x="{x}" y="{height - 22}" width="12" height="12" fill="{COLOURS[key]}" stroke="#333"/>'
        )
        out.append(f'<text x="{x + 18}" y="{height - 12}" font-size="12">{label}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
