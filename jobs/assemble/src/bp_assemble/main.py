"""``bp-assemble``: what the assemble container runs. Settings come from the environment only.

MuJoCo reads ``MUJOCO_GL`` when it is first imported, so this module imports nothing that
imports MuJoCo: :func:`main` sets the backend (default ``egl``) first, then imports the
stage. An invalid value is left to the settings check (exit 2), with MuJoCo's GL off.
"""

from __future__ import annotations

import sys
from typing import get_args

from bp_sdk.runner import run_stage
from bp_sim.gl import select_gl

from bp_assemble.settings import AssembleSettings


def main() -> None:
    """Entry point of the ``bp-assemble`` console script."""
    environ = select_gl(get_args(AssembleSettings.model_fields["mujoco_gl"].annotation))
    from bp_assemble.stage import AssembleStage  # noqa: PLC0415 - after MUJOCO_GL is set

    sys.exit(run_stage(AssembleStage(), environ))


if __name__ == "__main__":
    main()
