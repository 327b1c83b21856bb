"""Fan charts (median with nested 50/80/95% bands per scenario) and threshold risk over time."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd

from borderscen.analysis.summaries import quantiles, threshold_probability
from borderscen.plots.style import apply_style, date_axis, label, scenario_colours, scenario_order

BANDS = ((0.025, 0.975, 0.0), (0.1, 0.9, 0.14), (0.25, 0.75, 0.26))  # 95 (lines), 80, 50%
DEFAULT_FAN_OUTPUTS = ("attacks_tracked_iraq", "attacks_tracked_syria", "isis_members", "cooperation")


def fan_chart(ts: pd.DataFrame, outputs: Sequence[str] = DEFAULT_FAN_OUTPUTS,
              scenarios: Sequence[str] | None = None, title: str = ""):
    """One panel per output; scenarios overlaid with their median and 50/80/95% bands."""
    apply_style()
    scenarios = scenario_order(ts, scenarios)
    colours = scenario_colours(scenarios)
    ncol = 2 if len(outputs) > 1 else 1
    nrow = -(-len(outputs) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, 3.6 * nrow), sharex=True,
                             squeeze=False)
    tables = []
    for ax, out in zip(axes.flat, outputs, strict=False):
        q = quantiles(ts[ts["scenario"].isin(scenarios)], out)
        tables.append(q.assign(output=out))
        for sc in scenarios:
            d = q[q["scenario"] == sc]
            for lo, hi, alpha in BANDS[1:]:
                ax.fill_between(d["date"], d[f"q{lo:g}"], d[f"q{hi:g}"], color=colours[sc],
                                alpha=alpha, linewidth=0)
            lo, hi, _ = BANDS[0]  # 95%: thin lines, so overlapping scenarios stay readable
            for edge in (lo, hi):
                ax.plot(d["date"], d[f"q{edge:g}"], color=colours[sc], lw=0.7, ls="--", alpha=0.8)
            ax.plot(d["date"], d["q0.5"], color=colours[sc], lw=1.8, label=sc)
        name, unit = label(out)
        ax.set_title(name)
        ax.set_ylabel(unit)
        date_axis(ax)
    for ax in list(axes.flat)[len(outputs):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(4, len(scenarios)), frameon=False,
               bbox_to_anchor=(0.5, 0.995))
    n = int(ts.groupby("scenario", observed=True)["replication"].nunique().min())
    fig.suptitle(title or f"Spread of outcomes by scenario ({n} runs each): median (line), "
                 "50% and 80% bands (shaded), 95% band (dashed)",
                 y=1.04)
    fig.tight_layout()
    return fig, pd.concat(tables, ignore_index=True)


def threshold_risk(ts: pd.DataFrame, output: str = "isis_members", threshold: float = 4000,
                   scenarios: Sequence[str] | None = None):
    """Probability over time that a monthly output exceeds a threshold, with 95% intervals."""
    apply_style()
    scenarios = scenario_order(ts, scenarios)
    colours = scenario_colours(scenarios)
    data = threshold_probability(ts[ts["scenario"].isin(scenarios)], output, threshold)
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for sc in scenarios:
        d = data[data["scenario"] == sc]
        ax.fill_between(d["date"], d["lo"], d["hi"], color=colours[sc], alpha=0.18, linewidth=0)
        ax.plot(d["date"], d["p"], color=colours[sc], lw=1.8, label=sc)
    name, unit = label(output)
    ax.set_ylim(0, 1)
    ax.set_ylabel("probability (share of runs)")
    ax.set_title(f"Risk that monthly {name[:1].lower() + name[1:]} exceed {threshold:g} ({unit})\n"
                 "(share of runs; band: 95% Wilson interval)")
    date_axis(ax)
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    return fig, data.assign(output=output, threshold=threshold)
