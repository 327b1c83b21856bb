"""Backtest figures: skill and coverage by horizon, the PIT histogram, and the fan from each origin.

Each function takes the tables the backtest stores or the scores computed from them
(``analysis.backtest``, ``analysis.scoring``) and returns ``(figure, data)``; the data is the
table the figure draws, saved beside it as CSV.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from borderscen.assimilation.observe import FLOWS, Comparable
from borderscen.plots.style import FigureAndTable, date_axis, styled

SERIES_TITLES = {
    "attacks_tracked_iraq": ("Iraq: tracked attacks", "attacks per month", ("attacks", "tracker", "iraq")),
    "attacks_tracked_syria": ("Syria: tracked attacks", "attacks per month", ("attacks", "tracker", "syria")),
    "partnered_operations_iraq": ("Iraq: partnered operations", "operations per month",
                                  ("operations", "partnered_ops", "iraq")),
    "partnered_operations_syria": ("Syria: partnered operations", "operations per month",
                                   ("operations", "partnered_ops", "syria")),
    "isis_members": ("ISIS members, Iraq and Syria", "members (fighters)",
                     ("members", "un_estimate", "both")),
}
FORECASTER_COLOURS = {"abm": "#1b6ca8", "no_change": "#7f7f7f", "trend": "#d08c2b", "nb_ar1": "#5a9e4b",
                      "ensemble": "#8e44ad"}


def _colour(name: str) -> str:
    return FORECASTER_COLOURS.get(name, "#333333")


def _observed_segments(obs: Sequence[Comparable], key: tuple[str, str, str]):
    for c in obs:
        if (c.quantity, c.channel, c.country) != key:
            continue
        start = pd.Timestamp(c.start + "-01")
        end = pd.Timestamp(c.end + "-01") + pd.offsets.MonthEnd(0)
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        div = months if c.quantity in FLOWS else 1
        hi = c.high / div if math.isfinite(c.high) else math.nan
        yield start, end, c.low / div, hi


@styled
def origin_fans(paths: pd.DataFrame, observations: Sequence[Comparable],
                series: Sequence[str] = ("attacks_tracked_syria", "attacks_tracked_iraq",
                                         "partnered_operations_syria", "isis_members")) -> FigureAndTable:
    """(figure, data): for each series, the filtered months and the 12-month forecast from every
    origin (median line, 90% band), with the record's figures as monthly averages over their windows."""
    series = [s for s in series if s in set(paths["series"])]
    fig, axes = plt.subplots(len(series), 1, figsize=(12, 3.0 * len(series)), squeeze=False)
    origins = sorted(paths["origin"].unique())
    cmap = plt.get_cmap("viridis")
    for ax, s in zip(axes[:, 0], series, strict=True):
        title, unit, key = SERIES_TITLES[s]
        for i, o in enumerate(origins):
            d = paths[(paths["series"] == s) & (paths["origin"] == o) & (paths["phase"] == "forecast")]
            t = pd.to_datetime(d["date"])
            colour = cmap(i / max(len(origins) - 1, 1))
            ax.fill_between(t, d["q0.05"], d["q0.95"], color=colour, alpha=0.18, lw=0)
            label = f"from {pd.Timestamp(o):%Y-%m}" if i % 3 == 0 else None
            ax.plot(t, d["q0.5"], color=colour, lw=1.4, label=label)
        for start, end, lo, hi in _observed_segments(observations, key):
            if math.isnan(hi):
                ax.plot([start, end], [lo, lo], color="black", lw=1.2, ls=":")
                mid = start + (end - start) / 2
                ax.annotate("", xy=(mid, lo * 1.25), xytext=(mid, lo),
                            arrowprops={"arrowstyle": "->", "lw": 0.8})
            elif hi > lo:
                ax.fill_between([start, end], [lo, lo], [hi, hi], color="black", alpha=0.15, lw=0)
            else:
                ax.plot([start, end], [lo, lo], color="black", lw=2.0)
        ax.set_title(title)
        ax.set_ylabel(unit)
        ax.set_ylim(bottom=0)
        date_axis(ax)
    axes[0, 0].legend(loc="upper right", fontsize=8, ncol=2, title="median, 90% band")
    fig.suptitle("Backtest: the forecast from each origin (coloured) and what the record then showed "
                 "(black: figures as monthly averages over their windows; dotted: 'at least')")
    fig.tight_layout()
    return fig, paths[paths["series"].isin(series)].reset_index(drop=True)


@styled
def skill_by_horizon(agg: pd.DataFrame) -> FigureAndTable:
    """(figure, data): median CRPS skill of the ABM (and the ensemble) against each baseline, by
    horizon, pooled over channel groups; a second panel: the share of observations won.

    ``agg`` columns: forecaster, baseline, horizon, median_skill, share_won, n."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for (fc, base), d in agg.groupby(["forecaster", "baseline"]):
        d = d.sort_values("horizon")
        ls = "-" if fc == "abm" else "--"
        a1.plot(d["horizon"], d["median_skill"], marker="o", ls=ls, color=_colour(base),
                label=f"{fc} vs {base}")
        a2.plot(d["horizon"], d["share_won"], marker="o", ls=ls, color=_colour(base), label=f"{fc} vs {base}")
    a1.axhline(0, color="black", lw=0.8)
    a2.axhline(0.5, color="black", lw=0.8)
    a1.set(xlabel="horizon (months)", ylabel="median CRPS skill (1 - CRPS / CRPS baseline)",
           title="Skill against each baseline (above 0: the model is better)")
    a2.set(xlabel="horizon (months)", ylabel="share of observations with lower CRPS",
           title="Observations won", ylim=(0, 1))
    for a in (a1, a2):
        a.set_xticks(sorted(agg["horizon"].unique()))
    a1.legend(fontsize=8)
    fig.tight_layout()
    return fig, agg.reset_index(drop=True)


@styled
def coverage_by_horizon(cov: pd.DataFrame) -> FigureAndTable:
    """(figure, data): share of observations inside the central 50% and 90% intervals, by horizon
    and forecaster, against the nominal levels. ``cov`` columns: forecaster, horizon, coverage50,
    coverage90, n."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.0), sharey=True)
    for ax, level in zip(axes, (50, 90), strict=True):
        for fc, d in cov.groupby("forecaster"):
            d = d.sort_values("horizon")
            ax.plot(d["horizon"], d[f"coverage{level}"], marker="o", color=_colour(fc), label=fc)
        ax.axhline(level / 100, color="black", lw=0.8, ls="--")
        ax.set(xlabel="horizon (months)", ylabel="share of observations inside", ylim=(0, 1),
               title=f"Coverage of the central {level}% interval (dashed: nominal)")
        ax.set_xticks(sorted(cov["horizon"].unique()))
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig, cov.reset_index(drop=True)


@styled
def pit_histogram(pit: pd.DataFrame, bins: int = 10) -> FigureAndTable:
    """(figure, data): PIT histogram per forecaster (flat: calibrated; U: too narrow; hump: too wide).
    ``pit`` columns: forecaster, pit."""
    names = list(pit["forecaster"].unique())
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), sharey=True, squeeze=False)
    rows = []
    edges = np.linspace(0, 1, bins + 1)
    for ax, fc in zip(axes[0], names, strict=True):
        x = pit.loc[pit["forecaster"] == fc, "pit"].dropna().to_numpy()
        counts, _ = np.histogram(x, edges)
        ax.bar(edges[:-1], counts, width=1 / bins, align="edge", color=_colour(fc), alpha=0.8)
        ax.axhline(len(x) / bins, color="black", lw=0.8, ls="--")
        ax.set(title=fc, xlabel="PIT")
        rows += [{"forecaster": fc, "bin_low": lo, "count": int(c)}
                 for lo, c in zip(edges[:-1], counts, strict=True)]
    axes[0, 0].set_ylabel("observations")
    fig.suptitle("Probability integral transform of each observation (dashed: a calibrated forecast)")
    fig.tight_layout()
    return fig, pd.DataFrame(rows)


def _by_horizon(agg: pd.DataFrame) -> pd.DataFrame:
    """The aggregate's per-horizon rows (all groups pooled), horizons as numbers."""
    d = agg[(agg["group"] == "all") & (agg["horizon"] != "all")].copy()
    d["horizon"] = d["horizon"].astype(int)
    return d


def draw_backtest(tables: dict[str, pd.DataFrame], paths: pd.DataFrame, observations: Sequence[Comparable],
                  out, results_id: str = "backtest", formats: Sequence[str] = ("png",)) -> list:
    """The four backtest figures into ``out``: skill and coverage by horizon, the PIT histogram
    and the fan from each origin (``tables`` from ``analysis.backtest.report``)."""
    from pathlib import Path

    from borderscen.plots.style import save

    out = Path(out)
    h = _by_horizon(tables["aggregate"])
    skill = h[h["forecaster"].isin(["abm", "ensemble"])][
        ["forecaster", "baseline", "horizon", "n", "median_skill", "share_won"]]
    cov = h.drop_duplicates(["forecaster", "horizon"])[["forecaster", "horizon", "n_scored", "coverage50",
                                                         "coverage90"]].rename(columns={"n_scored": "n"})
    pit = tables["scores"][["forecaster", "pit"]]
    files = save(*skill_by_horizon(skill), out / "backtest_skill", results_id, formats)
    files += save(*coverage_by_horizon(cov), out / "backtest_coverage", results_id, formats)
    files += save(*pit_histogram(pit), out / "backtest_pit", results_id, formats)
    if len(paths):
        files += save(*origin_fans(paths, observations), out / "backtest_fans", results_id, formats)
    return files
