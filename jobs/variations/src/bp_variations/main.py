"""``bp-variations``: what the variations container runs. Settings come from the environment only."""

from __future__ import annotations

from bp_sdk.runner import main_for

from bp_variations.stage import VariationsStage


def main() -> None:
    """Entry point of the ``bp-variations`` console script."""
    main_for(VariationsStage())


if __name__ == "__main__":
    main()
