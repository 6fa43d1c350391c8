"""The assemble stage: simready physics → MuJoCo MJCF + USD, proven stable, previewed."""
