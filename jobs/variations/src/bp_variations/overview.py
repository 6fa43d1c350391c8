"""``overview.svg``: top-view thumbnails of up to 16 variants, so a person sees what changes.

Plain SVG text, deterministic byte for byte. Every thumbnail uses the same scale and
window, so moved objects, new distractors (dashed outline), recoloured objects (each
filled with its variant colour) and shifted scene cameras (dots) stand out side by side.
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

from bp_contracts.assembly import Assembly
from bp_contracts.simready import SimObject
from bp_contracts.variation import Variant
from bp_sim.footprints import Footprint, footprint_of, half_height

MAX_THUMBNAILS = 16
COLUMNS = 4
THUMB = 220
GAP = 12
HEADER = 44
TITLE = 16
PAD = 0.05  # metres of empty border around the union of everything drawn

Item = tuple[int, float, str, Footprint, str, bool]  # (layer, top z, id, footprint, fill, dashed)


def _hex(rgba: tuple[float, float, float, float]) -> str:
    r, g, b = (max(0, min(255, round(c * 255))) for c in rgba[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _items(variant: Variant, objects: tuple[SimObject, ...]) -> list[Item]:
    poses = {p.id: p for p in variant.poses}
    out: list[Item] = []
    for o in objects:
        pose = poses.get(o.id)
        pos = pose.position_m if pose else o.position_m
        q = pose.orientation_wxyz if pose else o.orientation_wxyz
        top = pos[2] + half_height(o.size_m, q)
        colour = _hex(variant.colours.get(o.id, o.rgba))
        out.append((0 if o.static else 1, top, o.id, footprint_of(o, pos, q), colour, False))
    for d in variant.distractors:
        top = d.position_m[2] + half_height(d.size_m, d.orientation_wxyz)
        out.append((1, top, d.id, footprint_of(d), _hex(d.rgba), True))
    # fixed things first (a shelf frame must not hide its boards' items), then lowest first
    out.sort(key=lambda it: (it[0], it[1], it[2]))
    return out


def render_overview(
    scene_id: str,
    variants: list[Variant],
    objects: tuple[SimObject, ...],
    assembly: Assembly,
    total: int,
) -> str:
    """The SVG document for the first :data:`MAX_THUMBNAILS` of ``variants``."""
    shown = variants[:MAX_THUMBNAILS]
    drawn = [(v, _items(v, objects)) for v in shown]
    xs: list[float] = [assembly.robot.base_position_m[0]]
    ys: list[float] = [assembly.robot.base_position_m[1]]
    for _, items in drawn:
        for item in items:
            for x, y in item[3].corners():
                xs.append(x)
                ys.append(y)
    x0, x1 = min(xs) - PAD, max(xs) + PAD
    y0, y1 = min(ys) - PAD, max(ys) + PAD
    scale = (THUMB - 8) / max(x1 - x0, y1 - y0, 1e-6)
    rows = max(1, math.ceil(len(drawn) / COLUMNS))
    width = COLUMNS * (THUMB + GAP) + GAP
    height = HEADER + rows * (THUMB + TITLE + GAP) + GAP
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{GAP}" y="20" font-size="14">{escape(scene_id)}: {len(drawn)} of {total} variants, top view, z up, 1 m = {scale:.0f} px</text>',
        f'<text x="{GAP}" y="36" font-size="11">fill: the variant\'s colour; dashed: distractor; black dot: scene camera (when in view); orange ring: robot base</text>',
    ]
    for n, (v, items) in enumerate(drawn):
        ox = GAP + (n % COLUMNS) * (THUMB + GAP)
        oy = HEADER + (n // COLUMNS) * (THUMB + TITLE + GAP)
        top = oy + TITLE

        def px(x: float, y: float, ox: float = ox, top: float = top) -> str:
            return f"{ox + 4 + (x - x0) * scale:.1f},{top + THUMB - 4 - (y - y0) * scale:.1f}"

        label = (
            "nominal"
            if v.nominal
            else f"{len(v.distractors)} distractor{'s' if len(v.distractors) != 1 else ''}"
        )
        out.append(
            f'<text x="{ox}" y="{oy + 12}" font-size="12">{escape(v.variant_id)} · {label}</text>'
        )
        out.append(
            f'<rect x="{ox}" y="{top}" width="{THUMB}" height="{THUMB}" fill="#f7f7f7" stroke="#999"/>'
        )
        for _, _, oid, fp, fill, dashed in items:
            pts = " ".join(px(*c) for c in fp.corners())
            dash = ' stroke-dasharray="3,2" stroke="#c00"' if dashed else ' stroke="#333"'
            out.append(
                f'<polygon points="{pts}" fill="{fill}" fill-opacity="0.9"{dash} stroke-width="0.6">'
                f"<title>{escape(oid)}</title></polygon>"
            )
        rx, ry = px(assembly.robot.base_position_m[0], assembly.robot.base_position_m[1]).split(",")
        out.append(
            f'<circle cx="{rx}" cy="{ry}" r="5" fill="none" stroke="#e07b39" stroke-width="2"/>'
        )
        for cam in v.cameras:
            if cam.mount == "scene" and x0 <= cam.pos_m[0] <= x1 and y0 <= cam.pos_m[1] <= y1:
                cx, cy = px(cam.pos_m[0], cam.pos_m[1]).split(",")
                out.append(
                    f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="#000"><title>{escape(cam.name)}</title></circle>'
                )
    out.append("</svg>")
    return "\n".join(out) + "\n"
