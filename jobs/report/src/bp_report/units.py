"""Where a report commits, and which units of the pipeline it reads.

A report is not a stage of the run it describes: it is committed once per ``REPORT_ID``
(a snapshot), so it can be written after a failed run and again after the run resumed.

```
scenes/<scene>/runs/<run>/reports/<REPORT_ID>/_SUCCESS.json, attempts/...   a run report
datasets/<dataset>/reports/<REPORT_ID>/_SUCCESS.json, attempts/...          a dataset report
```
"""

from __future__ import annotations

from typing import Final

from bp_sdk.layout import REPORT_STAGE, REPORTS, ReportUnit, report_unit

__all__ = ["REPORTS", "REPORT_STAGE", "ReportUnit", "report_unit"]
REPORT_HTML: Final = "report.html"
REPORT_JSON: Final = "report.json"
