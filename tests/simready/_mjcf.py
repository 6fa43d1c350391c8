"""A minimal, independent MJCF writer for simready objects (tests only).

It follows the conventions documented in ``bp_contracts.simready``: explicit inertial
from ``inertia``; parts in the body frame with MuJoCo sizes; the moving part as a child
body at ``part_pos_m`` with its joint at ``anchor_m - part_pos_m``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mujoco
import numpy as np
from bp_contracts.simready import CollisionPart, Inertia, SimObject

from tests.simready._support import rotation

PULL_N = 20.0


def _v(values: Sequence[float]) -> str:
    return " ".join(repr(float(x)) for x in values)


def _geom(
    p: CollisionPart,
    prefix: str,
    density: float | None = None,
    friction: Sequence[float] = (1.0, 0.005, 0.0001),
) -> str:
    extra = (
        f' density="{density!r}"'
        if density is not None
        else f' friction="{_v(friction)}" condim="4"'
    )
    if p.shape == "mesh":
        assert p.mesh is not None
        return f'<geom name="{prefix}/{p.name}" type="mesh" mesh="{mesh_name(p.mesh)}" pos="{_v(p.pos)}"{extra}/>'
    return (
        f'<geom name="{prefix}/{p.name}" type="{p.shape}" size="{_v(p.size)}" '
        f'pos="{_v(p.pos)}" quat="{_v(p.quat)}"{extra}/>'
    )


def mesh_name(path: str) -> str:
    """MuJoCo asset name of a simready collision mesh file."""
    return path.rsplit("/", 1)[-1].removesuffix(".obj")


def _inertial(i: Inertia) -> str:
    return f'<inertial pos="{_v(i.com_m)}" mass="{i.mass_kg!r}" diaginertia="{_v(i.diag_kg_m2)}"/>'


def _assets(
    objs: Sequence[SimObject], read: Callable[[str], bytes]
) -> tuple[str, dict[str, bytes]]:
    files: dict[str, bytes] = {}
    lines = []
    for o in objs:
        parts = list(o.parts) + (list(o.articulation.parts) if o.articulation else [])
        for p in parts:
            if p.shape == "mesh" and p.mesh:
                files[p.mesh.rsplit("/", 1)[-1]] = read(p.mesh)
                lines.append(
                    f'<mesh name="{mesh_name(p.mesh)}" file="{p.mesh.rsplit("/", 1)[-1]}"/>'
                )
    return "<asset>" + "".join(lines) + "</asset>", files


def object_body(o: SimObject, free: bool) -> str:
    """One object as a body, on a free joint or fixed to the world, with its moving part."""
    joint = f'<freejoint name="{o.id}/free"/>' if free else ""
    inner = [_inertial(o.inertia), *(_geom(p, o.id, friction=o.friction) for p in o.parts)]
    art = o.articulation
    if art is not None:
        anchor = [a - b for a, b in zip(art.anchor_m, art.part_pos_m, strict=True)]
        inner.append(
            f'<body name="{o.id}/{art.kind}" pos="{_v(art.part_pos_m)}">'
            f'<joint name="{o.id}/joint" type="{art.joint}" axis="{_v(art.axis)}" pos="{_v(anchor)}" '
            f'range="{_v(art.range)}" limited="true" damping="{art.damping!r}" frictionloss="{art.frictionloss!r}"/>'
            + _inertial(art.inertia)
            + "".join(_geom(p, f"{o.id}/{art.kind}", friction=o.friction) for p in art.parts)
            + f'<site name="{o.id}/handle" pos="{_v(art.handle_m)}"/>'
            + "</body>"
        )
    return (
        f'<body name="{o.id}" pos="{_v(o.position_m)}" quat="{_v(o.orientation_wxyz)}">'
        + joint
        + "".join(inner)
        + "</body>"
    )


def scene_xml(
    objs: Sequence[SimObject],
    read: Callable[[str], bytes],
    free: bool | None,
    parent_contacts: bool = False,
) -> tuple[str, dict[str, bytes]]:
    """A model of ``objs``: every object free (``True``), fixed (``False``), or as in the
    scene (``None``: movable objects free, static ones fixed, on a floor plane);
    ``parent_contacts`` enables contacts between a body and its moving part."""
    assets, files = _assets(objs, read)
    flag = '<flag filterparent="disable"/>' if parent_contacts else ""
    floor = (
        '<geom name="floor" type="plane" size="20 20 0.1" friction="0.8 0.005 0.0001" condim="4"/>'
    )
    bodies = "".join(object_body(o, (not o.static) if free is None else free) for o in objs)
    xml = (
        '<mujoco><compiler angle="radian"/><option timestep="0.002">'
        + flag
        + "</option>"
        + assets
        + "<worldbody>"
        + (floor if free is None else "")
        + bodies
        + "</worldbody></mujoco>"
    )
    return xml, files


def geoms_only_xml(
    o: SimObject, density: float, read: Callable[[str], bytes]
) -> tuple[str, dict[str, bytes]]:
    """The object's body parts with a uniform ``density`` and no inertial: MuJoCo infers mass and inertia."""
    assets, files = _assets([o], read)
    body = (
        f'<body name="{o.id}"><freejoint/>'
        + "".join(_geom(p, o.id, density) for p in o.parts)
        + "</body>"
    )
    return (
        '<mujoco><compiler angle="radian" inertiafromgeom="true"/>'
        + assets
        + "<worldbody>"
        + body
        + "</worldbody></mujoco>",
        files,
    )


def sweep_penetration(o: SimObject, read: Callable[[str], bytes]) -> float:
    """Deepest contact (m, > 0 = penetrating) between the moving part and the rest over its range."""
    xml, assets = scene_xml([o], read, free=False, parent_contacts=True)
    model = mujoco.MjModel.from_xml_string(xml, assets)
    data = mujoco.MjData(model)
    art = o.articulation
    assert art is not None
    moving = model.body(f"{o.id}/{art.kind}").id
    worst = 0.0
    for q in np.linspace(art.range[0], art.range[1], 40):
        data.qpos[0] = q
        mujoco.mj_forward(model, data)
        for con in data.contact[: data.ncon]:
            bodies = {model.geom_bodyid[con.geom1], model.geom_bodyid[con.geom2]}
            if moving in bodies and len(bodies) == 2:
                worst = max(worst, -float(con.dist))
    return worst


def pull(
    o: SimObject,
    read: Callable[[str], bytes],
    seconds: float,
    start: float = 0.0,
    force: float = PULL_N,
) -> float:
    """Joint position after pulling the handle along ``open_direction`` (gravity on)."""
    xml, assets = scene_xml([o], read, free=False)
    model = mujoco.MjModel.from_xml_string(xml, assets)
    data = mujoco.MjData(model)
    art = o.articulation
    assert art is not None
    data.qpos[0] = start
    mujoco.mj_forward(model, data)
    body = model.body(f"{o.id}/{art.kind}").id
    site = model.site(f"{o.id}/handle").id
    f = force * (rotation(o.orientation_wxyz) @ np.asarray(art.open_direction))
    for _ in range(int(seconds / model.opt.timestep)):
        data.xfrc_applied[body, :3] = f
        data.xfrc_applied[body, 3:] = np.cross(data.site_xpos[site] - data.xipos[body], f)
        mujoco.mj_step(model, data)
    return float(data.qpos[0])
