"""A dataset spec: which scene runs one dataset merges.

Labs buy datasets that span many scenes. A spec is a small JSON document kept in
pipeline storage (its key is given to export as ``EXPORT_SPEC``)::

    {
      "schema": "bp.dataset_spec/v1",
      "sources": [
        {"scene_id": "kitchen_counter", "run_id": "r-eef9d68ee3e6"},
        {"scene_id": "office_desk", "run_id": "r-0c1d2e3f4a5b"}
      ],
      "tier": "core",
      "description": "Tabletop pick-and-place, two rooms"
    }

Every source must have committed its ``episodes`` stage, and all sources must have been
recorded alike (fps, resolution, cameras, tier, robot, physics step): export checks that
and lists every disagreement at once. ``tier`` is optional; when given it must equal the
recorded tier exactly.
"""

from __future__ import annotations

from typing import Literal

from bp_contracts.episode import Tier
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SPEC_SCHEMA = "bp.dataset_spec/v1"
_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$"


class DatasetSource(BaseModel):
    """One scene run whose committed episodes go into the dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    scene_id: str = Field(pattern=_ID, description="Scene id (folder under scenes/).")
    run_id: str = Field(pattern=_ID, description="Run id of that scene's committed episodes.")


class DatasetSpec(BaseModel):
    """``bp.dataset_spec/v1``: the sources of one dataset."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    schema_: Literal["bp.dataset_spec/v1"] = Field(alias="schema")
    sources: list[DatasetSource] = Field(min_length=1, max_length=10_000)
    tier: Tier | None = None
    description: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _unique(self) -> DatasetSpec:
        seen: set[tuple[str, str]] = set()
        dupes = []
        for s in self.sources:
            key = (s.scene_id, s.run_id)
            if key in seen:
                dupes.append(f"{s.scene_id}/{s.run_id}")
            seen.add(key)
        if dupes:
            raise ValueError(f"sources listed more than once: {', '.join(dupes)}")
        return self


def spec_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """``(json path, message)`` for each problem of an invalid spec."""
    out = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.get("loc", ()))
        out.append((f"${loc}", str(err.get("msg", "invalid")).removeprefix("Value error, ")))
    return out
