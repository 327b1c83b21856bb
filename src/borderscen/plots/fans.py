"""Fan charts (median with nested 50/80/95% bands per scenario), threshold risk over time, and
response curves of a sweep.

Up to three series share a panel; with more (a sweep's design points) each series gets its own
panel (small multiples, shared axes) so overlapping bands never turn into grey mud. A fan chart
draws the observed record over the history months: each figure of the record for that output's
series, through its channel, as a monthly average over its window (2022-24 targets filled,
2025-26 hold-outs open), in black so that each scenario keeps its own colour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import pandas as pd

from borderscen.analysis.summaries import quantiles, state_shares, threshold_probability
from borderscen.assimilation.observe import FLOWS, Comparable, comparable
from borderscen.inputs.record import HOLDOUT_START, holdouts, targets
from borderscen.inputs.scenarios import history
from borderscen.plots.style import (
    FigureAndTable,
    caption,
    colours_for,
    date_axis,
    informative,
    label,
    present,
    scenario_order,
    styled,
)

BANDS = ((0.025, 0.975, 0.0), (0.1, 0.9, 0.14), (0.25, 0.75, 0.26))  # 95 (lines), 80, 50%
#: Outputs drawn by default, the first of each group that the results have (a config may
#: record only some outputs: the true attacks stand in for the tracked ones).
DEFAULT_FAN_OUTPUTS = (("attacks_tracked_iraq", "attacks_iraq"), ("attacks_tracked_syria", "attacks_syria"),
                       ("isis_members",), ("isis_tempo",), ("coalition_tempo_syria",),
                       ("damascus_capacity",), ("weapons_stock",), ("cooperation",))
#: Most series drawn in one panel before switching to small multiples.
MAX_OVERLAID = 3
#: Categorical outputs: their row shows the share of runs in each named state (a line per
#: state, a Wilson 95% band), not quantiles, which mean nothing for a state.
STATE_OUTPUTS = {"isis_tempo": {"campaign": 1.0, "lull": 2.0}}
STATE_STYLES = {"campaign": "-", "lull": ":"}


#: The record's series an output shows: (quantity, channels, country) for "{c}" = iraq/syria.
RECORD_SERIES = {"attacks_tracked_{c}": ("attacks", ("tracker",)),
                 "attacks_claimed_{c}": ("attacks", ("claimed",)),
                 "attacks_official_{c}": ("attacks", ("official",)),
                 "partnered_operations_{c}": ("operations", ("partnered_ops",)),
                 "partnered_neutralised_{c}": ("neutralised", ("partnered_ops",)),
                 "isis_members_{c}": ("members", ("un_estimate", "official"))}
#: The record's colour: the first of these that no scenario uses (scenarios keep theirs).
RECORD_COLOURS = ("#C51B7D", "#8C510A", "#666666", "#E7298A")
RECORD_LABEL = "record: target 2022-24 (filled), hold-out 2025-26 (open); monthly average over its window"


def record_series(output: str) -> tuple[str, tuple[str, ...], str] | None:
    """(quantity, channels, country) of the record's figures an output is compared with."""
    if output == "isis_members":
        return "members", ("un_estimate", "official"), "both"
    for pattern, (quantity, channels) in RECORD_SERIES.items():
        for country in ("iraq", "syria"):
            if output == pattern.format(c=country):
                return quantity, channels, country
    return None


def the_record() -> tuple[list[Comparable], set[str]]:
    """Every comparable figure of the record (targets, then hold-outs) and the hold-outs' ids."""
    fit, _ = comparable(targets())
    held, _ = comparable(holdouts())
    return [*fit, *held], {c.id for c in held}


def record_points(output: str, observations: Sequence[Comparable], held: set[str],
                  first=None, last=None) -> pd.DataFrame:
    """The record's figures for ``output`` inside [first, last] as monthly averages over their
    windows (flows divided by the months covered, pro-rated by day; stocks as they are)."""
    quantity, channels, country = record_series(output) or ("", (), "")  # none: no points
    rows = []
    for c in observations:
        if (c.quantity, c.country) != (quantity, country) or c.channel not in channels:
            continue
        start = pd.Timestamp(c.start + "-01")
        end = pd.Timestamp(c.end + "-01") + pd.offsets.MonthEnd(0)
        if (first is not None and end < first) or (last is not None and start > last):
            continue
        div = c.span if c.quantity in FLOWS else 1.0
        rows.append({"output": output, "id": c.id, "role": "hold-out" if c.id in held else "target",
                     "start": start, "end": end, "low": c.low / div,
                     "high": c.high / div if math.isfinite(c.high) else math.nan,
                     "observed_per_month": c.point / div})
    return pd.DataFrame(rows, columns=["output", "id", "role", "start", "end", "low", "high",
                                       "observed_per_month"])


def record_colour(colours: Mapping[str, str]) -> str:
    used = {c.lower() for c in colours.values()}
    return next((c for c in RECORD_COLOURS if c.lower() not in used), RECORD_COLOURS[0])


def _draw_record(ax, points: pd.DataFrame, colour: str) -> None:
    """Lines and markers only (no collections): a bar over the window at the figure, its
    interval as a vertical line, an arrow for an 'at least' figure, a dot at the centre."""
    for p in points.itertuples():
        centre = p.start + (p.end - p.start) / 2
        fill = colour if p.role == "target" else "white"
        ax.plot([p.start, p.end], [p.observed_per_month] * 2, color=colour, lw=1.4, zorder=4,
                gid="record")
        if math.isnan(p.high):
            ax.annotate("", xy=(centre, p.low * 1.5 + 1), xytext=(centre, p.low), zorder=4,
                        arrowprops={"arrowstyle": "->", "color": colour, "lw": 0.9})
        elif p.high > p.low:
            ax.plot([centre, centre], [p.low, p.high], color=colour, lw=0.9, zorder=4, gid="record")
        ax.plot([centre], [p.observed_per_month], "o", color=colour, ms=4.5, mec=colour, mfc=fill, zorder=5,
                gid="record")


def _record_handle(colour: str):
    return plt.Line2D([], [], color=colour, marker="o", mfc="white", lw=1.4, label=RECORD_LABEL,
                      gid="record-legend")


def default_outputs(ts: pd.DataFrame, groups=DEFAULT_FAN_OUTPUTS) -> list[str]:
    """The first present column of each group of candidate names."""
    out = []
    for g in groups:
        names = present(ts, [g] if isinstance(g, str) else g)
        if names:
            out.append(names[0])
    return out


def _draw_states(ax, d: pd.DataFrame, colour: str, name: str) -> None:
    """Share of runs in each state over time (line style per state), with its Wilson band."""
    for i, (state, part) in enumerate(d.groupby("state", sort=False)):
        ax.fill_between(part["date"], part["lo"], part["hi"], color=colour, alpha=0.18, linewidth=0)
        ax.plot(part["date"], part["p"], color=colour, lw=1.6, ls=STATE_STYLES.get(str(state), "-"),
                label=name if i == 0 else f"_{name}: {state}")  # one legend entry per series
    ax.set_ylim(0, 1)


def _state_legend(ax, states) -> None:
    from matplotlib.lines import Line2D
    ax.legend(handles=[Line2D([], [], color="0.3", ls=STATE_STYLES.get(s, "-"), label=s)
                       for s in states], frameon=False, fontsize=8, loc="upper left")


def _draw_fan(ax, d: pd.DataFrame, colour: str, name: str) -> None:
    for lo, hi, alpha in BANDS[1:]:
        ax.fill_between(d["date"], d[f"q{lo:g}"], d[f"q{hi:g}"], color=colour, alpha=alpha,
                        linewidth=0)
    lo, hi, _ = BANDS[0]  # 95%: thin lines, so overlapping scenarios stay readable
    for edge in (lo, hi):
        ax.plot(d["date"], d[f"q{edge:g}"], color=colour, lw=0.7, ls="--", alpha=0.8)
    ax.plot(d["date"], d["q0.5"], color=colour, lw=1.8, label=name)


#: The vertical line at the branch month (grey: never a scenario's or the record's colour).
BRANCH_COLOUR = "#7f7f7f"


@styled
def fan_chart(ts: pd.DataFrame, outputs: Sequence[str] | None = None,
              scenarios: Sequence[str] | None = None, title: str = "",
              colours: Mapping[str, str] | None = None, small_multiples: bool | None = None,
              record: bool = True, observations: Sequence[Comparable] | None = None,
              tables: Mapping[str, pd.DataFrame] | None = None) -> FigureAndTable:
    """Median and 50/80/95% bands of each output over time, per scenario.

    Up to :data:`MAX_OVERLAID` scenarios are overlaid in one panel per output; more are drawn
    as small multiples (a row per output, a column per scenario). Outputs that never vary are
    left out. ``colours`` maps scenario labels to colours (see ``style.scenario_colours``).
    ``tables`` (output -> quantile table with scenario, date, q..., n, e.g. from
    ``res.quantiles``) draws from aggregates instead of ``ts``, which may then be None.

    With ``record`` (default) the record's figures for each output's series are drawn over the
    months they cover (``observations``: default every comparable target and hold-out), with a
    legend entry; their rows join the returned table (``scenario`` = "record").
    """
    if tables is None:  # from the monthly table of the runs
        scenarios = scenario_order(ts, scenarios)
        outputs = list(outputs) if outputs is not None else default_outputs(ts)
        sub = ts[ts["scenario"].isin(scenarios)]
        outputs = [o for o in outputs if informative(sub[o])] or outputs[:1]
        tables = {o: state_shares(sub, o, STATE_OUTPUTS[o]) if o in STATE_OUTPUTS
                  else quantiles(sub, o) for o in outputs}
    else:  # precomputed tables (``res.quantiles``, ``state_shares``): the runs are never read
        scenarios = scenario_order(next(iter(tables.values())), scenarios)
        tables = {o: q[q["scenario"].isin(scenarios)] for o, q in tables.items()
                  if outputs is None or o in outputs}
        outputs = [o for o, q in tables.items()
                   if informative(q["p"].to_numpy() if o in STATE_OUTPUTS
                                  else q.filter(regex=r"^q\d").to_numpy().ravel())] or list(tables)[:1]
        tables = {o: tables[o] for o in outputs}
    colours = colours_for(scenarios, colours)
    multiples = len(scenarios) > MAX_OVERLAID if small_multiples is None else small_multiples
    dates = pd.concat([q["date"] for q in tables.values()])
    first, last = ((pd.Timestamp(dates.min()), pd.Timestamp(dates.max())) if len(dates)
                   else (None, None))
    obs: list[Comparable]
    held: set[str]
    if not record:
        obs, held = [], set()
    elif observations is None:
        obs, held = the_record()
    else:
        obs = list(observations)
        held = {c.id for c in obs if c.start >= HOLDOUT_START}
    points = {o: record_points(o, obs, held, first, last) for o in outputs}
    ink = record_colour(colours)
    if multiples:
        ncol = len(scenarios)
        fig, axes = plt.subplots(len(outputs), ncol, figsize=(2.6 * ncol + 0.8, 2.6 * len(outputs) + 1),
                                 sharex=True, sharey="row", squeeze=False, layout="constrained")
        for row, out in zip(axes, outputs, strict=True):
            q = tables[out]
            draw = _draw_states if out in STATE_OUTPUTS else _draw_fan
            for ax, sc in zip(row, scenarios, strict=True):
                draw(ax, q[q["scenario"] == sc], colours[sc], sc)
                _draw_record(ax, points[out], ink)
                date_axis(ax)
            name, unit = label(out)
            row[0].set_ylabel(f"{name}\n({unit})" if unit else name, fontsize=9)
            if out in STATE_OUTPUTS:
                _state_legend(row[0], STATE_OUTPUTS[out])
        for ax, sc in zip(axes[0], scenarios, strict=True):
            ax.set_title(sc.replace(" | ", "\n"), fontsize=9, color=colours[sc])
        if any(len(p) for p in points.values()):
            fig.legend(handles=[_record_handle(ink)], loc="outside lower center", frameon=False)
    else:
        ncol = 2 if len(outputs) > 1 else 1
        nrow = -(-len(outputs) // ncol)
        fig, axes = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, 3.4 * nrow + 0.8), sharex=True,
                                 squeeze=False, layout="constrained")
        for ax, out in zip(axes.flat, outputs, strict=False):
            q = tables[out]
            draw = _draw_states if out in STATE_OUTPUTS else _draw_fan
            for sc in scenarios:
                draw(ax, q[q["scenario"] == sc], colours[sc], sc)
            _draw_record(ax, points[out], ink)
            if out in STATE_OUTPUTS:
                _state_legend(ax, STATE_OUTPUTS[out])
            name, unit = label(out)
            ax.set_title(name)
            ax.set_ylabel(unit)
            date_axis(ax)
        for ax in list(axes.flat)[len(outputs):]:
            ax.set_visible(False)
        handles, labels = axes.flat[0].get_legend_handles_labels()
        if any(len(p) for p in points.values()):
            handles, labels = [*handles, _record_handle(ink)], [*labels, RECORD_LABEL]
        fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(handles)),
                   frameon=False)
    branch = pd.Timestamp(history().branch)
    marked = first is not None and first < branch <= last
    if marked:  # the months before it replay the record; the scenarios differ from it on
        for ax in fig.axes:
            if ax.get_visible():
                ax.axvline(branch, color=BRANCH_COLOUR, lw=0.9, ls=":", gid="branch", zorder=0.5)
    n = int(min(q.groupby("scenario", observed=True)["n"].min().min() for q in tables.values()))
    fig.suptitle(title or f"Spread of outcomes by scenario ({n} runs each): median (line), "
                 "50% and 80% bands (shaded), 95% band (dashed)"
                 + (f"; dotted: the branch, {branch:%Y-%m}" if marked else ""))
    table = pd.concat([q.assign(output=o) for o, q in tables.items()], ignore_index=True)
    drawn = [p for p in points.values() if len(p)]
    if drawn:
        table = pd.concat([table, pd.concat(drawn, ignore_index=True).assign(scenario="record")],
                          ignore_index=True)
    return fig, table


@styled
def threshold_risk(ts: pd.DataFrame, output: str = "isis_members", threshold: float = 6000,
                   scenarios: Sequence[str] | None = None, colours: Mapping[str, str] | None = None,
                   explanation: str = "", data: pd.DataFrame | None = None) -> FigureAndTable:
    """Probability over time that a monthly output exceeds a threshold, with 95% intervals.

    ``explanation`` says in the caption why the threshold is where it is. ``data``: the
    probabilities already computed (scenario, date, p, lo, hi), e.g. by
    ``analysis.results.threshold_probability``; ``ts`` may then be None.
    """
    if data is None:
        scenarios = scenario_order(ts, scenarios)
        data = threshold_probability(ts[ts["scenario"].isin(scenarios)], output, threshold)
    else:
        scenarios = scenario_order(data, scenarios)
        data = data[data["scenario"].isin(scenarios)]
    colours = colours_for(scenarios, colours)
    multiples = len(scenarios) > MAX_OVERLAID
    ncol = min(len(scenarios), 4) if multiples else 1
    nrow = -(-len(scenarios) // ncol) if multiples else 1
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol + 1.5, 2.8 * nrow + 1.2) if multiples
                             else (7.5, 4.2), sharex=True, sharey=True, squeeze=False,
                             layout="constrained")
    panels = list(axes.flat)
    for i, sc in enumerate(scenarios):
        ax = panels[i] if multiples else panels[0]
        d = data[data["scenario"] == sc]
        ax.fill_between(d["date"], d["lo"], d["hi"], color=colours[sc], alpha=0.18, linewidth=0)
        ax.plot(d["date"], d["p"], color=colours[sc], lw=1.8, label=sc)
        if multiples:
            ax.set_title(sc.replace(" | ", "\n"), fontsize=9, color=colours[sc])
    for ax in panels[len(scenarios) if multiples else 1:]:
        ax.set_visible(False)
    for ax in panels:
        ax.set_ylim(0, 1)
        date_axis(ax)
    for row in axes:
        row[0].set_ylabel("share of runs")
    name, unit = label(output)
    fig.suptitle(f"Risk that monthly {name[:1].lower() + name[1:]} exceed {threshold:g}"
                 f"{f' ({unit})' if unit else ''}; band: 95% Wilson interval")
    if not multiples:
        panels[0].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    caption(fig, f"Threshold: {threshold:g} {unit or 'units'} in one month. "
            + (explanation or "The threshold is a reading aid chosen by the analyst, not a "
               "tipping point of the model."))
    return fig, data.assign(output=output, threshold=threshold)


@styled
def response_curves(runs: pd.DataFrame, parameter: str, metrics: Sequence[str],
                    scenarios: Sequence[str] | None = None, colours: Mapping[str, str] | None = None,
                    horizon: str = "") -> FigureAndTable:
    """End-of-run outcomes against a swept parameter: median and 50%/90% bands per scenario.

    ``runs`` has a column named ``parameter`` (the runner stores swept values there) and a
    'scenario' column holding the *base* scenario of each design point.
    """
    ok = runs[runs["status"] == "ok"] if "status" in runs.columns else runs
    scenarios = scenario_order(ok, scenarios)
    colours = colours_for(scenarios, colours)
    metrics = [m for m in metrics if m in ok.columns and informative(ok[m])] or list(metrics)[:1]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.8 * len(metrics) + 0.6, 3.8), squeeze=False,
                             layout="constrained")
    rows = []
    for ax, m in zip(axes[0], metrics, strict=True):
        for sc in scenarios:
            g = ok[ok["scenario"] == sc].groupby(parameter)[m]
            q = g.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
            x = q.index.to_numpy(float)
            ax.fill_between(x, q[0.05], q[0.95], color=colours[sc], alpha=0.12, linewidth=0)
            ax.fill_between(x, q[0.25], q[0.75], color=colours[sc], alpha=0.25, linewidth=0)
            ax.plot(x, q[0.5], color=colours[sc], lw=1.8, marker="o", ms=4, label=sc)
            rows += [{"scenario": sc, "metric": m, parameter: xi, "median": q.loc[xi, 0.5],
                      "q0.05": q.loc[xi, 0.05], "q0.25": q.loc[xi, 0.25], "q0.75": q.loc[xi, 0.75],
                      "q0.95": q.loc[xi, 0.95], "n": int(g.size().loc[xi])} for xi in q.index]
        name, unit = label(m)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(unit)
        ax.set_xlabel(parameter)
        ax.xaxis.set_major_locator(plt.MaxNLocator(5))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(scenarios)),
               frameon=False)
    when = f" at {horizon}" if horizon else " at the horizon"
    fig.suptitle(f"Response to {parameter}: outcomes{when}; line: median, "
                 "bands: 50% and 90% of runs")
    return fig, pd.DataFrame(rows)

