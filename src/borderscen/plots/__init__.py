"""Figures of the spread of outcomes. Each function takes tables (or a Results) and returns
(figure, data); :func:`draw_standard_figures` writes the full set with the CSV behind each."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from borderscen.plots import axes, distributions, fans, maps, regimes
from borderscen.plots.style import FigureAndTable, horizon_text, save, scenario_colours

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


def _series_names(results) -> tuple[list[str], int] | None:
    """Series names (scenario x point, in that order) and the number of points, on a sweep."""
    swept = results.manifest.get("swept", [])
    points = results.manifest.get("design_points", [{}])
    if not swept or len(points) <= 1:
        return None

    def name(sc: str, point: int) -> str:
        values = ", ".join(f"{k}={v:g}" for k, v in points[point].items())
        return f"{sc} | {values}"

    return [name(sc, p) for sc in results.scenarios for p in range(len(points))], len(points)


def _as_series(df: pd.DataFrame, results, names: list[str], n_points: int) -> pd.DataFrame:
    """``df`` with each (scenario, point) one series named in 'scenario' (point columns kept)."""
    sc_code = pd.Categorical(df["scenario"].astype(str), categories=list(results.scenarios)).codes
    codes = sc_code.astype("int64") * n_points + df["point"].to_numpy(dtype="int64")
    return df.assign(scenario=pd.Categorical.from_codes(codes, categories=names, ordered=True))


def series_view(results, monthly: bool = True):
    """Tables where each (scenario, design point) is one series named in 'scenario': the
    timeseries columns the figures use (:func:`figure_columns`; None unless ``monthly``), the
    runs, and the zones as means per series and zone (``analysis.results.zone_means``; never
    the whole zones table).

    Without a sweep the series are the scenarios; with one, a point's label carries its
    parameter values (e.g. 'baseline | election_shift=0.1').
    """
    ts = None
    if hasattr(results, "read_arrow"):  # a stored batch: read what the figures draw, streamed
        from borderscen.analysis.results import zone_means
        if monthly:
            ts = results.read("timeseries", columns=figure_columns(results))
        zones = zone_means(results)
    else:  # a view with tables only (e.g. plots.axes.AtDefaults)
        ts, zones = results.timeseries, _zone_means(results.zones)
    runs = results.runs
    series = _series_names(results)
    if series is None:
        return ts, runs, zones, list(results.scenarios)
    names, n_points = series
    ts, runs, zones = (None if df is None else _as_series(df, results, names, n_points)
                       for df in (ts, runs, zones))
    return ts, runs, zones, names


def reference_point(results) -> int:
    """The design point at the registry's defaults of every swept parameter, else point 0."""
    from borderscen.inputs.params import registry
    reg = registry()
    for i, point in enumerate(results.manifest.get("design_points") or [{}]):
        if point and all(k in reg and isinstance(v, int | float) and reg[k].default is not None
                         and float(v) == float(reg[k].default) for k, v in point.items()):
            return i
    return 0


def differences_figure(results, runs: pd.DataFrame, names: list[str], colours,
                       horizon: str) -> FigureAndTable:
    """The paired-differences figure. Without a sweep: each scenario against 'baseline' (or the
    first). On a sweep with several scenarios: each scenario against the reference scenario at
    the same point (``res.paired_differences(by_point=True)``); with one scenario: each point
    against :func:`reference_point` (``res.point_differences``). Never pairs runs of different
    points, which share no seeds' inputs."""
    series = _series_names(results) if hasattr(results, "read_arrow") else None
    if series is None:
        reference = "baseline" if "baseline" in names else names[0]
        return distributions.differences(runs, baseline=reference, colours=colours, horizon=horizon)
    series_names, n_points = series
    metrics = [m for m in distributions.DIFF_METRICS if m in results.columns("runs")]
    scenarios = list(results.scenarios)
    if len(scenarios) > 1:
        reference = "baseline" if "baseline" in scenarios else scenarios[0]
        table = pd.concat([results.paired_differences(m, baseline=reference, by_point=True)
                           for m in metrics], ignore_index=True)
    else:
        point = reference_point(results)
        table = pd.concat([results.point_differences(m, reference=point) for m in metrics],
                          ignore_index=True).rename(columns={"reference_mean": "baseline_mean"})
        reference = series_names[point]
    table = _as_series(table, results, series_names, n_points)
    return distributions.differences(None, baseline=reference, colours=colours, horizon=horizon,
                                     table=table)


def monthly_tables(results, threshold: float = 6000) -> dict:
    """What the monthly figures draw, aggregated from the stored batch (``res.quantiles``,
    ``res.regime_probabilities``, threshold probabilities: one scenario and a few columns at a
    time), per series: the fan chart's quantile tables, the regime shares, the threshold risk
    and its output, and the months. A table-only view (no ``read_arrow``) is aggregated from
    its timeseries in memory."""
    from borderscen.analysis import summaries
    series = _series_names(results)
    by = ("scenario", "date") if series is None else ("scenario", "point", "date")
    if hasattr(results, "read_arrow"):
        from borderscen.analysis.results import state_shares, threshold_probability
        have = results.columns("timeseries")
        quantile = results.quantiles
        regimes_of = results.regime_probabilities

        def shares(output, by):
            return state_shares(results, output, fans.STATE_OUTPUTS[output], by=by)

        def risk(output, by):
            return threshold_probability(results, output, threshold, by=by)
    else:
        ts = results.timeseries
        have = list(ts.columns)

        def quantile(output, by):
            return summaries.quantiles(ts, output, by=by)

        def shares(output, by):
            return summaries.state_shares(ts, output, fans.STATE_OUTPUTS[output], by=by)

        def regimes_of(by):
            return summaries.regime_probabilities(ts, by=by)

        def risk(output, by):
            return summaries.threshold_probability(ts, output, threshold, by=by)

    def shaped(df: pd.DataFrame) -> pd.DataFrame:
        if series is None or not len(df):
            return df
        return _as_series(df, results, *series).drop(columns=["point", "label"], errors="ignore")

    outputs = [o for g in fans.DEFAULT_FAN_OUTPUTS
               for o in [next((c for c in ((g,) if isinstance(g, str) else g) if c in have), None)]
               if o is not None]
    quantiles = {o: shaped(shares(o, by=by) if o in fans.STATE_OUTPUTS else quantile(o, by=by))
                 for o in outputs}
    output = next((o for o in THRESHOLD_OUTPUTS if o in have), None)
    dates = pd.concat([q["date"] for q in quantiles.values()]) if quantiles else pd.Series([])
    return {"quantiles": quantiles, "regimes": shaped(regimes_of(by=by)),
            "threshold_output": output, "dates": dates,
            "threshold": shaped(risk(output, by=by)) if output is not None else None}


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
        chart = save(*axes.axes_chart(results.runs, swept=results.manifest["swept"], period=period,
                                      horizon=horizon_text(ts["date"]),
                                      colours=scenario_colours(results.scenarios)),
                     out / "axes", rid, formats)
        return chart + draw_standard_figures(axes.at_defaults(results), out, formats, threshold)
    ts, runs, zones, names = series_view(results, monthly=False)
    colours = scenario_colours(names)
    monthly = monthly_tables(results, threshold)
    horizon = horizon_text(monthly["dates"])
    files: list[Path] = []
    files += save(*fans.fan_chart(ts, colours=colours, tables=monthly["quantiles"]),
                  out / "fan_chart", rid, formats)
    if len(monthly["regimes"]) and "scenario" in monthly["regimes"]:  # none before the branch month
        files += save(*regimes.regime_chart(ts, colours=colours, data=monthly["regimes"]),
                      out / "regime_probabilities", rid, formats)
    files += save(*distributions.end_state(runs, colours=colours, horizon=horizon),
                  out / "end_state", rid, formats)
    output = monthly["threshold_output"]
    if output is not None:
        files += save(*fans.threshold_risk(ts, output=output, threshold=threshold,
                                           colours=colours, data=monthly["threshold"],
                                           explanation=THRESHOLD_NOTE
                                           if threshold == DEFAULT_THRESHOLD else ""),
                      out / "threshold_risk", rid, formats)
    if len(names) > 1:
        files += save(*differences_figure(results, runs, names, colours, horizon),
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
