"""The dataset id: the folder ``datasets/<id>/`` where export, gate, deliver and the
dataset report commit, and where ``bp run`` looks for them.

The rule, written once: ``DATASET_ID`` when set, else ``<SCENE_ID>-<RUN_ID>``.
``workflows/pipeline.yaml`` computes the same default (``scene_id + "-" + run_id``) in its
own expression language; a test holds the two equal for ordinary ids. A derived id that
is too long for an identifier is cut to 128 characters (trailing ``-``/``_`` dropped).
"""

from __future__ import annotations

from bp_sdk.ids import is_valid_id


def default_dataset_id(scene_id: str, run_id: str) -> str:
    """``<scene>-<run>``: the id a one-run dataset gets when none is set."""
    derived = f"{scene_id}-{run_id}"
    return derived if is_valid_id(derived) else derived[:128].rstrip("-_")


def dataset_id(scene_id: str, run_id: str, explicit: str | None = None) -> str:
    """The dataset a stage of this scene run works on: ``explicit`` (``DATASET_ID``) if set."""
    return explicit or default_dataset_id(scene_id, run_id)
