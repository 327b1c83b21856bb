"""The rolling-origin backtest: forecasts from many origins, scored on what happened next.

At each origin (every quarter from 2023-01 to the record's last month):

1. parameters start from the posterior fitted on data before the FIRST origin (targets ending
   by 2022-12, ``posterior_to_2022-12.csv``), used throughout; the particle filter
   (``assimilation.filter``) then assimilates every observation of the record (targets and
   hold-outs alike) whose window ends before the origin, so the parameters and the state learn
   from the data before the origin and from nothing after it;
2. the filtered particles run 12 months on (the history's dated inputs, which were known as
   decisions or happened outside ISIS's activity, are replayed as they happened: this is a
   forecast conditional on those inputs, as every scenario is);
3. every observation of the record whose window starts at or after the origin and ends within
   12 months of it is forecast by the ABM (its published figure through the observation model)
   and by each baseline (``analysis.baselines``), each fitted on data strictly before the
   origin; the forecasts are stored as quantiles on a fixed grid.

Scores follow ``docs/scoring.md`` (pre-registered) and ``analysis.scoring``. Results are stored
like an experiment's: one Parquet file per origin written atomically, a lock, a manifest, and a
resumed run skips the origins already done.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from borderscen.assimilation.filter import assimilate, continue_from
from borderscen.assimilation.observe import Comparable, comparable
from borderscen.inputs.record import holdouts, targets
from borderscen.inputs.scenarios import month_index, parse_month
from borderscen.kernel.core import START
from borderscen.progress import Progress

#: Quantile levels each forecast is stored at (enough for CRPS by quantiles and for 50/90% bands).
LEVELS = np.round(np.linspace(0.005, 0.995, 199), 3)
#: Monthly series whose fan from each origin is stored (figure: the fan from each origin).
PATH_SERIES = ("attacks_tracked_iraq", "attacks_tracked_syria", "partnered_operations_iraq",
               "partnered_operations_syria", "isis_members", "isis_tempo")
PATH_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
HORIZONS = (1, 3, 6, 12)
MAX_LEAD = 12
BASE_POSTERIOR = "2022-12"
FIRST_ORIGIN = "2023-01"


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.year * 12 + d.month - 1 + n
    return dt.date(m // 12, m % 12 + 1, 1)


def record_observations() -> list[Comparable]:
    """Every comparable observation of the record, targets and hold-outs."""
    kept, _ = comparable(list(targets()) + list(holdouts()))
    return kept


def last_record_month(obs: Sequence[Comparable] | None = None) -> dt.date:
    return max(parse_month(c.end) for c in (obs or record_observations()))


def origins(first: str = FIRST_ORIGIN, last: dt.date | None = None, every: int = 3) -> list[dt.date]:
    """Origins every ``every`` months from ``first`` to the record's last month."""
    out, d = [], parse_month(first)
    last = last or last_record_month()
    while d <= last:
        out.append(d)
        d = _add_months(d, every)
    return out


def lead(origin: dt.date, c: Comparable) -> int:
    """Months from the origin to the end of the observation's window (1: it ends in the origin's month)."""
    return month_index(parse_month(c.end), origin) + 1


def after(origin: dt.date, obs: Sequence[Comparable], max_lead: int = MAX_LEAD) -> list[Comparable]:
    """Observations whose windows start at or after the origin and end within ``max_lead`` months."""
    return [c for c in obs if parse_month(c.start) >= origin and 1 <= lead(origin, c) <= max_lead]


def before(origin: dt.date, obs: Sequence[Comparable]) -> list[Comparable]:
    return [c for c in obs if parse_month(c.end) < origin]


@dataclass
class OriginForecast:
    """One origin's forecasts (a row per observation and forecaster, quantiles at LEVELS), the
    fans of PATH_SERIES from it, and its filter's diagnostics."""

    forecasts: pd.DataFrame
    paths: pd.DataFrame
    min_ess_share: float | None = None
    wall_s: float = 0.0
    degenerate: int = 0


def forecast_origin(origin: dt.date, particles: int, seed: int, fit_end: str | None = BASE_POSTERIOR,
                    obs: Sequence[Comparable] | None = None, baselines: bool = True,
                    threads: int | None = None) -> OriginForecast:
    """One origin: filter the record before it, forecast 12 months, every forecaster's quantiles.
    ``threads``: the filter's (:func:`~borderscen.assimilation.filter.assimilate`)."""
    obs = list(obs or record_observations())
    known, todo = before(origin, obs), after(origin, obs)
    if not todo:
        return OriginForecast(pd.DataFrame(), pd.DataFrame())
    t0 = time.perf_counter()
    filtered = assimilate(origin, particles=particles, seed=seed, observations=known, fit_end=fit_end,
                          threads=threads)
    fc = continue_from(filtered, MAX_LEAD, seed=seed + 1)
    abm = fc.predictive(todo)
    wall = time.perf_counter() - t0
    rows = []
    rng = np.random.default_rng([seed, origin.year, origin.month])
    for j, c in enumerate(todo):
        base = {"origin": origin, "id": c.id, "quantity": c.quantity, "channel": c.channel,
                "country": c.country, "start": c.start, "end": c.end, "low": c.low, "high": c.high,
                "lead": lead(origin, c)}
        forecasts: dict[str, np.ndarray | None] = {"abm": abm[:, j]}
        if baselines:
            forecasts |= baseline_samples(c, known, origin, rng)
        for name, sample in forecasts.items():
            if sample is None:
                continue
            q = np.quantile(np.asarray(sample, float), LEVELS)
            quantiles = {f"q{lv:.3f}": v for lv, v in zip(LEVELS, q, strict=True)}
            rows.append(base | {"forecaster": name, **quantiles})
    df = pd.DataFrame(rows)
    T0 = filtered.months
    paths = []
    for k in PATH_SERIES:
        x = fc.monthly[k]
        qs = np.quantile(x, PATH_LEVELS, axis=0)
        for t in range(max(0, T0 - 12), x.shape[1]):
            paths.append({"origin": origin, "date": fc.dates[t], "series": k, "phase":
                          "filtered" if t < T0 else "forecast",
                          **{f"q{lv:g}": float(qs[i, t]) for i, lv in enumerate(PATH_LEVELS)},
                          "lull_share": float((x[:, t] == 2).mean()) if k == "isis_tempo" else np.nan})
    degenerate = int(filtered.diagnostics["degenerate"].sum()) if len(filtered.diagnostics) else 0
    return OriginForecast(df, pd.DataFrame(paths), filtered.min_ess_share, wall, degenerate)


def baseline_samples(c: Comparable, known: Sequence[Comparable], origin: dt.date,
                     rng: np.random.Generator) -> dict[str, np.ndarray | None]:
    """Each baseline's predictive sample for ``c`` from observations before the origin."""
    from borderscen.analysis import baselines

    return baselines.forecast_all(c, known, origin, rng)


def forecast_origins(jobs: Sequence[tuple[int, dt.date]], particles: int, seed: int,
                     fit_end: str | None, obs: Sequence[Comparable],
                     on_done: Callable[[int, dt.date, OriginForecast], None],
                     executor: Any = "serial", workers: int | None = None,
                     scheduler: str | None = None) -> None:
    """Forecast from each ``(i, origin)`` of ``jobs`` (origin i filtered with ``seed + i``), side
    by side on the runner's executors (``executor``, ``workers``, ``scheduler`` as for
    :func:`~borderscen.experiments.run_experiment`), calling ``on_done`` here as each finishes.

    Origins are independent, so each is the same whatever the executor; within an origin the
    particle filter is sequential by nature (see :func:`~borderscen.assimilation.filter.assimilate`),
    its particles split over the cores' threads when the origins run one after another, one
    thread each when they run side by side.
    """
    from concurrent.futures import FIRST_COMPLETED, wait

    from borderscen.experiments.runner import make_executor, resolve_executor

    if not jobs:
        return
    kind, n_workers = resolve_executor(executor, workers, scheduler,
                                       default="process" if workers else "serial")
    obs = list(obs)
    side_by_side = min(n_workers, len(jobs))
    threads = 1 if kind != "serial" and side_by_side > 1 else None
    with make_executor(kind, side_by_side, scheduler) as pool:
        futures = {pool.submit(forecast_origin, origin, particles, seed + i, fit_end, obs, True,
                               threads): (i, origin)
                   for i, origin in jobs}
        pending = set(futures)
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: futures[f][0]):
                i, origin = futures[fut]
                on_done(i, origin, fut.result())


def _config_hash(cfg: dict) -> str:
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_backtest(out: str | Path, particles: int = 1000, seed: int = 2023, first: str = FIRST_ORIGIN,
                 every: int = 3, fit_end: str | None = BASE_POSTERIOR, progress: Progress | None = None,
                 fresh: bool = False, executor: Any = None, workers: int | None = None,
                 scheduler: str | None = None, log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Run (or resume) the backtest into ``out``; returns the forecasts table.

    The origins run side by side on the runner's executors (``executor``, ``workers``,
    ``scheduler`` as for :func:`~borderscen.experiments.run_experiment`; default serial, or a
    process pool when ``workers`` is given); each origin is the same whatever they are.
    ``progress(done, total)`` counts origins (those stored before a resume included); ``log``
    gets one line per origin (its forecasts, the filter's lowest ESS share, its time)."""
    from filelock import FileLock, Timeout

    from borderscen.experiments.store import atomic_write_bytes, atomic_write_json, parquet_bytes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    parts = out / "origins"
    parts.mkdir(exist_ok=True)
    todo = origins(first, every=every)
    cfg = {"particles": particles, "seed": seed, "first": first, "every": every, "fit_end": fit_end,
           "origins": [f"{o:%Y-%m}" for o in todo], "levels": len(LEVELS), "max_lead": MAX_LEAD}
    chash = _config_hash(cfg)
    lock = FileLock(str(out / ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RuntimeError(f"{out} is being written by another backtest (lock {out / '.lock'})") from None
    try:
        manifest_path = out / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() and not fresh else {}
        if manifest.get("config_hash") not in (None, chash):
            for p in parts.glob("*.parquet"):
                p.unlink()
            manifest = {}
        done = dict(manifest.get("done", {}))
        manifest.update({"kind": "backtest", "config": cfg, "config_hash": chash, "done": done,
                         "started": manifest.get("started", dt.datetime.now().isoformat(timespec="seconds"))})
        atomic_write_json(manifest_path, manifest)
        obs = record_observations()
        jobs = []
        for i, origin in enumerate(todo):
            key = f"{origin:%Y-%m}"
            if key in done and (parts / f"{key}.parquet").exists():
                if log is not None:
                    log(f"origin {key} ({i + 1}/{len(todo)}): already done")
                continue
            jobs.append((i, origin))
        finished = len(todo) - len(jobs)
        if progress is not None:
            progress(finished, len(todo))

        def store(i: int, origin: dt.date, fo: OriginForecast) -> None:
            nonlocal finished
            key = f"{origin:%Y-%m}"
            atomic_write_bytes(parts / f"{key}-paths.parquet", parquet_bytes(fo.paths))
            atomic_write_bytes(parts / f"{key}.parquet", parquet_bytes(fo.forecasts))
            done[key] = {"rows": len(fo.forecasts), "min_ess_share": fo.min_ess_share, "wall_s": fo.wall_s,
                         "degenerate": fo.degenerate}
            manifest["done"] = dict(sorted(done.items()))
            atomic_write_json(manifest_path, manifest)
            finished += 1
            if log is not None:
                ess = done[key]["min_ess_share"]
                log(f"origin {key} ({i + 1}/{len(todo)}): {len(fo.forecasts)} forecasts, "
                    f"filter min ESS {'n/a' if ess is None else f'{ess:.0%}'}, {fo.wall_s:.1f} s")
            if progress is not None:
                progress(finished, len(todo))

        forecast_origins(jobs, particles, seed, fit_end, obs, store, executor, workers, scheduler)
        manifest["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        atomic_write_json(manifest_path, manifest)
    finally:
        lock.release()
    return load_forecasts(out)


def load_paths(out: str | Path) -> pd.DataFrame:
    files = sorted((Path(out) / "origins").glob("*-paths.parquet"))
    frames = [pd.read_parquet(f) for f in files]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_forecasts(out: str | Path) -> pd.DataFrame:
    files = sorted(f for f in (Path(out) / "origins").glob("*.parquet") if not f.stem.endswith("-paths"))
    frames = [pd.read_parquet(f) for f in files]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def quantile_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c.startswith("q0.") or c.startswith("q1")]


def holdout_forecasts(particles: int = 1000, seed: int = 2023, first: str = FIRST_ORIGIN, every: int = 3,
                      fit_end: str | None = BASE_POSTERIOR, executor: Any = None,
                      workers: int | None = None, scheduler: str | None = None,
                      progress: Progress | None = None) -> pd.DataFrame:
    """The forecasts that score each 2025-26 hold-out once: the backtest's origins from 2025-01
    on (with :func:`run_backtest`'s seeds, origin i drawing from ``seed + i``), until every
    hold-out has been forecast. ``attrs``: the filter's lowest ESS share and the origins used.

    The origins are chosen first (each forecasts every observation after it), then run side by
    side as :func:`run_backtest`'s (``executor``, ``workers``, ``scheduler``; the same forecasts
    whatever they are); ``progress(done, total)`` counts origins."""
    from borderscen.analysis import scoring

    obs = record_observations()
    left = set(scoring.comparable_holdout_ids())
    jobs = []
    for i, origin in enumerate(origins(first, every=every)):
        if f"{origin:%Y-%m}" < scoring.HOLDOUT_FIRST_ORIGIN or not left:
            continue
        ahead = {c.id for c in after(origin, obs)}
        if not left & ahead:
            continue
        jobs.append((i, origin))
        left -= ahead
    found: dict[int, OriginForecast] = {}
    if progress is not None:
        progress(0, len(jobs))

    def keep(i: int, origin: dt.date, fo: OriginForecast) -> None:
        found[i] = fo
        if progress is not None:
            progress(len(found), len(jobs))

    forecast_origins(jobs, particles, seed, fit_end, obs, keep, executor, workers, scheduler)
    fos = [found[i] for i, _ in jobs]
    ess = [fo.min_ess_share for fo in fos if fo.min_ess_share is not None]
    frames = [fo.forecasts for fo in fos]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out.attrs.update(min_ess_share=float(min(ess)) if ess else None,
                     origins=[f"{origin:%Y-%m}" for _, origin in jobs])
    return out


def scores(forecasts: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The pre-registered scores (``docs/scoring.md``) of a forecasts table, with the
    quantile-average ensemble of every forecaster in it added first."""
    from borderscen.analysis import scoring

    if forecasts.empty:
        raise ValueError("the backtest stored no forecasts: no origin has an observation after it")
    return scoring.score_table(scoring.ensemble(forecasts), seed=seed)


def filter_summary(out: str | Path) -> dict:
    """The filter's diagnostics over the stored origins: the lowest ESS share and degenerate months."""
    manifest = json.loads((Path(out) / "manifest.json").read_text())
    done = manifest.get("done", {})
    ess = [v["min_ess_share"] for v in done.values() if v.get("min_ess_share") is not None]
    return {"min_ess_share": float(min(ess)) if ess else None,
            "degenerate_months": int(sum(v.get("degenerate") or 0 for v in done.values())),
            "origins": len(done), "particles": manifest.get("config", {}).get("particles"),
            "wall_s": float(sum(v.get("wall_s") or 0.0 for v in done.values()))}


def report(forecasts: pd.DataFrame, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The backtest's tables: ``scores`` (one row per origin, observation and forecaster),
    ``aggregate`` (median skill, share won and coverage by horizon and group) and ``holdout``
    (each 2025-26 hold-out's single scored row, docs/scoring.md section 3)."""
    from borderscen.analysis import scoring

    sc = scores(forecasts, seed=seed)
    return {"scores": sc, "aggregate": scoring.aggregate(sc),
            "holdout": scoring.holdout_rows(sc, scoring.comparable_holdout_ids())}


def verdict(tables: dict[str, pd.DataFrame], out: str | Path | None = None) -> dict:
    """The machine-readable verdict (``scoring.verdict_dict``) plus the filter's diagnostics."""
    from borderscen.analysis import scoring

    v = scoring.verdict_dict(tables["scores"])
    v["ensemble"] = scoring.verdict_dict(tables["scores"], forecaster=scoring.ENSEMBLE)["backtest"]
    if out is not None:
        v["filter"] = filter_summary(out)
    return v


__all__ = ["HORIZONS", "LEVELS", "START", "OriginForecast", "after", "before", "filter_summary",
           "forecast_origin", "holdout_forecasts", "lead", "load_forecasts", "load_paths", "origins",
           "report", "run_backtest", "scores", "verdict"]
