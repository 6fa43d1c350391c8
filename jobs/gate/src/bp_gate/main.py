"""``bp-gate``: what the gate container runs."""

from __future__ import annotations

import sys

from bp_sdk.runner import run_stage

from bp_gate.stage import GateStage


def main() -> None:
    """Entry point: run the gate stage and exit with its code."""
    sys.exit(run_stage(GateStage()))


if __name__ == "__main__":
    main()
