"""The Isaac Lab task package under ``isaac_lab/<scene_id>/``, rendered from data-file templates.

Templates live in ``bp_tasks/templates`` and are filled with :class:`string.Template`.
Every value that goes into Python code is ``repr()`` of validated data (ids match the
identifier pattern, numbers are finite and rounded, strings are Python literals), and
attribute names are made from ids by a strict rule and checked with ``str.isidentifier``.
Each rendered Python file is checked with :func:`ast.parse` before anything is written;
nothing here (or anywhere in the pipeline) imports or executes the generated code.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
from importlib import resources
from string import Template
from typing import Any

from bp_contracts.assembly import Assembly
from bp_contracts.geometry import Vec3, rnd, yaw_quat_deg
from bp_contracts.simready import SimObject, SimreadyManifest
from bp_contracts.tasks import (
    JOINT_RANGE_EPS,
    REGION_Z_TOLERANCE_M,
    RELEASED_OPENING_FRACTION,
    Predicate,
    TaskSet,
)

from bp_tasks.articulated import open_extreme
from bp_tasks.world import World

ROOT = "isaac_lab"
_BAD = re.compile(r"[^A-Za-z0-9_]")
_PANDA_ARM_JOINTS = 7
_LIGHT_INTENSITY = 5000.0
_PEDESTAL_SIDE_M = 0.3


def _template(name: str) -> Template:
    text = resources.files("bp_tasks").joinpath(f"templates/{name}").read_text(encoding="utf-8")
    return Template(text)


def _f(x: float) -> float:
    if not math.isfinite(x):
        raise ValueError(f"non-finite value {x!r} in generated code")
    return rnd(x)


def _v(v: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    return tuple(_f(c) for c in v)


def attribute_names(ids: list[str]) -> dict[str, str]:
    """Object id → a unique Python identifier (``obj_`` + the id with other characters as ``_``)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for oid in ids:
        base = "obj_" + _BAD.sub("_", oid)
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        if not name.isidentifier() or keyword.iskeyword(name):  # pragma: no cover - by construction
            raise ValueError(f"cannot make an identifier of {oid!r}")
        used.add(name)
        out[oid] = name
    return out


def module_name(task_id: str) -> str:
    """File stem of a task's module: the task id itself (ids are already safe file names)."""
    return task_id


def env_id(scene_id: str, task_id: str) -> str:
    """Gymnasium id of a task: ``BP-<scene>-<task>-v0``."""
    return f"BP-{scene_id}-{task_id}-v0"


# ------------------------------------------------------------------ env_cfg.py
def _spawner(obj: SimObject, world_shape: str) -> tuple[str, str]:
    """(spawner class, its size arguments) for an object's primitive."""
    sx, sy, sz = obj.size_m
    if world_shape == "cylinder":
        return "CylinderCfg", f'radius={_f(min(sx, sy) / 2)!r}, height={_f(sz)!r}, axis="Z"'
    if world_shape == "sphere":
        return "SphereCfg", f"radius={_f(min(sx, sy, sz) / 2)!r}"
    return "CuboidCfg", f"size={_v(obj.size_m)!r}"


def _object_block(obj: SimObject, attr: str, shape: str) -> str:
    kind, dims = _spawner(obj, shape)
    movable = not obj.static and obj.articulation is None
    values: dict[str, Any] = {
        "attr": attr,
        "prim_path": repr("{ENV_REGEX_NS}/" + attr),
        "shape": kind,
        "dims": dims,
        "mass": repr(_f(obj.inertia.mass_kg)),
        "friction": repr(_f(obj.friction[0])),
        "restitution": repr(_f(obj.restitution)),
        "rgb": repr(_v(obj.rgba[:3])),
        "opacity": repr(_f(obj.rgba[3])),
        "pos": repr(_v(obj.position_m)),
        "rot": repr(_v(obj.orientation_wxyz)),
    }
    return _template("rigid_object.tmpl" if movable else "static_object.tmpl").substitute(values)


def _lights(assembly: Assembly) -> str:
    blocks = []
    for i, light in enumerate(assembly.lights):
        attr = f"light_{i}"
        blocks.append(
            _template("light.tmpl").substitute(
                attr=attr,
                prim_path=repr(f"/World/{attr}"),
                intensity=repr(_LIGHT_INTENSITY),
                color=repr(_v(light.diffuse)),
                pos=repr(_v(light.pos_m)),
            )
        )
    return "".join(blocks)


def _robot_values(assembly: Assembly) -> dict[str, str]:
    r = assembly.robot
    bx, by, bz = r.base_position_m
    top = bz + r.pedestal_height_m
    joints: dict[str, float] = {
        f"panda_joint{i + 1}": _f(q) for i, q in enumerate(r.home_qpos[:_PANDA_ARM_JOINTS])
    }
    joints["panda_finger_joint.*"] = 0.04
    pedestal_h = max(r.pedestal_height_m, 0.001)
    return {
        "robot_pos": repr(_v((bx, by, top))),
        "robot_rot": repr(_v(yaw_quat_deg(r.yaw_deg))),
        "robot_joint_pos": repr(joints),
        "pedestal_height": repr(_f(r.pedestal_height_m)),
        "pedestal_size": repr(_v((_PEDESTAL_SIDE_M, _PEDESTAL_SIDE_M, pedestal_h))),
        "pedestal_pos": repr(_v((bx, by, bz + pedestal_h / 2))),
    }


def _pose(
    p: Vec3, q: tuple[float, float, float, float]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    return (_v(p), _v(q))


def render_env_cfg(
    world: World, simready: SimreadyManifest, assembly: Assembly, attrs: dict[str, str]
) -> str:
    """``env_cfg.py``."""
    shapes = {oid: world.layouts[0].bodies[oid].shape for oid in world.object_ids}
    objects = "".join(_object_block(o, attrs[o.id], shapes[o.id]) for o in simready.objects)
    movable = [o.id for o in simready.objects if not o.static and o.articulation is None]
    poses = {
        lay.variant_id: {
            attrs[oid]: _pose(lay.bodies[oid].position, lay.bodies[oid].orientation)
            for oid in movable
        }
        for lay in world.layouts
    }
    articulations = {
        attrs[o.id]: {
            "kind": o.articulation.kind,
            "joint": o.articulation.joint,
            "axis": _v(o.articulation.axis),
            "anchor_m": _v(o.articulation.anchor_m),
            "range": _v(o.articulation.range),
            "open": _f(open_extreme(o.articulation)),
        }
        for o in simready.objects
        if o.articulation is not None
    }
    return _template("env_cfg.py.tmpl").substitute(
        scene_id=repr(world.scene_id),
        object_ids=repr(attrs),
        variant_poses=repr(poses),
        articulations=repr(articulations),
        lights=_lights(assembly),
        objects=objects,
        **_robot_values(assembly),
    )


# ------------------------------------------------------------------ tasks
def predicate_params(p: Predicate, attrs: dict[str, str]) -> dict[str, Any]:
    """A predicate as the generated package evaluates it: the threshold resolved with the
    contract's default, the direction (``object_displaced``) as a unit vector."""
    value = p.threshold()
    return {
        "kind": p.kind,
        "object": attrs[p.object],
        "value": None if value is None else _f(value),
        "direction": _v(p.unit_direction()) if p.kind == "object_displaced" else None,
    }


def render_predicates() -> str:
    """``predicates.py``: the manager terms, with the contract's constants."""
    return _template("predicates.py.tmpl").substitute(
        released_opening_fraction=repr(RELEASED_OPENING_FRACTION),
        region_z_tolerance_m=repr(REGION_Z_TOLERANCE_M),
        joint_range_eps=repr(JOINT_RANGE_EPS),
    )


def render_task(taskset: TaskSet, index: int, attrs: dict[str, str]) -> str:
    """``tasks/<task_id>.py``."""
    t = taskset.tasks[index]
    targets = {v: (_v(r.center_m), _v(r.half_extents_m)) for v, r in sorted(t.targets.items())}
    success = [predicate_params(p, attrs) for p in t.success]
    return _template("task.py.tmpl").substitute(
        task_id=repr(t.task_id),
        kind=repr(t.kind),
        object_id=repr(t.object),
        object_attr=repr(attrs[t.object]),
        instruction=repr(t.instruction),
        paraphrases=repr(list(t.paraphrases)),
        targets=repr(targets),
        success=repr(success),
        time_limit_s=repr(_f(t.time_limit_s)),
        reach_m=repr(_f(t.reach_m)),
        initial_joint_fraction=repr(_f(t.initial_joint_fraction())),
    )


def _cell(text: str) -> str:
    return re.sub(r"[|`\r\n]", " ", text)


def render_readme(taskset: TaskSet) -> str:
    """``README.md``."""
    rows = [
        f"| `{env_id(taskset.scene_id, t.task_id)}` | {t.kind} | `{t.object}` | {_cell(t.instruction)} "
        f"| {len(t.targets)} of {len(taskset.variants)} | {t.time_limit_s:g} s |"
        for t in taskset.tasks
    ]
    first = env_id(taskset.scene_id, taskset.tasks[0].task_id) if taskset.tasks else "BP-...-v0"
    return _template("README.md.tmpl").substitute(
        scene_id=taskset.scene_id, example_env_id=first, task_rows="\n".join(rows)
    )


def render(
    world: World, simready: SimreadyManifest, assembly: Assembly, taskset: TaskSet
) -> dict[str, str]:
    """Every file of the package (path under the stage's outputs → text), Python parsed once."""
    base = f"{ROOT}/{world.scene_id}"
    attrs = attribute_names([o.id for o in simready.objects])
    files = {
        f"{base}/__init__.py": _template("package_init.py.tmpl").substitute(
            scene_id=repr(world.scene_id),
            tasks=repr(
                {env_id(world.scene_id, t.task_id): module_name(t.task_id) for t in taskset.tasks}
            ),
        ),
        f"{base}/env_cfg.py": render_env_cfg(world, simready, assembly, attrs),
        f"{base}/predicates.py": render_predicates(),
        f"{base}/tasks/__init__.py": _template("tasks_init.py.tmpl").substitute(
            task_ids=repr([t.task_id for t in taskset.tasks])
        ),
        f"{base}/README.md": render_readme(taskset),
    }
    for i, t in enumerate(taskset.tasks):
        files[f"{base}/tasks/{module_name(t.task_id)}.py"] = render_task(taskset, i, attrs)
    for path, text in files.items():
        if path.endswith(".py"):
            ast.parse(text, filename=path)  # a template bug fails here, before anything is written
    return files
