"""Figures of the spread of outcomes. Each function takes tables (or a Results) and returns
(figure, data); :func:`draw_standard_figures` writes the full set with the CSV behind each."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from borderscen.machine import cores_or
from borderscen.plots import axes, distributions, fans, maps, regimes
from borderscen.plots.style import FigureAndTable, horizon_text, save, scenario_colours

logger = logging.getLogger(__name__)

__all__ = ["draw_standard_figures", "draw_figures", "standard_jobs", "FigureJob", "fans", "regimes",
           "distributions", "maps", "axes"]

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


def zone_table(results, series: tuple[list[str], int] | None = None) -> pd.DataFrame:
    """The zones as means per series and zone (what the zone maps draw): streamed from a
    stored batch (``analysis.results.zone_means``), from the zones table of a table view."""
    if hasattr(results, "read_arrow"):
        from borderscen.analysis.results import zone_means
        zones = zone_means(results)
    else:
        zones = _zone_means(results.zones)
    return zones if series is None else _as_series(zones, results, *series)


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


def differences_call(results, runs: pd.DataFrame, names: list[str], colours, horizon: str
                     ) -> tuple[Callable[..., FigureAndTable], tuple[Any, ...], dict[str, Any]]:
    """What :func:`differences_figure` draws, as (function, args, kwargs): the paired
    differences of a sweep are computed here (streamed from the stored runs), those of plain
    scenarios by the figure itself from ``runs``."""
    series = _series_names(results) if hasattr(results, "read_arrow") else None
    if series is None:
        reference = "baseline" if "baseline" in names else names[0]
        return distributions.differences, (runs,), {"baseline": reference, "colours": colours,
                                                     "horizon": horizon}
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
    return distributions.differences, (None,), {"baseline": reference, "colours": colours,
                                                "horizon": horizon, "table": table}


def differences_figure(results, runs: pd.DataFrame, names: list[str], colours,
                       horizon: str) -> FigureAndTable:
    """The paired-differences figure. Without a sweep: each scenario against 'baseline' (or the
    first). On a sweep with several scenarios: each scenario against the reference scenario at
    the same point (``res.paired_differences(by_point=True)``); with one scenario: each point
    against :func:`reference_point` (``res.point_differences``). Never pairs runs of different
    points, which share no seeds' inputs."""
    draw, args, kwargs = differences_call(results, runs, names, colours, horizon)
    return draw(*args, **kwargs)


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


@dataclass(frozen=True)
class FigureJob:
    """One figure of the standard set: ``draw(*args, **kwargs)`` returns (figure, data), saved
    as ``<out>/<stem>.<format>`` and ``<stem>.csv``. Plain data (aggregated tables, never a
    whole stored table), so a worker process can draw it."""

    stem: str
    draw: Callable[..., FigureAndTable]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def draw_job(job: FigureJob, out: Path, results_id: str, formats: Sequence[str]) -> list[Path]:
    """Draw and save one figure (in this process: a worker, or the caller when serial)."""
    return save(*job.draw(*job.args, **job.kwargs), out / job.stem, results_id, formats)


def _figure_worker(parent: int) -> None:
    """Worker initializer: draw off screen (this is the worker's own matplotlib, never the
    caller's), and exit with the process that started the pool."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401 - imported once here, before the first figure

    from borderscen.experiments.runner import _watch_parent
    _watch_parent(parent)


def _ready() -> None:
    """A worker's first task: nothing (submitting it starts the worker)."""


def _start_workers(pool: Executor, n: int) -> threading.Thread:
    """Start the pool's ``n`` workers now, from a thread, so that their start (the fork
    server's imports the first time, each worker's matplotlib) overlaps the caller's
    aggregation of the first figure's tables instead of following it. A pool that cannot start
    fails again on the first real job, which falls back to drawing in the caller."""
    def start() -> None:
        with contextlib.suppress(Exception):
            for _ in range(n):
                pool.submit(_ready)

    thread = threading.Thread(target=start, name="borderscen-figure-workers", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def figure_pool(workers: int) -> Iterator[Executor]:
    """Worker processes for figures (forked from the fork server the runner's pool uses)."""
    import os
    from concurrent.futures import ProcessPoolExecutor

    from borderscen.experiments.runner import forkserver_context
    # the preload is used when no fork server runs yet (a run's pool starts one with the runner
    # and the warm kernel preloaded); figures need no kernel, so a server started here skips it
    ctx = forkserver_context(["borderscen.experiments.runner", "borderscen.plots"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_figure_worker,
                             initargs=(os.getpid(),)) as pool:
        yield pool


def draw_figures(jobs: Iterable[FigureJob], out: str | Path, results_id: str,
                 formats: Sequence[str] = ("png",), workers: int | None = None) -> list[Path]:
    """Draw figure jobs, in worker processes when ``workers`` > 1 (default: one per core), and
    return their files in the order of the jobs. ``jobs`` may be a generator: each job goes to
    a worker as soon as it is made, so the caller's aggregation of the next figure's table
    overlaps the drawing of the ones before. The caller's matplotlib (backend, rcParams) is
    never touched; a pool that cannot start (e.g. inside a daemon process) or breaks falls back
    to drawing here, one figure after another."""
    out = Path(out)
    n = cores_or(workers, "workers")
    if n <= 1:
        return [f for job in jobs for f in draw_job(job, out, results_id, formats)]
    made: list[FigureJob] = []
    futures: list[Future | None] = []
    try:
        with figure_pool(n) as pool:
            starting = _start_workers(pool, n)
            try:
                for job in jobs:
                    made.append(job)
                    futures.append(pool.submit(draw_job, job, out, results_id, formats))
            finally:
                starting.join()
            files = [fut.result() for fut in futures if fut is not None]
    except (BrokenProcessPool, OSError, AssertionError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) and not isinstance(exc, BrokenProcessPool) \
                and "bootstrapping" not in str(exc):
            raise
        logger.warning("figures: the worker processes could not draw (%s: %s); drawing them "
                       "here instead", type(exc).__name__, exc)
        made += list(jobs)  # what the generator had not made yet
        return [f for job in made for f in draw_job(job, out, results_id, formats)]
    return [f for fs in files for f in fs]


#: Runs-table columns the standard figures use (those present): identity, status and the
#: end-state, difference and response metrics.
RUN_COLUMNS = ("run", "scenario", "point", "replication", "status")


def figure_runs(results) -> pd.DataFrame:
    """The runs table's columns the standard figures draw (:data:`RUN_COLUMNS`, the metrics of
    the end-state, differences and response figures, the swept parameters): nothing else."""
    if not hasattr(results, "read_arrow"):
        return results.runs
    have = results.columns("runs")
    wanted = [*RUN_COLUMNS, *distributions.END_METRICS, "final_pipeline_stage",
              *distributions.DIFF_METRICS, *RESPONSE_METRICS, *results.manifest.get("swept", [])]
    return results.read("runs", columns=[c for c in dict.fromkeys(wanted) if c in have])


def standard_jobs(results, threshold: float = DEFAULT_THRESHOLD) -> Iterator[FigureJob]:
    """The standard figures of a batch as :class:`FigureJob` s, in the order their files are
    listed; each aggregated table is computed once (one streamed read per table) and shared by
    the figures that draw it. A generator: each job is made when its tables are ready."""
    from borderscen.experiments.store import release_memory
    monthly = monthly_tables(results, threshold)  # first: the fan chart is the longest to draw
    release_memory()  # what each aggregation used, back before the next (memory flat in the runs)
    series = _series_names(results)
    names = list(results.scenarios) if series is None else series[0]
    colours = scenario_colours(names)
    horizon = horizon_text(monthly["dates"])
    yield FigureJob("fan_chart", fans.fan_chart, (None,),
                    {"colours": colours, "tables": monthly["quantiles"]})
    if len(monthly["regimes"]) and "scenario" in monthly["regimes"]:  # none before the branch month
        yield FigureJob("regime_probabilities", regimes.regime_chart, (None,),
                        {"colours": colours, "data": monthly["regimes"]})
    runs = figure_runs(results)
    release_memory()
    if series is not None:
        runs = _as_series(runs, results, *series)
    yield FigureJob("end_state", distributions.end_state, (runs,),
                    {"colours": colours, "horizon": horizon})
    output = monthly["threshold_output"]
    if output is not None:
        yield FigureJob("threshold_risk", fans.threshold_risk, (None,),
                        {"output": output, "threshold": threshold, "colours": colours,
                         "data": monthly["threshold"],
                         "explanation": THRESHOLD_NOTE if threshold == DEFAULT_THRESHOLD else ""})
    if len(names) > 1:
        draw, args, kwargs = differences_call(results, runs, names, colours, horizon)
        yield FigureJob("differences", draw, args, kwargs)
    for p in [p for p in results.manifest.get("swept", []) if p in runs.columns]:
        metrics = [m for m in RESPONSE_METRICS if m in runs.columns]
        base = runs if series is None else figure_runs(results)  # scenarios, not series
        yield FigureJob(f"response_{_slug(p)}", fans.response_curves, (base, p, metrics),
                        {"colours": colours, "horizon": horizon})
    zones = zone_table(results, series)
    release_memory()
    if not len(zones):  # no zone months: a filtered start at or past the horizon (no maps of zeros)
        return
    vmax, size_max = maps.shared_scale(zones, names)
    for i, sc in enumerate(names):
        yield FigureJob(f"zone_map_{i}_{_slug(sc)}", maps.zone_map,
                        (zones[zones["scenario"] == sc].reset_index(drop=True), sc),
                        {"vmax": vmax, "size_max": size_max})


def draw_standard_figures(results, out_dir: str | Path, formats: Sequence[str] = ("png",),
                          threshold: float = DEFAULT_THRESHOLD,
                          workers: int | None = None) -> list[Path]:
    """Fan charts, regimes, end states, threshold risk, differences and zone maps of a batch,
    plus response curves for each swept parameter.

    Every figure uses one colour per series (:func:`style.scenario_colours` over the whole
    experiment) and every zone map one colour and size scale. Differences are taken from
    'baseline' when there is one, else from the first series.

    The figures are drawn from aggregated tables (:func:`standard_jobs`), in ``workers``
    processes (default: one per core; 1 draws here, one after another): the same files either
    way.
    """
    out, rid = Path(out_dir), results.id
    if axes.is_axes_design(results):  # presets x 2026-30 axes: the axes figure, then the set at the defaults
        ts = results.timeseries
        period = f"{ts.loc[ts['phase'] == 'scenario', 'date'].min():%b %Y} - {horizon_text(ts['date'])}"
        chart = save(*axes.axes_chart(results.runs, swept=results.manifest["swept"], period=period,
                                      horizon=horizon_text(ts["date"]),
                                      colours=scenario_colours(results.scenarios)),
                     out / "axes", rid, formats)
        return chart + draw_standard_figures(axes.at_defaults(results), out, formats, threshold,
                                             workers)
    return draw_figures(standard_jobs(results, threshold), out, rid, formats, workers)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_")
