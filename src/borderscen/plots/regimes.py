"""Regime probabilities over time per scenario (stacked areas, one panel per scenario)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd

from borderscen.analysis.summaries import regime_probabilities
from borderscen.mechanisms.cooperation import REGIMES
from borderscen.plots.style import (
    REGIME_COLOURS,
    FigureAndTable,
    colours_for,
    date_axis,
    scenario_order,
    styled,
)


@styled
def regime_chart(ts: pd.DataFrame | None = None, scenarios: Sequence[str] | None = None,
                 colours: Mapping[str, str] | None = None,
                 data: pd.DataFrame | None = None) -> FigureAndTable:
    """Share of runs in each regime over time; the panel title takes the scenario's colour.

    ``data``: the shares already computed (scenario, date and a column per regime, e.g. by
    ``res.regime_probabilities()``); ``ts`` may then be None."""
    if data is None:
        if ts is None:
            raise ValueError("regime_chart needs the monthly results `ts` or the shares `data`")
        scenarios = scenario_order(ts, scenarios)
        data = regime_probabilities(ts[ts["scenario"].isin(scenarios)])
    else:
        scenarios = scenario_order(data, scenarios)
        data = data[data["scenario"].isin(scenarios)]
    colours = colours_for(scenarios, colours)
    ncol = min(2 if len(scenarios) <= 4 else 3, len(scenarios))
    nrow = -(-len(scenarios) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.4 * ncol, 2.9 * nrow + 0.9), sharex=True,
                             sharey=True, squeeze=False, layout="constrained")
    for ax, sc in zip(axes.flat, scenarios, strict=False):
        d = data[data["scenario"] == sc]
        ax.stackplot(d["date"], *[d[r] for r in REGIMES], labels=REGIMES,
                     colors=[REGIME_COLOURS[r] for r in REGIMES], alpha=0.85)
        ax.set_title(f"Scenario: {sc}", color=colours[sc], fontsize=10)
        ax.set_ylim(0, 1)
        date_axis(ax)
    for row in axes:
        row[0].set_ylabel("share of runs")
    for ax in list(axes.flat)[len(scenarios):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    fig.suptitle("Baghdad-Damascus relationship: probability of each regime over time")
    return fig, data
