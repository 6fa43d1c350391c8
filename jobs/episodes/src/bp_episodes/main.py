"""``bp-episodes``: what the episodes container runs (CPU or GPU image, same code)."""

from __future__ import annotations

import sys
from typing import get_args

from bp_sdk.runner import run_stage
from bp_sim.gl import select_gl

from bp_episodes.settings import EpisodesSettings


def main() -> None:
    """Entry point: pick the OpenGL backend before MuJoCo is imported, then run the stage."""
    environ = select_gl(get_args(EpisodesSettings.model_fields["mujoco_gl"].annotation))
    from bp_episodes.stage import EpisodesStage  # noqa: PLC0415 - after MUJOCO_GL

    sys.exit(run_stage(EpisodesStage(), environ))


if __name__ == "__main__":
    main()
