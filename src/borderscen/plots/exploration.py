"""Figures of exploration: response curves of a sweep, PRIM's trade-off curve and box limits,
and the ranking of policies by robustness. Each returns (figure, data)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from borderscen.plots.style import OKABE_ITO, FigureAndTable, label, scenario_colours, scenario_order, styled


@styled
def response_curve(curve: pd.DataFrame, metric: str, parameter: str, by: str = "scenario") -> FigureAndTable:
    """Median and 80% band of a run-level metric against a swept parameter, one line per
    scenario, or per ``by`` (``curve`` from :func:`borderscen.analysis.sweeps.response_curve`)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    if by == "scenario":
        names = scenario_order(curve)
        colours = scenario_colours(names)
    else:
        names = list(dict.fromkeys(curve[by].astype(str)))
        colours = dict(zip(names, [OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(names))],
                           strict=True))
    band = [c for c in curve.columns if c.startswith("q") and c != "q0.5"]
    lo, hi = (band[0], band[-1]) if len(band) >= 2 else (None, None)
    for sc in names:
        d = curve[curve[by].astype(str) == sc].sort_values(parameter)
        if lo is not None and hi is not None:
            ax.fill_between(d[parameter], d[lo], d[hi], color=colours[sc], alpha=0.18, lw=0)
        ax.plot(d[parameter], d["q0.5"], marker="o", ms=3.5, color=colours[sc], label=sc)
    title, unit = label(metric)
    ax.set_xlabel(parameter)
    ax.set_ylabel(f"{title}" + (f" ({unit})" if unit else ""))
    span = f"{lo[1:]}-{hi[1:]} quantile band" if lo is not None and hi is not None else ""
    ax.set_title(f"{title} against {parameter}: median and {span}", fontsize=10)
    ax.legend(frameon=False, fontsize=8, title=None if by == "scenario" else by)
    fig.tight_layout()
    return fig, curve


@styled
def prim_tradeoff(trajectory: pd.DataFrame, chosen: int | None = None,
                  pruned: tuple[float, float] | None = None) -> FigureAndTable:
    """PRIM's peeling trajectory: density against coverage, coloured by restricted dimensions;
    ``pruned`` marks (coverage, density) of the chosen box without its weak restrictions."""
    fig, ax = plt.subplots(figsize=(5.6, 4.4))
    sc = ax.scatter(trajectory["coverage"], trajectory["density"], c=trajectory["res_dim"],
                    cmap="viridis", s=22, zorder=3)
    ax.plot(trajectory["coverage"], trajectory["density"], color="#999999", lw=0.8, zorder=2)
    if chosen is not None:
        r = trajectory.iloc[chosen]
        ax.scatter([r["coverage"]], [r["density"]], s=120, facecolors="none",
                   edgecolors="#D55E00", lw=1.8, zorder=4, label=f"chosen box {chosen}")
        if pruned is not None:
            ax.scatter([pruned[0]], [pruned[1]], s=90, marker="D", facecolors="none",
                       edgecolors="#CC79A7", lw=1.8, zorder=4,
                       label="chosen box without weak restrictions (quasi-p)")
        ax.legend(frameon=False, loc="lower left")
    fig.colorbar(sc, ax=ax, label="restricted dimensions")
    ax.set_xlabel("coverage (share of cases of interest inside the box)")
    ax.set_ylabel("density (share of runs in the box that are cases)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title("Scenario discovery (PRIM): peeling trajectory", fontsize=10)
    fig.tight_layout()
    return fig, trajectory


@styled
def box_limits(limits: pd.DataFrame) -> FigureAndTable:
    """The chosen box's limits on each restricted dimension, normalised to the sampled range,
    with quasi-p-values (``limits`` from :func:`borderscen.analysis.discovery.prim`)."""
    fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.55 * max(len(limits), 1)))
    for i, (_, r) in enumerate(limits.iterrows()):
        ax.plot([0, 1], [i, i], color="#CCCCCC", lw=6, solid_capstyle="butt")
        if r["kind"] == "numeric":
            span = (r["range_max"] - r["range_min"]) or 1.0
            a, b = (r["min"] - r["range_min"]) / span, (r["max"] - r["range_min"]) / span
            ax.plot([a, b], [i, i], color=OKABE_ITO[0], lw=6, solid_capstyle="butt")
            ax.text(a, i + 0.28, f"{r['min']:.3g}", ha="center", fontsize=7)
            ax.text(b, i + 0.28, f"{r['max']:.3g}", ha="center", fontsize=7)
        else:
            ax.text(0.5, i + 0.28, str(r["values"]), ha="center", fontsize=7)
        ax.text(1.04, i, f"qp {r['qp']:.2g}" if pd.notna(r["qp"]) else "", va="center", fontsize=8)
    ax.set_yticks(range(len(limits)), limits["dimension"])
    ax.set_xticks([0, 1], ["sampled min", "sampled max"])
    ax.set_xlim(-0.05, 1.2)
    ax.set_ylim(-0.6, len(limits) - 0.2)
    ax.grid(False)
    ax.set_title("Box limits (blue) within the sampled ranges (grey)", fontsize=10)
    fig.tight_layout()
    return fig, limits


@styled
def robustness_ranking(table: pd.DataFrame) -> FigureAndTable:
    """Policies ranked by satisficing robustness (bars) with their maximum regret (dots)."""
    t = table.sort_values("robustness")
    fig, ax = plt.subplots(figsize=(6.8, 0.8 + 0.45 * len(t)))
    y = np.arange(len(t))
    err = None
    if {"lo", "hi"} <= set(t.columns):
        err = np.vstack([(t["robustness"] - t["lo"]).clip(lower=0), (t["hi"] - t["robustness"])
                         .clip(lower=0)])
    ax.barh(y, t["robustness"], color=OKABE_ITO[2], xerr=err, error_kw={"lw": 0.8, "capsize": 2},
            label="share of futures meeting the criteria (95% interval)")
    ax.set_yticks(y, t["policy"])
    ax.set_xlim(0, 1)
    ax.set_xlabel("satisficing robustness (bars: share of futures meeting the criteria)")
    if "max_regret" in t.columns:
        ax2 = ax.twiny()
        ax2.plot(t["max_regret"], y, "o", color=OKABE_ITO[3], label="maximum regret")
        ax2.set_xlim(left=0, right=max(float(t["max_regret"].max()) * 1.08, 1.0))
        ax2.set_xlabel(f"maximum regret ({t['regret_metric'].iloc[0]})", color=OKABE_ITO[3])
        ax2.grid(False)
    ax.set_title("Policies ranked by robustness across futures", fontsize=10, pad=30)
    fig.tight_layout()
    return fig, table


@styled
def sweep_figures(results, out_dir, metrics, formats=("png",), max_parameters: int = 4):
    """Response curves of each metric against each swept parameter (up to ``max_parameters``)
    of a sweep; nothing for a batch without one. Returns the files written."""
    from pathlib import Path

    from borderscen.plots.style import save
    swept = list(results.manifest.get("swept") or [])[:max_parameters]
    if len(results.manifest.get("design_points") or [{}]) <= 1:
        return []
    files = []
    for metric in metrics:
        if metric not in results.runs.columns:
            continue
        by = "policy" if "policy" in results.design.columns else "scenario"
        for p in swept:
            curve = results.response_curve(metric, p, by=by)
            files += save(*response_curve(curve, metric, p, by=by),
                          Path(out_dir) / f"response_{metric}_vs_{p}", results.id, formats)
    return files
