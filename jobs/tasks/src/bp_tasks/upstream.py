"""Reading what simready, assemble and variations committed, validated, errors collected.

Every document is read through ``require_committed(...).read_model``, so its bytes are
checked against the upstream commit record first. A document that does not match its
schema is a permanent error naming each field at fault: a retry would read the same bytes.
"""

from __future__ import annotations

from typing import Final, Literal, TypeVar

from bp_sdk.commit import CommittedUnit, require_committed
from bp_sdk.errors import InputError, Problem
from bp_sdk.schemas import Assembly, SimreadyManifest, Variant
from bp_sdk.storage import Storage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SIMREADY_FILE: Final = "simready_manifest.json"
ASSEMBLY_FILE: Final = "assembly.json"
INDEX_FILE: Final = "variations/index.json"
UPSTREAM: Final = ["simready", "assemble", "variations"]
MAX_PROBLEMS: Final = 50

M = TypeVar("M", bound=BaseModel)


class IndexEntry(BaseModel):
    """One variant as the variations index lists it (other keys are not needed here)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    variant_id: str
    file: str
    index: int = Field(ge=0)


class VariationsIndex(BaseModel):
    """``variations/index.json`` (``bp.variations_index/v1``), the fields tasks reads."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    schema_: Literal["bp.variations_index/v1"] = Field(alias="schema")
    scene_id: str
    variants: list[IndexEntry]


def _problems(name: str, exc: ValidationError) -> list[Problem]:
    out = []
    for err in exc.errors()[:MAX_PROBLEMS]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        out.append(Problem(f"{name}: {loc or '$'}", str(err.get("msg", "invalid"))))
    return out


def read(unit: CommittedUnit, name: str, model: type[M], problems: list[Problem]) -> M | None:
    """``name`` validated as ``model``; on a schema error add the problems and return None."""
    try:
        return unit.read_model(name, model)
    except ValidationError as exc:
        problems.extend(_problems(f"{unit.record.stage}/{name}", exc))
        return None


def read_upstream(
    storage: Storage, scene: str, run: str
) -> tuple[SimreadyManifest, Assembly, list[Variant]]:
    """The simready manifest, the assembly and every variant in index order."""
    problems: list[Problem] = []
    simready = read(
        require_committed(storage, scene, run, "simready"),
        SIMREADY_FILE,
        SimreadyManifest,
        problems,
    )
    assembly = read(
        require_committed(storage, scene, run, "assemble"), ASSEMBLY_FILE, Assembly, problems
    )
    variations = require_committed(storage, scene, run, "variations")
    index = read(variations, INDEX_FILE, VariationsIndex, problems)
    variants: list[Variant] = []
    for entry in sorted(index.variants, key=lambda e: e.index) if index else []:
        v = read(variations, entry.file, Variant, problems)
        if v is None:
            continue
        if v.variant_id != entry.variant_id:
            problems.append(
                Problem(
                    f"variations/{entry.file}",
                    f"holds variant {v.variant_id!r} but the index lists it as {entry.variant_id!r}",
                    "re-run variations",
                )
            )
        variants.append(v)
    if problems or simready is None or assembly is None:
        raise InputError(
            f"upstream outputs of scene {scene!r} do not match their schemas", problems=problems
        )
    return simready, assembly, variants
