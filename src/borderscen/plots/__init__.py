"""Figures of the spread of outcomes. Each function takes tables (or a Results) and returns
(figure, data); :func:`draw_standard_figures` writes the full set with the CSV behind each."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from borderscen.plots import distributions, fans, maps, regimes
from borderscen.plots.style import save

__all__ = ["draw_standard_figures", "fans", "regimes", "distributions", "maps"]

#: Monthly reported attacks above which the threshold-risk figure counts a month as severe:
#: about twice the 2024 tempo (>153 in six months, evidence attacks-2024h1).
DEFAULT_THRESHOLD = 50


def draw_standard_figures(results, out_dir: str | Path, formats: Sequence[str] = ("png",),
                          threshold: float = DEFAULT_THRESHOLD) -> list[Path]:
    """Fan charts, regimes, end states, threshold risk, differences and zone maps of a batch."""
    out, rid = Path(out_dir), results.id
    ts, runs, zones = results.timeseries, results.runs, results.zones
    files: list[Path] = []
    files += save(*fans.fan_chart(ts), out / "fan_chart", rid, formats)
    files += save(*regimes.regime_chart(ts), out / "regime_probabilities", rid, formats)
    files += save(*distributions.end_state(runs), out / "end_state", rid, formats)
    files += save(*fans.threshold_risk(ts, threshold=threshold), out / "threshold_risk", rid, formats)
    names = list(results.scenarios)
    if "baseline" in names and len(names) > 1:
        files += save(*distributions.differences(runs), out / "differences", rid, formats)
    for sc in names:
        files += save(*maps.zone_map(zones, sc), out / f"zone_map_{sc}", rid, formats)
    return files
