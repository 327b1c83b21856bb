"""End-state distributions per scenario and paired differences from baseline."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from borderscen.analysis.summaries import paired_differences, wilson_interval
from borderscen.plots.style import (
    FigureAndTable,
    colours_for,
    informative,
    label,
    present,
    scenario_order,
    styled,
)

STAGE_NAMES = ("0 closed", "1 agreement", "2 financing", "3 rehabilitation", "4 operating")
STAGE_COLOURS = ("#DDDDDD", "#B3CDE3", "#6497B1", "#005B96", "#009E73")
OPERATING = len(STAGE_NAMES) - 1

#: Default end-of-run metrics (those present in the runs table are drawn).
END_METRICS = ("cum_attacks_iraq", "cum_attacks_syria", "final_isis_members", "mean_cooperation")
DIFF_METRICS = ("cum_attacks_iraq", "cum_attacks_syria", "final_isis_members", "cum_casualties",
                "cum_smuggling", "final_weapons_stock", "mean_cooperation", "months_partnership")


def _ticks(ax, scenarios: Sequence[str]) -> None:
    long = max(len(s) for s in scenarios) > 14 and len(scenarios) > 1
    ax.set_xticks(range(1, len(scenarios) + 1), [s.replace(" | ", "\n") for s in scenarios],
                  rotation=90 if long else 35, ha="center" if long else "right",
                  rotation_mode="default" if long else "anchor", fontsize=8)


@styled
def end_state(runs: pd.DataFrame, metrics: Sequence[str] | None = None,
              scenarios: Sequence[str] | None = None, colours: Mapping[str, str] | None = None,
              horizon: str = "", stage_column: str = "final_pipeline_stage") -> FigureAndTable:
    """Violins of end-of-run outcomes, plus the pipeline stage reached.

    Metrics whose values are all equal, and the pipeline panel when every run ends at the same
    stage, are left out: they carry no information. ``horizon`` (e.g. 'Dec 2027') goes in the
    title.
    """
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    scenarios = scenario_order(ok, scenarios)
    colours = colours_for(scenarios, colours)
    metrics = present(ok, metrics if metrics is not None else END_METRICS)
    metrics = [m for m in metrics if informative(ok[m])]
    show_stage = stage_column in ok.columns and informative(ok[stage_column])
    npanel = max(1, len(metrics) + int(show_stage))
    width = max(3.4, 0.55 * len(scenarios) + 1.4)
    fig, grid = plt.subplots(1, npanel, figsize=(width * npanel, 4.4), squeeze=False,
                             layout="constrained")
    axes = list(grid[0])
    rows = []
    for ax, m in zip(axes, metrics, strict=False):
        data = [ok.loc[ok["scenario"] == sc, m].to_numpy(float) for sc in scenarios]
        parts = ax.violinplot(data, showmedians=True, showextrema=False)
        for body, sc in zip(parts["bodies"], scenarios, strict=True):
            body.set_facecolor(colours[sc])
            body.set_edgecolor(colours[sc])
            body.set_alpha(0.55)
        parts["cmedians"].set_color("black")
        for i, (sc, d) in enumerate(zip(scenarios, data, strict=True), start=1):
            lo, hi = np.quantile(d, [0.05, 0.95])
            ax.vlines(i, lo, hi, color="black", lw=1)
            rows.append({"scenario": sc, "metric": m, "median": np.median(d), "q0.05": lo,
                         "q0.95": hi, "n": len(d)})
        name, unit = label(m)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(unit)
        _ticks(ax, scenarios)
    if show_stage:
        ax = axes[len(metrics)]
        bottom = np.zeros(len(scenarios))
        for stage in range(OPERATING + 1):
            share = np.array([(ok.loc[ok["scenario"] == sc, stage_column] == stage).mean()
                              for sc in scenarios])
            ax.bar(range(1, len(scenarios) + 1), share, bottom=bottom, color=STAGE_COLOURS[stage],
                   label=STAGE_NAMES[stage], edgecolor="white", linewidth=0.5)
            bottom += share
        k = np.array([(ok.loc[ok["scenario"] == sc, stage_column] >= OPERATING).sum()
                      for sc in scenarios])
        n = np.array([(ok["scenario"] == sc).sum() for sc in scenarios])
        lo, hi = wilson_interval(k, n)
        ax.set_ylim(0, 1)
        ax.set_title("Kirkuk-Banias pipeline stage", fontsize=10)
        ax.set_ylabel("share of runs")
        _ticks(ax, scenarios)
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        for sc, kk, lk, hk, nk in zip(scenarios, k, lo, hi, n, strict=True):
            rows.append({"scenario": sc, "metric": "pipeline_operating", "median": kk / max(nk, 1),
                         "q0.05": lk, "q0.95": hk, "n": nk})
    if not metrics and not show_stage:
        axes[0].text(0.5, 0.5, "every end-state outcome is the same in all runs", ha="center",
                     transform=axes[0].transAxes)
        axes[0].set_axis_off()
    fig.suptitle(f"End-state outcomes at {horizon or 'the horizon'} by scenario\n(violins: "
                 "distribution over runs; black bars: 5-95% range; black tick: median)")
    return fig, pd.DataFrame(rows)


@styled
def off_scale_limit(table: pd.DataFrame, ratio: float = 2.5) -> float | None:
    """The x-limit (in %) that keeps one metric's long bars from squashing the others: when the
    widest metric reaches more than ``ratio`` times the next widest, 1.3 times the next; else
    None (no clipping)."""
    ends = table[["mean_diff_pct", "lo_pct", "hi_pct"]].abs().max(axis=1)
    widest = ends.groupby(table["metric"]).max().dropna().sort_values(ascending=False)
    if len(widest) < 2 or widest.iloc[1] <= 0 or widest.iloc[0] <= ratio * widest.iloc[1]:
        return None
    return float(max(1.3 * widest.iloc[1], 10.0))


def differences(runs: pd.DataFrame | None, baseline: str = "baseline",
                metrics: Sequence[str] | None = None, colours: Mapping[str, str] | None = None,
                horizon: str = "", table: pd.DataFrame | None = None) -> FigureAndTable:
    """Forest plot: mean paired difference from baseline (common random numbers), 95% CI,
    as a percentage of the baseline mean so metrics share one axis. Metrics with a zero
    baseline mean (no percentage) are left out.

    ``table``: the paired differences already computed (scenario, metric, mean_diff, lo, hi,
    baseline_mean; e.g. per point of a sweep, each series against ``baseline``); ``runs`` may
    then be None."""
    if table is None:
        metrics = present(runs, metrics if metrics is not None else DIFF_METRICS)
        table = pd.concat([paired_differences(runs, m, baseline=baseline) for m in metrics],
                          ignore_index=True)
    else:
        metrics = list(dict.fromkeys(table["metric"])) if metrics is None else list(metrics)
        table = table.reset_index(drop=True)
    scale = table["baseline_mean"].abs().replace(0, np.nan)
    for c in ("mean_diff", "lo", "hi"):
        table[f"{c}_pct"] = 100 * table[c] / scale
    shown = [m for m in metrics
             if table.loc[table["metric"] == m, "mean_diff_pct"].notna().any()] or metrics
    scenarios = [s for s in scenario_order(runs if runs is not None else table) if s != baseline]
    colours = colours_for(scenarios, colours)
    fig, ax = plt.subplots(figsize=(8.5, 0.3 * len(shown) * max(1, len(scenarios)) + 2.0),
                           layout="constrained")
    limit = off_scale_limit(table[table["metric"].isin(shown)])
    y = 0.0
    ticks, labels_ = [], []
    for m in shown:
        for sc in scenarios:
            r = table[(table["metric"] == m) & (table["scenario"] == sc)].iloc[0]
            mid, lo, hi = r["mean_diff_pct"], r["lo_pct"], r["hi_pct"]
            if limit is not None and max(abs(lo), abs(hi)) > limit:  # one long bar squashes the rest
                edge = math.copysign(0.97 * limit, mid)
                ax.plot(edge, y, marker=">" if mid > 0 else "<", ms=8, color=colours[sc], ls="none",
                        label=sc if m == shown[0] else None, gid="off-scale")
                ax.annotate(f"{mid:+.0f}% [{lo:+.0f}, {hi:+.0f}]", (edge, y),
                            xytext=(-6 if mid > 0 else 6, 0), textcoords="offset points",
                            ha="right" if mid > 0 else "left", va="center", fontsize=8,
                            color=colours[sc])
            else:
                ax.errorbar(mid, y, xerr=[[mid - lo], [hi - mid]], fmt="o", color=colours[sc],
                            capsize=3, label=sc if m == shown[0] else None)
            y -= 1
        ticks.append(y + 1 + (len(scenarios) - 1) / 2)
        labels_.append(label(m)[0])
        ax.axhline(y + 0.3, color="#DDDDDD", lw=0.6)
        y -= 0.4
    ax.axvline(0, color="black", lw=0.8)
    if limit is not None:
        ax.set_xlim(-limit, limit)
    ax.set_ylim(y + 0.4 - 0.6, 0.9)
    ax.set_yticks(ticks, labels_)
    ax.set_xlabel(f"difference from {baseline} (% of {baseline} mean); 95% CI over paired runs")
    when = f" at {horizon}" if horizon else ""
    ax.set_title(f"Scenario effects{when} relative to {baseline} under common random numbers\n"
                 "(95% intervals; where no bar shows, it is narrower than the marker"
                 + ("; triangles: off the scale, value written" if limit is not None else "") + ")",
                 fontsize=10)
    ax.grid(axis="y", visible=False)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig, table
