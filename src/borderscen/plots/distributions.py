"""End-state distributions per scenario and paired differences from baseline."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from borderscen.analysis.summaries import paired_differences, wilson_interval
from borderscen.mechanisms.pipeline import OPERATING
from borderscen.plots.style import apply_style, label, scenario_colours, scenario_order

STAGE_NAMES = ("0 closed", "1 agreement", "2 financing", "3 rehabilitation", "4 operating")
STAGE_COLOURS = ("#DDDDDD", "#B3CDE3", "#6497B1", "#005B96", "#009E73")

END_METRICS = ("cum_attacks_iraq", "cum_attacks_syria", "final_isis_members", "mean_cooperation")
DIFF_METRICS = ("cum_attacks_iraq", "cum_attacks_syria", "final_isis_members", "cum_casualties",
                "cum_smuggling", "mean_cooperation", "months_partnership")


def end_state(runs: pd.DataFrame, metrics: Sequence[str] = END_METRICS,
              scenarios: Sequence[str] | None = None):
    """Violins of end-of-run outcomes, plus the probability that the pipeline operates."""
    apply_style()
    ok = runs[runs["status"] == "ok"]
    scenarios = scenario_order(ok, scenarios)
    colours = scenario_colours(scenarios)
    fig, axes = plt.subplots(1, len(metrics) + 1, figsize=(3.6 * (len(metrics) + 1), 4.2))
    rows = []
    for ax, m in zip(axes, metrics, strict=False):
        data = [ok.loc[ok["scenario"] == sc, m].to_numpy(float) for sc in scenarios]
        parts = ax.violinplot(data, showmedians=True, showextrema=False)
        for body, sc in zip(parts["bodies"], scenarios, strict=True):
            body.set_facecolor(colours[sc])
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
        ax.set_xticks(range(1, len(scenarios) + 1), scenarios, rotation=30, ha="right")
    ax = axes[-1]
    stages = np.arange(OPERATING + 1)
    bottom = np.zeros(len(scenarios))
    for stage in stages:
        share = np.array([(ok.loc[ok["scenario"] == sc, "final_pipeline_stage"] == stage).mean()
                          for sc in scenarios])
        ax.bar(range(len(scenarios)), share, bottom=bottom, color=STAGE_COLOURS[stage],
               label=STAGE_NAMES[stage], edgecolor="white", linewidth=0.5)
        bottom += share
    k = np.array([ok.loc[ok["scenario"] == sc, "pipeline_operating"].sum() for sc in scenarios])
    n = np.array([(ok["scenario"] == sc).sum() for sc in scenarios])
    lo, hi = wilson_interval(k, n)
    ax.set_ylim(0, 1)
    ax.set_title("Kirkuk-Banias pipeline stage\nat the horizon", fontsize=10)
    ax.set_ylabel("share of runs")
    ax.set_xticks(range(len(scenarios)), scenarios, rotation=30, ha="right")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for sc, kk, lk, hk, nk in zip(scenarios, k, lo, hi, n, strict=True):
        rows.append({"scenario": sc, "metric": "pipeline_operating", "median": kk / max(nk, 1),
                     "q0.05": lk, "q0.95": hk, "n": nk})
    fig.suptitle("End-state outcomes by scenario (violins: distribution over runs, "
                 "black bars: 5-95% range, cross: median)", y=1.02)
    fig.tight_layout()
    return fig, pd.DataFrame(rows)


def differences(runs: pd.DataFrame, baseline: str = "baseline",
                metrics: Sequence[str] = DIFF_METRICS):
    """Forest plot: mean paired difference from baseline (common random numbers), 95% CI,
    as a percentage of the baseline mean so metrics share one axis."""
    apply_style()
    table = pd.concat([paired_differences(runs, m, baseline=baseline) for m in metrics],
                      ignore_index=True)
    scale = table["baseline_mean"].abs().replace(0, np.nan)
    for c in ("mean_diff", "lo", "hi"):
        table[f"{c}_pct"] = 100 * table[c] / scale
    scenarios = [s for s in scenario_order(runs) if s != baseline]
    colours = scenario_colours(scenarios)
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(metrics) * max(1, len(scenarios)) + 1.6))
    y = 0
    ticks, labels_ = [], []
    for m in metrics:
        for sc in scenarios:
            r = table[(table["metric"] == m) & (table["scenario"] == sc)].iloc[0]
            ax.errorbar(r["mean_diff_pct"], y, xerr=[[r["mean_diff_pct"] - r["lo_pct"]],
                        [r["hi_pct"] - r["mean_diff_pct"]]], fmt="o", color=colours[sc],
                        capsize=3, label=sc if m == metrics[0] else None)
            y -= 1
        ticks.append(y + 1 + (len(scenarios) - 1) / 2)
        labels_.append(label(m)[0])
        ax.axhline(y + 0.2, color="#DDDDDD", lw=0.6)
        y -= 0.4
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(ticks, labels_)
    ax.set_xlabel(f"difference from {baseline} (% of {baseline} mean); 95% CI over paired runs")
    ax.set_title(f"Scenario effects relative to {baseline} under common random numbers\n"
                 "(95% intervals; where no bar shows, it is narrower than the marker)", fontsize=10)
    ax.grid(axis="y", visible=False)
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig, table
