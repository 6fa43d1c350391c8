"""Versioned models of every document that passes between stages."""

from bp_sdk.schemas.assembly import (
    Assembly,
    CameraSpec,
    LightSpec,
    ObjectStability,
    RobotPlacement,
    RobotSource,
    StabilityReport,
)
from bp_sdk.schemas.categories import (
    CategoryCatalog,
    CategoryPrior,
    Material,
    MaterialTable,
    load_catalog,
    load_materials,
)
from bp_sdk.schemas.scene_manifest import (
    SCENE_MANIFEST_SCHEMA,
    Calibration,
    ManifestObject,
    RobotBase,
    ScaleChange,
    SceneManifest,
)
from bp_sdk.schemas.simready import (
    Articulation,
    CollisionPart,
    Inertia,
    PhysicsCheck,
    SimObject,
    SimreadyManifest,
)
from bp_sdk.schemas.tasks import Predicate, Region, TaskSet, TaskSpec
from bp_sdk.schemas.variation import ObjectPose, Variant

__all__ = [
    "SCENE_MANIFEST_SCHEMA",
    "Articulation",
    "Assembly",
    "Calibration",
    "CameraSpec",
    "CategoryCatalog",
    "CategoryPrior",
    "CollisionPart",
    "Inertia",
    "LightSpec",
    "ManifestObject",
    "Material",
    "MaterialTable",
    "ObjectPose",
    "ObjectStability",
    "PhysicsCheck",
    "Predicate",
    "Region",
    "RobotBase",
    "RobotPlacement",
    "RobotSource",
    "ScaleChange",
    "SceneManifest",
    "SimObject",
    "SimreadyManifest",
    "StabilityReport",
    "TaskSet",
    "TaskSpec",
    "Variant",
    "load_catalog",
    "load_materials",
]
