"""The explorer: a Solara app with two views.

* Ensemble: a preset, sliders for the key drivers (unit, range, provenance; a warning outside
  the evidence), N replications run in the background with progress, then fan chart, regime
  probabilities and zone maps, side by side with baseline; the config as TOML to download.
* One run: step a ``BorderModel`` month by month and watch the zone map, the actors' states and
  the event log.

Start it with ``borderscen explore`` (binds 127.0.0.1). Needs the ``[viz]`` extra.
"""

from __future__ import annotations

import html
import time

import matplotlib.pyplot as plt
import pandas as pd
import solara
import solara.lab

from borderscen import errors
from borderscen.experiments.store import Results as StoredResults
from borderscen.inputs.scenarios import preset_names
from borderscen.interfaces.explorer import core
from borderscen.model import DEFAULT_HORIZON, MAX_HORIZON, BorderModel
from borderscen.plots import fans, maps, regimes
from borderscen.plots.style import horizon_text, scenario_colours

SLIDERS = core.sliders()
PRESETS = list(preset_names())
#: Model outputs shown as the actors' states in the one-run view (those present).
ACTOR_STATES = (("cooperation", "Baghdad-Damascus cooperation index"), ("regime", "regime"),
                ("faction_balance", "pragmatic share of Shia camps in Baghdad"),
                ("openness_baghdad", "Baghdad's openness"),
                ("willingness_damascus", "Damascus' willingness"),
                ("iran_influence", "Iranian influence"), ("us_troops_iraq", "US troops in Iraq"),
                ("us_troops_syria", "US troops in Syria"), ("isis_members", "ISIS members"),
                ("isis_fighters", "ISIS members"), ("camp_population", "camp population"),
                ("pipeline_stage", "pipeline stage"))
FAN_OUTPUTS = (("attacks_reported", "attacks_tracked_iraq", "attacks_iraq"),
               ("isis_members", "isis_fighters"), ("cooperation",))

preset = solara.reactive("baseline" if "baseline" in PRESETS else PRESETS[0])
values = solara.reactive(core.preset_values(preset.value, [s.name for s in SLIDERS]))
replications = solara.reactive(8)
horizon = solara.reactive(DEFAULT_HORIZON)  # January 2022 to December 2030
seed = solara.reactive(1)
compare = solara.reactive(True)
job: solara.Reactive[core.EnsembleJob | None] = solara.reactive(None)
progress = solara.reactive(0.0)


def _fig(fig):
    plt.close(fig)  # solara renders it; pyplot must not keep it
    return fig


def _cell(key: str, text: str) -> str:
    return f'<td data-cell="{html.escape(key)}">{html.escape(text)}</td>'


def summary_html(table: pd.DataFrame, metrics: list[str]) -> str:
    """The numbers of an ensemble as an HTML table (cells carry data-cell='scenario|column')."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in
                   ["scenario", "runs", *[f"{m} median (5-95%)" for m in metrics],
                    "P(partnership)", "P(limited)", "P(deterioration)"])
    body = []
    for _, r in table.iterrows():
        sc = r["scenario"]
        cells = [_cell(f"{sc}|scenario", sc), _cell(f"{sc}|runs", str(r["runs"]))]
        for m in metrics:
            cells.append(_cell(f"{sc}|{m} median",
                               f"{r[f'{m} median']:.6g} ({r[f'{m} 5%']:.4g} to {r[f'{m} 95%']:.4g})"))
        for reg in ("partnership", "limited", "deterioration"):
            cells.append(_cell(f"{sc}|P({reg})", f"{r[f'P({reg})']:.3f}"))
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="bs-summary" style="border-collapse:collapse" border="1" cellpadding="4">'
            f"<tr>{head}</tr>{''.join(body)}</table>")


def _settings() -> core.Settings:
    return core.Settings(preset=preset.value, overrides=dict(values.value),
                         replications=int(replications.value), horizon_months=int(horizon.value),
                         seed=int(seed.value), compare_baseline=compare.value)


def _set_preset(name: str) -> None:
    preset.set(name)
    values.set(core.preset_values(name, [s.name for s in SLIDERS]))


@solara.component
def ParameterSlider(s: core.Slider):
    value = values.value[s.name]

    def on_value(v):
        values.set({**values.value, s.name: s.snap(v)})

    with solara.Column(classes=[f"bs-param-{s.name}"], gap="0px"):
        if s.kind in ("int", "bool"):
            solara.SliderInt(f"{s.name} ({s.unit})", value=int(round(value)), min=int(s.min),
                             max=int(s.max), step=1, on_value=on_value)
        else:
            solara.SliderFloat(f"{s.name} ({s.unit})", value=value, min=s.min, max=s.max,
                               step=s.step, on_value=on_value)
        solara.Text(f"value: {value:g} {s.unit}", classes=["bs-value"],
                    style={"font-size": "0.85em", "font-weight": "bold"})
        solara.Text(f"{s.meaning} {s.describe()}", style={"font-size": "0.75em", "color": "#555"})
        warning = s.warning(value)
        if warning:
            solara.Warning(warning, dense=True, classes=["bs-warning"])


@solara.component
def Controls():
    solara.Select("preset", values=PRESETS, value=preset.value, on_value=_set_preset)
    solara.SliderInt("replications per scenario", value=replications, min=2, max=200)
    solara.SliderInt("horizon (months from Jan 2022)", value=horizon, min=3, max=MAX_HORIZON)
    solara.InputInt("seed", value=seed)
    solara.Switch(label="compare with baseline (same seeds)", value=compare)
    for s in SLIDERS:
        ParameterSlider(s)


@solara.component
def Ensemble():
    running = job.value is not None and not job.value.finished

    def start():
        progress.set(0.0)
        try:
            new = core.EnsembleJob(_settings())
        except errors.ConfigError as exc:  # e.g. camp weights that add up to more than 0.95
            problem.set(str(exc))
            return
        problem.set("")
        job.set(new.start())

    def poll(cancel):
        j = job.value
        while j is not None and not j.finished and not cancel.is_set():
            progress.set(100.0 * j.done / max(j.total, 1))
            time.sleep(0.25)
        if j is not None:
            progress.set(100.0)
            job.set(j)  # re-render with the results
            _done.set(_done.value + 1)

    solara.use_thread(poll, dependencies=[job.value])
    if problem.value:
        solara.Error(f"These settings are not allowed: {problem.value}", classes=["bs-problem"])
    with solara.Columns([1, 2]):
        with solara.Column():
            Controls()
            with solara.Row():
                solara.Button("Run ensemble", on_click=start, color="primary", disabled=running,
                              classes=["bs-run"])
                solara.FileDownload(lambda: core.config_toml(_settings()),
                                    filename="explorer.toml", label="Export config (TOML)")
        with solara.Column():
            if job.value is not None:
                j = job.value
                solara.ProgressLinear(value=progress.value if not j.finished else 100.0,
                                      classes=["bs-progress"])
                solara.Text(f"{j.done} of {j.total} runs", classes=["bs-progress-text"])
                if j.error is not None:
                    solara.Error(f"the run failed: {j.error}")
                elif j.results is not None:
                    Results(j.results, _done.value)
                    with solara.Details("The config behind these results (TOML)"):
                        solara.HTML(tag="pre", unsafe_innerHTML=html.escape(
                            j.config_path.read_text()), classes=["bs-toml"])
            else:
                solara.Info("Set the sliders, then run an ensemble.")


_done = solara.reactive(0)
problem = solara.reactive("")


def _figures(res: StoredResults) -> dict:
    """The figures of an ensemble (drawn once per result, not on every render)."""
    ts, zones = res.timeseries, res.zones
    names = list(res.scenarios)
    colours = scenario_colours(names)
    outputs = fans.default_outputs(ts, FAN_OUTPUTS)
    vmax, size_max = maps.shared_scale(zones, names)
    return {"fan": _fig(fans.fan_chart(ts, outputs=outputs, colours=colours)[0]),
            "regimes": _fig(regimes.regime_chart(ts, colours=colours)[0]),
            "maps": {sc: _fig(maps.zone_map(zones, sc, vmax=vmax, size_max=size_max)[0])
                     for sc in names}}


@solara.component
def Figure(fig, key, css: str = ""):
    with solara.Column(classes=[css] if css else []):
        solara.FigureMatplotlib(fig, dependencies=[key], format="png", bbox_inches="tight",
                                dpi=90)


@solara.component
def Results(res: StoredResults, generation: int):
    key = (res.id, str(res.root), generation)
    figs = solara.use_memo(lambda: _figures(res), dependencies=[key])
    table = solara.use_memo(lambda: core.summary(res), dependencies=[key])
    metrics = core.metric_names(res.runs)
    solara.Markdown(f"**{len(res.runs)} runs**, horizon {horizon_text(res.timeseries['date'])}; "
                    "results id `" + res.id + "`")
    solara.HTML(unsafe_innerHTML=summary_html(table, metrics), classes=["bs-summary-box"])
    Figure(figs["fan"], key, "bs-fan")
    Figure(figs["regimes"], key, "bs-regimes")
    with solara.Columns([1] * len(figs["maps"])):
        for sc, fig in figs["maps"].items():
            Figure(fig, key, f"bs-map-{sc}")


# ------------------------------------------------------------------------------- one run
model: solara.Reactive[BorderModel | None] = solara.reactive(None)
ticks = solara.reactive(0)
#: Why the last reset or step failed (shown in the view, not only in the server's log).
run_problem = solara.reactive("")


def _new_model() -> BorderModel:
    return BorderModel(preset.value, seed=int(seed.value), horizon_months=int(horizon.value),
                       overrides=core.Settings(preset=preset.value,
                                               overrides=dict(values.value)).changed())


@solara.component
def OneRun():
    m = model.value
    tick = ticks.value  # read here, so stepping the same model object re-renders this view

    def reset():
        try:
            new = _new_model()
        except Exception as exc:  # e.g. settings the model refuses: say so in the view
            run_problem.set(f"the model could not be built: {type(exc).__name__}: {exc}")
            return
        run_problem.set("")
        model.set(new)
        ticks.set(ticks.value + 1)

    def step(n: int = 1):
        try:
            mm = model.value or _new_model()
            for _ in range(n):
                if mm.running:
                    mm.step()
        except Exception as exc:
            run_problem.set(f"the model could not step: {type(exc).__name__}: {exc}")
            return
        run_problem.set("")
        model.set(mm)
        ticks.set(ticks.value + 1)

    with solara.Columns([1, 2]):
        with solara.Column():
            Controls()
            with solara.Row():
                solara.Button("Reset", on_click=reset, classes=["bs-reset"])
                solara.Button("Step one month", on_click=lambda: step(1), color="primary",
                              classes=["bs-step"])
                solara.Button("Step 6 months", on_click=lambda: step(6), classes=["bs-step6"])
        with solara.Column():
            if run_problem.value:
                solara.Error(run_problem.value, classes=["bs-run-problem"])
            if m is None:
                solara.Info("Reset, then step the model month by month.")
            elif m.zone_frame().empty:
                solara.Markdown(f"### Ready (month 0 of {m.horizon}): step the model")
            else:
                RunState(m, tick)


@solara.component
def RunState(m: BorderModel, tick: int):
    frame = m.to_frame()
    last = frame.iloc[-1]
    solara.Markdown(f"### {pd.Timestamp(last['date']):%B %Y} (month {len(frame)} of {m.horizon})")
    rows = [(label, last[col]) for col, label in ACTOR_STATES if col in frame.columns]
    solara.HTML(unsafe_innerHTML="<table class='bs-actors' border='1' cellpadding='3'>" + "".join(
        f"<tr><td>{html.escape(lab)}</td><td data-state='{html.escape(lab)}'>"
        f"{v:.4g}</td></tr>" if isinstance(v, int | float) else
        f"<tr><td>{html.escape(lab)}</td><td>{html.escape(str(v))}</td></tr>"
        for lab, v in dict(rows).items()) + "</table>")
    zones = core.zones_so_far(m)
    fig = solara.use_memo(lambda: _fig(maps.zone_map(
        zones, "run", title="ISIS attacks (colour) and members (size) per zone, up to "
        f"{pd.Timestamp(last['date']):%b %Y}")[0]), dependencies=[id(m), tick, len(frame)])
    Figure(fig, (id(m), tick, len(frame)), "bs-run-map")
    log = core.event_log(frame, m.spec)
    solara.Markdown("**Event log**\n\n" + ("\n".join(f"- {e}" for e in log) or "_nothing yet_"))


@solara.component
def Page():
    solara.Title("borderscen explorer")
    solara.Markdown("## borderscen explorer\nExploratory scenarios, not forecasts. Every number "
                    "here comes from `borderscen.run_experiment` / `BorderModel`.")
    with solara.lab.Tabs():
        with solara.lab.Tab("Ensemble"):
            Ensemble()
        with solara.lab.Tab("One run"):
            OneRun()
