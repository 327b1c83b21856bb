"""The analyses of a stored batch, as the methods of :class:`~borderscen.experiments.store.Results`
(``res.quantiles(...)``, ``res.end_state()`` and the rest): registered on the store's reader when
borderscen is imported, so the store never imports analysis (data flows store -> analysis).

One summary API. Whenever a batch has more than one design point (a sweep), every summary is
split by point and carries the point's readable label (``iran_pressure = 0.25``); nothing pools
points. Without a sweep the tables are those of :mod:`borderscen.analysis.summaries`.

Streamed. Each summary reads only the columns it needs, one scenario at a time: the merged
tables hold one row group per chunk and a chunk never mixes scenarios, so a scenario's filter
reads only that scenario's row groups. Quantiles are exact (pandas' linear interpolation, as
the in-memory functions), and memory grows with the runs of one scenario's few columns, not
with the whole batch. Row groups are read and grouped on the calling thread (Arrow's thread
pools would each keep what they allocated: at 100,000 runs the zone means held about 30 MB
more, and took longer, on 2 cores).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from borderscen.analysis import summaries, sweeps
from borderscen.experiments.store import Results, check_columns, register_analysis
from borderscen.mechanisms.cooperation import REGIMES

#: Columns that identify a run in the runs table (read along with a run-level metric).
_RUN_KEYS = ("scenario", "point", "replication", "status")


def _by(res: Results, by: Sequence[str] | None) -> tuple[str, ...]:
    if by is not None:
        return tuple(by)
    return ("scenario", "point", "date") if res.is_sweep else ("scenario", "date")


def _check(res: Results, table: str, names: Sequence[str]) -> None:
    """A clear error (did-you-mean, or an old output's new name) before anything is read."""
    check_columns(res.root / f"{table}.parquet", table, names, res.columns(table))


def _present(res: Results, table: str, names: Sequence[str]) -> list[str]:
    have = set(res.columns(table))
    return [c for c in names if c in have]


def by_scenario(res: Results, table: str, columns: Sequence[str],
                scenarios: Sequence[str] | None = None) -> Iterator[tuple[str, pd.DataFrame]]:
    """``(scenario, frame)`` for each scenario with rows, reading only ``columns`` of that
    scenario's row groups (:meth:`Results.read_arrow`); the frame's scenario column is an
    ordered categorical over the batch's scenarios."""
    columns = [c for c in dict.fromkeys(columns) if c != "scenario"]
    for sc in scenarios if scenarios is not None else res.scenarios:
        part = res.read_arrow(table, columns, scenario=sc).to_pandas()
        if len(part):
            codes = np.full(len(part), res.scenarios.index(sc), dtype=np.int32)
            part.insert(0, "scenario", pd.Categorical.from_codes(codes, categories=res.scenarios,
                                                                 ordered=True))
            yield sc, part


def _stack(res: Results, parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-scenario tables, keeping the scenario column an ordered categorical."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    if "scenario" in out.columns:
        out["scenario"] = pd.Categorical(out["scenario"].astype(str), categories=res.scenarios,
                                         ordered=True)
    return out


def _labelled(res: Results, df: pd.DataFrame) -> pd.DataFrame:
    return sweeps.with_labels(df, design(res)) if "point" in df.columns and len(df) else df


@register_analysis("design")
def design(res: Results) -> pd.DataFrame:
    return sweeps.design_table(res.manifest)


def _monthly(res: Results, fn, needed: Sequence[str], by: tuple[str, ...], **kw) -> pd.DataFrame:
    """``fn(frame, by=by, **kw)`` per scenario over the needed timeseries columns, stacked."""
    _check(res, "timeseries", [*by, *needed])
    if "scenario" not in by:  # pooled over scenarios: one read of the needed columns
        return _labelled(res, fn(res.read("timeseries", columns=[*by, *needed]), by=by, **kw))
    parts = [fn(part, by=by, **kw) for _, part in by_scenario(res, "timeseries", [*by, *needed])]
    return _labelled(res, _stack(res, parts))


@register_analysis("quantiles")
def quantiles(res: Results, output: str, q: Sequence[float] = summaries.DEFAULT_QUANTILES,
              by: Sequence[str] | None = None) -> pd.DataFrame:
    """Quantiles (columns q0.5 etc.), mean and n of a monthly output per scenario and date, and
    per design point (with its label) on a sweep."""
    by = _by(res, by)
    if "scenario" not in by or len(by) == 1:
        return _monthly(res, lambda df, by: summaries.quantiles(df, output, q, by=by), [output], by)
    _check(res, "timeseries", [*by, output])
    keys = [b for b in by if b != "scenario"]
    parts = []
    for sc in res.scenarios:  # one scenario's key and output columns at a time, as arrays
        months = run_months(res, sc, keys, output)
        if months is not None:
            part = months.quantiles(q)
        else:  # rows not laid out run by run over the same months: group them
            t = res.read_arrow("timeseries", [*keys, output], scenario=sc)
            if not t.num_rows:
                continue
            part = grouped_quantiles(t, keys, output, q)
        part.insert(0, "scenario", sc)
        parts.append(part)
    return _labelled(res, _stack(res, parts))


class RunMonths:
    """One scenario's monthly ``output`` as a (months, runs) matrix per combination of the keys
    other than ``date`` (a design point): the compact form of a stored timeseries column, 8
    bytes a run-month, for exact per-month statistics without grouping row by row."""

    def __init__(self, keys: list[str], groups: pd.DataFrame, matrices: list[np.ndarray],
                 dates: pd.Series):
        self.keys, self.groups, self.matrices, self.dates = keys, groups, matrices, dates

    def _frame(self, rows: list[dict[str, np.ndarray]]) -> pd.DataFrame:
        """Rows for each group and month, as :func:`grouped_quantiles` orders them."""
        parts = []
        for (_, g), cols in zip(self.groups.iterrows(), rows, strict=True):
            frame = pd.DataFrame({k: np.repeat(g[k], len(self.dates)) for k in self.keys
                                  if k != "date"})
            if "date" in self.keys:
                frame["date"] = self.dates.to_numpy()
            for name, values in cols.items():
                frame[name] = values
            parts.append(frame[[*self.keys, *cols]])
        return pd.concat(parts, ignore_index=True).sort_values(self.keys, kind="stable") \
            .reset_index(drop=True)

    def quantiles(self, q: Sequence[float]) -> pd.DataFrame:
        """As :func:`grouped_quantiles` (the same values: each month's runs, in run order)."""
        qs = np.asarray(q, dtype=float)
        rows = []
        for m in self.matrices:
            stats = _row_stats(m, qs)
            cols = {f"q{c:g}": stats[:, j] for j, c in enumerate(qs)}
            rows.append({**cols, "mean": stats[:, -1],
                         "n": np.full(m.shape[0], m.shape[1], dtype=np.int64)})
        return self._frame(rows)

    def shares(self, hits: Mapping[str, Any]) -> pd.DataFrame:
        """Share of runs where ``hit(values)`` holds per group and month, for each named hit,
        with a Wilson 95% interval: :func:`summaries.state_shares`' columns (``state``, ``p``,
        ``lo``, ``hi``, ``n``), a row per group, month and state."""
        parts = []
        for order, (name, hit) in enumerate(hits.items()):
            rows = []
            for m in self.matrices:
                k = hit(m).sum(axis=1)
                n = np.full(m.shape[0], m.shape[1], dtype=np.int64)
                lo, hi = summaries.wilson_interval(k, n)
                rows.append({"p": k / np.maximum(n, 1), "lo": lo, "hi": hi, "n": n})
            parts.append(self._frame(rows).assign(state=name, _state=order))
        out = pd.concat(parts, ignore_index=True).sort_values([*self.keys, "_state"], kind="stable")
        return out[[*self.keys, "state", "p", "lo", "hi", "n"]].reset_index(drop=True)


def run_months(res: Results, scenario: str, keys: Sequence[str], output: str) -> RunMonths | None:
    """``output`` of one scenario as :class:`RunMonths`, read a row group at a time; None when
    the rows are not laid out run by run over the same months (keys other than ``date`` that
    vary within a run, runs of different lengths or months), for the caller to group instead.

    The stored rows are sorted by run, month and zone, so each run is a block of consecutive
    rows. A (runs, months) matrix is allocated once, for as many runs as the whole table could
    hold (pages never written, past the runs written, are never resident), each row group is
    written into it, and the runs read are transposed into (months, runs): memory is twice the
    scenario's matrix (8 bytes a run-month) and one row group, with no long-lived small arrays
    left between short-lived ones to fragment the heap."""
    keys = list(keys)
    others = [k for k in keys if k != "date"]
    capacity = max(res.manifest.get("rows", {}).get("timeseries", 0), 1)
    tables = res.iter_arrow("timeseries", list(dict.fromkeys(["run", "step", *others, output])),
                            scenario=scenario)
    head = next(tables, None)
    if head is None:
        return None
    run0 = head["run"].to_numpy(zero_copy_only=False)
    T = int(np.argmax(run0 != run0[0])) if (run0 != run0[0]).any() else len(run0)
    steps = head["step"].to_numpy(zero_copy_only=False)[:T].copy()
    first = next(iter(res.iter_arrow("timeseries", ["date"], scenario=scenario)))["date"] \
        .slice(0, T).to_pandas()
    matrix = np.empty((capacity // T + 1, T))  # run-major: only the prefix written is resident
    labels = np.zeros((capacity // T + 1, len(others)), dtype=np.int64)
    n = 0
    for t in itertools.chain([head], tables):
        run, step = (t[c].to_numpy(zero_copy_only=False) for c in ("run", "step"))
        if len(run) % T:
            return None
        R = len(run) // T
        by_run = run.reshape(R, T)
        if n + R > len(matrix) or (by_run != by_run[:, :1]).any() or (step.reshape(R, T) != steps).any():
            return None
        for j, k in enumerate(others):
            v = np.asarray(t[k].to_numpy(zero_copy_only=False)).reshape(R, T)
            if v.dtype.kind not in "iub" or (v != v[:, :1]).any():
                return None
            labels[n:n + R, j] = v[:, 0]
        matrix[n:n + R] = np.asarray(t[output].to_numpy(zero_copy_only=False), dtype=float).reshape(R, T)
        n += R
    if not others:
        return RunMonths(keys, pd.DataFrame(index=[0]), [np.ascontiguousarray(matrix[:n].T)], first)
    groups, inverse = np.unique(labels[:n], axis=0, return_inverse=True)
    inverse = inverse.ravel()
    matrices = [np.ascontiguousarray(matrix[:n][inverse == g].T) for g in range(len(groups))]
    table = pd.DataFrame({k: groups[:, j] for j, k in enumerate(others)})
    return RunMonths(keys, table, matrices, first)


def _segment_stats(seg: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Quantiles (linear interpolation) and mean of ``seg``'s values that are not NaN: len(qs)
    + 1 numbers, NaN when it has none."""
    seg = seg[~np.isnan(seg)]
    if not len(seg):
        return np.full(len(qs) + 1, np.nan)
    return np.append(np.quantile(seg, qs), seg.mean())


def _row_stats(matrix: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """:func:`_segment_stats` of each row of ``matrix``, (rows, len(qs) + 1): the rows without
    a NaN at once (numpy reduces each row as it would alone: the same numbers), the others one
    by one."""
    out = np.full((len(matrix), len(qs) + 1), np.nan)
    gaps = np.isnan(matrix).any(axis=1)
    full = matrix[~gaps]
    if full.size:
        out[~gaps, :-1] = np.quantile(full, qs, axis=1).T
        out[~gaps, -1] = full.mean(axis=1)
    for g in np.flatnonzero(gaps):
        out[g] = _segment_stats(matrix[g], qs)
    return out


def grouped_quantiles(t: pa.Table, keys: Sequence[str], output: str,
                      q: Sequence[float] = summaries.DEFAULT_QUANTILES) -> pd.DataFrame:
    """Quantiles (linear interpolation, NaN skipped: pandas' ``groupby().quantile``), mean and n
    of ``output`` per distinct combination of ``keys``, sorted by the keys, from an Arrow table.

    The rows stay numpy arrays (the output and one integer code per row): no per-row Python
    objects and no pandas groupby copies, so memory is a few arrays of the table's length."""
    codes = np.zeros(t.num_rows, dtype=np.int64)
    dictionaries = []
    for k in keys:
        enc = pc.dictionary_encode(t[k]).combine_chunks()
        dictionaries.append(enc.dictionary)
        codes = codes * len(enc.dictionary) + enc.indices.to_numpy(zero_copy_only=False)
    values = np.asarray(t[output].to_numpy(), dtype=float)
    counts = np.bincount(codes, minlength=1)  # codes are small: count them, never sort them
    groups = np.flatnonzero(counts)
    inverse = (np.cumsum(counts > 0) - 1)[codes]  # each row's group, 0..len(groups)-1
    if len(groups) <= np.iinfo(np.int16).max:  # a stable sort of small integers is a radix sort
        inverse = inverse.astype(np.int16)
    order = np.argsort(inverse, kind="stable")
    sizes = counts[groups]
    ends = np.cumsum(sizes)
    qs = np.asarray(q, dtype=float)
    grouped = values[order]  # each group's values together, in the table's order
    if len(groups) and (sizes == sizes[0]).all():  # as many rows in every group (every run has
        # every month): one matrix, a row per group
        rows = _row_stats(grouped.reshape(len(groups), int(sizes[0])), qs)
    else:
        segments = [grouped[int(e - n):int(e)] for e, n in zip(ends, sizes, strict=True)]
        rows = np.array([_segment_stats(seg, qs) for seg in segments]).reshape(len(groups), len(qs) + 1)
    out = {}
    rest = groups.copy()
    for k, d in reversed(list(zip(keys, dictionaries, strict=True))):
        out[k] = d.take(pa.array(rest % len(d))).to_pandas()
        rest //= len(d)
    frame = pd.DataFrame({k: out[k] for k in keys})
    for j, c in enumerate(qs):
        frame[f"q{c:g}"] = rows[:, j]
    frame["mean"] = rows[:, -1]
    frame["n"] = np.diff(np.concatenate([[0], ends])).astype(np.int64)
    return frame.sort_values(list(keys), kind="stable").reset_index(drop=True)


@register_analysis("regime_probabilities")
def regime_probabilities(res: Results, by: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of runs in each regime per scenario and date, and per design point on a sweep
    (from the new government's first month, as :func:`summaries.regime_probabilities`). The
    regimes are counted in pyarrow per scenario; only the counts reach pandas."""
    by = _by(res, by)
    _check(res, "timeseries", [*by, "regime"])
    if "scenario" not in by or len(by) == 1:
        return _labelled(res, summaries.regime_probabilities(
            res.read("timeseries", columns=[*by, "regime"]), by=by))
    keys = [b for b in by if b != "scenario"]
    parts = []
    for sc in res.scenarios:  # counted a row group at a time, the regime dictionary-encoded
        counted = []
        for t in res.iter_arrow("timeseries", [*keys, "regime"], scenario=sc, dictionary=["regime"]):
            t = t.set_column(t.schema.get_field_index("regime"), "regime",
                             t["regime"].cast(pa.string()))
            t = t.filter(pc.not_equal(t["regime"], "none"))
            if t.num_rows:
                counted.append(t.group_by([*keys, "regime"], use_threads=False).aggregate(
                    [("regime", "count")]))
        if not counted:
            continue
        counts = pa.concat_tables(counted).group_by([*keys, "regime"], use_threads=False).aggregate(
            [("regime_count", "sum")]).rename_columns([*keys, "regime", "regime_count"]).to_pandas()
        wide = counts.pivot_table(index=keys, columns="regime", values="regime_count",
                                  aggfunc="sum", fill_value=0).sort_index()
        for r in REGIMES:
            if r not in wide.columns:
                wide[r] = 0
        shares = wide[list(REGIMES)].div(wide[list(REGIMES)].sum(axis=1), axis=0).astype(float)
        shares = shares.reset_index()
        shares.insert(0, "scenario", sc)
        parts.append(shares)
    out = _stack(res, parts)
    out.columns.name = "regime"
    return _labelled(res, out)


def threshold_probability(res: Results, output: str, threshold: float,
                          by: Sequence[str] | None = None) -> pd.DataFrame:
    """P(output > threshold) with a Wilson interval per scenario and date (and point)."""
    by = _by(res, by)
    shares = _streamed_shares(res, output, {"": lambda m: m > threshold}, by)
    if shares is not None:
        return shares.drop(columns="state")
    return _monthly(res, lambda df, by: summaries.threshold_probability(df, output, threshold, by=by),
                    [output], by)


def state_shares(res: Results, output: str, states: Mapping[str, float],
                 by: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of runs in each named state of a categorical monthly output, with a Wilson
    interval, per scenario and date (and point): :func:`summaries.state_shares`, streamed."""
    by = _by(res, by)
    shares = _streamed_shares(res, output, {name: (lambda m, v=value: m == v)
                                            for name, value in states.items()}, by)
    if shares is not None:
        return shares
    return _monthly(res, lambda df, by: summaries.state_shares(df, output, states, by=by),
                    [output], by)


def _streamed_shares(res: Results, output: str, hits: Mapping[str, Any],
                     by: Sequence[str]) -> pd.DataFrame | None:
    """:meth:`RunMonths.shares` per scenario, stacked; None when ``by`` is not the scenario and
    monthly keys or a scenario's rows are not laid out run by run (then group the rows)."""
    if by[:1] != ("scenario",) or "date" not in by:
        return None
    _check(res, "timeseries", [*by, output])
    keys = list(by[1:])
    parts = []
    for sc in res.scenarios:
        months = run_months(res, sc, keys, output)
        if months is None:
            return None
        part = months.shares(hits)
        part.insert(0, "scenario", sc)
        parts.append(part)
    return _labelled(res, _stack(res, parts))


def _runs(res: Results, metrics: Sequence[str], scenarios: Sequence[str] | None = None):
    _check(res, "runs", metrics)
    keys = _present(res, "runs", _RUN_KEYS)
    return by_scenario(res, "runs", [*keys, *metrics], scenarios)


@register_analysis("end_state")
def end_state(res: Results, metrics: Sequence[str] = summaries.END_STATE_METRICS,
              interval: float = 0.9, wide: bool | None = False,
              split: bool | None = None) -> pd.DataFrame:
    """Median [central interval] of end-of-run outcomes: one row per scenario, or, on a sweep
    (``split``; default: when there is more than one point), one row per scenario and point with
    its label and run count. ``wide``: a row per metric and a column per series (scenario, or
    'scenario | point label'), as ``borderscen summarize`` prints it; None: wide unless the sweep
    has more than :data:`~borderscen.analysis.sweeps.WIDE_MAX_POINTS` points."""
    metrics = list(metrics)
    split = res.is_sweep if split is None else split
    if split:
        table = design(res)
        long = _stack(res, [sweeps.end_state(part, table, metrics, interval)
                            for _, part in _runs(res, metrics)])
        return sweeps.shaped(long, len(table), wide)
    parts = [summaries.end_state_table(part, metrics, interval) for _, part in _runs(res, metrics)]
    out = pd.concat(parts)
    out.index = pd.CategoricalIndex(out.index.astype(str), categories=res.scenarios, ordered=True,
                                    name="scenario")
    return out.T if wide or wide is None else out


@register_analysis("paired_differences")
def paired_differences(res: Results, metric: str, baseline: str = "baseline",
                       level: float = 0.95, by_point: bool | None = None) -> pd.DataFrame:
    """Mean (scenario - baseline) of a run-level metric over replications sharing a seed, with
    a t-interval, per scenario; on a sweep (``by_point``; default: when there is more than one
    point) per scenario and design point, each point's runs paired with the baseline's at the
    same point. Reads the baseline and one scenario at a time."""
    by_point = res.is_sweep if by_point is None else by_point
    if baseline not in res.scenarios:
        raise ValueError(f"no scenario named {baseline!r}; have {sorted(res.scenarios)}")
    base = [part for _, part in _runs(res, [metric], [baseline])]
    rows = []
    for sc in res.scenarios:
        if sc == baseline:
            continue
        for _, part in _runs(res, [metric], [sc]):
            both = pd.concat([*base, part], ignore_index=True)
            both["scenario"] = both["scenario"].astype(str)
            rows.append(summaries.paired_differences(both, metric, baseline, level, by_point))
    out = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if by_point and len(out):
        labels = design(res).set_index("point")["label"]
        out.insert(out.columns.get_loc("point") + 1, "label", out["point"].map(labels))
    return out


@register_analysis("point_differences")
def point_differences(res: Results, metric: str, reference: int | str = 0, **kw) -> pd.DataFrame:
    keys = _present(res, "runs", _RUN_KEYS)
    runs = res.read("runs", columns=list(dict.fromkeys([*keys, metric])))
    return sweeps.point_differences(runs, design(res), metric, reference, **kw)


@register_analysis("response_curve")
def response_curve(res: Results, metric: str, parameter: str, **kw) -> pd.DataFrame:
    return sweeps.response_curve(sweeps.with_labels(res.runs, design(res)), metric, parameter, **kw)


@register_analysis("discover")
def discover(res: Results, where: str, **kw) -> Any:
    from borderscen.analysis.discovery import discover
    return discover(res, where, **kw)


@register_analysis("robustness")
def robustness(res: Results, **kw) -> Any:
    from borderscen.analysis.robustness import robustness
    return robustness(res, **kw)


@register_analysis("to_ema")
def to_ema(res: Results, **kw) -> Any:
    from borderscen.analysis.export import results_to_ema
    return results_to_ema(res, **kw)


@register_analysis("to_xarray")
def to_xarray(res: Results, **kw) -> Any:
    from borderscen.analysis.export import to_xarray
    return to_xarray(res, **kw)


@register_analysis("given_data_sensitivity")
def given_data_sensitivity(res: Results, outputs, method: str = "pawn", **kw) -> pd.DataFrame:
    from borderscen.analysis.given_data import given_data_indices
    return given_data_indices(res.runs, res.manifest["swept"], outputs, method, **kw)


def zone_means(res: Results, value: str = "attacks", size: str = "members") -> pd.DataFrame:
    """Mean monthly ``value`` and ``size`` per scenario, design point and zone over every run and
    month, with the first and last month (what the zone maps draw). Sums and counts are taken
    in pyarrow one row group (chunk of runs) at a time, the zone read dictionary-encoded and
    the design point filled from the footer where a row group holds one, and combined: memory
    does not grow with the number of runs. Every run covers every zone in every month it has
    zone rows (the tables are whole grids of runs, months and zones; a filtered start's from the
    branch month on), so the first and last month are the scenario's
    (:meth:`Results.column_range`: from the footer, no dates read)."""
    _check(res, "zones", ["point", "zone", "date", value, size])
    keys = ["scenario", "point", "zone"]
    parts, spans = [], {}
    for sc in res.scenarios:
        span = res.column_range("zones", "date", scenario=sc)
        if span is not None:
            spans[sc] = span.to_pandas()
        for t in res.iter_arrow("zones", ["point", "zone", value, size], scenario=sc,
                                dictionary=["zone"], constant=["point"]):
            agg = t.group_by(["point", "zone"], use_threads=False).aggregate(
                [(value, "sum"), (size, "sum"), (value, "count"), (size, "count")])
            agg = agg.set_column(agg.schema.get_field_index("zone"), "zone",
                                 agg["zone"].cast(agg["zone"].type.value_type)).to_pandas()
            agg.insert(0, "scenario", sc)
            parts.append(agg)
    if not parts:
        return pd.DataFrame(columns=[*keys, value, size, "first", "last"])
    g = pd.concat(parts, ignore_index=True).groupby(keys, sort=False)
    out = pd.DataFrame({value: g[f"{value}_sum"].sum() / g[f"{value}_count"].sum(),
                        size: g[f"{size}_sum"].sum() / g[f"{size}_count"].sum()}).reset_index()
    for i, end in enumerate(("first", "last")):  # the scenario's months, in the stored unit
        out[end] = pd.Series([spans[sc].iloc[i] for sc in out["scenario"]],
                             dtype=next(iter(spans.values())).dtype)
    out = _stack(res, [out])
    return out.sort_values(keys, ignore_index=True)
