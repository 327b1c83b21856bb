"""Regime probabilities over time per scenario (stacked areas)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from borderscen.analysis.summaries import regime_probabilities
from borderscen.mechanisms.cooperation import REGIMES
from borderscen.plots.style import REGIME_COLOURS, apply_style, date_axis, scenario_order


def regime_chart(ts: pd.DataFrame, scenarios: Sequence[str] | None = None):
    apply_style()
    scenarios = scenario_order(ts, scenarios)
    data = regime_probabilities(ts[ts["scenario"].isin(scenarios)])
    ncol = min(2, len(scenarios))
    nrow = -(-len(scenarios) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6 * ncol, 3.2 * nrow), sharex=True, sharey=True,
                             squeeze=False)
    for ax, sc in zip(axes.flat, scenarios, strict=False):
        d = data[data["scenario"] == sc]
        ax.stackplot(d["date"], *[d[r] for r in REGIMES], labels=REGIMES,
                     colors=[REGIME_COLOURS[r] for r in REGIMES], alpha=0.85)
        ax.set_title(f"Scenario: {sc}")
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of runs")
        date_axis(ax)
    for ax in list(axes.flat)[len(scenarios):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.suptitle("Baghdad-Damascus relationship: probability of each regime over time", y=1.05)
    fig.tight_layout()
    return fig, data
