"""The real simready job, failing transiently on its first attempt: a test double for a
network blip, so the workflow's retry can be shown end to end.

``python flaky_simready.py`` with ``FLAKY_COUNTER`` naming a file: while the file does not
exist the job creates it and raises a ``RetryableError`` inside the real runner (which
writes a real, retryable failure marker and exits 1); afterwards it is the plain job.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bp_sdk.errors import RetryableError
from bp_sdk.runner import StageContext, StageResult, run_stage
from bp_simready.settings import SimreadySettings
from bp_simready.stage import SimreadyStage


class FlakySimready(SimreadyStage):
    """Simready whose first run fails as a transient storage outage would."""

    def run(self, ctx: StageContext[SimreadySettings]) -> StageResult:
        counter = Path(os.environ["FLAKY_COUNTER"])
        if not counter.exists():
            counter.write_text("failed once\n")
            raise RetryableError("simulated transient outage: storage timed out")
        return super().run(ctx)


if __name__ == "__main__":
    sys.exit(run_stage(FlakySimready()))
