"""Readable, unambiguous names for objects: "the red can", "the left jar on the middle shelf board".

A name is built from up to four parts: the category (underscores become spaces), the
object's colour word, a position word from the robot's point of view — left/right,
front/back, top/bottom (leftmost/rightmost/nearest/farthest in larger groups, middle in
a row of three) — and the object's support ("on the tray"). A name *identifies* the
object in a variant when no other body of that variant (distractors included) of the same
category fits it: same colour word, same support, and the position word holds by at
least ``GAP_M`` against every other such body.

Names are tried from the plainest ("the can") to the fullest ("the left red can on the
top shelf board"); the first one that identifies the object in every variant wins,
otherwise the one that does so in most variants, and the object's tasks are then posed
only in those variants. An object no name identifies in any variant gets no task.
Supports and fixtures get no colour word; nor does an object whose category already says
it ("the orange"). Everything here is deterministic.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bp_tasks.colours import colour_name
from bp_tasks.world import FLOOR, Body, Layout, World

GAP_M = 0.04
IN_CATEGORIES = frozenset({"bowl", "basket", "storage_bin", "sink"})
AXES = ("lateral", "depth", "height")
# axis → (largest, smallest) coordinate words for a pair, then for a larger group
WORDS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "lateral": (("left", "right"), ("leftmost", "rightmost")),
    "depth": (("back", "front"), ("farthest", "nearest")),
    "height": (("top", "bottom"), ("top", "bottom")),
}


def noun(category: str) -> str:
    """The category as words: ``spray_bottle`` → ``spray bottle``."""
    return category.replace("_", " ").strip()


def preposition(support_category: str) -> str:
    """``in`` for containers (bowl, basket, ...), ``on`` for everything else."""
    return "in" if support_category in IN_CATEGORIES else "on"


@dataclass(frozen=True)
class Name:
    """An object's noun phrase, its bare form and the variants in which it identifies the object."""

    phrase: str
    base: str
    variants: frozenset[str]


@dataclass(frozen=True)
class _Desc:
    colour: str | None
    word: tuple[str, str] | None  # (axis, word)
    support: bool


def _colour(b: Body) -> str:
    return colour_name(b.rgba)


class Namer:
    """Names every scene object of a world, caching what it has worked out."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.all = frozenset(world.variant_ids)
        self._names: dict[str, Name | None] = {}
        self._why: dict[str, str] = {}
        self._busy: set[str] = set()

    def name(self, oid: str) -> Name | None:
        """The object's name, or None if nothing singles it out (see :meth:`why_unnamed`)."""
        if oid not in self._names:
            if oid in self._busy:  # a support cycle: upstream stages refuse these
                return None
            self._busy.add(oid)
            self._names[oid] = self._work_out(oid)
            self._busy.discard(oid)
        return self._names[oid]

    def why_unnamed(self, oid: str) -> str:
        """Why :meth:`name` returned None."""
        return self._why.get(oid, "")

    # ------------------------------------------------------------------ internals
    def colour(self, oid: str) -> str | None:
        """The colour word the object has in most variants (None for supports, or when redundant)."""
        first = self.world.layouts[0].bodies[oid]
        if first.role != "object":
            return None
        counts = Counter(_colour(lay.bodies[oid]) for lay in self.world.layouts)
        word = min(counts, key=lambda w: (-counts[w], w))
        return None if word in noun(first.category).split() else word

    def _candidates(self, colour: str | None) -> Iterator[_Desc]:
        """Plainest first: nothing, a left/right or front/back word, the support, a top/bottom
        word, then the support with a word ("middle": a row or a stack of three)."""
        colours = [colour, None] if colour else [None]

        def words(axis: str) -> list[tuple[str, str] | None]:
            pair, many = WORDS[axis]
            extra = [] if axis == "depth" else ["middle"]
            return [(axis, w) for w in dict.fromkeys([*pair, *many, *extra])]

        plan: list[tuple[tuple[str, str] | None, bool]] = [(None, False)]
        plan += [(w, False) for w in words("lateral") + words("depth")]
        plan += [(None, True)]
        plan += [(w, False) for w in words("height")]
        plan += [(w, True) for w in words("lateral") + words("depth") + words("height")]
        for word, support in plan:
            for c in colours:
                yield _Desc(c, word, support)

    def _work_out(self, oid: str) -> Name | None:
        first = self.world.layouts[0].bodies[oid]
        colour = self.colour(oid)
        where = self._where(oid)
        best: tuple[_Desc, frozenset[str]] | None = None
        for desc in self._candidates(colour):
            if desc.support and where is None:
                continue
            allowed = where[1] if desc.support and where else self.all
            covered = frozenset(
                lay.variant_id
                for lay in self.world.layouts
                if lay.variant_id in allowed and self._identifies(oid, desc, lay)
            )
            if best is None or len(covered) > len(best[1]):
                best = (desc, covered)
            if covered == self.all:
                break
        if best is None or not best[1]:
            self._why[oid] = (
                f"other objects look like the {noun(first.category)} and no colour, "
                "left/right/front/back/top/bottom or support word tells them apart in any variant"
            )
            return None
        desc, covered = best
        base = f"{desc.colour} {noun(first.category)}" if desc.colour else noun(first.category)
        words = ["the"] + ([desc.word[1]] if desc.word else []) + [base]
        if desc.support and where is not None:
            words.append(where[0])
        return Name(" ".join(words), base, covered)

    def _where(self, oid: str) -> tuple[str, frozenset[str]] | None:
        """(``on the tray`` / ``in the bowl`` / ``on the floor``, variants it holds in)."""
        support = self.world.layouts[0].bodies[oid].support
        if support == FLOOR:
            return "on the floor", self.all
        sup = self.name(support)
        if sup is None:
            return None
        cat = self.world.layouts[0].bodies[support].category
        return f"{preposition(cat)} {sup.phrase}", sup.variants

    def _identifies(self, oid: str, desc: _Desc, lay: Layout) -> bool:
        me = lay.bodies[oid]
        if desc.colour is not None and _colour(me) != desc.colour:
            return False
        group = [
            b
            for b in lay.bodies.values()
            if b.category == me.category
            and (desc.colour is None or _colour(b) == desc.colour)
            and (not desc.support or b.support == me.support)
        ]
        if desc.word is None:
            return len(group) == 1
        if len(group) == 1:
            return True
        axis, word = desc.word
        return self._word_holds(me, group, axis, word)

    def _coord(self, axis: str) -> Callable[[Body], float]:
        robot = self.world.robot
        f, left = robot.forward, robot.left
        bx, by = robot.base[0], robot.base[1]
        if axis == "lateral":
            return lambda b: (b.position[0] - bx) * left[0] + (b.position[1] - by) * left[1]
        if axis == "depth":
            return lambda b: (b.position[0] - bx) * f[0] + (b.position[1] - by) * f[1]
        return lambda b: b.position[2]

    def _word_holds(self, me: Body, group: list[Body], axis: str, word: str) -> bool:
        coord = self._coord(axis)
        x = coord(me)
        others = [coord(b) for b in group if b.id != me.id]
        above = sum(x - c >= GAP_M for c in others)
        below = sum(c - x >= GAP_M for c in others)
        pair, many = WORDS[axis]
        n = len(group)
        if word == "middle":
            return n == 3 and above == 1 and below == 1
        if word in (pair[0], many[0]) and above == len(others):
            return word == many[0] or n == 2
        if word in (pair[1], many[1]) and below == len(others):
            return word == many[1] or n == 2
        return False
