"""The 2026-30 assumptions as axes (ODD 7.1b; ``experiments/axes.toml``): how far each axis
moves the headline outcomes, next to the presets' own effect.

An axes experiment crosses the presets with a grid over the axes (:data:`AXES`). Every effect is
a paired difference under common random numbers (replication r has one seed at every point and
in every scenario):

- an axis at a value: the point with that axis at the value and every other swept axis at its
  registry default, minus the point with all of them at their defaults, in the same scenario;
- a preset: the preset minus baseline, both with every axis at its default.

:func:`axes_chart` draws them as dots (the mean over replications) with two intervals: the 95%
confidence interval of the mean (thick) and the 5-95% range of the per-replication differences
(thin, how much one future can differ from another). :func:`at_defaults` is the experiment seen
at the axes' defaults only, for the standard figures.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, MaxNLocator

from borderscen.analysis.summaries import paired
from borderscen.inputs.params import registry
from borderscen.plots.style import (
    FigureAndTable,
    caption,
    colours_for,
    label,
    present,
    scenario_order,
    styled,
)

#: The 2026-30 axes in the registry (ODD 7.1b): exit timetable, residual forces, Damascus's path.
AXES = ("us_exit_delay_months", "residual_troops_syria", "residual_troops_iraq",
        "damascus_capacity_growth")
#: Headline outcomes (run-level metrics of the runs table), in panel order.
HEADLINE = ("cum_attacks_syria", "cum_attacks_iraq", "final_isis_members", "months_partnership")
#: Row labels of the axes at a value ``v`` (``d``: the registry default).
AXIS_TEXT = {
    "us_exit_delay_months": "US exits {v:g} months late",
    "residual_troops_syria": "{v:,.0f} US troops stay in NE Syria",
    "residual_troops_iraq": "{v:,.0f} US troops stay at Harir/Erbil",
    "damascus_capacity_growth": "Damascus capacity growth {v:g}/month (default {d:g})",
}
#: Panel units: what a difference of each headline metric counts.
UNITS = {"cum_attacks_syria": "attacks", "cum_attacks_iraq": "attacks",
         "final_isis_members": "members", "months_partnership": "months"}
REFERENCE = "baseline"


def axis_defaults(axes: Sequence[str]) -> dict[str, float]:
    reg = registry()
    return {a: float(reg[a].default) for a in axes}


def swept_axes(runs: pd.DataFrame, swept: Sequence[str] | None = None) -> list[str]:
    """The axes swept in ``runs`` (``swept``: the manifest's list, else the columns present)."""
    names = list(swept) if swept is not None else [a for a in AXES if a in runs.columns]
    return [a for a in names if a in AXES and a in runs.columns]


def reference_point(runs: pd.DataFrame, axes: Sequence[str]) -> int:
    """The design point with every axis at its registry default."""
    defaults = axis_defaults(axes)
    at = np.ones(len(runs), bool)
    for a, d in defaults.items():
        at &= np.isclose(runs[a].astype(float), d)
    points = sorted(set(runs.loc[at, "point"].astype(int)))
    if not points:
        lacking = [a for a, d in defaults.items() if not np.isclose(runs[a].astype(float), d).any()]
        raise ValueError(f"axes design: no design point has every axis at its default "
                         f"({', '.join(f'{a}={defaults[a]:g}' for a in lacking or list(defaults))} "
                         "missing); each axis's grid must include its registry default")
    return points[0]


def is_axes_design(results) -> bool:
    """A sweep over axes only (at least one), whose grid includes the all-defaults point."""
    swept = list(results.manifest.get("swept", []))
    if not swept or any(p not in AXES for p in swept):
        return False
    defaults = axis_defaults(swept)
    return any(all(math.isclose(float(pt.get(a, math.nan)), d) for a, d in defaults.items())
               for pt in results.manifest.get("design_points", []))


def _row_text(axis: str, value: float, default: float) -> str:
    return AXIS_TEXT.get(axis, "{name} = {v:g} (default {d:g})").format(name=axis, v=value,
                                                                          d=default)


def _pairs(block: pd.DataFrame, metric: str, point: int, ref: int) -> pd.Series:
    a = block[block["point"] == point].set_index("replication")[metric].astype(float)
    b = block[block["point"] == ref].set_index("replication")[metric].astype(float)
    return (a - b.reindex(a.index)).dropna()


def _summary(d: pd.Series) -> dict[str, float]:
    out = paired(d)
    q05, q95 = (np.quantile(d, [0.05, 0.95]) if len(d) else (np.nan, np.nan))
    return {**out, "q05": float(q05), "q95": float(q95)}


def axis_effects(runs: pd.DataFrame, metrics: Sequence[str] = HEADLINE,
                 swept: Sequence[str] | None = None, reference: str = REFERENCE) -> pd.DataFrame:
    """One row per (effect, scenario, metric): paired differences over replications.

    Columns: ``kind`` ('preset' or 'axis'), ``effect`` (the row label), ``axis``, ``value``,
    ``scenario``, ``metric``, ``mean_diff`` with its 95% t-interval ``lo``/``hi``, ``q05``/``q95``
    (5-95% of the per-replication differences), ``n_pairs`` and ``reference_mean`` (the metric's
    mean at the point it is compared with).
    """
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    axes = swept_axes(ok, swept)
    if not axes:
        raise ValueError(f"axis_effects: the runs table sweeps none of the axes {', '.join(AXES)}")
    metrics = present(ok, metrics)
    if not metrics:
        raise ValueError(f"axis_effects: none of the metrics {', '.join(HEADLINE)} is in the runs table")
    defaults = axis_defaults(axes)
    ref = reference_point(ok, axes)
    points = ok.drop_duplicates("point").set_index("point")[axes].astype(float)
    scenarios = scenario_order(ok)
    rows: list[dict[str, Any]] = []
    for sc in scenarios:
        block = ok[ok["scenario"].astype(str) == sc]
        base = block[block["point"] == ref]
        for axis in axes:
            others = [a for a in axes if a != axis]
            at_default = np.all([np.isclose(points[a], defaults[a]) for a in others], axis=0) \
                if others else np.ones(len(points), bool)
            for point, value in points.loc[at_default, axis].sort_values().items():
                if np.isclose(value, defaults[axis]):
                    continue
                for m in metrics:
                    rows.append({"kind": "axis", "effect": _row_text(axis, value, defaults[axis]),
                                 "axis": axis, "value": value, "scenario": sc, "metric": m,
                                 **_summary(_pairs(block, m, int(point), ref)),
                                 "reference_mean": float(base[m].mean())})
    if reference in scenarios:
        at_ref = ok[ok["point"] == ref]
        wide = {m: at_ref.pivot_table(index="replication", columns="scenario", values=m,
                                      observed=True) for m in metrics}
        for sc in scenarios:
            if sc == reference:
                continue
            for m in metrics:
                rows.append({"kind": "preset", "effect": f"preset {sc} (vs {reference})", "axis": "",
                             "value": np.nan, "scenario": sc, "metric": m,
                             **_summary((wide[m][sc] - wide[m][reference]).dropna()),
                             "reference_mean": float(wide[m][reference].mean())})
    return pd.DataFrame(rows)


@styled
def axes_chart(runs: pd.DataFrame, metrics: Sequence[str] = HEADLINE,
               swept: Sequence[str] | None = None, colours: Mapping[str, str] | None = None,
               period: str = "", horizon: str = "", reference: str = REFERENCE) -> FigureAndTable:
    """Dot-and-interval chart, one panel per headline metric: each row an axis at one value
    (a dot per scenario) or a preset against baseline; rows ordered by the size of their
    largest effect on the first metric. ``period`` (e.g. 'Feb 2026 - Dec 2030') names the
    window of the cumulative metrics, ``horizon`` (e.g. 'Dec 2030') the month of the final ones."""
    table = axis_effects(runs, metrics, swept, reference)
    scenarios = list(dict.fromkeys(table["scenario"]))
    colours = colours_for(scenario_order(runs), colours)
    metrics = list(dict.fromkeys(table["metric"]))
    first = table[table["metric"] == metrics[0]]
    size = first.groupby("effect")["mean_diff"].apply(lambda s: s.abs().max())
    presets = [e for e in dict.fromkeys(first.loc[first["kind"] == "preset", "effect"])]
    axis_rows = sorted(dict.fromkeys(first.loc[first["kind"] == "axis", "effect"]),
                       key=lambda e: -size[e])
    rows = axis_rows + presets  # top to bottom
    ypos = {e: -i - (0.6 if e in presets else 0.0) for i, e in enumerate(rows)}
    ncol = 2 if len(metrics) > 1 else 1
    nrow = math.ceil(len(metrics) / ncol)
    fig, axs = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, 0.42 * len(rows) * nrow + 1.6 * nrow),
                            sharey=True, squeeze=False, layout="constrained")
    width = 0.62
    for ax, m in zip(axs.ravel(), metrics, strict=False):
        d = table[table["metric"] == m]
        for _, r in d.iterrows():
            on_row = scenarios if r["kind"] == "axis" else [r["scenario"]]
            k = on_row.index(r["scenario"])
            y = ypos[r["effect"]] + (0.0 if len(on_row) == 1 else
                                     width * (0.5 - (k + 0.5) / len(on_row)))
            c = colours[r["scenario"]]
            ax.plot([r["q05"], r["q95"]], [y, y], color=c, lw=0.9, alpha=0.55, solid_capstyle="butt")
            ax.plot([r["lo"], r["hi"]], [y, y], color=c, lw=3.2, solid_capstyle="butt")
            ax.plot([r["mean_diff"]], [y], "o", color=c, ms=4.5, mec="white", mew=0.5,
                    label=r["scenario"] if r["kind"] == "axis" else None)
        ax.axvline(0, color="black", lw=0.8)
        if presets:
            ax.axhline(ypos[presets[0]] + 0.8, color="#999999", lw=0.6, ls="--")
        title, unit = label(m)
        when = (f", {period}" if period and m.startswith("cum_") else
                f", {horizon}" if horizon and m.startswith("final_") else "")
        ax.set_title(f"{title}{when}", fontsize=10)
        ax.set_xlabel(f"difference from the reference, {UNITS.get(m, unit)}")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
        ax.tick_params(axis="y", labelsize=8.5)
        ax.grid(axis="y", visible=False)
    for ax in axs.ravel()[len(metrics):]:
        ax.set_visible(False)
    axs[0, 0].set_yticks([ypos[e] for e in rows], rows)
    axs[0, 0].set_ylim(min(ypos.values()) - 0.6, 0.6)
    handles = [plt.Line2D([], [], color=colours[s], marker="o", lw=3.2, label=s) for s in scenarios]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(scenarios), frameon=False,
               fontsize=9)
    n = int(table["n_pairs"].min()) if len(table) else 0
    fig.suptitle("What moves 2026-30: each assumption's effect on the headline outcomes, "
                 "next to the presets' own effect", fontsize=11)
    caption(fig, f"Each row: an axis at one value, every other axis at its default, minus the same "
            f"scenario with all axes at their defaults (a dot per scenario); below the dashed line, "
            f"each preset minus {reference} with the axes at their defaults. Dot: mean paired "
            f"difference over {n} replications sharing seeds (common random numbers); thick bar: "
            "its 95% confidence interval; thin line: 5-95% of the per-replication differences. "
            "Axis values from the registry (docs/parameters.md); the Damascus growth values are "
            "assumptions.", width=150)
    return fig, table


class AtDefaults:
    """An axes experiment seen at the axes' defaults only (the presets' own runs), read like
    :class:`~borderscen.experiments.store.Results` by the standard figures."""

    def __init__(self, results):
        self._results = results
        self.point = reference_point(results.runs, list(results.manifest["swept"]))
        self.manifest = {**results.manifest, "swept": [],
                         "design_points": [results.manifest["design_points"][self.point]]}
        self.id = results.id
        self.scenarios = list(results.scenarios)
        self._cache: dict[str, pd.DataFrame] = {}

    def _at(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            df = getattr(self._results, name)
            self._cache[name] = df[df["point"] == self.point].reset_index(drop=True)
        return self._cache[name]

    @property
    def timeseries(self) -> pd.DataFrame:
        return self._at("timeseries")

    @property
    def runs(self) -> pd.DataFrame:
        return self._at("runs")

    @property
    def zones(self) -> pd.DataFrame:
        return self._at("zones")


def at_defaults(results) -> AtDefaults:
    return AtDefaults(results)
