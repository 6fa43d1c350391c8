"""The one ``DATASET_ID`` setting every dataset stage shares (export, gate, deliver, report).

A dataset stage commits under ``datasets/<DATASET_ID>/<stage>``. Unset, the id is
``<SCENE_ID>-<RUN_ID>`` (:func:`bp_contracts.dataset_id.dataset_id`) for every stage
alike, so export, gate, deliver and ``bp run`` always look in the same place.
"""

from __future__ import annotations

from bp_contracts.dataset_id import dataset_id
from bp_sdk.ids import Identifier
from bp_sdk.settings import JobSettings
from pydantic import Field


class DatasetStageSettings(JobSettings):
    """Settings of a stage that works on a dataset (``datasets/<id>/...``)."""

    dataset_id: Identifier | None = Field(
        default=None,
        description="Dataset id shared by export, gate, deliver and report (folder under datasets/). Default: <SCENE_ID>-<RUN_ID>. Required with EXPORT_SPEC.",
    )

    def dataset(self) -> str:
        """The dataset this stage works on."""
        return dataset_id(self.scene_id, self.run_id, self.dataset_id)
