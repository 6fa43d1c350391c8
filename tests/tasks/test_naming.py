"""Object names: colour words, position words, supports, and the variants a name holds in."""

from __future__ import annotations

from bp_tasks.naming import Namer

from tests.tasks._support import sim_object, variant

RED = (0.8, 0.1, 0.1, 1.0)
BLUE = (0.1, 0.2, 0.8, 1.0)


def _table() -> list:
    return [sim_object("table", "table", (1.6, 0.8, 0.75), (0.0, 0.0, 0.375))]


def _can(oid: str, x: float, y: float = -0.1, rgba=RED, support: str = "table", z: float = 0.81):
    return sim_object(oid, "can", (0.066, 0.066, 0.12), (x, y, z), support=support, rgba=rgba)


def test_unique_object_gets_colour_and_category(make_world) -> None:
    """A lone red can is 'the red can'; supports get no colour; an orange is not 'the orange orange'."""
    objs = [
        *_table(),
        _can("c", 0.0),
        sim_object(
            "o",
            "orange",
            (0.08, 0.08, 0.08),
            (0.3, -0.1, 0.79),
            support="table",
            rgba=(0.98, 0.55, 0.1, 1.0),
        ),
    ]
    namer = Namer(make_world(objs))
    assert namer.name("c").phrase == "the red can"
    assert namer.name("o").phrase == "the orange"
    assert namer.name("table").phrase == "the table"


def test_different_colours_tell_apart(make_world) -> None:
    """A red and a blue can need no position word."""
    namer = Namer(make_world([*_table(), _can("a", -0.2), _can("b", 0.2, rgba=BLUE)]))
    assert (namer.name("a").phrase, namer.name("b").phrase) == ("the red can", "the blue can")


def test_row_of_three(make_world) -> None:
    """Three red cans in a row: leftmost, middle, rightmost (the robot faces +y, so -x is left)."""
    namer = Namer(make_world([*_table(), _can("a", -0.3), _can("b", 0.0), _can("c", 0.3)]))
    assert [namer.name(k).phrase for k in "abc"] == [
        "the leftmost red can",
        "the middle red can",
        "the rightmost red can",
    ]


def test_front_and_back(make_world) -> None:
    """Two cans one behind the other: front (nearer the robot) and back."""
    namer = Namer(make_world([*_table(), _can("a", 0.0, -0.25), _can("b", 0.0, 0.1)]))
    assert (namer.name("a").phrase, namer.name("b").phrase) == (
        "the front red can",
        "the back red can",
    )


def test_support_tells_apart(make_world) -> None:
    """Cans stacked on three shelf boards at the same x are named by their board (top/middle/bottom)."""
    objs = [sim_object("shelf", "shelf", (0.8, 0.3, 1.2), (0.0, 0.0, 0.6))]
    for name, z in (("low", 0.3), ("mid", 0.6), ("high", 0.9)):
        objs.append(
            sim_object(name, "shelf_board", (0.76, 0.28, 0.02), (0.0, 0.0, z), support="shelf")
        )
        objs.append(_can(f"can_{name}", 0.0, 0.0, support=name, z=z + 0.07))
    namer = Namer(make_world(objs))
    assert namer.name("high").phrase == "the top shelf board"
    assert namer.name("mid").phrase == "the middle shelf board"
    assert namer.name("can_low").phrase in (
        "the bottom red can",
        "the red can on the bottom shelf board",
    )
    assert namer.name("can_mid").phrase == "the red can on the middle shelf board"


def test_distractor_limits_the_variants(make_world) -> None:
    """A red-can distractor right beside the can in one variant leaves that variant out of the name."""
    twin = _can("distractor_0", 0.01, -0.12)
    world = make_world(
        [*_table(), _can("c", 0.0)], [variant("s1", 0), variant("s1", 1, distractors=[twin])]
    )
    name = Namer(world).name("c")
    assert name.phrase == "the red can"
    assert name.variants == frozenset({"v0000"})


def test_colour_changing_in_a_variant(make_world) -> None:
    """The colour word is the one most variants show; the name holds where it is still unique."""
    objs = [*_table(), _can("a", -0.2), _can("b", 0.2, rgba=BLUE)]
    vs = [variant("s1", 0), variant("s1", 1), variant("s1", 2, colours={"b": RED})]
    name = Namer(make_world(objs, vs)).name("a")
    assert name.phrase == "the left red can"  # only a position word holds in all three
    assert name.variants == frozenset({"v0000", "v0001", "v0002"})


def test_indistinguishable_objects_are_unnamed(make_world) -> None:
    """Two red cans 2 cm apart on the same support have no name, with the reason."""
    namer = Namer(make_world([*_table(), _can("a", 0.0), _can("b", 0.02, -0.11)]))
    assert namer.name("a") is None
    assert "look like the can" in namer.why_unnamed("a")
