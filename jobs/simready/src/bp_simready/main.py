"""``bp-simready``: what the simready container runs. Settings come from the environment only."""

from __future__ import annotations

from bp_sdk.runner import main_for

from bp_simready.stage import SimreadyStage


def main() -> None:
    """Entry point of the ``bp-simready`` console script."""
    main_for(SimreadyStage())


if __name__ == "__main__":
    main()
