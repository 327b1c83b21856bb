"""Analysis of results: summaries, validation (stylized facts), calibration and sensitivity."""
