"""Figures of the analysis layer: sensitivity indices and the calibration fit."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from borderscen.plots.style import OKABE_ITO, FigureAndTable, label, styled

INDEX_LABELS = {"mu_star": "Morris mu* (mean |elementary effect|)", "S1": "Sobol first order S1",
                "ST": "Sobol total ST"}


@styled
def sensitivity_bars(table: pd.DataFrame, method: str) -> FigureAndTable:
    """One panel per output: horizontal bars of the indices with 95% intervals."""
    shown = ["mu_star"] if method == "morris" else ["S1", "ST"]
    outputs = list(dict.fromkeys(table["output"]))
    fig, axes = plt.subplots(1, len(outputs), figsize=(3.6 * len(outputs), 4.2), sharey=True)
    axes = np.atleast_1d(axes)
    order = (table[table["index"] == shown[-1]].groupby("parameter")["value"].mean()
             .sort_values().index.tolist())
    for ax, out in zip(axes, outputs, strict=True):
        d = table[table["output"] == out]
        for k, idx in enumerate(shown):
            v = d[d["index"] == idx].set_index("parameter").reindex(order)
            y = np.arange(len(order)) + (k - (len(shown) - 1) / 2) * 0.38
            ax.barh(y, v["value"], height=0.36, xerr=v["conf"].fillna(0), color=OKABE_ITO[k],
                    error_kw={"lw": 0.8, "capsize": 2}, label=INDEX_LABELS[idx])
        ax.set_title(label(out)[0], fontsize=9)
        ax.axvline(0, color="black", lw=0.6)
    axes[0].set_yticks(range(len(order)), order)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=len(shown),
               frameon=False, bbox_to_anchor=(0.5, 1.02))
    name = "Morris screening" if method == "morris" else "Sobol indices"
    fig.suptitle(f"Global sensitivity ({name}) of end-of-run outcomes; bars: 95% intervals",
                 y=1.08)
    fig.tight_layout()
    return fig, table


@styled
def calibration_fit(fit: pd.DataFrame) -> FigureAndTable:
    """Each target's observed interval against prior and posterior predictive summaries."""
    fig, axes = plt.subplots(1, len(fit), figsize=(2.6 * len(fit), 3.6))
    for ax, (_, r) in zip(np.atleast_1d(axes), fit.iterrows(), strict=True):
        ax.axhspan(r["low"], r["high"], color="#009E73", alpha=0.2, label="target (sources)")
        ax.errorbar([1], [r["posterior_median"]], yerr=[[r["posterior_median"] - r["posterior_q05"]],
                    [r["posterior_q95"] - r["posterior_median"]]], fmt="o", color="#0072B2",
                    capsize=4, label="posterior 5-50-95%")
        ax.errorbar([0], [r["prior_median"]], yerr=[[r["prior_median"] - r["prior_q05"]],
                    [r["prior_q95"] - r["prior_median"]]], fmt="s", color="#777777", capsize=4,
                    label="prior predictive 5-50-95%")
        ax.set_xlim(-0.7, 1.7)
        ax.set_xticks([0, 1], ["prior", "posterior"])
        ax.set_title(textwrap.fill(r["label"] or r["target"], 22), fontsize=9)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, frameon=False, bbox_to_anchor=(0.5, 1.04))
    fig.suptitle("Calibration: simulated vs observed figures (reported attacks via the "
                 "observation layer)", y=1.12)
    fig.tight_layout()
    return fig, fit
