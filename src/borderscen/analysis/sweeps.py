"""Design-aware summaries: a sweep's results split by design point, never pooled (functions of
tables; ``res.quantiles``, ``res.end_state`` etc. in ``borderscen.analysis.results`` use them
whenever a batch has more than one point).

The design comes from the manifest (``design_points``, ``swept`` and, for policy designs,
``config.sweep.policies``). Every table carries the point index and a readable label such as
``tehran_camp_initial = 0.25``. Replication r has the same seed at every point, so differences
between points are paired (common random numbers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from borderscen.analysis.summaries import DEFAULT_QUANTILES, _num, _ok, paired, require
from borderscen.analysis.summaries import quantiles as _quantiles
from borderscen.analysis.summaries import regime_probabilities as _regime_probabilities
from borderscen.inputs.levers import POLICY, future_of_points, policy_of_points

#: Above this many points, summaries are long tables (one row per point) rather than wide.
WIDE_MAX_POINTS = 8


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e6:
        return f"{v:.0f}"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def policies_of(manifest: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    sweep = (manifest.get("config") or {}).get("sweep") or {}
    return dict(sweep.get("policies") or {})


def design_table(manifest: Mapping[str, Any]) -> pd.DataFrame:
    """One row per design point: point, label, policy and future (policy designs only), and the
    value of every swept parameter and lever."""
    points: list[dict[str, float]] = list(manifest.get("design_points") or [{}])
    swept: list[str] = list(manifest.get("swept") or [])
    policies = policies_of(manifest)
    names = list(policies)
    table = pd.DataFrame(points).reindex(columns=list(dict.fromkeys(
        [*swept, *(k for p in points for k in p)])))
    table.insert(0, "point", range(len(points)))
    labels = [", ".join(f"{k} = {_fmt(p[k])}" for k in swept if k in p) for p in points]
    if names:
        pol = policy_of_points(len(points), names)
        table.insert(1, POLICY, pol)
        table.insert(2, "future", future_of_points(len(points), names))
        labels = [f"{POLICY} = {n}" + (f", {lab}" if lab else "") for n, lab in zip(pol, labels,
                                                                                     strict=True)]
    table.insert(1, "label", [lab or "(no sweep)" for lab in labels])
    return table


def swept_parameters(manifest: Mapping[str, Any]) -> list[str]:
    return list(manifest.get("swept") or [])


def with_labels(df: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the design's label (and policy) columns placed after ``point``."""
    extra = [c for c in ("label", POLICY, "future") if c in design.columns and c not in df.columns]
    out = df.merge(design[["point", *extra]], on="point", how="left")
    cols = list(df.columns)
    at = cols.index("point") + 1
    return out[[*cols[:at], *extra, *cols[at:]]]


def quantiles(ts: pd.DataFrame, design: pd.DataFrame, output: str,
              q: Sequence[float] = DEFAULT_QUANTILES) -> pd.DataFrame:
    """Quantiles of a monthly output per scenario, design point and date."""
    return with_labels(_quantiles(ts, output, q, by=("scenario", "point", "date")), design)


def regime_probabilities(ts: pd.DataFrame, design: pd.DataFrame) -> pd.DataFrame:
    """Share of runs in each regime per scenario, design point and date."""
    return with_labels(_regime_probabilities(ts, by=("scenario", "point", "date")), design)


def end_state(runs: pd.DataFrame, design: pd.DataFrame, metrics: Sequence[str],
              interval: float = 0.9) -> pd.DataFrame:
    """Median [central interval] of end-of-run metrics, one row per scenario and design point."""
    require(runs, ["scenario", "point", *metrics], "runs")
    ok = _ok(runs)
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    g = ok.groupby(["scenario", "point"], observed=True)
    out = g.size().rename("n").to_frame()
    for m in metrics:
        if ok[m].dtype == bool or ok[m].dtype == object or isinstance(ok[m].dtype, pd.StringDtype):
            if ok[m].dtype == bool:
                out[f"{m} (share)"] = g[m].mean().round(3)
            else:
                out[f"{m} (mode)"] = g[m].agg(lambda s: s.value_counts().index[0])
            continue
        med, lo, hi = g[m].median(), g[m].quantile(lo_q), g[m].quantile(hi_q)
        out[m] = [f"{_num(a)} [{_num(b)}, {_num(c)}]" for a, b, c in zip(med, lo, hi, strict=True)]
    return with_labels(out.reset_index(), design)


def summary(runs: pd.DataFrame, design: pd.DataFrame, metrics: Sequence[str],
            interval: float = 0.9, wide: bool | None = None) -> pd.DataFrame:
    """The end state as `borderscen summarize` shows it: one column per (scenario, point label)
    and one row per metric when there are few points (``wide``), else the long table of
    :func:`end_state`."""
    return shaped(end_state(runs, design, metrics, interval), len(design), wide)


def shaped(long: pd.DataFrame, n_points: int, wide: bool | None = None) -> pd.DataFrame:
    """A long end-state table (one row per scenario and point) as :func:`summary` shows it:
    wide (a column per series, a row per metric) when ``wide`` or, if None, up to
    :data:`WIDE_MAX_POINTS` points."""
    if wide is None:
        wide = n_points <= WIDE_MAX_POINTS
    if not wide:
        return long
    value_cols = [c for c in long.columns if c not in ("scenario", "point", "label", POLICY, "future")]
    long = long.assign(column=[f"{s} | {lab}" if n_points > 1 else str(s)
                               for s, lab in zip(long["scenario"], long["label"], strict=True)])
    table = long.set_index("column")[value_cols].T
    table.index.name = "metric"
    table.columns.name = None
    return table


def _point_index(design: pd.DataFrame, ref: int | str) -> int:
    if isinstance(ref, int | np.integer):
        if ref not in set(design["point"]):
            raise ValueError(f"no design point {ref}; points are 0..{len(design) - 1}")
        return int(ref)
    hit = design.index[design["label"] == ref]
    if len(hit) == 0:
        raise ValueError(f"no design point labelled {ref!r}; labels: {list(design['label'])[:10]}")
    return int(design.loc[hit[0], "point"])


def point_differences(runs: pd.DataFrame, design: pd.DataFrame, metric: str,
                      reference: int | str = 0, points: Sequence[int | str] | None = None,
                      level: float = 0.95) -> pd.DataFrame:
    """Per scenario and point: mean of (point - reference point) over replications sharing a
    seed, with a t-interval. ``reference`` and ``points`` take point indices or labels."""
    require(runs, ["scenario", "point", metric], "runs")
    ok = _ok(runs)
    ref = _point_index(design, reference)
    others = ([_point_index(design, p) for p in points] if points is not None
              else [p for p in design["point"] if p != ref])
    wide = ok.pivot_table(index=["scenario", "replication"], columns="point", values=metric,
                          observed=True)
    rows = []
    for sc in wide.index.get_level_values("scenario").unique():
        block = wide.xs(sc, level="scenario")
        if ref not in block.columns:
            continue
        for p in others:
            if p not in block.columns:
                continue
            rows.append({"scenario": sc, "point": p, "reference": ref, "metric": metric,
                         **paired(block[p] - block[ref], level),
                         "reference_mean": float(block[ref].mean())})
    out = pd.DataFrame(rows)
    if len(out):
        labels = design.set_index("point")["label"]
        out.insert(2, "label", out["point"].map(labels))
        out.insert(4, "reference_label", out["reference"].map(labels))
    return out


def response_curve(runs: pd.DataFrame, metric: str, parameter: str,
                   q: Sequence[float] = (0.1, 0.5, 0.9), max_levels: int = 12,
                   by: str = "scenario") -> pd.DataFrame:
    """Median and band of a run-level metric against one swept parameter, one curve per value
    of ``by`` (the scenario, or e.g. the policy of a policy design).

    A grid's values are used as they are; a continuous design (LHS) with more than
    ``max_levels`` distinct values is cut into that many equal-count bins (x = bin median)."""
    require(runs, [metric], "runs")
    ok = _ok(runs)
    if by not in ok.columns:
        raise ValueError(f"cannot split by {by!r}: no such column")
    if parameter not in ok.columns:
        raise ValueError(f"{parameter!r} is not a swept parameter of these results")
    x = ok[parameter].astype(float)
    if x.nunique() > max_levels:
        bins = pd.qcut(x, max_levels, duplicates="drop")
        x = x.groupby(bins, observed=True).transform("median")
    g = ok.assign(_x=x).groupby([by, "_x"], observed=True)[metric]
    out = g.quantile(list(q)).unstack()
    out.columns = [f"q{c:g}" for c in out.columns]
    out["mean"] = g.mean()
    out["n"] = g.size()
    return out.reset_index().rename(columns={"_x": parameter})
