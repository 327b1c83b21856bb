"""Pre-registered forecast scores (``docs/scoring.md``): CRPS, its log1p form, PIT, coverage.

Every forecast is read as a step distribution: a sample puts 1/n on each member, a quantile
grid puts on the value at level a_i the probability between the midpoints to its neighbours'
levels (the first and last also carry the tails). On that one CDF F:

- the CRPS of an observation known to lie in [low, high] is the interval-censored CRPS
  int_{-inf}^{low} F^2 + int_{high}^{inf} (1 - F)^2 (0 when all mass is inside; the ordinary
  CRPS when low == high; an "at least" figure has high = inf), computed exactly;
- the PIT is a uniform draw on [F(low-), F(high)] (randomised PIT), or its midpoint;
- a central interval covers the observation when it overlaps [low, high].

The scores are plain numpy: ``tests/test_scoring.py`` shows they equal ``scoringrules`` (the
``scoring`` extra) on exact observations. Tables: :func:`score_table` scores the backtest's
forecasts (one row per origin, observation and forecaster, quantiles in ``q0.005``..``q0.995``
columns), :func:`ensemble` adds the quantile-average forecaster, :func:`aggregate` gives median
skill, share won and coverage per horizon and per channel group, and :func:`verdict_dict` the
JSON verdict.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import overload

import numpy as np
import pandas as pd

from borderscen.mechanisms.observation import GROUP

#: The naive forecasters every other forecaster is scored against (analysis.baselines).
BASELINES = ("no_change", "trend", "nb_ar1")
#: Forecast horizons in months: a lead is reported at the smallest horizon at least as large.
HORIZONS = (1, 3, 6, 12)
#: First origin of the hold-out scores (the month after the calibration targets end).
HOLDOUT_FIRST_ORIGIN = "2025-01"
ENSEMBLE = "ensemble"
#: Quantile levels in (0, 1), increasing: a list or an array.
type Levels = Sequence[float] | np.ndarray
_ID = ("origin", "id")
_META = ("quantity", "channel", "country", "start", "end", "low", "high", "lead")


# ============================================================================ distributions
def _bounds(low: float, high: float | None) -> tuple[float, float]:
    lo = float(low)
    hi = lo if high is None else float(high)
    if math.isnan(lo) or math.isnan(hi) or math.isinf(lo):
        raise ValueError(f"observation bounds must be a finite low and a high >= low (or inf); "
                         f"got low={low!r}, high={high!r}")
    if hi < lo:
        raise ValueError(f"observation bounds have high < low: low={low!r}, high={high!r}")
    return lo, hi


def _sample_dist(samples: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    x = np.sort(np.asarray(samples, float).ravel())
    if x.size == 0:
        raise ValueError("a forecast sample is empty; give at least one value")
    if not np.isfinite(x).all():
        raise ValueError(f"a forecast sample holds {int((~np.isfinite(x)).sum())} non-finite values; "
                         "all must be finite")
    return x, np.full(x.size, 1.0 / x.size)


def level_weights(levels: Levels) -> np.ndarray:
    """Probability carried by each quantile level: half the gap to each neighbour, the tails
    below the first and above the last level going to the first and the last."""
    a = np.asarray(levels, float).ravel()
    if a.size == 0 or not ((a > 0) & (a < 1)).all() or (np.diff(a) <= 0).any():
        raise ValueError(f"quantile levels must be strictly increasing inside (0, 1); got "
                         f"{a.size} levels from {a.min() if a.size else 'none'} to "
                         f"{a.max() if a.size else 'none'}")
    edges = np.concatenate([[0.0], (a[1:] + a[:-1]) / 2, [1.0]])
    return np.diff(edges)


def _quantile_dist(q: Iterable[float], levels: Levels) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(q, float).ravel()
    w = level_weights(levels)
    if x.size != w.size:
        raise ValueError(f"{x.size} quantiles given for {w.size} levels; give one per level")
    if not np.isfinite(x).all():
        raise ValueError(f"a quantile forecast holds {int((~np.isfinite(x)).sum())} non-finite values")
    drop = np.diff(x)
    if (drop < -1e-9 * np.maximum(1.0, np.abs(x[1:]))).any():
        i = int(np.argmax(drop < 0))
        raise ValueError(f"quantiles must not decrease with the level: {x[i]!r} at level "
                         f"{levels[i]} then {x[i + 1]!r} at {levels[i + 1]}")
    return np.maximum.accumulate(x), w


def _dist(forecast: Iterable[float], levels: Levels | None) -> tuple[np.ndarray, np.ndarray]:
    return _sample_dist(forecast) if levels is None else _quantile_dist(forecast, levels)


def _crps_step(x: np.ndarray, w: np.ndarray, low: float, high: float) -> float:
    """int_{-inf}^{low} F^2 + int_{high}^{inf} (1-F)^2 for the step CDF of sorted x, weights w."""
    W = np.cumsum(w)
    W[-1] = 1.0
    right = np.append(x[1:], np.inf)  # F = W_i on [x_i, x_{i+1})
    below = np.clip(np.minimum(right, low) - x, 0.0, None)
    total = float(np.dot(W * W, below))
    if math.isfinite(high):
        left = np.insert(x[:-1], 0, -np.inf)  # 1 - F = 1 - W_{i-1} on [x_{i-1}, x_i)
        above = np.clip(x - np.maximum(left, high), 0.0, None)
        one_minus = 1.0 - np.insert(W[:-1], 0, 0.0)
        total += float(np.dot(one_minus * one_minus, above))
    return total


@overload
def _log1p(x: float) -> float: ...
@overload
def _log1p(x: np.ndarray) -> np.ndarray: ...
def _log1p(x: np.ndarray | float) -> np.ndarray | float:
    return np.log1p(np.maximum(x, 0.0))


# ============================================================================ scores
def crps_sample(samples: Iterable[float], low: float, high: float | None = None) -> float:
    """CRPS of a sample forecast for an observation in [low, high] (high None: exact value low;
    high inf: "at least" low). Exact for the sample's empirical distribution."""
    lo, hi = _bounds(low, high)
    x, w = _sample_dist(samples)
    return _crps_step(x, w, lo, hi)


def crps_quantiles(q: Iterable[float], levels: Levels, low: float,
                   high: float | None = None) -> float:
    """CRPS of a quantile-grid forecast (values ``q`` at ``levels``) for an observation in
    [low, high], the grid read as the step distribution of :func:`level_weights`."""
    lo, hi = _bounds(low, high)
    x, w = _quantile_dist(q, levels)
    return _crps_step(x, w, lo, hi)


def crps_log_sample(samples: Iterable[float], low: float, high: float | None = None) -> float:
    """:func:`crps_sample` after log(1 + max(x, 0)) of the forecast and of the bounds."""
    lo, hi = _bounds(low, high)
    return crps_sample(_log1p(np.asarray(samples, float)), _log1p(lo), _log1p(hi))


def crps_log_quantiles(q: Iterable[float], levels: Levels, low: float,
                       high: float | None = None) -> float:
    """:func:`crps_quantiles` on the log1p scale (quantiles transform exactly: log1p is monotone)."""
    lo, hi = _bounds(low, high)
    return crps_quantiles(_log1p(np.asarray(q, float)), levels, _log1p(lo), _log1p(hi))


def pit(forecast: Iterable[float], low: float, high: float | None = None,
        levels: Levels | None = None, rng: np.random.Generator | None = None) -> float:
    """PIT of an observation in [low, high]: a uniform draw on [F(low-), F(high)] with ``rng``
    (the randomised PIT; for an exact value, the usual one for ties), or the midpoint of that
    range without ``rng``. ``forecast`` is a sample, or quantiles at ``levels``."""
    lo, hi = _bounds(low, high)
    x, w = _dist(forecast, levels)
    f_lo = float(w[x < lo].sum())
    f_hi = 1.0 if math.isinf(hi) else float(w[x <= hi].sum())
    f_lo, f_hi = min(f_lo, 1.0), min(max(f_hi, f_lo), 1.0)
    if rng is None:
        return (f_lo + f_hi) / 2
    return float(f_lo + (f_hi - f_lo) * rng.random())


def central_interval(forecast: Iterable[float], width: float,
                     levels: Levels | None = None) -> tuple[float, float]:
    """The central ``width`` interval: quantiles (1 - width)/2 and (1 + width)/2 (linear in the
    level between grid points; ``np.quantile``'s default for a sample)."""
    if not 0 < width < 1:
        raise ValueError(f"interval width must be inside (0, 1); got {width!r}")
    lv = ((1 - width) / 2, (1 + width) / 2)
    if levels is None:
        x, _ = _sample_dist(forecast)
        lo, hi = np.quantile(x, lv)
        return float(lo), float(hi)
    x, _ = _quantile_dist(forecast, levels)
    a = np.asarray(levels, float)
    if lv[0] < a[0] - 1e-12 or lv[1] > a[-1] + 1e-12:
        raise ValueError(f"a {width:.0%} interval needs levels {lv[0]:g} and {lv[1]:g}; the grid "
                         f"runs from {a[0]:g} to {a[-1]:g}")
    lo, hi = np.interp(lv, a, x)
    return float(lo), float(hi)


def covered(q: Iterable[float], levels: Levels | None, low: float, high: float | None,
            width: float) -> bool:
    """Whether the central ``width`` interval overlaps the observation's bounds [low, high]."""
    lo, hi = _bounds(low, high)
    a, b = central_interval(q, width, levels)
    return bool(a <= hi and b >= lo)


def skill(crps: np.ndarray | float, crps_baseline: np.ndarray | float) -> np.ndarray:
    """1 - CRPS / CRPS_baseline; where the baseline scores 0: 0 if the forecast does too, else -inf.
    NaN where either score is missing."""
    s = np.asarray(crps, float)
    b = np.asarray(crps_baseline, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - s / b
    out = np.where(b == 0, np.where(s == 0, 0.0, -np.inf), out)
    return np.where(np.isnan(s) | np.isnan(b), np.nan, out)


def horizon(lead: int | float) -> int:
    """The smallest horizon in HORIZONS at least as large as ``lead`` (months)."""
    for h in HORIZONS:
        if 1 <= lead <= h:
            return h
    raise ValueError(f"lead {lead!r} months is outside the scored leads 1..{HORIZONS[-1]}")


# ============================================================================ tables
def quantile_levels(df: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The quantile columns (``q0.005``...) of a forecasts table and their levels, in order."""
    cols = []
    for c in df.columns:
        if isinstance(c, str) and c.startswith("q"):
            try:
                cols.append((float(c[1:]), c))
            except ValueError:
                continue
    if not cols:
        raise ValueError("the forecasts table has no quantile columns (named like 'q0.050')")
    cols.sort()
    return [c for _, c in cols], np.array([lv for lv, _ in cols])


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks the columns {missing}; it has {list(df.columns)}")


def _group(quantity: str) -> str:
    try:
        return GROUP[quantity]
    except KeyError:
        raise ValueError(f"quantity {quantity!r} has no channel group; known: {sorted(GROUP)}") from None


def score_table(forecasts: pd.DataFrame, seed: int = 0,
                baselines: Sequence[str] = BASELINES) -> pd.DataFrame:
    """One row per (origin, id, forecaster) with crps, crps_log, pit (randomised, seeded by
    ``seed``), pit_mid, in50, in90, lead, horizon and group, and for each baseline present in the
    table ``skill_<b>`` and ``skill_log_<b>`` (NaN where that baseline has no forecast)."""
    _require(forecasts, (*_ID, "forecaster", "quantity", "low", "high", "lead"), "the forecasts table")
    cols, levels = quantile_levels(forecasts)
    dup = forecasts.duplicated(list(_ID) + ["forecaster"])
    if dup.any():
        r = forecasts[dup].iloc[0]
        raise ValueError(f"the forecasts table has {int(dup.sum())} repeated (origin, id, forecaster) "
                         f"rows, e.g. ({r['origin']}, {r['id']}, {r['forecaster']})")
    rng = np.random.default_rng(seed)
    q = forecasts[cols].to_numpy(float)
    rows = []
    keep = [c for c in (*_ID, "forecaster", *_META) if c in forecasts.columns]
    for i, rec in enumerate(forecasts[keep].to_dict("records")):
        lo, hi = _bounds(rec["low"], rec["high"])
        x = q[i]
        rows.append(rec | {
            "group": _group(rec["quantity"]), "horizon": horizon(rec["lead"]),
            "crps": crps_quantiles(x, levels, lo, hi), "crps_log": crps_log_quantiles(x, levels, lo, hi),
            "pit": pit(x, lo, hi, levels, rng), "pit_mid": pit(x, lo, hi, levels),
            "in50": covered(x, levels, lo, hi, 0.5), "in90": covered(x, levels, lo, hi, 0.9),
            "censored": bool(hi > lo)})
    out = pd.DataFrame(rows)
    key = list(_ID)
    for b in baselines:
        if b not in set(out["forecaster"]):
            continue
        base = out.loc[out["forecaster"] == b, [*key, "crps", "crps_log"]].rename(
            columns={"crps": "_b", "crps_log": "_bl"})
        m = out[key].merge(base, on=key, how="left")
        out[f"skill_{b}"] = skill(out["crps"].to_numpy(), m["_b"].to_numpy())
        out[f"skill_log_{b}"] = skill(out["crps_log"].to_numpy(), m["_bl"].to_numpy())
    return out


def ensemble(forecasts: pd.DataFrame, members: Sequence[str] | None = None, name: str = ENSEMBLE,
             min_members: int = 2) -> pd.DataFrame:
    """The forecasts table with the equal-weight quantile average (Vincentization) of
    ``members`` (default: every forecaster in the table) added as forecaster ``name``, for each
    (origin, id) that has at least ``min_members`` of them."""
    _require(forecasts, (*_ID, "forecaster"), "the forecasts table")
    cols, _ = quantile_levels(forecasts)
    pool = forecasts[forecasts["forecaster"] != name]
    if members is not None:
        unknown = sorted(set(members) - set(pool["forecaster"]))
        if unknown:
            raise ValueError(f"ensemble members {unknown} are not in the table; it has "
                             f"{sorted(set(pool['forecaster']))}")
        pool = pool[pool["forecaster"].isin(members)]
    if pool.empty:
        return forecasts.copy()
    key = list(_ID)
    meta = [c for c in pool.columns if c not in cols and c != "forecaster"]
    grouped = pool.groupby(key, sort=False, dropna=False)
    mean = grouped[cols].mean()
    count = grouped["forecaster"].nunique()
    other = [c for c in meta if c not in key]
    rows = (grouped[other].first().join(mean) if other else mean).loc[count >= min_members].reset_index()
    rows["forecaster"] = name
    return pd.concat([forecasts[forecasts["forecaster"] != name], rows[forecasts.columns.intersection(
        rows.columns)]], ignore_index=True)


def _median(x: pd.Series) -> float:
    v = x.dropna().to_numpy(float)
    return float(np.median(v)) if v.size else np.nan


def _won(x: pd.Series) -> float:
    v = x.dropna().to_numpy(float)
    return float((v > 0).mean()) if v.size else np.nan


def aggregate(scores: pd.DataFrame) -> pd.DataFrame:
    """Median skill, share won (skill > 0), n and coverage, per forecaster x baseline, for each
    horizon (all groups, unit-free skills pooled), each channel group (all horizons) and overall.

    Columns ``horizon`` and ``group`` hold a value or "all"; a group never shares a row with
    another group. ``n`` counts the observations with that baseline's forecast; ``n_scored``,
    ``n_censored`` and the coverages count every scored observation of the forecaster."""
    _require(scores, ("forecaster", "horizon", "group", "in50", "in90"), "the scores table")
    baselines = [c[len("skill_"):] for c in scores.columns
                 if c.startswith("skill_") and not c.startswith("skill_log_")]
    cells = [("all", "all", scores)]
    cells += [(str(h), "all", d) for h, d in scores.groupby("horizon", sort=True)]
    cells += [("all", str(g), d) for g, d in scores.groupby("group", sort=True)]
    rows = []
    for hz, grp, cell in cells:
        for fc, d in cell.groupby("forecaster", sort=True):
            common = {"forecaster": fc, "horizon": hz, "group": grp, "n_scored": len(d),
                      "n_censored": int(d["censored"].sum()) if "censored" in d else np.nan,
                      "coverage50": float(d["in50"].mean()), "coverage90": float(d["in90"].mean())}
            for b in baselines:
                if b == fc:
                    continue
                s, sl = d[f"skill_{b}"], d[f"skill_log_{b}"]
                rows.append(common | {"baseline": b, "n": int(s.notna().sum()),
                                      "median_skill": _median(s), "share_won": _won(s),
                                      "median_skill_log": _median(sl), "share_won_log": _won(sl)})
            if not baselines:
                rows.append(common | {"baseline": None, "n": 0})
    order = ["forecaster", "baseline", "horizon", "group", "n", "median_skill", "share_won",
             "median_skill_log", "share_won_log", "n_scored", "n_censored", "coverage50", "coverage90"]
    out = pd.DataFrame(rows)
    return out[[c for c in order if c in out.columns]]


def pit_histogram(scores: pd.DataFrame, bins: int = 10, column: str = "pit") -> np.ndarray:
    """Counts of the (randomised) PIT in ``bins`` equal bins of [0, 1]."""
    v = scores[column].dropna().to_numpy(float)
    return np.histogram(np.clip(v, 0, 1), bins=bins, range=(0.0, 1.0))[0]


# ============================================================================ verdict
def _month_text(origin) -> str:
    if isinstance(origin, str):
        return origin[:7]
    return f"{pd.Timestamp(origin):%Y-%m}"


def _finite(x: float) -> float | None:
    return float(x) if x is not None and np.isfinite(x) else None


def holdout_rows(scores: pd.DataFrame, ids: Iterable[str], first: str = HOLDOUT_FIRST_ORIGIN) -> pd.DataFrame:
    """Each hold-out's single scored row: from the earliest origin at or after ``first`` that
    forecast it (docs/scoring.md, section 3)."""
    ids = set(ids)
    d = scores[scores["id"].isin(ids)].copy()
    d["_o"] = d["origin"].map(_month_text)
    d = d[d["_o"] >= first]
    if d.empty:
        return d.drop(columns="_o")
    earliest = d.groupby("id")["_o"].transform("min")
    return d[d["_o"] == earliest].drop(columns="_o")


def comparable_holdout_ids() -> list[str]:
    """The ids of the comparable 2025-26 hold-outs (``data/holdout.toml``)."""
    from borderscen.assimilation.observe import comparable
    from borderscen.inputs.record import holdouts

    kept, _ = comparable(holdouts())
    return [c.id for c in kept]


def holdout_summary(held: pd.DataFrame, baselines: Iterable[str]) -> dict:
    """The ``holdout`` verdict of one forecaster's hold-out rows (:func:`holdout_rows`): n,
    inside90 (a count), median_skill {baseline: median skill or None}, ids."""
    return {"n": len(held), "inside90": int(held["in90"].sum()),
            "median_skill": {b: _finite(_median(held[f"skill_{b}"])) for b in baselines},
            "ids": sorted(held["id"])}


def verdict_dict(scores: pd.DataFrame, forecaster: str = "abm", holdout_ids: Iterable[str] | None = None,
                 holdout_first: str = HOLDOUT_FIRST_ORIGIN) -> dict:
    """The JSON verdict of one forecaster: ``backtest`` (coverage90 pooled over origins,
    coverage50, skill {horizon: {baseline: median skill}}, origins) and ``holdout`` (n, inside90,
    median_skill {baseline: median skill}, ids). Non-finite medians are None."""
    _require(scores, ("origin", "id", "forecaster", "horizon", "in90", "in50"), "the scores table")
    known = sorted(set(scores["forecaster"]))
    if forecaster not in known:
        raise ValueError(f"forecaster {forecaster!r} is not in the scores table; it has {known}")
    d = scores[scores["forecaster"] == forecaster]
    baselines = [b for b in BASELINES if f"skill_{b}" in d.columns and b != forecaster]
    skill_by = {str(h): {b: _finite(_median(d.loc[d["horizon"] == h, f"skill_{b}"])) for b in baselines}
                for h in HORIZONS if (d["horizon"] == h).any()}
    ids = list(comparable_holdout_ids() if holdout_ids is None else holdout_ids)
    held = holdout_rows(d, ids, holdout_first)
    return {
        "backtest": {"coverage90": _finite(d["in90"].mean()), "coverage50": _finite(d["in50"].mean()),
                     "skill": skill_by, "origins": sorted({_month_text(o) for o in d["origin"]}),
                     "n": len(d)},
        "holdout": holdout_summary(held, baselines) | {"origin_first": holdout_first},
    }


__all__ = ["BASELINES", "ENSEMBLE", "HORIZONS", "aggregate", "central_interval", "covered",
           "crps_log_quantiles", "crps_log_sample", "crps_quantiles", "crps_sample", "ensemble",
           "holdout_rows", "horizon", "level_weights", "pit", "pit_histogram", "quantile_levels",
           "score_table", "skill", "verdict_dict"]
