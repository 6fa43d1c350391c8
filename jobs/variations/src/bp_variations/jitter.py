"""Appearance jitter: object colours (HSV), lights (intensity, direction), scene cameras.

Every function draws a fixed number of values from the generator it is given, so one
part of a variant never shifts the random stream of another.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
from bp_contracts.assembly import CameraSpec, LightSpec
from bp_contracts.geometry import Vec3, axis_angle_quat, qmul, qnorm, rnd, rvec

RGBA = tuple[float, float, float, float]
FOVY_MIN_DEG, FOVY_MAX_DEG = 1.0, 179.0
# saturation and value of a distractor's new colour (hue is uniform)
DISTRACTOR_SV = (0.45, 0.95)


def jitter_rgba(rgba: RGBA, rng: np.random.Generator, dh: float, ds: float, dv: float) -> RGBA:
    """``rgba`` with hue ± ``dh`` (wrapping), saturation ± ``ds`` and value ± ``dv`` (clipped)."""
    jh, js, jv = rng.uniform(-1.0, 1.0, 3)
    h, s, v = colorsys.rgb_to_hsv(rgba[0], rgba[1], rgba[2])
    h = (h + jh * dh) % 1.0
    s = min(1.0, max(0.0, s + js * ds))
    v = min(1.0, max(0.0, v + jv * dv))
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (rnd(r), rnd(g), rnd(b), rnd(rgba[3]))


def random_rgba(rng: np.random.Generator, alpha: float = 1.0) -> RGBA:
    """A new saturated colour: hue uniform, saturation and value in :data:`DISTRACTOR_SV`."""
    h = float(rng.uniform(0.0, 1.0))
    s, v = (float(x) for x in rng.uniform(*DISTRACTOR_SV, 2))
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return (rnd(r), rnd(g), rnd(b), rnd(alpha))


def _unit(v: Vec3) -> Vec3 | None:
    n = math.sqrt(v[0] ** 2 + v[1] ** 2 + v[2] ** 2)
    return None if n < 1e-12 else (v[0] / n, v[1] / n, v[2] / n)


def _random_axis(rng: np.random.Generator) -> Vec3:
    x, y, z = (float(c) for c in rng.normal(size=3))
    return _unit((x, y, z)) or (0.0, 0.0, 1.0)


def _rodrigues(v: Vec3, axis: Vec3, angle: float) -> Vec3:
    c, s = math.cos(angle), math.sin(angle)
    kx, ky, kz = axis
    cross = (ky * v[2] - kz * v[1], kz * v[0] - kx * v[2], kx * v[1] - ky * v[0])
    dot = kx * v[0] + ky * v[1] + kz * v[2]
    return (
        v[0] * c + cross[0] * s + kx * dot * (1 - c),
        v[1] * c + cross[1] * s + ky * dot * (1 - c),
        v[2] * c + cross[2] * s + kz * dot * (1 - c),
    )


def jitter_light(
    light: LightSpec, rng: np.random.Generator, f_min: float, f_max: float, max_deg: float
) -> LightSpec:
    """Diffuse colour times U[f_min, f_max]; direction turned by U[-max_deg, max_deg] about a
    random axis perpendicular to it (so the angle between old and new is at most max_deg)."""
    factor = float(rng.uniform(f_min, f_max))
    angle = math.radians(max_deg) * float(rng.uniform(-1.0, 1.0))
    u = _random_axis(rng)
    d = light.dir
    new_dir = d
    du = _unit(d)
    if du is not None:
        dot = u[0] * du[0] + u[1] * du[1] + u[2] * du[2]
        perp = _unit((u[0] - dot * du[0], u[1] - dot * du[1], u[2] - dot * du[2]))
        if perp is None:  # u parallel to d: any perpendicular will do
            perp = _unit((-du[1], du[0], 0.0)) or (1.0, 0.0, 0.0)
        new_dir = _rodrigues(d, perp, angle)
    diffuse = (light.diffuse[0] * factor, light.diffuse[1] * factor, light.diffuse[2] * factor)
    return light.model_copy(update={"dir": rvec(new_dir), "diffuse": rvec(diffuse)})


def jitter_camera(
    cam: CameraSpec, rng: np.random.Generator, dpos: float, max_deg: float, dfovy: float
) -> CameraSpec:
    """A scene camera shifted by U[-dpos, dpos] per axis, turned by U[-max_deg, max_deg]
    about a random axis and with fovy ± dfovy; a wrist camera is returned unchanged."""
    shift = rng.uniform(-dpos, dpos, 3)
    angle = math.radians(max_deg) * float(rng.uniform(-1.0, 1.0))
    axis = _random_axis(rng)
    fovy_delta = float(rng.uniform(-dfovy, dfovy))
    if cam.mount != "scene":
        return cam
    pos = (
        cam.pos_m[0] + float(shift[0]),
        cam.pos_m[1] + float(shift[1]),
        cam.pos_m[2] + float(shift[2]),
    )
    q = qnorm(qmul(axis_angle_quat(axis, angle), qnorm(cam.quat_wxyz)))
    if q[0] < 0:
        q = (-q[0], -q[1], -q[2], -q[3])
    fovy = min(FOVY_MAX_DEG, max(FOVY_MIN_DEG, cam.fovy_deg + fovy_delta))
    return cam.model_copy(update={"pos_m": rvec(pos), "quat_wxyz": rvec(q), "fovy_deg": rnd(fovy)})
