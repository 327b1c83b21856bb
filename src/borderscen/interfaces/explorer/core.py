"""What the explorer shows, without any user interface: the slider catalogue (unit, range,
provenance, evidence span), the experiment config a set of slider values stands for (and its
TOML), a background ensemble run with progress, and the summaries drawn from its results.

Everything goes through the public API (``registry``, ``presets``, ``run_experiment``,
``BorderModel``), so the explorer shows exactly what the library computes.
"""

from __future__ import annotations

import math
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from borderscen.experiments.config import load_config
from borderscen.experiments.runner import run_experiment
from borderscen.experiments.store import Results
from borderscen.inputs.params import registry
from borderscen.inputs.scenarios import Scenario, build_scenario, presets
from borderscen.model import BorderModel

#: Sliders shown when the registry marks no parameter as a policy lever (role = "lever"):
#: the drivers the sources argue about. Names missing from the registry are skipped.
DEFAULT_DRIVERS = ("tehran_camp_initial", "election_shift", "iran_pressure", "turkey_opposition",
                   "damascus_militia_fear", "coalition_isr", "transition_delay_months",
                   "qatar_mediation", "sdf_guard_capacity")
#: End-of-run metrics the ensemble view reports (first present of each group).
METRIC_CHOICES = (("cum_attacks", "cum_attacks_reported"), ("final_isis_members",
                                                            "final_isis_fighters"),
                  ("mean_cooperation",))
YOURS = "your_settings"


# ------------------------------------------------------------------------------- sliders
@dataclass(frozen=True)
class Slider:
    """One parameter as the explorer offers it."""

    name: str
    meaning: str
    unit: str
    min: float
    max: float
    default: float
    kind: str
    provenance: str
    evidence: tuple[str, ...]
    assumption: str | None
    span: tuple[float, float]  # values the default and the evidence-backed presets use

    @property
    def step(self) -> float:
        """A power of ten, at most a hundredth of the range: the slider's grid (min + k * step)
        then holds the default and the presets' values, so a slider never shifts a value."""
        if self.kind in ("int", "bool"):
            return 1.0
        return 10.0 ** math.floor(math.log10((self.max - self.min) / 100))

    def snap(self, value: float) -> float:
        """A slider position as the value it stands for (no float noise like 0.47000000000000003)."""
        digits = max(0, -math.floor(math.log10(self.step)))
        return round(float(value), digits) if self.kind == "float" else float(round(value))

    def describe(self) -> str:
        ev = ", ".join(self.evidence) if self.evidence else "none"
        return (f"{self.unit}; range {self.min:g} to {self.max:g}; {self.provenance} "
                f"(evidence: {ev})")

    def warning(self, value: float) -> str | None:
        """A message when ``value`` lies outside what the evidence supports, else None."""
        lo, hi = self.span
        if not self.evidence:
            return (f"{self.name} rests on an assumption only ({self.assumption or 'no source'}): "
                    "any value is exploratory")
        if value < lo - 1e-12 or value > hi + 1e-12:
            where = f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
            return (f"{self.name} = {value:g} is outside the evidence ({where} in the default and "
                    "the sourced presets): an extrapolation")
        return None


def evidence_span(name: str) -> tuple[float, float]:
    """Lowest and highest value of a parameter in the default and in the presets (each preset
    value cites evidence). A registry that declares its own interval (``evidence_min`` /
    ``evidence_max``) is used instead."""
    spec = registry()[name]
    lo, hi = getattr(spec, "evidence_min", None), getattr(spec, "evidence_max", None)
    if lo is not None and hi is not None:
        return float(lo), float(hi)
    values = [float(spec.default)]
    for preset in presets().values():
        setting = preset.set.get(name)
        if setting is not None:
            values.append(float(setting.value))
    return min(values), max(values)


def sliders(names: Sequence[str] | None = None) -> list[Slider]:
    """The sliders: ``names``, else the registry's levers, else :data:`DEFAULT_DRIVERS`."""
    reg = registry()
    if names is None:  # the presets' drivers, then the policy levers
        drivers = list(dict.fromkeys(k for p in presets().values() for k in p.set))
        levers = [n for n, s in reg.items() if getattr(s, "role", None) == "lever" and n not in drivers]
        names = (drivers + levers) or [n for n in DEFAULT_DRIVERS if n in reg]
    out = []
    for n in names:
        s = reg[n]
        out.append(Slider(name=n, meaning=s.meaning, unit=s.unit, min=float(s.min),
                          max=float(s.max), default=float(s.default), kind=s.kind,
                          provenance=s.provenance, evidence=tuple(s.evidence),
                          assumption=s.assumption, span=evidence_span(n)))
    return out


def preset_values(preset: str, names: Sequence[str]) -> dict[str, float]:
    """The value each named parameter takes under a preset (what its sliders start at)."""
    scenario = build_scenario(preset)
    values = {**scenario.params, **scenario.branch_settings}  # presets apply at the branch month
    return {n: float(values[n]) for n in names}


# ------------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class Settings:
    """Everything an ensemble run depends on."""

    preset: str = "baseline"
    overrides: Mapping[str, float] = field(default_factory=dict)
    replications: int = 10
    horizon_months: int | None = None
    seed: int = 1
    compare_baseline: bool = True

    def changed(self) -> dict[str, float]:
        """Overrides that differ from the preset's own values (the rest is the preset)."""
        base = preset_values(self.preset, list(self.overrides))
        return {k: float(v) for k, v in self.overrides.items() if not math.isclose(v, base[k])}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_toml(s: Settings, executor: str = "serial") -> str:
    """The experiment config (TOML) that reproduces an ensemble of the explorer."""
    lines = ["# Made by `borderscen explore`; run it with `borderscen run THIS.toml`.",
             "[experiment]", 'name = "explorer"',
             f'description = "Preset {s.preset} with the explorer\'s slider settings."',
             f"replications = {int(s.replications)}", f"seed = {int(s.seed)}",
             f'executor = "{executor}"']
    if s.horizon_months:
        lines.append(f"horizon_months = {int(s.horizon_months)}")
    lines += ["", "[[scenarios]]", f'name = "{YOURS}"', f'preset = "{s.preset}"']
    changed = s.changed()
    if changed:
        lines.append("[scenarios.overrides]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in sorted(changed.items())]
    if s.compare_baseline:
        lines += ["", "[[scenarios]]", 'name = "baseline"', 'preset = "baseline"']
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------- ensembles
class EnsembleJob:
    """One ensemble run in a background thread; its progress is the runner's progress callback
    (runs done of the total), which the app draws as its own indicator."""

    def __init__(self, settings: Settings, executor: str = "serial",
                 workdir: str | Path | None = None):
        self.settings = settings
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="borderscen-explore-"))
        self.config_path = self.dir / "explorer.toml"
        self.config_path.write_text(config_toml(settings, executor))
        self.config = load_config(self.config_path)
        self.total = self.config.experiment.replications * len(self.config.scenarios)
        self._done = 0
        self.out = self.dir / "results"
        self.results: Results | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="borderscen-ensemble")

    def start(self) -> EnsembleJob:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self.results = run_experiment(self.config, out=self.out, progress=self._progress)
        except BaseException as exc:  # shown in the app, not lost in a thread
            self.error = exc

    def _progress(self, done: int, total: int) -> None:
        """The runner's progress callback (called in the job's thread)."""
        self._done, self.total = done, total

    @property
    def done(self) -> int:
        """Runs finished so far."""
        return self.total if self.results is not None else min(self._done, self.total)

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive() and (self.results is not None or self.error is not None)

    def wait(self, timeout: float | None = None) -> Results:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        assert self.results is not None
        return self.results


def metric_names(runs: pd.DataFrame) -> list[str]:
    """The end-of-run metrics to report, as present in this model version's runs table."""
    out = []
    for group in METRIC_CHOICES:
        name = next((m for m in group if m in runs.columns), None)
        if name:
            out.append(name)
    return out


def summary(results: Results) -> pd.DataFrame:
    """One row per scenario: median and 5-95% of each end-of-run metric, and the share of runs
    in each regime in the last month. These are the numbers the explorer displays."""
    runs = results.runs[results.runs["status"] == "ok"]
    ts = results.timeseries
    last = ts[ts["date"] == ts["date"].max()]
    rows = []
    for sc in results.scenarios:
        row: dict[str, Any] = {"scenario": sc, "runs": int((runs["scenario"] == sc).sum())}
        for m in metric_names(runs):
            v = runs.loc[runs["scenario"] == sc, m]
            row[f"{m} median"] = float(v.median())
            row[f"{m} 5%"] = float(v.quantile(0.05))
            row[f"{m} 95%"] = float(v.quantile(0.95))
        regimes = last.loc[last["scenario"] == sc, "regime"].value_counts(normalize=True)
        for r in ("partnership", "limited", "deterioration"):
            row[f"P({r})"] = float(regimes.get(r, 0.0))
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------- one run
def event_log(frame: pd.DataFrame, scenario: Scenario | None = None) -> list[str]:
    """Readable events of a run so far: regime changes, pipeline stages, breakouts, and the
    scenario's dated events that have come due."""
    log: list[str] = []
    if frame.empty:
        return log
    prev = None
    for _, row in frame.iterrows():
        when = f"{pd.Timestamp(row['date']):%b %Y}"
        if prev is not None:
            if "regime" in row and row["regime"] != prev["regime"]:
                log.append(f"{when}: relationship moves from {prev['regime']} to {row['regime']}")
            if "pipeline_stage" in row and row["pipeline_stage"] != prev["pipeline_stage"]:
                log.append(f"{when}: pipeline reaches stage {int(row['pipeline_stage'])}")
        if "breakouts" in row and row["breakouts"] > 0:
            log.append(f"{when}: camp breakout, {int(row['breakouts'])} escape")
        prev = row
    if scenario is not None:
        last = pd.Timestamp(frame["date"].max())
        for ev in getattr(scenario, "events", ()):
            when = pd.Timestamp(str(getattr(ev, "date", "")) or last)
            if when <= last:
                what = getattr(ev, "trigger", None) or ", ".join(
                    f"{k}={v:g}" for k, v in (getattr(ev, "set", None) or {}).items())
                log.append(f"{when:%b %Y}: scheduled event: {what}")
    return log


def zones_so_far(model: BorderModel) -> pd.DataFrame:
    """The model's zone table with dates, ready for ``plots.maps.zone_map``."""
    z = model.zone_frame()
    if z.empty:
        return z.assign(date=pd.Series(dtype="datetime64[ns]"), scenario="run")
    dates = model.to_frame().set_index("step")["date"]
    return z.assign(date=z["step"].map(dates), scenario="run")
