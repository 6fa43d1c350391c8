"""The category and material catalogs (``bp_contracts/data/categories.json``,
``materials.json``) as typed, validated data.

Ingest calibrates scale and assigns roles from the category priors; simready takes
densities and friction from the materials. Both documents are packaged with the contracts
because the scene and simready manifests are defined in their terms.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

CATEGORIES_FILE: Final = "data/categories.json"
MATERIALS_FILE: Final = "data/materials.json"


class CategoryPrior(BaseModel):
    """What a typical instance of a category looks like and does."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    typical_size_m: tuple[float, float, float]
    role: Literal["support", "object", "fixture"]
    graspable: bool
    material: str
    articulation: Literal["drawer", "door", "lid"] | None = None
    shape: Literal["box", "cylinder", "sphere", "shelf_frame", "carcass"] = "box"
    fill: float = Field(default=1.0, gt=0.0, le=1.0)

    @property
    def scale_m(self) -> float:
        """Characteristic length: geometric mean of the typical extents."""
        x, y, z = self.typical_size_m
        return math.cbrt(x * y * z)


class CategoryCatalog(BaseModel):
    """Every known category by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    about: str = Field(alias="_about")
    version: str
    categories: dict[str, CategoryPrior]

    def get(self, name: str) -> CategoryPrior | None:
        """Prior of ``name`` or None if unknown."""
        return self.categories.get(name)


class Material(BaseModel):
    """Physical constants of one material."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    density_kg_m3: float = Field(gt=0)
    friction: float = Field(ge=0, le=2)
    torsional: float = Field(ge=0)
    rolling: float = Field(ge=0)
    restitution: float = Field(ge=0, le=1)


class MaterialTable(BaseModel):
    """Every known material by name (``bp_contracts/data/materials.json``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    about: str = Field(alias="_about")
    version: str
    materials: dict[str, Material]

    def get(self, name: str) -> Material:
        """The material, or ``generic`` when unknown."""
        return self.materials.get(name, self.materials["generic"])


@lru_cache(maxsize=1)
def load_materials() -> MaterialTable:
    """The packaged material table, validated once per process."""
    raw = resources.files("bp_contracts").joinpath(MATERIALS_FILE).read_text(encoding="utf-8")
    return MaterialTable.model_validate(json.loads(raw))


@lru_cache(maxsize=1)
def load_catalog() -> CategoryCatalog:
    """The packaged catalog, validated once per process."""
    raw = resources.files("bp_contracts").joinpath(CATEGORIES_FILE).read_text(encoding="utf-8")
    return CategoryCatalog.model_validate(json.loads(raw))
