"""Shared look of every figure: colour-blind-safe palette (Okabe-Ito), print-friendly sizes,
and saving each figure with the table that drew it and the results' id stamped on it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Fixed colours for the source scenarios and regimes, so every figure agrees.
SCENARIO_COLOURS = {"baseline": "#000000", "cohesive_baghdad": "#009E73", "covert_channel": "#0072B2",
                    "tehran_ascendant": "#D55E00"}
REGIME_COLOURS = {"deterioration": "#D55E00", "limited": "#56B4E9", "partnership": "#009E73"}
#: Human labels and units of outputs used in figures.
LABELS = {
    "attacks_iraq": ("ISIS attacks in Iraq (true)", "attacks / month"),
    "attacks_syria": ("ISIS attacks in Syria (true)", "attacks / month"),
    "attacks_tracked_iraq": ("ISIS attacks in Iraq, as a tracker counts them", "attacks / month"),
    "attacks_tracked_syria": ("ISIS attacks in Syria, as a tracker counts them", "attacks / month"),
    "attacks_claimed_iraq": ("ISIS-claimed attacks in Iraq", "attacks / month"),
    "attacks_claimed_syria": ("ISIS-claimed attacks in Syria", "attacks / month"),
    "isis_members": ("ISIS members (Iraq + Syria)", "members"),
    "isis_members_iraq": ("ISIS members in Iraq", "members"),
    "isis_members_syria": ("ISIS members in Syria", "members"),
    "cooperation": ("Baghdad-Damascus cooperation", "index (0-1)"),
    "smuggling_flow": ("Smuggling flow, Deir ez-Zor - Anbar", "shipments / month (index)"),
    "interdictions": ("Interdicted shipments", "shipments / month (index)"),
    "joint_operations": ("Joint Baghdad-Damascus operations", "operations / month"),
    "iran_influence": ("Iranian influence", "index (0-1)"),
    "tehran_camp": ("Weight of the Tehran-aligned camp in Baghdad", "share"),
    "camp_population": ("Camp population (al-Hol + Roj)", "persons"),
    "us_troops_iraq": ("US troops in Iraq", "troops"),
    "us_troops_syria": ("US troops in Syria", "troops"),
    "cum_attacks": ("Attacks, branch to horizon (true)", "attacks"),
    "cum_attacks_iraq": ("Attacks in Iraq, branch to horizon", "attacks"),
    "cum_attacks_syria": ("Attacks in Syria, branch to horizon", "attacks"),
    "cum_attacks_tracked": ("Tracked attacks, branch to horizon", "attacks"),
    "cum_attacks_desert": ("Attacks in the desert zones, branch to horizon", "attacks"),
    "cum_casualties": ("Casualties of attacks, branch to horizon", "people"),
    "final_isis_members": ("ISIS members at the horizon", "members"),
    "isis_growth": ("ISIS members at the horizon / at the branch", "ratio"),
    "cum_smuggling": ("Smuggling flow, branch to horizon", "shipments (index)"),
    "mean_cooperation": ("Mean cooperation index after the branch", "index (0-1)"),
    "months_partnership": ("Months in partnership after the branch", "months"),
}


def label(name: str) -> tuple[str, str]:
    return LABELS.get(name, (name.replace("_", " ").capitalize(), ""))


def scenario_colours(names: Sequence[str]) -> dict[str, str]:
    spare = iter(c for c in OKABE_ITO if c not in SCENARIO_COLOURS.values())
    return {n: SCENARIO_COLOURS.get(n) or next(spare, "#777777") for n in names}


def apply_style() -> None:
    plt.rcParams.update({
        "figure.dpi": 110, "savefig.dpi": 200, "font.size": 10, "axes.titlesize": 11,
        "axes.labelsize": 10, "legend.fontsize": 9, "axes.spines.top": False,
        "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "figure.autolayout": False,
    })


def date_axis(ax) -> None:
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))


def stamp(fig, results_id: str) -> None:
    fig.text(0.995, 0.005, f"borderscen · {results_id} · exploratory scenarios, not forecasts",
             ha="right", va="bottom", fontsize=7, color="#555555")


def save(fig, data: pd.DataFrame, stem: Path, results_id: str,
         formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write the figure in each format plus ``stem.csv`` with the data it shows."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stamp(fig, results_id)
    files = []
    for fmt in formats:
        path = stem.parent / f"{stem.name}.{fmt}"
        fig.savefig(path, bbox_inches="tight", metadata={"Title": stem.name} if fmt != "svg" else None)
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
