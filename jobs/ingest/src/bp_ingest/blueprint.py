"""The blueprint input schema (v1, see docs/BLUEPRINT.md) and its error messages.

Each object and the header are validated with pydantic; every error becomes a
:class:`~bp_sdk.errors.Problem` whose ``where`` is a JSON path (``$.objects[3].size[1]``)
and whose hint says how to fix it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from bp_sdk.errors import PathError, Problem
from bp_sdk.ids import ID_HINT, ID_PATTERN
from bp_sdk.storage import check_path
from bp_sdk.text import MULTILINE, text_problem
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

Finite = Annotated[float, Field(allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Vec3 = Annotated[list[Finite], Field(min_length=3, max_length=3)]
Size3 = Annotated[list[Positive], Field(min_length=3, max_length=3)]
Quat = Annotated[list[Finite], Field(min_length=4, max_length=4)]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ObjId = Annotated[str, StringConstraints(pattern=ID_PATTERN)]

MESH_SUFFIXES = (".obj", ".stl", ".ply", ".glb", ".gltf", ".usd", ".usda", ".usdc")
UNIT_FACTORS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "ft": 0.3048}
FLOOR = "floor"


class Pose(BaseModel):
    """Bounding-box centre and optional orientation."""

    model_config = ConfigDict(extra="forbid", strict=True)
    position: Vec3
    orientation_wxyz: Quat | None = None

    @field_validator("orientation_wxyz")
    @classmethod
    def _nonzero(cls, q: list[float] | None) -> list[float] | None:
        if q is not None and all(c == 0 for c in q):
            raise ValueError("quaternion is all zeros")
        return q


class BlueprintObject(BaseModel):
    """One object of the blueprint, as written (blueprint units and axes)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    id: ObjId
    category: Category
    size: Size3
    pose: Pose
    support: Annotated[str, StringConstraints(pattern=ID_PATTERN)] = FLOOR
    mesh: Annotated[str, StringConstraints(max_length=512)] | None = None
    material: Category | None = None
    static: bool | None = None

    @field_validator("mesh")
    @classmethod
    def _mesh_path(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            check_path(v)
        except PathError as exc:
            raise ValueError(exc.message) from None
        if not v.lower().endswith(MESH_SUFFIXES):
            raise ValueError(f"unsupported mesh type; use one of {', '.join(MESH_SUFFIXES)}")
        return v


class RobotBaseIn(BaseModel):
    """Where the robot stands (blueprint units and axes)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    position: Vec3
    yaw_deg: Finite = 0.0


class BlueprintHeader(BaseModel):
    """Everything but ``objects``."""

    model_config = ConfigDict(extra="forbid", strict=True)
    schema_version: Literal["1"]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    units: Literal["m", "cm", "mm", "in", "ft"]
    up_axis: Literal["z", "y"]
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    license: Annotated[str, StringConstraints(max_length=200)] | None = None
    robot_base: RobotBaseIn | None = None


_HINTS: dict[str, str] = {
    "id": ID_HINT,
    "category": "lower-case letters, digits and '_' starting with a letter; see contracts/src/bp_contracts/data/categories.json",
    "size": "three finite numbers > 0: the full extents along the object's own x, y, z in the blueprint's units",
    "position": "three finite numbers: the bounding-box centre in the blueprint's units",
    "orientation_wxyz": "four finite numbers [w, x, y, z], not all zero (omit for no rotation)",
    "yaw_deg": "a finite number of degrees",
    "support": f"'floor' or the id of another object ({ID_HINT})",
    "mesh": f"a relative path under input/ ([A-Za-z0-9._/-], no '..'), ending in one of {', '.join(MESH_SUFFIXES)}",
    "material": "a lower-case word such as wood, metal, ceramic",
    "static": "true or false (JSON booleans, not strings)",
    "schema_version": 'the string "1"',
    "name": "a non-empty string of at most 200 characters",
    "units": "one of m, cm, mm, in, ft",
    "up_axis": "z or y",
    "description": "a string of at most 2000 characters",
    "license": "an SPDX id such as CC-BY-4.0",
    "robot_base": 'an object {"position": [x, y, z], "yaw_deg": angle}',
    "pose": 'an object {"position": [x, y, z], "orientation_wxyz": [w, x, y, z]}',
}


def _path(base: str, loc: tuple[int | str, ...]) -> str:
    out = base
    for part in loc:
        out += (
            f"[{part}]"
            if isinstance(part, int)
            else f".{part if len(part) <= 64 else part[:61] + '...'}"
        )
    return out


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems_from(exc: ValidationError, base: str, model: type[BaseModel]) -> list[Problem]:
    """Translate pydantic errors into problems with JSON paths and hints."""
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        field = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
        if kind == "missing":
            msg, hint = "required key is missing", _HINTS.get(field, "add it")
        elif kind == "extra_forbidden":
            allowed = ", ".join(model.model_fields) if len(loc) == 1 else "see docs/BLUEPRINT.md"
            msg, hint = (
                f"unknown key {_shown(field)}",
                f"remove it or fix its spelling; allowed keys: {allowed}",
            )
        else:
            msg = err["msg"].removeprefix("Value error, ") + f"; got {_shown(err.get('input'))}"
            hint = _HINTS.get(field, "")
        out.append(Problem(_path(base, loc), msg, hint))
    return out


def validate_object(raw: Any, index: int) -> tuple[BlueprintObject | None, list[Problem]]:
    """Validate one raw object; return it or its problems."""
    where = f"$.objects[{index}]"
    if not isinstance(raw, dict):
        return None, [
            Problem(
                where,
                f"expected a JSON object, got {type(raw).__name__}",
                'each item of objects is {"id": ..., ...}',
            )
        ]
    try:
        return BlueprintObject.model_validate(raw), []
    except ValidationError as exc:
        return None, problems_from(exc, where, BlueprintObject)


# the header's free text, and what each field may hold beyond the rule of bp_sdk.text
TEXT_FIELDS: dict[str, str] = {"name": "", "description": MULTILINE, "license": ""}


def text_problems(raw: dict[str, Any]) -> list[Problem]:
    """One problem per free-text field holding a control, lone surrogate or bidi override
    character (docs/BLUEPRINT.md); other types are left to the schema."""
    out = []
    for key, allow in TEXT_FIELDS.items():
        value = raw.get(key)
        if isinstance(value, str) and (found := text_problem(f"$.{key}", value, allow)):
            out.append(found)
    return out


def validate_header(raw: dict[str, Any]) -> tuple[BlueprintHeader | None, list[Problem]]:
    """Validate the top-level fields (without ``objects``), free text included."""
    problems = text_problems(raw)
    try:
        header = BlueprintHeader.model_validate(raw)
    except ValidationError as exc:
        return None, problems + problems_from(exc, "$", BlueprintHeader)
    return (None, problems) if problems else (header, [])
