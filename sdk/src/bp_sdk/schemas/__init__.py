"""Versioned models of every document that passes between stages."""

from bp_sdk.schemas.categories import CategoryCatalog, CategoryPrior, load_catalog
from bp_sdk.schemas.scene_manifest import (
    SCENE_MANIFEST_SCHEMA,
    Calibration,
    ManifestObject,
    RobotBase,
    ScaleChange,
    SceneManifest,
)

__all__ = [
    "SCENE_MANIFEST_SCHEMA",
    "Calibration",
    "CategoryCatalog",
    "CategoryPrior",
    "ManifestObject",
    "RobotBase",
    "ScaleChange",
    "SceneManifest",
    "load_catalog",
]
