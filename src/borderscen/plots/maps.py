"""A schematic map of the border zones shaded by attack intensity, with ISIS presence as size."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import colormaps

from borderscen.inputs.space import border_map
from borderscen.plots.style import FigureAndTable, styled

#: Approximate Iraq-Syria border (lon, lat), schematic only: Fishkhabour to the Jordan tripoint.
BORDER = [(42.36, 37.11), (42.2, 36.95), (42.05, 36.75), (41.4, 36.45), (41.25, 36.0),
          (41.2, 35.4), (41.1, 34.7), (40.98, 34.42), (38.79, 33.37)]
ROUTE_STYLE = {"crossing": ("-", 2.2), "track": (":", 1.6), "road": ("-", 0.8)}

#: Marker area (points^2) of an empty zone and added area at ``size_max`` members.
SIZE_MIN, SIZE_SPAN = 60, 900


def marker_sizes(members, size_max: float) -> np.ndarray:
    """Marker area for ISIS members, on a scale shared by every map that uses ``size_max``."""
    return SIZE_MIN + SIZE_SPAN * np.asarray(members, float) / max(float(size_max), 1.0)


def _nice_keys(size_max: float) -> list[float]:
    """Two or three round member counts for the size key, up to ``size_max``."""
    if size_max <= 0:
        return [0.0]
    top = float(f"{size_max:.1g}")
    top = top if top <= size_max else top / 2
    return sorted({float(f"{v:.1g}") for v in (top / 4, top / 2, top) if v > 0})


def zone_means(zones: pd.DataFrame, scenario: str, start=None, end=None,
               value: str = "attacks", size: str = "members") -> pd.DataFrame:
    """Mean monthly ``value`` and ``size`` per zone for one scenario over [start, end].

    ``zones`` is the zones table, or its means per scenario and zone over every month (with
    ``first`` and ``last`` months instead of ``date``: ``analysis.results.zone_means``), which
    gives the same means without the whole table in memory."""
    d = zones[zones["scenario"] == scenario] if "scenario" in zones.columns else zones
    if "date" not in d.columns and (start is not None or end is not None):
        raise ValueError("start/end need the zones table with its dates, not zone means "
                         f"(columns: {', '.join(map(str, d.columns))})")
    if start is not None:
        d = d[d["date"] >= pd.Timestamp(start)]
    if end is not None:
        d = d[d["date"] <= pd.Timestamp(end)]
    return (d.groupby("zone", observed=True)[[value, size]].mean()
            .reindex(list(border_map().ids)).fillna(0))


@styled
def zone_map(zones: pd.DataFrame, scenario: str, start=None, end=None,
             value: str = "attacks", title: str = "", vmax: float | None = None,
             size_max: float | None = None, size: str = "members",
             value_label: str = "mean attacks per month (true, not only reported)",
             ax=None) -> FigureAndTable:
    """Mean monthly ``value`` per zone over [start, end] for one scenario; marker size shows
    mean ``size`` (ISIS members).

    Pass the same ``vmax`` and ``size_max`` to every map of an experiment so their colours and
    sizes compare (``draw_standard_figures`` does). ``ax`` draws into an existing axes (the
    explorer does), else a new figure is made.
    """
    zmap = border_map()
    d = zones[zones["scenario"] == scenario] if "scenario" in zones.columns else zones
    if start is not None:
        d = d[d["date"] >= pd.Timestamp(start)]
    if end is not None:
        d = d[d["date"] <= pd.Timestamp(end)]
    agg = zone_means(d, scenario, value=value, size=size)
    pos = zmap.positions()
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 6.6), layout="constrained")
    else:
        fig = ax.figure
    ax.plot(*zip(*BORDER, strict=True), color="#444444", lw=1.2, ls="--", zorder=1,
            label="Iraq-Syria border (schematic)")
    for r in zmap.routes:
        style, width = ROUTE_STYLE[r.kind]
        (x0, y0), (x1, y1) = pos[r.a], pos[r.b]
        ax.plot([x0, x1], [y0, y1], ls=style, lw=width, color="#888888", zorder=2)
    vmax = float(vmax) if vmax is not None else max(float(agg[value].max()), 1e-9)
    size_max = float(size_max) if size_max is not None else max(float(agg[size].max()), 1.0)
    cmap = colormaps["cividis_r"]
    xs = np.array([pos[z][0] for z in zmap.ids])
    ys = np.array([pos[z][1] for z in zmap.ids])
    sizes = marker_sizes(agg[size].to_numpy(), size_max)
    sc = ax.scatter(xs, ys, s=sizes, c=agg[value].to_numpy(), cmap=cmap, vmin=0, vmax=vmax,
                    edgecolor="black", linewidth=0.8, zorder=3)
    for z, x, y, s in zip(zmap.zones, xs, ys, sizes, strict=True):
        off = np.sqrt(s) / 2 + 3  # marker radius in points, plus a gap: never on the marker
        ax.annotate(z.name, (x, y), xytext=(off * 0.75, off * 0.75), textcoords="offset points",
                    fontsize=8, zorder=4,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})
    cb = fig.colorbar(sc, ax=ax, shrink=0.8)
    cb.set_label(value_label)
    handles = []
    for (ls, lw), name in ((("-", 2.2), "crossing"), ((":", 1.6), "desert track"),
                           (("-", 0.8), "road")):
        (h,) = ax.plot([], [], ls=ls, lw=lw, color="#888888", label=name)
        handles.append(h)
    route_legend = ax.legend(handles=[ax.get_lines()[0], *handles], loc="upper center",
                             bbox_to_anchor=(0.5, -0.1), ncol=4, frameon=False, fontsize=8)
    ax.add_artist(route_legend)
    keys = [ax.scatter([], [], s=float(marker_sizes([k], size_max)[0]), facecolor="#BBBBBB",
                       edgecolor="black", linewidth=0.8, label=f"{k:,.0f}")
            for k in _nice_keys(size_max)]
    ax.legend(handles=keys, title=f"mean {size.replace('_', ' ')}\n(marker size)",
              loc="upper left", frameon=True, fontsize=8, title_fontsize=8, labelspacing=1.3,
              borderpad=0.9, framealpha=0.9, handlelength=3.2,
              handletextpad=1.0)
    ax.set_xlabel("longitude (°E)")
    ax.set_ylabel("latitude (°N)")
    ax.set_xlim(35.4, 46.0)
    ax.set_ylim(32.9, 37.6)
    ax.set_aspect(1 / np.cos(np.radians(35)))
    first, last = ("date", "date") if "date" in d.columns else ("first", "last")
    period = (f"{pd.Timestamp(d[first].min()):%b %Y} to {pd.Timestamp(d[last].max()):%b %Y}"
              if last in d.columns and len(d) else "")
    ax.set_title(title or f"Mean monthly ISIS attacks (true, not only reported) by zone\n"
                 f"scenario '{scenario}', {period}")
    return fig, agg.reset_index().rename(columns={"index": "zone"}).assign(scenario=scenario)


def shared_scale(zones: pd.DataFrame, scenarios: Sequence[str], value: str = "attacks",
                 size: str = "members") -> tuple[float, float]:
    """(vmax, size_max) over every scenario's zone means: one scale for all maps."""
    means = [zone_means(zones, sc, value=value, size=size) for sc in scenarios]
    vmax = max([float(m[value].max()) for m in means] + [1e-9])
    size_max = max([float(m[size].max()) for m in means] + [1.0])
    return vmax, size_max
