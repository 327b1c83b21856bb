"""Parametric against stochastic uncertainty: how much of an outcome's spread is the posterior's.

A nested design runs ``draws`` posterior draws, each under the same ``seeds``, and splits the
variance of a run-level outcome by the law of total variance (a one-way random-effects ANOVA):

  Var(Y) = Var_d(E[Y | draw]) + E_d(Var[Y | draw])
           parametric             stochastic

with the usual unbiased estimators (the between-draw mean square is corrected for the seeds'
noise). Seeds are shared across draws (common random numbers), so the comparison between draws
is not blurred by different noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from borderscen.inputs.posterior import posterior_sample
from borderscen.inputs.scenarios import build_scenario
from borderscen.inputs.space import border_map
from borderscen.progress import Progress
from borderscen.randomness import run_seed
from borderscen.runs import make_batch, summaries

DESERT = ("anbar_desert", "nineveh_desert", "badia", "abu_kamal", "deir_ezzor")


def split_variance(values: np.ndarray) -> dict[str, float]:
    """values: (draws, seeds). Returns total, parametric and stochastic variance and shares."""
    d, s = values.shape
    group_means = values.mean(axis=1)
    within = values.var(axis=1, ddof=1).mean() if s > 1 else 0.0
    between = max(group_means.var(ddof=1) - within / s, 0.0) if d > 1 else 0.0
    total = between + within
    return {"total_var": total, "parametric_var": between, "stochastic_var": within,
            "parametric_share": between / total if total > 0 else float("nan"),
            "stochastic_share": within / total if total > 0 else float("nan")}


def variance_decomposition(preset: str = "baseline", metrics: Sequence[str] = (
        "final_isis_members", "cum_attacks", "mean_cooperation", "months_partnership"),
        draws: int = 40, seeds: int = 10, root_seed: int = 5, horizon_months: int = 108,
        executor: Any = None, workers: int | None = None, scheduler: str | None = None,
        progress: Progress | None = None) -> pd.DataFrame:
    """One row per metric: the variance split over ``draws`` posterior draws x ``seeds`` seeds.

    The ``draws x seeds`` runs go through the runner (``executor``, ``workers``, ``scheduler`` as
    for :func:`~borderscen.experiments.run_experiment`; default serial, or a process pool when
    ``workers`` is given): the same split whatever they are. ``progress(done, total)`` counts
    the runs."""
    from borderscen.experiments.runner import resolve_executor, run_replications

    sample = posterior_sample()
    if sample is None or sample.empty:
        raise ValueError("no posterior sample is installed (run `borderscen calibrate --install`)")
    rows = np.random.default_rng(root_seed).choice(len(sample), size=min(draws, len(sample)), replace=False)
    seed_list = [run_seed(root_seed, j) for j in range(seeds)]
    drawn = [{k: float(v) for k, v in sample.iloc[r].items()} for r in rows for _ in seed_list]
    batch, _ = make_batch(build_scenario(preset), seed_list * len(rows), horizon_months, draws=drawn)
    kind, n_workers = resolve_executor(executor, workers, scheduler,
                                       default="process" if workers else "serial")
    result = run_replications(batch, kind, n_workers, scheduler, progress)
    zmap = border_map()
    table = summaries(result, np.isin(np.array(zmap.ids), DESERT))
    out = []
    for m in metrics:
        values = table[m].to_numpy(float).reshape(len(rows), seeds)
        out.append({"preset": preset, "metric": m, **split_variance(values)})
    return pd.DataFrame(out)
