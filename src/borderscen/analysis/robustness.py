"""Robust policy: each named policy across the ensemble of futures of a policy design
(``[sweep.policies]`` crossed with an LHS over uncertainties; see borderscen.inputs.levers).

A *future* is one (scenario, uncertainty sample, replication): every policy meets it with the
same parameter values and the same seed. Two measures (Kwakkel et al. 2016; McPhail et al. 2018):

- satisficing robustness: the share of futures in which a policy meets the criteria (a
  condition on run-level columns, as in scenario discovery), with a Wilson 95% interval;
- regret: in each future, how far a policy's outcome falls from the best policy's outcome in
  that same future; reported as mean, 90th percentile and maximum over futures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from borderscen.analysis.discovery import where_mask
from borderscen.analysis.summaries import wilson_interval
from borderscen.inputs.levers import POLICY

#: Candidates for the ISIS-strength and regime columns of the default criteria (first found).
MEMBERS_COLUMNS = ("final_isis_members", "final_isis_fighters")
REGIME_COLUMNS = ("final_regime", "regime_end")
#: Candidates for the default regret metric (lower is better).
REGRET_COLUMNS = ("cum_attacks",)


def _first(columns: Sequence[str], candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in columns), None)


def default_criteria(runs: pd.DataFrame) -> str:
    """'ISIS contained and no deterioration': members at the horizon no more than at the branch
    month (``isis_growth <= 1``) and a final regime other than deterioration."""
    from borderscen.inputs.params import registry
    parts = []
    members = _first(runs.columns, MEMBERS_COLUMNS)
    reg = registry()
    if "isis_growth" in runs.columns:  # members at the horizon no more than at the branch
        parts.append("isis_growth <= 1")
    elif members and (initial := next((reg[n].default for n in ("isis_members_initial",) if n in reg),
                                      None)) is not None:
        parts.append(f"{members} <= {initial:g}")
    regime = _first(runs.columns, REGIME_COLUMNS)
    if regime:
        parts.append(f"{regime} != 'deterioration'")
    if not parts:
        raise ValueError("no default criteria for these outputs; pass criteria='...'")
    return " and ".join(parts)


def _policy_runs(results) -> pd.DataFrame:
    design = results.design
    if POLICY not in design.columns:
        raise ValueError(f"{results.name} has no policies: declare [sweep.policies.NAME] tables "
                         "(lever = value) next to an LHS over uncertainties")
    runs = results.runs
    runs = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    return runs.merge(design[["point", POLICY, "future"]], on="point", how="left")


def robustness(results, criteria: str | None = None, regret_metric: str | None = None,
               minimize: bool = True) -> pd.DataFrame:
    """One row per policy, ranked: satisficing robustness with its interval, and the regret of
    ``regret_metric`` (default cumulative attacks, lower is better) against the best policy in
    each future."""
    runs = _policy_runs(results)
    criteria = criteria or default_criteria(runs)
    metric = regret_metric or _first(runs.columns, REGRET_COLUMNS)
    runs = runs.assign(_ok=where_mask(runs, criteria).to_numpy())
    futures = ["scenario", "future", "replication"]
    g = runs.groupby(POLICY, observed=True)
    k, n = g["_ok"].sum(), g.size()
    lo, hi = wilson_interval(k.to_numpy(), n.to_numpy())
    table = pd.DataFrame({"robustness": (k / n).to_numpy(), "lo": np.clip(lo, 0, 1),
                          "hi": np.clip(hi, 0, 1),
                          "n_futures": n.to_numpy()}, index=k.index)
    if metric:
        wide = runs.pivot_table(index=futures, columns=POLICY, values=metric, observed=True)
        best = wide.min(axis=1) if minimize else wide.max(axis=1)
        regret = (wide.sub(best, axis=0) if minimize else -wide.sub(best, axis=0)).dropna()
        table["mean_" + metric] = g[metric].mean()
        table["mean_regret"] = regret.mean()
        table["p90_regret"] = regret.quantile(0.9)
        table["max_regret"] = regret.max()
        table["best_in_share"] = (regret == 0).mean()
        table["regret_metric"] = metric
    table["criteria"] = criteria
    table = table.reset_index().rename(columns={"index": POLICY})
    keys = ["robustness", "mean_regret"] if metric else ["robustness"]
    table = table.sort_values(keys, ascending=[False, True][:len(keys)]).reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


def regret_table(results, metric: str, minimize: bool = True) -> pd.DataFrame:
    """Regret of each policy in each future (rows: scenario, future, replication)."""
    runs = _policy_runs(results)
    wide = runs.pivot_table(index=["scenario", "future", "replication"], columns=POLICY,
                            values=metric, observed=True)
    best = wide.min(axis=1) if minimize else wide.max(axis=1)
    return wide.sub(best, axis=0) if minimize else -wide.sub(best, axis=0)
