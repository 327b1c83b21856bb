"""Validation: out-of-sample scores on the hold-out record, and stylized facts that can fail.

**Hold-outs.** ``holdout_scores`` runs the calibrated model (one posterior draw per replication)
from January 2022 through the hold-out period and compares each 2025-26 observation through its
channel: posterior predictive median, 90% interval, whether the observation falls inside, and
the continuous ranked probability score (CRPS, lower is better). Two naive forecasts are scored
the same way: persistence of the 2024 level and the 2022-24 log-linear trend of the same series.
Nothing here feeds back into calibration.

**Stylized facts** live in :mod:`borderscen.analysis.facts` (patterns of the 2022-24 record
checked against the model's intervals, each also run with its mechanism switched off, when it
must fail); they are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

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
from borderscen.analysis.observe import Comparable, comparable, model_value
from borderscen.kernel.core import run_batch
from borderscen.randomness import run_seed
from borderscen.record import holdouts, targets
from borderscen.runs import make_batch
from borderscen.scenarios import build_scenario


# ============================================================================ hold-outs
def crps_ensemble(samples: np.ndarray, y: float) -> float:
    """CRPS of an ensemble forecast: E|X - y| - E|X - X'| / 2 (exact for the empirical CDF)."""
    x = np.sort(np.asarray(samples, float))
    n = x.size
    first = np.abs(x - y).mean()
    second = (2 * np.arange(1, n + 1) - n - 1) @ x / (n * n)
    return float(first - second)


def _per_month(c: Comparable) -> float:
    return c.point / _months(c) if c.quantity in ("attacks", "operations", "neutralised") else c.point


def _months(c: Comparable) -> int:
    (y0, m0), (y1, m1) = (map(int, p.split("-")) for p in (c.start, c.end))
    return (y1 - y0) * 12 + m1 - m0 + 1


def _mid_year(c: Comparable) -> float:
    (y0, m0), (y1, m1) = (map(int, p.split("-")) for p in (c.start, c.end))
    return (y0 + (m0 - 0.5) / 12 + y1 + (m1 - 0.5) / 12) / 2


def naive_forecasts(h: Comparable, fit: Sequence[Comparable]) -> dict[str, float | None]:
    """Persistence of the last 2024 level and the 2022-24 log-linear trend of the same series."""
    same = [c for c in fit if (c.quantity, c.channel, c.country) == (h.quantity, h.channel, h.country)
            and math.isfinite(c.high)]
    scale = _months(h) if h.quantity in ("attacks", "operations", "neutralised") else 1
    if not same:
        return {"persistence": None, "trend": None}
    last = max(same, key=lambda c: (c.end, _months(c)))
    persistence = _per_month(last) * scale
    trend = None
    xs = np.array([_mid_year(c) for c in same])
    ys = np.array([_per_month(c) for c in same])
    if len(set(np.round(xs, 2))) >= 2 and (ys > 0).all():
        slope, intercept = np.polyfit(xs, np.log(ys), 1)
        trend = float(np.exp(intercept + slope * _mid_year(h))) * scale
    return {"persistence": persistence, "trend": trend}


def holdout_scores(replications: int = 200, seed: int = 11, parameters: str = "posterior",
                   until: str = "2026-12") -> pd.DataFrame:
    """One row per comparable hold-out: observation, model median and 90% interval, coverage,
    CRPS, and the naive forecasts' CRPS. Runs baseline (history, then its announced plans)."""
    y, m = map(int, until.split("-"))
    months = (y - 2022) * 12 + m
    scenario = build_scenario("baseline")
    seeds = [run_seed(seed, r) for r in range(replications)]
    batch, _ = make_batch(scenario, seeds, months, parameters)
    result = run_batch(batch)
    fit, _ = comparable(targets())
    held, skipped = comparable(holdouts())
    rows = []
    for h in held:
        v = model_value(result.monthly, result.dates, h)
        if v is None:
            continue
        lo, med, hi = np.percentile(v, [5, 50, 95])
        naive = naive_forecasts(h, fit)
        row = {"id": h.id, "quantity": h.quantity, "country": h.country, "channel": h.channel,
               "period": f"{h.start}/{h.end}", "observed": h.point,
               "observed_bounds": f"[{h.low:g}, {h.high:g}]", "model_median": med, "model_q05": lo,
               "model_q95": hi, "inside_90": bool(lo <= h.point <= hi) if math.isfinite(h.high)
               else bool(hi >= h.low), "crps_model": crps_ensemble(v, h.point)}
        for name, f in naive.items():
            row[f"{name}_forecast"] = f
            row[f"crps_{name}"] = abs(f - h.point) if f is not None else np.nan
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["skipped"] = skipped
    return df


def holdout_verdict(df: pd.DataFrame) -> str:
    """One honest paragraph: coverage, and whether the model beats the naive forecasts."""
    if df.empty:
        return "No hold-out observation could be compared with the model."
    n = len(df)
    cover = df["inside_90"].mean()
    parts = [f"{int(df['inside_90'].sum())} of {n} hold-outs fall inside the model's 90% interval "
             f"({cover:.0%})."]
    for name in ("persistence", "trend"):
        both = df.dropna(subset=[f"crps_{name}"])
        if both.empty:
            continue
        wins = int((both["crps_model"] < both[f"crps_{name}"]).sum())
        mean_m, mean_n = both["crps_model"].mean(), both[f"crps_{name}"].mean()
        verdict = "beats" if mean_m < mean_n else "LOSES TO"
        parts.append(f"Against {name} (on the {len(both)} hold-outs it can forecast) the model "
                     f"{verdict} it on mean CRPS ({mean_m:.3g} vs {mean_n:.3g}) and has the lower "
                     f"score on {wins} of {len(both)}.")
    return " ".join(parts)


# ============================================================================ stylized facts
# In borderscen.analysis.facts (issue 22, item 5); re-exported for compatibility.
__all__ = ["FACTS", "SCENARIO_FACTS", "Fact", "ObservedFact", "check", "crps_ensemble", "evaluate",
           "holdout_scores", "holdout_verdict", "naive_forecasts", "replay", "validate_facts"]
