"""Figures of the spread of outcomes. Each function takes tables (or a Results) and returns
(figure, data); :func:`draw_standard_figures` writes the full set with the CSV behind each."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from borderscen.plots import axes, distributions, fans, maps, regimes
from borderscen.plots.style import horizon_text, save, scenario_colours

__all__ = ["draw_standard_figures", "fans", "regimes", "distributions", "maps", "axes"]

#: ISIS members above which the threshold-risk figure counts a resurgence: about half again the
#: strongest 2022-24 fighter estimate (the UN's 3,000-5,000 at end-2023; target fighters-un-2023-12).
DEFAULT_THRESHOLD = 6000


#: Monthly columns the standard figures read (fan charts, regimes, threshold risk), those present.
FIGURE_COLUMNS = ("scenario", "point", "replication", "date", "regime")


def figure_columns(results) -> list[str]:
    """The timeseries columns the standard figures use: identity, regime, the fan chart's
    outputs and the threshold output. Nothing else is read."""
    have = results.columns("timeseries")
    outputs = [o for g in fans.DEFAULT_FAN_OUTPUTS for o in ((g,) if isinstance(g, str) else g)]
    wanted = [*FIGURE_COLUMNS, *outputs, *THRESHOLD_OUTPUTS]
    return [c for c in dict.fromkeys(wanted) if c in have]


def _zone_means(zones: pd.DataFrame, value: str = "attacks", size: str = "members") -> pd.DataFrame:
    """The zones table's means per scenario, point and zone (as ``analysis.results.zone_means``)."""
    g = zones.groupby(["scenario", "point", "zone"], observed=True, sort=True)
    return pd.DataFrame({value: g[value].mean(), size: g[size].mean(), "first": g["date"].min(),
                         "last": g["date"].max()}).reset_index()


def series_view(results):
    """Tables where each (scenario, design point) is one series named in 'scenario': the
    timeseries columns the figures use (:func:`figure_columns`), the runs, and the zones as
    means per series and zone (``analysis.results.zone_means``; never the whole zones table).

    Without a sweep the series are the scenarios; with one, a point's label carries its
    parameter values (e.g. 'baseline | election_shift=0.1').
    """
    if hasattr(results, "read_arrow"):  # a stored batch: read what the figures draw, streamed
        from borderscen.analysis.results import zone_means
        ts = results.read("timeseries", columns=figure_columns(results))
        zones = zone_means(results)
    else:  # a view with tables only (e.g. plots.axes.AtDefaults)
        ts, zones = results.timeseries, _zone_means(results.zones)
    runs = results.runs
    swept = results.manifest.get("swept", [])
    points = results.manifest.get("design_points", [{}])
    if not swept or len(points) <= 1:
        return ts, runs, zones, list(results.scenarios)

    def name(sc: str, point: int) -> str:
        values = ", ".join(f"{k}={v:g}" for k, v in points[point].items())
        return f"{sc} | {values}"

    scenarios = list(results.scenarios)
    order = [name(sc, p) for sc in scenarios for p in range(len(points))]
    out = []
    for df in (ts, runs, zones):
        sc_code = pd.Categorical(df["scenario"].astype(str), categories=scenarios).codes
        codes = sc_code.astype("int64") * len(points) + df["point"].to_numpy(dtype="int64")
        out.append(df.assign(scenario=pd.Categorical.from_codes(codes, categories=order,
                                                                ordered=True)))
    return (*out, order)


#: Why the threshold sits where it does (shown in the threshold-risk caption).
THRESHOLD_NOTE = ("6,000 members (Iraq + Syria) is half again the highest 2022-24 fighter estimate "
                  "(UN Monitoring Team: 3,000-5,000 at end-2023): crossing it marks a resurgence "
                  "beyond anything seen since 2021.")
#: Outputs the threshold-risk figure uses, first one present wins.
THRESHOLD_OUTPUTS = ("isis_members",)
#: End-of-run metrics drawn as response curves of a sweep (those present).
RESPONSE_METRICS = ("cum_attacks_iraq", "cum_attacks_syria", "final_isis_members", "mean_cooperation")


def draw_standard_figures(results, out_dir: str | Path, formats: Sequence[str] = ("png",),
                          threshold: float = DEFAULT_THRESHOLD) -> list[Path]:
    """Fan charts, regimes, end states, threshold risk, differences and zone maps of a batch,
    plus response curves for each swept parameter.

    Every figure uses one colour per series (:func:`style.scenario_colours` over the whole
    experiment) and every zone map one colour and size scale. Differences are taken from
    'baseline' when there is one, else from the first series.
    """
    out, rid = Path(out_dir), results.id
    if axes.is_axes_design(results):  # presets x 2026-30 axes: the axes figure, then the set at the defaults
        ts = results.timeseries
        period = f"{ts.loc[ts['phase'] == 'scenario', 'date'].min():%b %Y} - {horizon_text(ts['date'])}"
        files = save(*axes.axes_chart(results.runs, swept=results.manifest["swept"], period=period,
                                      horizon=horizon_text(ts["date"]),
                                      colours=scenario_colours(results.scenarios)),
                     out / "axes", rid, formats)
        return files + draw_standard_figures(axes.at_defaults(results), out, formats, threshold)
    ts, runs, zones, names = series_view(results)
    colours = scenario_colours(names)
    horizon = horizon_text(ts["date"])
    files: list[Path] = []
    files += save(*fans.fan_chart(ts, colours=colours), out / "fan_chart", rid, formats)
    files += save(*regimes.regime_chart(ts, colours=colours), out / "regime_probabilities", rid,
                  formats)
    files += save(*distributions.end_state(runs, colours=colours, horizon=horizon),
                  out / "end_state", rid, formats)
    output = next((o for o in THRESHOLD_OUTPUTS if o in ts.columns), None)
    if output is not None:
        files += save(*fans.threshold_risk(ts, output=output, threshold=threshold,
                                           colours=colours,
                                           explanation=THRESHOLD_NOTE
                                           if threshold == DEFAULT_THRESHOLD else ""),
                      out / "threshold_risk", rid, formats)
    if len(names) > 1:
        reference = "baseline" if "baseline" in names else names[0]
        files += save(*distributions.differences(runs, baseline=reference, colours=colours,
                                                 horizon=horizon),
                      out / "differences", rid, formats)
    swept = [p for p in results.manifest.get("swept", []) if p in results.runs.columns]
    for p in swept:
        base = results.runs
        metrics = [m for m in RESPONSE_METRICS if m in base.columns]
        files += save(*fans.response_curves(base, p, metrics, colours=colours, horizon=horizon),
                      out / f"response_{_slug(p)}", rid, formats)
    vmax, size_max = maps.shared_scale(zones, names)
    for i, sc in enumerate(names):
        files += save(*maps.zone_map(zones, sc, vmax=vmax, size_max=size_max),
                      out / f"zone_map_{i}_{_slug(sc)}", rid, formats)
    return files


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_")
