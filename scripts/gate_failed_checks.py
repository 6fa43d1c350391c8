"""Print the comma-separated failed checks of a dataset's committed gate decision (demo helper).

  python scripts/gate_failed_checks.py STORAGE_URI DATASET_ID
"""

from __future__ import annotations

import sys

from bp_dataset.decision import load_decision
from bp_sdk.storage import open_storage


def main() -> None:
    """Print nothing when the gate passed."""
    uri, dataset = sys.argv[1], sys.argv[2]
    decision, _record = load_decision(open_storage(uri), dataset)
    print(",".join(c.name for c in decision.checks if not c.passed))


if __name__ == "__main__":
    main()
