"""A schematic map of the border zones shaded by attack intensity, with ISIS presence as size."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colormaps

from borderscen.plots.style import apply_style
from borderscen.space import border_map

#: Approximate Iraq-Syria border (lon, lat), schematic only: Fishkhabour to the Jordan tripoint.
BORDER = [(42.36, 37.11), (42.2, 36.95), (42.05, 36.75), (41.4, 36.45), (41.25, 36.0),
          (41.2, 35.4), (41.1, 34.7), (40.98, 34.42), (38.79, 33.37)]
ROUTE_STYLE = {"crossing": ("-", 2.2), "track": (":", 1.6), "road": ("-", 0.8)}


def zone_map(zones: pd.DataFrame, scenario: str, start=None, end=None,
             value: str = "attacks", title: str = ""):
    """Mean monthly ``value`` per zone over [start, end] for one scenario."""
    apply_style()
    zmap = border_map()
    d = zones[zones["scenario"] == scenario]
    if start is not None:
        d = d[d["date"] >= pd.Timestamp(start)]
    if end is not None:
        d = d[d["date"] <= pd.Timestamp(end)]
    agg = d.groupby("zone", observed=True)[[value, "members"]].mean().reindex(list(zmap.ids)).fillna(0)
    pos = zmap.positions()
    fig, ax = plt.subplots(figsize=(9, 6.2))
    ax.plot(*zip(*BORDER, strict=True), color="#444444", lw=1.2, ls="--", zorder=1,
            label="Iraq-Syria border (schematic)")
    for r in zmap.routes:
        style, width = ROUTE_STYLE[r.kind]
        (x0, y0), (x1, y1) = pos[r.a], pos[r.b]
        ax.plot([x0, x1], [y0, y1], ls=style, lw=width, color="#888888", zorder=2)
    vmax = max(float(agg[value].max()), 1e-9)
    cmap = colormaps["cividis_r"]
    xs = np.array([pos[z][0] for z in zmap.ids])
    ys = np.array([pos[z][1] for z in zmap.ids])
    sizes = 80 + 900 * agg["members"].to_numpy() / max(float(agg["members"].max()), 1.0)
    sc = ax.scatter(xs, ys, s=sizes, c=agg[value].to_numpy(), cmap=cmap, vmin=0, vmax=vmax,
                    edgecolor="black", linewidth=0.8, zorder=3)
    for z, x, y in zip(zmap.zones, xs, ys, strict=True):
        ax.annotate(z.name, (x, y), xytext=(7, 7), textcoords="offset points", fontsize=8, zorder=4)
    cb = fig.colorbar(sc, ax=ax, shrink=0.8)
    cb.set_label(f"mean {value} per month")
    for handle_style, name in ((("-", 2.2), "crossing"), ((":", 1.6), "desert track"),
                               (("-", 0.8), "road")):
        ax.plot([], [], ls=handle_style[0], lw=handle_style[1], color="#888888", label=name)
    ax.scatter([], [], s=200, facecolor="none", edgecolor="black", label="marker size: ISIS members")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False, fontsize=8)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_xlim(35.4, 46.0)
    ax.set_ylim(32.9, 37.6)
    ax.set_aspect(1 / np.cos(np.radians(35)))
    period = f"{pd.Timestamp(d['date'].min()):%b %Y} to {pd.Timestamp(d['date'].max()):%b %Y}"
    ax.set_title(title or f"Mean monthly ISIS attacks (true, not only reported) by zone\n"
                 f"scenario '{scenario}', {period}")
    fig.tight_layout()
    return fig, agg.reset_index().rename(columns={"index": "zone"}).assign(scenario=scenario)
