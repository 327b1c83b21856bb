"""Validation: out-of-sample scores on the hold-out record, and stylized facts that can fail.

**In sample.** ``insample_scores`` puts each 2022-24 target the posterior was fitted to beside
the posterior predictive of its published figure (through the observation model): coverage of
the 50% and 90% intervals per channel group, and the PIT.

**Hold-outs.** ``holdout_scores`` scores each 2025-26 observation once under the pre-registered
rules (``docs/scoring.md``): from the backtest's first origin that forecasts it, after the
particle filter has assimilated only the record before that origin, against the naive baselines
(``analysis.baselines``) and their ensemble. Nothing here feeds back into calibration.

**Stylized facts** live in :mod:`borderscen.analysis.facts` (patterns of the 2022-24 record
checked against the model's intervals, each also run with its mechanism switched off, when it
must fail); they are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from borderscen.analysis import scoring
from borderscen.analysis.facts import (
    FACTS,
    SCENARIO_FACTS,
    Fact,
    ObservedFact,
    check,
    evaluate,
    replay,
    validate_facts,
)
from borderscen.assimilation.observe import comparable, model_value, published, series_names
from borderscen.inputs.record import holdouts, targets
from borderscen.mechanisms.observation import GROUP
from borderscen.progress import Progress


# ============================================================================ the 2025 lull
def record_range(figure_low: float, figure_high: float, size: float,
                 level: float = 0.9) -> tuple[float, float]:
    """The model channel values v under which a count figure in [low, high] is inside the central
    ``level`` of NegBin(mean v, size): the range of values the record is consistent with under the
    observation model (docs/scoring.md section 7). An open upper end gives inf."""
    from scipy import optimize, stats

    tail = (1.0 - level) / 2.0

    def cdf(y: float, mu: float) -> float:
        return float(stats.nbinom.cdf(y, size, size / (size + mu)))

    def sf(y: float, mu: float) -> float:  # P(Y >= y)
        return float(stats.nbinom.sf(y - 1, size, size / (size + mu)))

    lo = 0.0 if figure_low <= 0 else optimize.brentq(
        lambda mu: sf(math.ceil(figure_low), mu) - tail, 1e-9, 1e7)
    hi = math.inf if not math.isfinite(figure_high) else optimize.brentq(
        lambda mu: cdf(math.floor(figure_high), mu) - tail, 1e-9, 1e7)
    return lo, hi


def lull_check(timeseries: pd.DataFrame, scenario: str = "baseline", year: int = 2025) -> pd.DataFrame:
    """The pre-registered 2025 lull check (docs/scoring.md section 7): for every attack figure of
    the record (targets and hold-outs) whose window lies in ``year``, the runs' median channel value
    over its window against the range of values the figure is consistent with under the
    observation model. One row per figure; ``inside`` says met or missed."""
    from borderscen.inputs.params import registry

    size = float(registry()["obs_size_attacks"].default)
    kept, _ = comparable(list(targets()) + list(holdouts()))
    figures = [c for c in kept if c.quantity == "attacks" and c.start[:4] == c.end[:4] == str(year)]
    ts = timeseries[timeseries["scenario"] == scenario]
    if ts.empty:
        raise ValueError(f"no runs of scenario {scenario!r} in these results")
    names = sorted({n for c in figures for n in series_names(c)})
    wide = ts.pivot(index="replication", columns="date", values=names)  # (runs, output x month)
    dates = [d.date() for d in pd.to_datetime(wide[names[0]].columns)] if names else []
    monthly = {n: wide[n].to_numpy(float) for n in names}
    rows = []
    for c in figures:
        # the figure's channel over its window (none when the runs do not cover it: missed)
        per_run = model_value(monthly, dates, c)
        if per_run is None:
            per_run = np.full(0, np.nan)
        lo, hi = record_range(c.low, c.high, size)
        med = float(np.median(per_run)) if per_run.size else math.nan
        rows.append({"id": c.id, "country": c.country, "channel": c.channel,
                     "window": f"{c.start}/{c.end}",
                     "figure_low": c.low, "figure_high": c.high, "range_low": lo, "range_high": hi,
                     "median": med, "q05": float(np.quantile(per_run, 0.05)) if per_run.size else med,
                     "q95": float(np.quantile(per_run, 0.95)) if per_run.size else med,
                     "runs": int(per_run.size), "inside": bool(lo <= med <= hi)})
    return pd.DataFrame(rows)


# ============================================================================ in sample
def insample_scores(replications: int = 300, seed: int = 3,
                    overrides: Mapping[str, float] | None = None, executor: Any = None,
                    workers: int | None = None, scheduler: str | None = None,
                    progress: Progress | None = None) -> pd.DataFrame:
    """One row per 2022-24 target: the posterior predictive of its published figure (the shipped
    posterior, one draw and seed per replication, through the observation model), with in50, in90
    and the PIT as ``docs/scoring.md`` defines them, and its channel group. ``overrides`` sets
    parameters in every draw (e.g. the observation model's dispersions, to switch its noise off).

    The replications run through the runner (``executor``, ``workers``, ``scheduler`` as for
    :func:`~borderscen.experiments.run_experiment`; default serial, or a process pool when
    ``workers`` is given): the same table whatever they are. ``progress(done, total)`` counts
    the replications."""
    from borderscen.analysis.calibration import FIT_MONTHS, _predictive_draws, posterior_predictive
    from borderscen.experiments.runner import make_executor, resolve_executor
    from borderscen.inputs.posterior import posterior_path, posterior_sample

    draws = posterior_sample()
    if draws is None:
        raise FileNotFoundError(f"no posterior draws at {posterior_path()}: run `borderscen calibrate` first")
    if overrides:
        draws = draws.assign(**{k: float(v) for k, v in overrides.items()})
    fit, _ = comparable(targets())
    kind, n_workers = resolve_executor(executor, workers, scheduler,
                                       default="process" if workers else "serial")
    with make_executor(kind, n_workers, scheduler) as pool:
        monthly, dates = posterior_predictive(draws, n=replications, months=FIT_MONTHS, seed=seed,
                                              executor=pool, progress=progress)
    values, seeds = _predictive_draws(draws, replications, seed)  # the same draws as the runs
    if overrides:
        values = [{**v, **overrides} for v in values]
    figures = published(monthly, dates, fit, values, seeds)
    rng = np.random.default_rng(seed)
    rows = []
    for j, c in enumerate(fit):
        x = figures[:, j]
        x = x[np.isfinite(x)]
        if not x.size:
            continue
        rows.append({"id": c.id, "quantity": c.quantity, "channel": c.channel, "country": c.country,
                     "start": c.start, "end": c.end, "low": c.low, "high": c.high,
                     "group": GROUP.get(c.quantity, c.quantity), "median": float(np.median(x)),
                     "q05": float(np.quantile(x, 0.05)), "q95": float(np.quantile(x, 0.95)),
                     "in50": scoring.covered(x, None, c.low, c.high, 0.5),
                     "in90": scoring.covered(x, None, c.low, c.high, 0.9),
                     "pit": scoring.pit(x, c.low, c.high, rng=rng)})
    return pd.DataFrame(rows)


def insample_verdict(df: pd.DataFrame) -> dict:
    """``insample.coverage50``/``coverage90`` (channel group -> share), the PIT histogram and n."""
    by = df.groupby("group")
    return {"coverage50": {g: float(v) for g, v in by["in50"].mean().items()},
            "coverage90": {g: float(v) for g, v in by["in90"].mean().items()},
            "n": {g: int(v) for g, v in by.size().items()},
            "pit_histogram": [int(x) for x in scoring.pit_histogram(df)]}


# ============================================================================ hold-outs
def holdout_scores(particles: int = 1000, seed: int = 2023, executor: Any = None,
                   workers: int | None = None, scheduler: str | None = None,
                   progress: Progress | None = None) -> pd.DataFrame:
    """Each comparable 2025-26 hold-out scored once under ``docs/scoring.md`` (section 3): from the
    earliest backtest origin at or after 2025-01 that forecasts it, the filter having assimilated
    only what ended before that origin (the 2025-01 filter has seen the 2022-24 targets only).

    One row per (hold-out, forecaster): the ABM, the baselines and their ensemble, with CRPS,
    skill against each baseline, in50/in90 and the PIT. The same origins and seeds as
    ``borderscen backtest`` with the same particles and seed, so the two report the same rows.
    ``attrs["filter"]`` holds the filter's lowest ESS share over those origins.

    The origins run side by side on the runner's executors (``executor``, ``workers``,
    ``scheduler``; the same rows whatever they are); ``progress(done, total)`` counts origins."""
    from borderscen.analysis import backtest

    forecasts = backtest.holdout_forecasts(particles=particles, seed=seed, executor=executor,
                                           workers=workers, scheduler=scheduler, progress=progress)
    rows = scoring.holdout_rows(backtest.scores(forecasts), scoring.comparable_holdout_ids())
    rows.attrs["filter"] = {"min_ess_share": forecasts.attrs.get("min_ess_share"),
                            "particles": particles, "origins": forecasts.attrs.get("origins")}
    return rows.sort_values(["id", "forecaster"]).reset_index(drop=True)


def holdout_verdict(df: pd.DataFrame, forecaster: str = "abm") -> str:
    """One honest paragraph: coverage, and per baseline the median skill and the hold-outs won."""
    d = df[df["forecaster"] == forecaster]
    if d.empty:
        return "No hold-out observation could be compared with the model."
    parts = [f"{int(d['in90'].sum())} of {len(d)} hold-outs fall inside the model's 90% interval."]
    for b in scoring.BASELINES:
        s = d[f"skill_{b}"].dropna() if f"skill_{b}" in d else pd.Series(dtype=float)
        if s.empty:
            continue
        med = float(np.median(s))
        verdict = "beats" if med > 0 else "LOSES TO"
        parts.append(f"Against {b} (the {len(s)} hold-outs it forecasts) the model {verdict} it: median "
                     f"skill {med:.2f}, lower CRPS on {int((s > 0).sum())} of {len(s)}.")
    return " ".join(parts)


# ============================================================================ stylized facts
# In borderscen.analysis.facts (issue 22, item 5); re-exported for compatibility.
__all__ = ["FACTS", "SCENARIO_FACTS", "Fact", "ObservedFact", "check", "evaluate", "holdout_scores",
           "holdout_verdict", "insample_scores", "insample_verdict", "replay", "validate_facts"]
