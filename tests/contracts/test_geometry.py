"""The one geometry module: round trips, units, boxes (hypothesis properties)."""

from __future__ import annotations

import math

import pytest
from bp_contracts.geometry import (
    Quat,
    apply,
    axis_angle_matrix,
    axis_angle_quat,
    box_half_extents_world,
    box_height,
    look_at,
    matrix_to_quat,
    norm,
    qconj,
    qmul,
    qnorm,
    quat_to_matrix,
    rotate,
    rvec,
    up_axis,
    yaw_quat_deg,
    yaw_quat_rad,
)
from hypothesis import given
from hypothesis import strategies as st

FINITE = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
QUATS = st.tuples(FINITE, FINITE, FINITE, FINITE).filter(lambda q: norm(q) > 0.1).map(qnorm)
VECS = st.tuples(
    st.floats(-10, 10, allow_nan=False),
    st.floats(-10, 10, allow_nan=False),
    st.floats(-10, 10, allow_nan=False),
)
DEGREES = st.floats(-720.0, 720.0, allow_nan=False)


def _same_rotation(a: Quat, b: Quat, tol: float = 1e-9) -> bool:
    return abs(abs(sum(x * y for x, y in zip(a, b, strict=True))) - 1.0) < tol


@given(QUATS)
def test_matrix_round_trip_gives_the_same_rotation_with_w_non_negative(q: Quat) -> None:
    """quaternion → matrix → quaternion is the same rotation, in the w ≥ 0 hemisphere."""
    back = matrix_to_quat(quat_to_matrix(q))
    assert back[0] >= 0
    assert _same_rotation(back, q)
    assert max(abs(x - y) for x, y in zip(quat_to_matrix(back), quat_to_matrix(q), strict=True)
               for x, y in zip(x, y, strict=True)) < 1e-9  # fmt: skip


@given(QUATS)
def test_largest_component_convention_is_the_same_rotation(q: Quat) -> None:
    """positive_w=False keeps the pivot positive (w if the trace is positive, else the largest
    of x, y, z, like mju_mat2Quat) and the rotation unchanged."""
    m = quat_to_matrix(q)
    back = matrix_to_quat(m, positive_w=False)
    assert _same_rotation(back, q)
    pivot = back[0] if m[0][0] + m[1][1] + m[2][2] > 0 else max(back[1:], key=abs)
    assert pivot > 0


@given(QUATS)
def test_matrix_is_orthonormal_and_rotate_keeps_lengths(q: Quat) -> None:
    """quat_to_matrix is a rotation: rows orthonormal, determinant 1; rotate keeps lengths."""
    m = quat_to_matrix(q)
    for i in range(3):
        for j in range(3):
            dot = sum(m[i][k] * m[j][k] for k in range(3))
            assert dot == pytest.approx(1.0 if i == j else 0.0, abs=1e-9)
    det = (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )
    assert det == pytest.approx(1.0, abs=1e-9)
    v = (0.3, -1.2, 2.0)
    assert norm(rotate(q, v)) == pytest.approx(norm(v), rel=1e-9)


@given(QUATS, QUATS, VECS)
def test_rotate_composes_like_the_hamilton_product(
    a: Quat, b: Quat, v: tuple[float, float, float]
) -> None:
    """Turning by b then a equals turning by a*b; the conjugate undoes a turn."""
    both = rotate(qmul(a, b), v)
    twice = rotate(a, rotate(b, v))
    assert both == pytest.approx(twice, abs=1e-8)
    assert rotate(qconj(a), rotate(a, v)) == pytest.approx(v, abs=1e-8)


@given(DEGREES)
def test_yaw_in_degrees_and_radians_agree(deg: float) -> None:
    """yaw_quat_deg(d) is yaw_quat_rad(radians(d)), bit for bit, and turns +x by d about +z."""
    assert yaw_quat_deg(deg) == yaw_quat_rad(math.radians(deg))
    x = rotate(yaw_quat_deg(deg), (1.0, 0.0, 0.0))
    assert x == pytest.approx(
        (math.cos(math.radians(deg)), math.sin(math.radians(deg)), 0.0), abs=1e-12
    )


def test_yaw_units_are_not_interchangeable() -> None:
    """90 means a quarter turn in degrees and about 14 turns in radians: the names say which."""
    assert rotate(yaw_quat_deg(90.0), (1.0, 0.0, 0.0)) == pytest.approx((0.0, 1.0, 0.0), abs=1e-12)
    assert yaw_quat_rad(math.pi / 2) == pytest.approx(yaw_quat_deg(90.0))
    assert yaw_quat_rad(90.0) != pytest.approx(yaw_quat_deg(90.0))


@given(VECS.filter(lambda a: norm(a) > 1e-3), st.floats(-math.pi, math.pi, allow_nan=False))
def test_axis_angle_matrix_and_quaternion_agree(
    axis: tuple[float, float, float], angle: float
) -> None:
    """The Rodrigues matrix of (axis, angle) is the matrix of the axis-angle quaternion."""
    n = norm(axis)
    unit = (axis[0] / n, axis[1] / n, axis[2] / n)
    m = axis_angle_matrix(axis, angle)
    q = quat_to_matrix(axis_angle_quat(unit, angle))
    for r1, r2 in zip(m, q, strict=True):
        assert r1 == pytest.approx(r2, abs=1e-9)


@given(QUATS, VECS.map(lambda v: (abs(v[0]) + 0.01, abs(v[1]) + 0.01, abs(v[2]) + 0.01)))
def test_box_extents_bound_every_corner_tightly(q: Quat, size: tuple[float, float, float]) -> None:
    """The world half extents are the largest corner offsets; the height is twice the z one."""
    half = (size[0] / 2, size[1] / 2, size[2] / 2)
    ext = box_half_extents_world(q, half)
    m = quat_to_matrix(q)
    corners = [
        apply(m, (sx * half[0], sy * half[1], sz * half[2]))
        for sx in (-1, 1)
        for sy in (-1, 1)
        for sz in (-1, 1)
    ]
    for axis in range(3):
        assert max(abs(c[axis]) for c in corners) == pytest.approx(ext[axis], abs=1e-9)
    assert box_height(q, size) == pytest.approx(2 * ext[2], abs=1e-12)


def test_up_axis_and_look_at() -> None:
    """A box on its side has its local y up; a camera looking down sees world x to its right."""
    on_side = (math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0)  # +90° about x
    assert up_axis(on_side) == 1
    q = look_at((0.0, 0.0, 2.0), (0.0, 0.0, 0.0))
    assert rotate(q, (0.0, 0.0, -1.0)) == pytest.approx((0.0, 0.0, -1.0), abs=1e-12)
    assert rvec((-0.0, 1.0000000004)) == (0.0, 1.0)
