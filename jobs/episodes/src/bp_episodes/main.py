"""``bp-episodes``: what the episodes container runs (CPU or GPU image, same code)."""

from __future__ import annotations

import os

from bp_sdk.runner import main_for


def main() -> None:
    """Entry point: pick the OpenGL backend before MuJoCo is imported, then run the stage."""
    os.environ.setdefault("MUJOCO_GL", os.environ.get("MUJOCO_GL", "egl"))
    from bp_episodes.stage import EpisodesStage  # noqa: PLC0415 - after MUJOCO_GL

    main_for(EpisodesStage())


if __name__ == "__main__":
    main()
