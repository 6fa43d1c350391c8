"""Natural-language instructions: four templates per kind of task, filled with object names.

Which template is the instruction (the others become its paraphrases) is chosen by a
seed derived from the scene and the task id, so a dataset sees every phrasing while the
same inputs always give the same words. Names come from :mod:`bp_tasks.naming`, built
only from category names and fixed words.
"""

from __future__ import annotations

from bp_sdk.digest import derive_seed

PARAPHRASES = 3

# pick-and-place on the object's own support, by direction in the robot's frame
MOVE_WORDS = {
    "left": "to the left",
    "right": "to the right",
    "back": "farther away",
    "front": "closer to you",
}
MOVE = (
    "Move {obj} {where}.",
    "Pick up {obj} and put it down {where}.",
    "Shift {obj} {where}.",
    "Lift {obj} and set it down {where}.",
)
PUT_ON = (
    "Put {obj} on {dest}.",
    "Pick up {obj} and place it on {dest}.",
    "Move {obj} onto {dest}.",
    "Set {obj} down on {dest}.",
)
PUT_IN = (
    "Put {obj} in {dest}.",
    "Pick up {obj} and drop it into {dest}.",
    "Place {obj} inside {dest}.",
    "Move {obj} into {dest}.",
)
TAKE_OFF = (
    "Take {obj} off {src} and put it on {dest}.",
    "Move {obj} from {src} to {dest}.",
    "Pick up {obj} from {src} and set it on {dest}.",
    "Lift {obj} off {src} and place it on {dest}.",
)
TAKE_OUT = (
    "Take {obj} out of {src} and put it on {dest}.",
    "Move {obj} from {src} to {dest}.",
    "Pick up {obj} from {src} and set it on {dest}.",
    "Lift {obj} out of {src} and place it on {dest}.",
)
PUSH_WORDS = {"away": "away from you", "left": "to the left", "right": "to the right"}
PUSH = (
    "Push {obj} {where}.",
    "Slide {obj} about {cm} cm {where}.",
    "Nudge {obj} {where} without lifting it.",
    "Shove {obj} {where} along the surface.",
)
JOINT = {
    "open_drawer": (
        "Open the drawer of {obj}.",
        "Pull the drawer of {obj} open.",
        "Slide out the drawer of {obj}.",
        "Pull out the drawer of {obj}.",
    ),
    "close_drawer": (
        "Close the drawer of {obj}.",
        "Push the drawer of {obj} shut.",
        "Slide the drawer of {obj} closed.",
        "Push the drawer of {obj} back in.",
    ),
    "open_door": (
        "Open the door of {obj}.",
        "Swing the door of {obj} open.",
        "Pull the door of {obj} open.",
        "Open {obj}.",
    ),
    "close_door": (
        "Close the door of {obj}.",
        "Swing the door of {obj} shut.",
        "Push the door of {obj} closed.",
        "Close {obj}.",
    ),
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def phrase(
    templates: tuple[str, ...], scene_id: str, task_id: str, **words: str
) -> tuple[str, list[str]]:
    """(instruction, paraphrases): one template picked by a derived seed, the next ones after it."""
    start = derive_seed("bp-tasks/language", scene_id, task_id) % len(templates)
    order = [templates[(start + i) % len(templates)] for i in range(len(templates))]
    filled = [_sentence(t.format(**words)) for t in order]
    return filled[0], filled[1 : 1 + PARAPHRASES]


def move(scene_id: str, task_id: str, obj: str, direction: str) -> tuple[str, list[str]]:
    """Pick-and-place on the same support, towards ``direction`` (left/right/back/front)."""
    return phrase(MOVE, scene_id, task_id, obj=obj, where=MOVE_WORDS[direction])


def put(scene_id: str, task_id: str, obj: str, dest: str, prep: str) -> tuple[str, list[str]]:
    """Pick-and-place onto (``on``) or into (``in``) a receptacle."""
    return phrase(PUT_IN if prep == "in" else PUT_ON, scene_id, task_id, obj=obj, dest=dest)


def take_off(
    scene_id: str, task_id: str, obj: str, src: str, dest: str, prep: str = "on"
) -> tuple[str, list[str]]:
    """Pick-and-place from the object's support (``on`` a tray, ``in`` a bowl) down to what carries it."""
    templates = TAKE_OUT if prep == "in" else TAKE_OFF
    return phrase(templates, scene_id, task_id, obj=obj, src=src, dest=dest)


def push(
    scene_id: str, task_id: str, obj: str, direction: str, distance_m: float
) -> tuple[str, list[str]]:
    """Push along ``direction`` (away/left/right)."""
    cm = f"{round(distance_m * 100):d}"
    return phrase(PUSH, scene_id, task_id, obj=obj, where=PUSH_WORDS[direction], cm=cm)


def joint(scene_id: str, task_id: str, kind: str, obj: str) -> tuple[str, list[str]]:
    """Open or close a drawer or door."""
    return phrase(JOINT[kind], scene_id, task_id, obj=obj)
