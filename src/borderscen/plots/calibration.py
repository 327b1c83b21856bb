"""Calibration figures: the fit to the record (with the hold-out period apart) and the posterior.

``calibration_fit`` draws, for every observed series (quantity, channel, country), the posterior
predictive bands of the model's monthly values through the same channel, a box per observation
with the 90% interval of the figure the observation model would publish (what it is scored
against), the 2022-24 targets as
filled marks and the 2025-26 hold-outs as open marks in the shaded hold-out period. A figure
for an observation that covers several months shows its monthly average over that span.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from borderscen.assimilation.observe import _SERIES, FLOWS, Comparable
from borderscen.plots.style import FigureAndTable, date_axis, styled

HOLDOUT_START = pd.Timestamp("2025-01-01")
CHANNEL_NAMES = {"tracker": "independent tracker", "claimed": "claimed by ISIS", "official": "official count",
                 "partnered_ops": "CENTCOM partnered operations", "un_estimate": "strength estimates"}


def _series(monthly, c: Comparable) -> np.ndarray:
    pattern = "partnered_neutralised_{c}" if c.quantity == "neutralised" else _SERIES[(c.quantity, c.channel)]
    countries = ("iraq", "syria") if c.country == "both" else (c.country,)
    return sum(monthly[pattern.format(c=k)] for k in countries)


def _span(c: Comparable) -> tuple[pd.Timestamp, pd.Timestamp, float, float, float]:
    start = pd.Timestamp(c.start + "-01")
    end = pd.Timestamp(c.end + "-01") + pd.offsets.MonthEnd(0)
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    div = months if c.quantity in FLOWS else 1
    hi = c.high / div if math.isfinite(c.high) else math.nan
    return start, end, c.point / div, c.low / div, hi


@styled
def calibration_fit(monthly: dict[str, np.ndarray], dates: Sequence, fit: Sequence[Comparable],
                    held: Sequence[Comparable], smooth: int = 3,
                    predictive: np.ndarray | None = None) -> FigureAndTable:
    """(figure, data) of the posterior predictive fit, one panel per observed series.

    ``predictive`` (replications x observations, in the order ``fit`` then ``held``) holds the
    figures each replication would have seen published (``assimilation.observe.published``: the
    observation model); each observation then gets its 90% predictive interval as a box over its
    window, the band its figure is scored against."""
    pred_of = {}
    if predictive is not None:
        for j, c in enumerate((*fit, *held)):
            pred_of[c.id] = np.asarray(predictive[:, j], float)
    keys = sorted({(c.quantity, c.channel, c.country) for c in (*fit, *held)})
    n = len(keys)
    cols = 3
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.1 * rows), squeeze=False)
    t = pd.to_datetime(list(dates))
    tables = []
    for ax, key in zip(axes.flat, keys, strict=False):
        obs_fit = [c for c in fit if (c.quantity, c.channel, c.country) == key]
        obs_held = [c for c in held if (c.quantity, c.channel, c.country) == key]
        y = _series(monthly, (obs_fit or obs_held)[0]).astype(float)
        if key[0] in FLOWS and smooth > 1:
            kernel = np.ones(smooth) / smooth
            y = np.stack([np.convolve(row, kernel, mode="same") for row in y])
        q = np.percentile(y, [5, 25, 50, 75, 95], axis=0)
        ax.axvspan(HOLDOUT_START, t[-1], color="#999999", alpha=0.12, lw=0)
        ax.fill_between(t, q[0], q[4], color="#0072B2", alpha=0.18, lw=0, label="model 90%")
        ax.fill_between(t, q[1], q[3], color="#0072B2", alpha=0.32, lw=0, label="model 50%")
        ax.plot(t, q[2], color="#0072B2", lw=1.4, label="model median")
        for group, style in ((obs_fit, dict(color="#D55E00", mfc="#D55E00")),
                             (obs_held, dict(color="#000000", mfc="white"))):
            for c in group:
                start, end, mid, lo, hi = _span(c)
                centre = start + (end - start) / 2
                if c.id in pred_of and np.isfinite(pred_of[c.id]).any():
                    months = (end.year - start.year) * 12 + end.month - start.month + 1
                    per = months if c.quantity in FLOWS else 1  # per month for flows, as the marks
                    p5, p95 = np.nanpercentile(pred_of[c.id], [5, 95]) / per
                    ax.add_patch(plt.Rectangle((start, p5), end - start, p95 - p5, facecolor="#009E73",
                                               alpha=0.22, edgecolor="#009E73", lw=0.6, zorder=1))
                ax.hlines(mid, start, end, color=style["color"], lw=1.6)
                if not math.isnan(hi) and hi > lo:
                    ax.vlines(centre, lo, hi, color=style["color"], lw=1.0)
                elif math.isnan(hi):
                    ax.annotate("", xy=(centre, lo * 1.6 + 1), xytext=(centre, lo),
                                arrowprops=dict(arrowstyle="->", color=style["color"], lw=1.0))
                ax.plot([centre], [mid], "o", ms=4, mec=style["color"], mfc=style["mfc"])
                tables.append({"series": "/".join(key), "id": c.id, "start": c.start, "end": c.end,
                               "observed_per_month": mid,
                               "role": "target" if group is obs_fit else "hold-out"})
        quantity, channel, country = key
        unit = "per month" if quantity in FLOWS else ""
        ax.set_title(f"{quantity} in {'Iraq + Syria' if country == 'both' else country.capitalize()}"
                     f"\n({CHANNEL_NAMES.get(channel, channel)})", fontsize=9)
        ax.set_ylabel(f"{quantity} {unit}".strip(), fontsize=8)
        ax.set_ylim(bottom=0)
        date_axis(ax)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], color="#0072B2", lw=6, alpha=0.3,
                          label="model, 50% and 90% posterior predictive"),
               plt.Line2D([], [], color="#0072B2", lw=1.4, label="model median"),
               plt.Rectangle((0, 0), 1, 1, facecolor="#009E73", alpha=0.22, edgecolor="#009E73",
                             label="90% of the published figure (observation model)"),
               plt.Line2D([], [], color="#D55E00", marker="o", label="target 2022-24 (fitted)"),
               plt.Line2D([], [], color="#000000", marker="o", mfc="white",
                          label="hold-out 2025-26 (not fitted)"),
               plt.Rectangle((0, 0), 1, 1, color="#999999", alpha=0.12, label="hold-out period")]
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False, bbox_to_anchor=(0.5, -0.01))
    fig.suptitle("Calibration: the model through each observation channel against the record "
                 "(monthly; a figure for a longer period is shown as its monthly average)", y=1.0)
    fig.tight_layout(rect=(0, 0.06, 1, 0.98))
    data = pd.DataFrame(tables)
    return fig, data


@styled
def posterior_pairs(draws: pd.DataFrame, priors: dict) -> FigureAndTable:
    """Corner plot of the posterior sample: histograms on the diagonal, scatter below it;
    ``priors`` maps each column to its registry prior (``params.Prior``), the axes' extent."""
    names = list(draws.columns)
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(1.45 * k, 1.45 * k))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ax = axes[i, j]
            if j > i:
                ax.set_visible(False)
                continue
            logx = priors[b].kind == "log"
            if i == j:
                spacing = np.geomspace if priors[a].kind == "log" else np.linspace
                bins = spacing(priors[a].min, priors[a].max, 25)
                ax.hist(draws[a], bins=bins, color="#0072B2", alpha=0.8)
                ax.set_yticks([])
            else:
                ax.scatter(draws[b], draws[a], s=2, alpha=0.3, color="#0072B2", rasterized=True)
                if priors[a].kind == "log":
                    ax.set_yscale("log")
                ax.set_ylim(priors[a].min, priors[a].max)
            if logx:
                ax.set_xscale("log")
            ax.set_xlim(priors[b].min, priors[b].max)
            ax.tick_params(labelsize=5)
            if i == k - 1:
                ax.set_xlabel(b.replace("_", " "), fontsize=6)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(a.replace("_", " "), fontsize=6)
            elif j > 0:
                ax.set_yticklabels([])
            ax.grid(False)
    fig.suptitle("Posterior of the calibrated parameters (axes span each prior's range)", y=1.0)
    fig.tight_layout(pad=0.3)
    return fig, draws.describe(percentiles=[0.05, 0.5, 0.95]).T


def calibration_figures(check: dict, out: str | Path, formats: Sequence[str] = ("png",)) -> list[Path]:
    """The fit figure (targets and hold-outs, with observation-model bands) and the posterior pair
    plot, with their CSVs, from ``analysis.calibration.predictive_check(draws)``."""
    from borderscen.plots.style import save
    out = Path(out)
    files = save(*calibration_fit(check["monthly"], check["dates"], check["fit"], check["held"],
                                  predictive=check["published"]), out / "calibration_fit", "calibration",
                 formats)
    files += save(*posterior_pairs(check["draws"], check["priors"]), out / "posterior_pairs",
                  "calibration", formats)
    return files
