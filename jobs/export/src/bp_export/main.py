"""``bp-export``: what the export container runs."""

from __future__ import annotations

import sys

from bp_sdk.runner import run_stage

from bp_export.stage import ExportStage


def main() -> None:
    """Entry point: run the export stage with settings from the environment."""
    sys.exit(run_stage(ExportStage()))


if __name__ == "__main__":
    main()
