"""Analysis of results: summaries, validation (stylized facts), calibration and sensitivity."""

# Results' analysis methods (res.quantiles and the rest) are registered by this import.
from borderscen.analysis import results as _results  # noqa: E402, F401
