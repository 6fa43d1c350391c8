"""Reading what simready, assemble and variations committed, validated, errors collected.

Every document is read through ``require_committed(...).read_model``, so its bytes are
checked against the upstream commit record first. A document that does not match its
schema is a permanent error naming each field at fault: a retry would read the same bytes.
"""

from __future__ import annotations

from typing import Final, TypeVar

from bp_contracts.assembly import ASSEMBLY_FILE, Assembly
from bp_contracts.simready import SIMREADY_MANIFEST_FILE, SimreadyManifest
from bp_contracts.variation import VARIATIONS_INDEX_FILE, Variant, VariationsIndex
from bp_sdk.commit import CommittedUnit, require_committed
from bp_sdk.errors import InputError, Problem
from bp_sdk.storage import Storage
from pydantic import BaseModel, ValidationError

UPSTREAM: Final = ["simready", "assemble", "variations"]
MAX_PROBLEMS: Final = 50

M = TypeVar("M", bound=BaseModel)


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
        SIMREADY_MANIFEST_FILE,
        SimreadyManifest,
        problems,
    )
    assembly = read(
        require_committed(storage, scene, run, "assemble"), ASSEMBLY_FILE, Assembly, problems
    )
    variations = require_committed(storage, scene, run, "variations")
    index = read(variations, VARIATIONS_INDEX_FILE, VariationsIndex, problems)
    variants: list[Variant] = []
    for entry in sorted(index.variants, key=lambda e: e.index) if index else []:
        v = read(variations, entry.file, Variant, problems)
        if v is None:
            continue
        if v.variant_id != entry.variant_id:
            problems.append(
                Problem(
                    entry.file,
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
