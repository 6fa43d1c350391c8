"""``bp-report``: what the report container runs."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from bp_sdk.runner import run_stage

from bp_report.stage import ReportStage


def run(environ: Mapping[str, str] | None = None) -> int:
    """Run the report stage (settings from ``environ``, default the process environment)."""
    return run_stage(ReportStage(), environ)


def main() -> None:
    """Entry point: run the report stage and exit with its code."""
    sys.exit(run())


if __name__ == "__main__":
    main()
