"""The report job (see jobs/report)."""
