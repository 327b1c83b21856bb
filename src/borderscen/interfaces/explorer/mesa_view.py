"""The one-run view in Mesa's own SolaraViz (``borderscen explore --mesa``).

SolaraViz supplies the step / play / reset controls and the parameter sliders; it needs a model
with flat keyword arguments, which :class:`ExplorerModel` gives. Mesa's space renderer does not
handle the string zone ids of the border network, so the map is our own component built on
``plots.maps.zone_map``; the actors' states and the event log are components too.
"""

from __future__ import annotations

import html
import math

import matplotlib.pyplot as plt
import pandas as pd
import solara
from mesa.visualization import Slider, SolaraViz, make_plot_component
from mesa.visualization.utils import update_counter

from borderscen.inputs.scenarios import preset_names
from borderscen.interfaces.explorer import core
from borderscen.model import BorderModel
from borderscen.plots import maps
from borderscen.runs import OUTPUTS

SLIDERS = core.sliders()
DEFAULTS = {s.name: s.default for s in SLIDERS}


class ExplorerModel(BorderModel):
    """``BorderModel`` with flat keyword arguments (what SolaraViz's sliders set).

    Slider values that differ from the registry default override the preset.
    """

    def __init__(self, preset: str = "baseline", seed: int = 1, horizon_months: int = 36,
                 **values: float):
        changed = {k: float(v) for k, v in values.items()
                   if k in DEFAULTS and not math.isclose(float(v), DEFAULTS[k])}
        super().__init__(preset, seed=int(seed), horizon_months=int(horizon_months),
                         overrides=changed)


def model_params() -> dict:
    params: dict = {
        "preset": {"type": "Select", "value": "baseline", "values": list(preset_names()),
                   "label": "preset"},
        "seed": {"type": "InputText", "value": 1, "label": "seed"},
        "horizon_months": Slider("horizon (months)", 36, 3, 120, 1),
    }
    for s in SLIDERS:
        params[s.name] = Slider(f"{s.name} ({s.unit})", s.default, s.min, s.max, s.step,
                                dtype=int if s.kind in ("int", "bool") else float)
    return params


def ZoneMap(model):
    return _ZoneMap(model)


@solara.component
def _ZoneMap(model):
    update_counter.get()
    zones = core.zones_so_far(model)
    if zones.empty:
        solara.Info("Step the model to see the zone map.")
        return
    fig = maps.zone_map(zones, "run", title="ISIS attacks (colour) and members (size) per zone, "
                        f"up to {pd.Timestamp(zones['date'].max()):%b %Y}")[0]
    plt.close(fig)
    with solara.Column(classes=["bs-mesa-map"]):
        solara.FigureMatplotlib(fig, format="png", bbox_inches="tight", dpi=80)


def ActorsAndLog(model):
    return _ActorsAndLog(model)


@solara.component
def _ActorsAndLog(model):
    update_counter.get()
    frame = model.to_frame()
    if frame.empty:
        return
    last = frame.iloc[-1]
    def fmt(v) -> str:
        return f"{v:.4g}" if isinstance(v, int | float) else str(v)

    rows = "".join(f"<tr><td>{html.escape(c)}</td><td>{html.escape(fmt(last[c]))}</td></tr>"
                   for c in ("cooperation", "regime", "faction_balance", "iran_influence",
                             "us_troops_iraq", "us_troops_syria", "isis_members", "isis_fighters")
                   if c in frame.columns)
    solara.HTML(unsafe_innerHTML=f"<table class='bs-mesa-actors' border='1' cellpadding='3'>"
                f"{rows}</table>")
    log = core.event_log(frame, model.spec)
    solara.Markdown("**Event log**\n\n" + ("\n".join(f"- {e}" for e in log) or "_nothing yet_"))


model = solara.reactive(ExplorerModel(horizon_months=36))
components = [(ZoneMap, 0), (ActorsAndLog, 0)]
if "cooperation" in OUTPUTS:
    components.append(make_plot_component("cooperation"))
page = SolaraViz(model, components=components, model_params=model_params(),
                 name="borderscen: one run (Mesa SolaraViz)")
