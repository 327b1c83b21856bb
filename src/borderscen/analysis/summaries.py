"""Summaries of a batch for tables and figures: quantile bands, regime probabilities, paired
differences under common random numbers, and end-state tables.

These are functions of tables (DataFrames); ``borderscen.analysis.results`` applies them to a
stored batch one scenario at a time and splits a sweep by design point (``res.quantiles`` etc.).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

from borderscen.experiments.store import check_columns
from borderscen.mechanisms.cooperation import REGIMES

DEFAULT_QUANTILES = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)  # median with 50/80/95% bands
#: End-of-run outcomes shown by `borderscen summarize` and the end-state figure.
END_STATE_METRICS = ("cum_attacks_iraq", "cum_attacks_syria", "cum_attacks_tracked", "cum_casualties",
                     "final_isis_members", "isis_growth", "resurgence", "mean_cooperation",
                     "months_partnership", "final_pipeline_stage", "pipeline_operating")


def _ok(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["status"] == "ok"] if "status" in runs.columns else runs


def require(df: pd.DataFrame, columns: Sequence[str], table: str = "timeseries") -> None:
    """A clear error (did-you-mean, or an old output's new name) for a column ``df`` lacks."""
    check_columns(f"{table} table", table, columns, [str(c) for c in df.columns])


def t_quantile(p: float, dof: int) -> float:
    """Student-t quantile: ``scipy.special.stdtrit``, the function ``scipy.stats.t.ppf`` calls
    (the same values), without importing ``scipy.stats`` (about 0.9 s, in every figure worker
    that draws the paired differences)."""
    return float(special.stdtrit(dof, p))


def quantiles(ts: pd.DataFrame, output: str, q: Sequence[float] = DEFAULT_QUANTILES,
              by: Sequence[str] = ("scenario", "date")) -> pd.DataFrame:
    """Quantiles of an output per scenario and date (one column per quantile, named q0.5 etc.)."""
    require(ts, [*by, output])
    grouped = ts.groupby(list(by), observed=True)[output]
    out = grouped.quantile(list(q)).unstack()
    out.columns = [f"q{c:g}" for c in out.columns]
    out["mean"] = grouped.mean()
    out["n"] = grouped.size()
    return out.reset_index()


def regime_probabilities(ts: pd.DataFrame, by: Sequence[str] = ("scenario", "date")) -> pd.DataFrame:
    """Share of runs in each regime per scenario and date (from the new government's first month:
    before December 2024 there is no Baghdad-Damascus relationship to classify)."""
    require(ts, [*by, "regime"])
    ts = ts[ts["regime"] != "none"]
    counts = pd.crosstab([ts[b] for b in by], ts["regime"], normalize="index")
    for r in REGIMES:
        if r not in counts.columns:
            counts[r] = 0.0
    return counts[list(REGIMES)].reset_index()


def threshold_probability(ts: pd.DataFrame, output: str, threshold: float,
                          by: Sequence[str] = ("scenario", "date")) -> pd.DataFrame:
    """P(output > threshold) per scenario and date, with a Wilson 95% interval."""
    require(ts, [*by, output])
    return _share(ts, ts[output] > threshold, by)


def _share(ts: pd.DataFrame, hit: pd.Series, by: Sequence[str]) -> pd.DataFrame:
    """Share of rows where ``hit`` holds per group of ``by``, with a Wilson 95% interval."""
    g = ts.assign(_hit=hit).groupby(list(by), observed=True)["_hit"]
    k, n = g.sum(), g.size()
    lo, hi = wilson_interval(k.to_numpy(), n.to_numpy())
    return pd.DataFrame({"p": (k / n).to_numpy(), "lo": lo, "hi": hi, "n": n.to_numpy()},
                        index=k.index).reset_index()


def state_shares(ts: pd.DataFrame, output: str, states: Mapping[str, float],
                 by: Sequence[str] = ("scenario", "date")) -> pd.DataFrame:
    """Share of runs in each named state of a categorical output (e.g. ``isis_tempo``: 1
    campaign, 2 lull) per scenario and date, with a Wilson 95% interval: one row per group and
    state (columns ``state``, ``p``, ``lo``, ``hi``, ``n``)."""
    require(ts, [*by, output])
    parts = [_share(ts, ts[output] == value, by).assign(state=name) for name, value in states.items()]
    out = pd.concat(parts, keys=range(len(parts)), names=["_state", None]).reset_index(level=0)
    # by group, then the states in the order given (the same order a streamed read stacks)
    out = out.sort_values([*by, "_state"], kind="stable").reset_index(drop=True)
    return out[[*by, "state", "p", "lo", "hi", "n"]]


def wilson_interval(k: np.ndarray, n: np.ndarray, z: float = 1.96):
    n = np.maximum(n, 1)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def paired(d: pd.Series, level: float = 0.95) -> dict[str, float]:
    """Mean of paired differences with a t-interval (NaN bounds below two pairs)."""
    d = d.dropna().astype(float)
    n = len(d)
    mean = float(d.mean()) if n else np.nan
    se = float(d.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    t = t_quantile(0.5 + level / 2, n - 1) if n > 1 else np.nan
    return {"mean_diff": mean, "lo": mean - t * se, "hi": mean + t * se, "n_pairs": n}


def paired_differences(runs: pd.DataFrame, metric: str, baseline: str = "baseline",
                       level: float = 0.95, by_point: bool = False) -> pd.DataFrame:
    """Per scenario: mean of (scenario - baseline) over replications sharing a seed, with a
    t-interval. Common random numbers make these paired differences far tighter than the spread
    of either scenario alone. ``by_point``: one row per scenario and design point, each pairing
    a point's replications with the baseline's at the same point (a sweep)."""
    require(runs, ["scenario", metric], "runs")
    ok = _ok(runs)
    if baseline not in set(ok["scenario"]):
        raise ValueError(f"no scenario named {baseline!r}; have {sorted(set(ok['scenario']))}")
    index = ["point", "replication"] if "point" in ok.columns else ["replication"]
    wide = ok.pivot_table(index=index, columns="scenario", values=metric, observed=True)
    groups = ([(p, wide.xs(p, level="point")) for p in wide.index.get_level_values("point").unique()]
              if by_point and "point" in index else [(None, wide)])
    rows = []
    for point, block in groups:
        for sc in block.columns:
            if sc == baseline or baseline not in block.columns:
                continue
            where = {} if point is None else {"point": int(point)}
            rows.append({"scenario": sc, **where, "baseline": baseline, "metric": metric,
                         **paired(block[sc] - block[baseline], level),
                         "baseline_mean": float(block[baseline].mean())})
    return pd.DataFrame(rows)


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def end_state_table(runs: pd.DataFrame, metrics: Sequence[str] = END_STATE_METRICS,
                    interval: float = 0.9) -> pd.DataFrame:
    """Median and central interval of end-of-run outcomes per scenario (one row per scenario)."""
    require(runs, ["scenario", *metrics], "runs")
    ok = _ok(runs)
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    out = {}
    for m in metrics:
        g = ok.groupby("scenario", observed=True)[m]
        if ok[m].dtype == bool:
            out[f"{m} (share)"] = g.mean().round(3).astype(str)
            continue
        med, lo, hi = g.median(), g.quantile(lo_q), g.quantile(hi_q)
        out[m] = [f"{_num(a)} [{_num(b)}, {_num(c)}]" for a, b, c in zip(med, lo, hi, strict=True)]
        index = med.index
    table = pd.DataFrame(out, index=index)
    table.index.name = "scenario"
    return table
