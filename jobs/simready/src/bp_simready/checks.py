"""Plausibility checks: each a value, its range and a verdict; failures become problems."""

from __future__ import annotations

import numpy as np
from bp_contracts.simready import PhysicsCheck, SimObject
from bp_sdk.errors import Problem

from bp_simready.solids import Array, rsig
from bp_simready.tables import EXTENT_M, FRICTION, MASS_KG, MIN_INERTIA, PART_TOLERANCE_M, TRIANGLE

FIXES = {
    "mass_kg": "check the object's size and units, its category (fill) and material (density)",
    "friction": "use a material whose friction is between 0 and 2",
    "extent_min_m": "check the object's size and the blueprint's units",
    "extent_max_m": "check the object's size and the blueprint's units; split very large objects",
    "inertia_min_kg_m2": "check the object's size: one extent is too small to simulate",
    "inertia_triangle": "report it: simready built an impossible inertia",
    "parts_outside_box_m": "report it: simready built collision parts outside the object's box",
}


def _check(name: str, value: float, low: float, high: float, reason: str) -> PhysicsCheck:
    ok = bool(np.isfinite(value)) and low <= value <= high
    return PhysicsCheck(check=name, value=rsig(value), low=low, high=high, ok=ok, reason=reason)


def triangle_slack(diag: Array) -> float:
    """min(Ia + Ib - Ic) / max(I): ≥ 0 for every real body."""
    a, b, c = (float(x) for x in diag)
    top = max(a, b, c)
    if top <= 0:
        return -1.0
    return min(a + b - c, a + c - b, b + c - a) / top


def physics_checks(
    size: tuple[float, float, float],
    friction: float,
    total_mass: float,
    inertias: list[Array],
    protrusion_m: float,
    mass_reason: str,
) -> list[PhysicsCheck]:
    """Every check of one object (inertias: the body's, then the moving part's)."""
    diag_min = min(float(np.min(d)) for d in inertias)
    slack = min(triangle_slack(d) for d in inertias)
    return [
        _check("mass_kg", total_mass, *MASS_KG, mass_reason),
        _check("friction", friction, *FRICTION, "sliding friction of the material"),
        _check("extent_min_m", min(size), *EXTENT_M, "smallest extent of size_m"),
        _check("extent_max_m", max(size), *EXTENT_M, "largest extent of size_m"),
        _check(
            "inertia_min_kg_m2", diag_min, MIN_INERTIA, float("1e6"), "smallest principal moment"
        ),
        _check(
            "inertia_triangle",
            max(slack, 0.0) if slack > -1e-9 else slack,  # float round-off is not a failure
            *TRIANGLE,
            "min(Ia + Ib - Ic) / max(I) over body and moving part",
        ),
        _check(
            "parts_outside_box_m",
            protrusion_m,
            0.0,
            PART_TOLERANCE_M,
            "farthest any collision part (closed) reaches outside size_m",
        ),
    ]


def problems(index: int, obj: SimObject) -> list[Problem]:
    """One problem per failing check of ``obj`` (its blueprint index in ``where``)."""
    return [
        Problem(
            f"{obj.id} ($.objects[{index}], {obj.category})",
            f"{c.check} = {c.value:.6g} is outside {c.low:g}..{c.high:g} ({c.reason})",
            FIXES.get(c.check, "check the object"),
        )
        for c in obj.checks
        if not c.ok
    ]
