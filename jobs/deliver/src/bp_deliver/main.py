"""``bp-deliver``: what the deliver container runs."""

from __future__ import annotations

import sys

from bp_sdk.runner import run_stage

from bp_deliver.stage import DeliverStage


def main() -> None:
    """Entry point: run the deliver stage and exit with its code."""
    sys.exit(run_stage(DeliverStage()))


if __name__ == "__main__":
    main()
