"""Solid pieces (boxes, cylinders about z, spheres) and the mass properties of sets of them.

A :class:`Piece` is one primitive in an object's frame: its geometric extents, its centre,
and its solid fraction (``fill``: mass = density x fill x geometric volume). Mass
properties of a set of pieces are summed with the parallel-axis theorem; a piece becomes
one MuJoCo-style :class:`~bp_contracts.simready.CollisionPart`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from bp_contracts.simready import CollisionPart, Inertia

Vec3 = tuple[float, float, float]
Array = npt.NDArray[np.float64]
Shape = Literal["box", "cylinder", "sphere"]

LENGTH_DECIMALS = 9  # lengths in metres: 1 nm
SIGNIFICANT = 9  # masses, volumes, inertias: 9 significant digits


def rlen(x: float) -> float:
    """A length rounded to 1 nm (and -0.0 folded into 0.0), for stable output."""
    return round(float(x), LENGTH_DECIMALS) + 0.0


def rsig(x: float) -> float:
    """A mass, volume or inertia rounded to 9 significant digits."""
    return float(f"{float(x):.{SIGNIFICANT}g}") + 0.0


def rvec(v: npt.ArrayLike) -> Vec3:
    """A 3-vector of lengths, rounded with :func:`rlen`."""
    a = np.asarray(v, dtype=np.float64)
    return (rlen(a[0]), rlen(a[1]), rlen(a[2]))


@dataclass(frozen=True)
class Piece:
    """One primitive: ``dims`` are full extents (box), (radius, height, 0) (cylinder about z)
    or (radius, 0, 0) (sphere); ``pos`` is its centre in the owner's frame."""

    name: str
    shape: Shape
    dims: Vec3
    pos: Vec3 = (0.0, 0.0, 0.0)
    fill: float = 1.0

    @property
    def volume(self) -> float:
        """Geometric volume (m³), before ``fill``."""
        a, b, c = self.dims
        if self.shape == "box":
            return a * b * c
        if self.shape == "cylinder":
            return math.pi * a * a * b
        return 4.0 / 3.0 * math.pi * a**3

    @property
    def half_extents(self) -> Array:
        """Half extents of the piece's axis-aligned bounding box."""
        a, b, c = self.dims
        if self.shape == "box":
            return np.array([a, b, c]) / 2.0
        if self.shape == "cylinder":
            return np.array([a, a, b / 2.0])
        return np.array([a, a, a])

    def bounds(self) -> tuple[Array, Array]:
        """(lower, upper) corners of the piece's bounding box in the owner's frame."""
        c = np.asarray(self.pos, dtype=np.float64)
        h = self.half_extents
        return c - h, c + h

    def unit_inertia(self) -> Array:
        """Principal moments about the piece's own centre, per kilogram (kg·m² / kg)."""
        a, b, c = self.dims
        if self.shape == "box":
            return np.array([b * b + c * c, a * a + c * c, a * a + b * b]) / 12.0
        if self.shape == "cylinder":
            side = (3.0 * a * a + b * b) / 12.0
            return np.array([side, side, a * a / 2.0])
        return np.full(3, 0.4 * a * a)

    def part(self, origin: npt.ArrayLike = (0.0, 0.0, 0.0)) -> CollisionPart:
        """The piece as a collision part (MuJoCo sizes) relative to ``origin``."""
        a, b, c = self.dims
        if self.shape == "box":
            size: Vec3 = (rlen(a / 2), rlen(b / 2), rlen(c / 2))
        elif self.shape == "cylinder":
            size = (rlen(a), rlen(b / 2), 0.0)
        else:
            size = (rlen(a), 0.0, 0.0)
        pos = np.asarray(self.pos, dtype=np.float64) - np.asarray(origin, dtype=np.float64)
        return CollisionPart(name=self.name, shape=self.shape, size=size, pos=rvec(pos))


def box(name: str, lo: npt.ArrayLike, hi: npt.ArrayLike, fill: float = 1.0) -> Piece:
    """An axis-aligned box piece spanning ``lo``..``hi``."""
    lo_a, hi_a = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    d, c = hi_a - lo_a, (hi_a + lo_a) / 2.0
    return Piece(
        name,
        "box",
        (float(d[0]), float(d[1]), float(d[2])),
        (float(c[0]), float(c[1]), float(c[2])),
        fill,
    )


def turn(piece: Piece, quarter_turns: int) -> Piece:
    """The piece turned by ``quarter_turns`` x 90° about z (exact: boxes swap x/y extents)."""
    k = quarter_turns % 4
    x, y, z = piece.pos
    for _ in range(k):
        x, y = -y, x
    dims = piece.dims
    if piece.shape == "box" and k % 2:
        dims = (dims[1], dims[0], dims[2])
    return replace(piece, pos=(x, y, z), dims=dims)


def turn_vec(v: npt.ArrayLike, quarter_turns: int) -> Array:
    """A vector turned by ``quarter_turns`` x 90° about z."""
    x, y, z = (float(c) for c in np.asarray(v, dtype=np.float64))
    for _ in range(quarter_turns % 4):
        x, y = -y, x
    return np.array([x, y, z])


@dataclass(frozen=True)
class MassProps:
    """Mass, solid volume, centre of mass and inertia tensor about it (owner's frame)."""

    volume: float  # solid volume, m³ (fill applied)
    mass: float
    com: Array
    tensor: Array  # 3x3, kg·m², about ``com``

    @property
    def diag(self) -> Array:
        """Diagonal of the tensor (moments about the owner's axes through the COM)."""
        return np.diag(self.tensor).copy()

    @property
    def off_diagonal_ratio(self) -> float:
        """Largest off-diagonal term relative to the largest moment (0 when aligned)."""
        d = float(np.max(np.abs(np.diag(self.tensor))))
        off = np.abs(self.tensor - np.diag(np.diag(self.tensor)))
        return float(np.max(off)) / d if d > 0 else 0.0

    def inertia(self, origin: npt.ArrayLike = (0.0, 0.0, 0.0)) -> Inertia:
        """The schema's inertia: mass, COM relative to ``origin``, diagonal moments."""
        com = self.com - np.asarray(origin, dtype=np.float64)
        d = self.diag
        return Inertia(
            mass_kg=rsig(self.mass),
            com_m=rvec(com),
            diag_kg_m2=(rsig(d[0]), rsig(d[1]), rsig(d[2])),
        )


def shift_tensor(tensor: Array, mass: float, d: Array) -> Array:
    """Parallel-axis theorem: the tensor about a point displaced by ``d`` from the COM."""
    return tensor + mass * (float(d @ d) * np.eye(3) - np.outer(d, d))


def combine(props: list[MassProps]) -> MassProps:
    """Mass properties of several bodies rigidly joined."""
    mass = sum(p.mass for p in props)
    com = sum((p.mass * p.com for p in props), np.zeros(3)) / mass
    tensor = np.zeros((3, 3))
    for p in props:
        tensor += shift_tensor(p.tensor, p.mass, p.com - com)
    return MassProps(sum(p.volume for p in props), mass, com, tensor)


def piece_props(piece: Piece, density: float) -> MassProps:
    """Mass properties of one piece of uniform ``density`` x ``fill``."""
    solid = piece.volume * piece.fill
    mass = density * solid
    return MassProps(
        solid, mass, np.asarray(piece.pos, dtype=np.float64), np.diag(mass * piece.unit_inertia())
    )


def pieces_props(pieces: list[Piece], density: float) -> MassProps:
    """Mass properties of a set of pieces of one material (overlaps counted twice: avoid them)."""
    return combine([piece_props(p, density) for p in pieces])


def protrusion(lo: Array, hi: Array, size: npt.ArrayLike) -> float:
    """How far (m) the box ``lo``..``hi`` reaches outside the centred box of full ``size``."""
    half = np.asarray(size, dtype=np.float64) / 2.0
    return float(max(0.0, np.max(lo * -1.0 - half), np.max(hi - half)))


def overlap_depth(a: tuple[Array, Array], b: tuple[Array, Array]) -> float:
    """Penetration depth of two axis-aligned boxes (≤ 0 when they do not overlap)."""
    return float(np.min(np.minimum(a[1], b[1]) - np.maximum(a[0], b[0])))
