"""Shared look of every figure: colour-blind-safe palette (Okabe-Ito), print-friendly sizes,
and saving each figure with the table that drew it and the results' id stamped on it.

Importing this module changes nothing in the process: the matplotlib backend and the global
``rcParams`` are left alone (so Jupyter's inline figures keep working). Every plotting function
applies :data:`STYLE` only while it draws, through :func:`styled`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

if TYPE_CHECKING:  # the names of rcParams (matplotlib >= 3.10 types them)
    from matplotlib.typing import RcKeyType

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: More distinct colours for experiments with more series than Okabe-Ito has (Tol's muted).
EXTRA_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
                 "#882255", "#AA4499")
#: Fixed colours for the presets, so the same scenario has the same colour in every figure and
#: every experiment.
SCENARIO_COLOURS = {"baseline": "#000000", "cohesive_baghdad": "#009E73", "covert_channel": "#0072B2",
                    "tehran_ascendant": "#D55E00"}
REGIME_COLOURS = {"deterioration": "#D55E00", "limited": "#56B4E9", "partnership": "#009E73"}
#: The look of every figure, applied inside the plotting functions only.
STYLE: dict[RcKeyType, Any] = {
    "figure.dpi": 110, "savefig.dpi": 200, "font.size": 10, "axes.titlesize": 11,
    "axes.labelsize": 10, "legend.fontsize": 9, "axes.spines.top": False,
    "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3,
}
#: What every plotting function returns: the figure and the table of the numbers it shows.
type FigureAndTable = tuple[Figure, pd.DataFrame]
#: Footer stamp font size (points): readable when a figure is printed at column width.
STAMP_SIZE = 9
#: Human labels and units of outputs used in figures.
LABELS = {
    "attacks_iraq": ("ISIS attacks in Iraq (true)", "attacks / month"),
    "attacks_syria": ("ISIS attacks in Syria (true)", "attacks / month"),
    "attacks_tracked_iraq": ("Attacks in Iraq (tracked)", "attacks / month"),
    "attacks_tracked_syria": ("Attacks in Syria (tracked)", "attacks / month"),
    "attacks_claimed_iraq": ("Attacks in Iraq (claimed)", "attacks / month"),
    "attacks_claimed_syria": ("Attacks in Syria (claimed)", "attacks / month"),
    "isis_members": ("ISIS members", "members, Iraq + Syria"),
    "isis_members_iraq": ("ISIS members in Iraq", "members"),
    "isis_members_syria": ("ISIS members in Syria", "members"),
    "cooperation": ("Baghdad-Damascus cooperation", "index, 0-1"),
    "smuggling_flow": ("Smuggling flow, Deir ez-Zor - Anbar", "shipments / month (index)"),
    "weapons_stock": ("Smuggled weapons held by ISIS cells", "shipments, index"),
    "interdictions": ("Interdicted shipments", "shipments / month (index)"),
    "joint_operations": ("Joint Baghdad-Damascus operations", "operations / month"),
    "iran_influence": ("Iranian influence", "index (0-1)"),
    "tehran_camp": ("Weight of the Tehran-aligned camp in Baghdad", "share"),
    "camp_population": ("Camp population (al-Hol + Roj)", "persons"),
    "us_troops_iraq": ("US troops in Iraq", "troops"),
    "us_troops_syria": ("US troops in Syria", "troops"),
    "isis_tempo": ("ISIS tempo (latent state)", "share of runs"),
    "isis_tempo_multiplier": ("ISIS tempo (latent state)", "attack multiplier, 1 = steady"),
    "coalition_tempo_syria": ("Coalition tempo in Syria", "factor on partnered operations"),
    "coalition_tempo_iraq": ("Coalition tempo in Iraq", "factor on partnered operations"),
    "damascus_capacity": ("Damascus counter-terrorism capacity", "index, 0-1"),
    "cum_attacks": ("Attacks, branch to horizon (true)", "attacks"),
    "cum_attacks_iraq": ("Attacks in Iraq", "attacks, branch to horizon"),
    "cum_attacks_syria": ("Attacks in Syria", "attacks, branch to horizon"),
    "cum_attacks_tracked": ("Tracked attacks, branch to horizon", "attacks"),
    "cum_attacks_desert": ("Attacks in the desert zones, branch to horizon", "attacks"),
    "cum_casualties": ("Casualties of attacks, branch to horizon", "people"),
    "final_isis_members": ("ISIS members", "members at the horizon"),
    "isis_growth": ("ISIS members at the horizon / at the branch", "ratio"),
    "cum_smuggling": ("Smuggling flow, branch to horizon", "shipments (index)"),
    "final_weapons_stock": ("Smuggled weapons held by ISIS cells", "shipments at the horizon (index)"),
    "mean_cooperation": ("Cooperation", "mean index after the branch"),
    "months_partnership": ("Months in partnership after the branch", "months"),
}


def label(name: str) -> tuple[str, str]:
    """(title, unit) of an output column; unknown names get a readable fallback."""
    return LABELS.get(name, (name.replace("_", " ").capitalize(), ""))


@contextlib.contextmanager
def style_context(style: Mapping[RcKeyType, Any] | None = None) -> Iterator[None]:
    """Apply ``style`` (default :data:`STYLE`) to matplotlib and restore exactly those keys.

    Unlike ``matplotlib.rc_context`` this leaves every other setting alone, in particular
    'interactive' and 'backend', which Jupyter's inline backend sets while the first figure is
    made: restoring them would stop later figures from showing.
    """
    style = dict(STYLE if style is None else style)
    saved = {k: matplotlib.rcParams[k] for k in style}
    matplotlib.rcParams.update(style)
    try:
        yield
    finally:
        matplotlib.rcParams.update(saved)


#: What every figure says under it, drawn from the API or saved (then with the results' id).
CAVEAT = "exploratory scenarios, not forecasts"
_STAMP_GID = "borderscen-stamp"


def _caveat(fig: Any) -> None:
    """The caveat under a figure drawn from the API (a notebook), until :func:`stamp` replaces
    it with the results' id when the figure is saved."""
    if not isinstance(fig, Figure) or any(t.get_gid() == _STAMP_GID for t in fig.texts):
        return
    fig.text(0.995, 0.0, f"borderscen · {CAVEAT}", ha="right", va="top", fontsize=STAMP_SIZE,
             color="#333333", gid=_STAMP_GID)


def styled[F: Callable[..., Any]](func: F) -> F:
    """Run a plotting function inside :func:`style_context` (the style never leaks out) and put
    the caveat under the figure it returns."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with style_context():
            out = func(*args, **kwargs)
        _caveat(out[0] if isinstance(out, tuple) and out else out)
        return out
    return wrapper  # type: ignore[return-value]


def base_scenario(name: str) -> str:
    """The scenario of a series label (a sweep point's label starts with its scenario).

    >>> base_scenario("limited | coalition_isr=0.2")
    'limited'
    """
    return str(name).split(" | ", 1)[0]


def scenario_colours(names: Iterable[str]) -> dict[str, str]:
    """One stable colour per series label.

    Presets keep their fixed colour (:data:`SCENARIO_COLOURS`); other labels take the unused
    palette colours in the order given, so pass *all* series of an experiment once and hand the
    result to every figure (``colours=``) to keep one colour per scenario across figures.
    """
    names = list(dict.fromkeys(str(n) for n in names))
    fixed = {n: SCENARIO_COLOURS[n] for n in names if n in SCENARIO_COLOURS}
    used = set(fixed.values())
    spare = iter([c for c in OKABE_ITO + EXTRA_COLOURS if c not in used])
    out = {}
    for n in names:
        out[n] = fixed.get(n) or next(spare, "#777777")
    return out


def colours_for(names: Sequence[str], colours: Mapping[str, str] | None) -> dict[str, str]:
    """``colours`` when given (must cover ``names``), else :func:`scenario_colours`."""
    if colours is None:
        return scenario_colours(names)
    missing = [n for n in names if n not in colours]
    if missing:
        extra = scenario_colours([*colours, *missing])
        return {**colours, **{n: extra[n] for n in missing}}
    return dict(colours)


def informative(values) -> bool:
    """False when a panel would show nothing: no finite values, or all of them equal."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
    v = v[np.isfinite(v)]
    return v.size > 0 and bool(np.ptp(v) > 0)


class _DateLocator(mdates.AutoDateLocator):
    """``AutoDateLocator`` that remembers the ticks of the last view interval: every layout
    pass asks each axis for its ticks several times (constrained layout, the tight bounding box,
    each spine, the draw), and panels sharing an x axis share this locator, so the rrule is
    computed once per view instead of hundreds of times. Zooming or panning changes the view
    and computes afresh."""

    _view: tuple[float, float] | None = None
    _ticks: Any = None

    def __call__(self):
        view = tuple(self.axis.get_view_interval()) if self.axis is not None else None
        if view is None or view != self._view:
            self._ticks, self._view = super().__call__(), view
        return self._ticks


class _DateFormatter(mdates.ConciseDateFormatter):
    """``ConciseDateFormatter`` that remembers the labels (and offset) of the last ticks."""

    _key: tuple | None = None
    _labels: list[str] = []
    _offset = ""

    def format_ticks(self, values):
        axis = self._locator.axis
        key = (tuple(values), bool(axis is not None and axis.__name__ in ("xaxis", "yaxis")
                                   and axis.get_inverted()))
        if key != self._key:
            self._labels, self._offset, self._key = super().format_ticks(values), self.get_offset(), key
        self._offset_string = self._offset
        return list(self._labels)


def date_axis(ax) -> None:
    """Concise date ticks that do not collide whatever the horizon (computed once per view
    and shared by the panels sharing the axis)."""
    locator = _DateLocator(minticks=3, maxticks=7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(_DateFormatter(locator))


def horizon_text(dates) -> str:
    """'Dec 2027' from a column of dates (the last month simulated)."""
    d = pd.to_datetime(pd.Series(dates)).dropna()
    return f"{d.max():%b %Y}" if len(d) else "the horizon"


def caption(fig, text: str, width: int = 110) -> None:
    """An explanatory caption under the figure (thresholds, what markers mean)."""
    import textwrap
    fig.text(0.01, 0.0, textwrap.fill(text, width), ha="left", va="top", fontsize=8.5,
             color="#333333", gid="borderscen-caption")


def stamp(fig, results_id: str) -> None:
    """Footer naming the results and the caveat, under everything else (captions, legends),
    large enough to print (it replaces the plain caveat of :func:`styled`). Freezes the layout
    so saving does not move anything onto it."""
    for t in [t for t in fig.texts if t.get_gid() == _STAMP_GID]:
        t.remove()
    engine = fig.get_layout_engine()
    if engine is not None and fig.axes:  # the layout alone (what a draw does first): no pixels
        engine.execute(fig)
    renderer = fig.canvas.get_renderer()
    low = fig.get_tightbbox(renderer).y0 / fig.bbox_inches.height  # inches -> figure fraction
    y = min(0.0, low) - 0.005
    if fig.get_layout_engine() is not None:
        fig.set_layout_engine("none")
    for leg in fig.legends:  # pin figure legends where they are: saving with a tight bbox
        box = leg.get_window_extent(renderer).transformed(fig.transFigure.inverted())
        leg.set_loc("lower left")
        leg.set_bbox_to_anchor((box.x0, box.y0), transform=fig.transFigure)
        leg.borderaxespad = 0.0
    fig.text(0.995, y, f"borderscen · {results_id} · {CAVEAT}",
             ha="right", va="top", fontsize=STAMP_SIZE, color="#333333", gid=_STAMP_GID)


def tight_box(fig: Figure, dpi: float) -> Bbox:
    """The box ``savefig(bbox_inches="tight", dpi=dpi)`` crops a PNG to (inches, padded by
    ``savefig.pad_inches``), measured with the Agg renderer at ``dpi`` as savefig measures it,
    but without the whole drawing pass savefig makes first (the figure's layout is frozen:
    :func:`stamp`). Text is measured at the saving dpi: its extent does not scale exactly with
    the dpi, so a box measured at the figure's own dpi could cut a wide title."""
    from matplotlib.backends.backend_agg import RendererAgg
    canvas = fig.canvas
    manager, own_dpi = canvas.manager, fig.dpi
    canvas.manager = None  # as savefig does: changing the dpi never resizes a window
    try:
        fig.dpi = dpi
        renderer = RendererAgg(int(fig.bbox.width), int(fig.bbox.height), dpi)
        box = fig.get_tightbbox(renderer)
    finally:
        fig.dpi = own_dpi
        canvas.manager = manager
    pad = matplotlib.rcParams["savefig.pad_inches"]
    return box.padded(pad, pad)


def save(fig: Figure, data: pd.DataFrame, stem: Path, results_id: str,
         formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write the figure in each format plus ``stem.csv`` with the data it shows."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stamp(fig, results_id)
    files = []
    dpi = STYLE["savefig.dpi"]
    for fmt in formats:
        path = stem.parent / f"{stem.name}.{fmt}"
        fig.savefig(path, bbox_inches=tight_box(fig, dpi) if fmt == "png" else "tight", dpi=dpi,
                    metadata={"Title": stem.name} if fmt != "svg" else None)
        files.append(path)
    csv = stem.parent / f"{stem.name}.csv"
    data.assign(results_id=results_id).to_csv(csv, index=False)
    files.append(csv)
    plt.close(fig)
    return files


def scenario_order(df: pd.DataFrame, scenarios: Sequence[str] | None = None) -> list[str]:
    """Requested scenarios, else the results' own order (categorical), else sorted."""
    if scenarios:
        return list(scenarios)
    col = df["scenario"]
    present = set(col.astype(str))
    if isinstance(col.dtype, pd.CategoricalDtype):
        return [c for c in col.cat.categories if c in present]
    return sorted(present)


def present(df: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """The names that are columns of ``df`` (default metric lists survive renamed outputs)."""
    return [n for n in names if n in df.columns]
