"""Scenario presets (data files in ``presets/``), overrides and dated events.

A preset states only what differs from ``baseline``, and every difference cites evidence ids.
A :class:`Scenario` is what the model runs: a full parameter set plus dated events.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from borderscen.errors import ConfigError, ConfigErrors, collect, from_pydantic, read_toml, unknown_name
from borderscen.inputs.evidence import catalogue
from borderscen.inputs.params import Parameters, check_names, make_params, registry

BASELINE = "baseline"
#: Listing order: baseline, then the scenarios in the order source 000 gives them.
SOURCE_ORDER = (BASELINE, "cohesive_baghdad", "covert_channel", "tehran_ascendant")
#: Triggers a dated event can fire, besides setting parameters ("record": a dated fact the model
#: does not represent, kept so the timeline is whole).
TRIGGERS = ("election", "camp_breakout", "camp_closed", "leadership_strike", "record")
#: Presets change drivers only: never the thresholds that define the regimes (outcomes).
FIXED_IN_PRESETS = ("partnership_threshold", "deterioration_threshold", "regime_hysteresis")
HISTORY_FILE = "history.toml"


def parse_month(text: str) -> dt.date:
    """'2025-11' or '2025-11-11' -> first of that month (the model steps monthly)."""
    for fmt in ("%Y-%m", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(str(text), fmt).date().replace(day=1)
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date; use 'YYYY-MM' or 'YYYY-MM-DD'")


class Event(BaseModel):
    """A dated change: set parameters from that month on, and/or fire a trigger."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    date: str
    set: dict[str, float] = Field(default_factory=dict)
    trigger: Literal["election", "camp_breakout", "camp_closed", "leadership_strike", "state_change",
                     "campaign_announced", "record"] | None = None
    evidence: tuple[str, ...] = ()
    why: str = ""

    def __init__(self, **data: Any) -> None:
        """``Event(date=..., set=..., trigger=...)``; a bad field is a ConfigError (as in a config)."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise from_pydantic("Event", exc, Event) from None

    @field_validator("date")
    @classmethod
    def _date(cls, v: str) -> str:
        parse_month(v)
        return v

    @property
    def month(self) -> dt.date:
        return parse_month(self.date)


class Setting(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: float
    evidence: tuple[str, ...] = Field(min_length=1)
    why: str


class Preset(BaseModel):
    """A preset file as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    title: str
    description: str
    evidence: tuple[str, ...] = Field(min_length=1)
    set: dict[str, Setting] = Field(default_factory=dict)
    events: tuple[Event, ...] = ()


def check_events(events: Sequence[Event], where: str | Path, prefix: str = "events") -> None:
    """Events may only set dynamic parameters, within range, and cite known evidence; two of
    them may not set one parameter to different values in the same month (which would win?)."""
    reg, cat = registry(), catalogue()
    seen: dict[tuple[dt.date, str], tuple[int, float]] = {}
    for i, ev in enumerate(events):
        key = f"{prefix}[{i}]"
        if not ev.set and ev.trigger is None:
            raise ConfigError(where, key, ev.model_dump(), "an event needs 'set' or 'trigger'")
        check_names(ev.set, where, f"{key}.set.")
        for name, value in ev.set.items():
            if reg[name].is_initial:
                raise ConfigError(where, f"{key}.set.{name}", value,
                                  "initial-condition parameters cannot change mid-run")
            reg[name].coerce(value, where, f"{key}.set.{name}")
            first = seen.setdefault((ev.month, name), (i, value))
            if first[1] != value:
                raise ConfigError(where, f"{key}.set.{name}", value,
                                  f"{prefix}[{first[0]}] sets {name} = {first[1]!r} in the same month "
                                  f"({ev.month:%Y-%m}); one of the two would silently win: keep one")
        cat.require(ev.evidence, where, f"{key}.evidence")


def event_month_errors(events: Sequence[Event], months: int, where: str | Path,
                       prefix: str = "events", start: str = "2022-01") -> list[ConfigError]:
    """Events must fall inside the run's months (``start`` .. ``start + months - 1``): one
    outside would never fire. The one check for configs, ``simulate`` and ``BorderModel``."""
    first = parse_month(start)
    base = first.year * 12 + first.month - 1
    end = base + int(months) - 1
    errors = []
    for j, ev in enumerate(events):
        if not base <= ev.month.year * 12 + ev.month.month - 1 <= end:
            errors.append(ConfigError(
                where, f"{prefix}[{j}].date", ev.date,
                f"outside the run's months {first:%Y-%m} .. {end // 12}-{end % 12 + 1:02d} "
                f"(horizon_months = {months}, counted from {first:%Y-%m}): it would never fire"))
    return errors


def check_start(value: str, start: str = "2022-01") -> str:
    """The clock's first month is fixed (the history is replayed from it)."""
    parse_month(value)
    if value != start:
        raise ValueError(f"the model's clock starts at {start} (the history is replayed from there); "
                         "horizon_months counts from it")
    return value


def own_events(scenario: Scenario) -> tuple[Event, ...]:
    """The events a user added to a scenario (not those of baseline and its preset, which may
    legitimately lie beyond a short horizon)."""
    table = presets()
    shipped = table[BASELINE].events + (table[scenario.preset].events
                                        if scenario.preset in table and scenario.preset != BASELINE else ())
    if scenario.events[:len(shipped)] == shipped:
        return scenario.events[len(shipped):]
    return tuple(e for e in scenario.events if e not in shipped)


def presets_dir() -> Path:
    return Path(str(resources.files("borderscen") / "presets"))


def load_preset_file(path: str | Path) -> Preset:
    """Read and validate one preset file (names, ranges, evidence ids)."""
    path = Path(path)
    data = read_toml(path)
    try:
        preset = Preset.model_validate(data)
    except ValidationError as exc:
        raise from_pydantic(path, exc, Preset) from None
    errors: list[ConfigError] = []
    cat = catalogue()

    def set_evidence() -> None:
        for k, s in preset.set.items():
            cat.require(s.evidence, path, f"set.{k}.evidence")

    for check in (
        lambda: cat.require(preset.evidence, path, "evidence"),
        lambda: make_params({k: s.value for k, s in preset.set.items()}, where=path, prefix="set."),
        set_evidence,
        lambda: check_events(preset.events, path),
    ):
        collect(errors, check)
    reg = registry()
    for k in preset.set:
        if k in FIXED_IN_PRESETS or (k in reg and (reg[k].is_initial or reg[k].calibrate)):
            errors.append(ConfigError(path, f"set.{k}", preset.set[k].value,
                                      "presets change drivers only: not regime thresholds, initial "
                                      "conditions or calibrated parameters"))
    branch = history().branch
    for i, ev in enumerate(preset.events):
        if ev.month < branch:
            errors.append(ConfigError(path, f"events[{i}].date", ev.date,
                                      f"preset events must fall on or after the branch month "
                                      f"{branch:%Y-%m} (before it, the history applies)"))
    if preset.name != path.stem:
        errors.append(ConfigError(path, "name", preset.name, f"must match the file name {path.stem!r}"))
    if errors:
        raise ConfigErrors(errors)
    return preset


@functools.cache
def presets() -> dict[str, Preset]:
    """All presets shipped with the package, by name (baseline first)."""
    found = {p.stem: load_preset_file(p) for p in sorted(presets_dir().glob("*.toml"))}
    ordered = [n for n in SOURCE_ORDER if n in found] + [n for n in found if n not in SOURCE_ORDER]
    return {n: found[n] for n in ordered}


def preset_names() -> list[str]:
    return list(presets())


@dataclass(frozen=True)
class Scenario:
    """What a model run needs: a name, a full parameter set and the dated events."""

    name: str
    params: Parameters
    events: tuple[Event, ...] = ()
    preset: str = BASELINE
    overrides: Mapping[str, float] = field(default_factory=dict)
    #: The preset's settings, applied at the branch month (before it, the history runs).
    branch_settings: Mapping[str, float] = field(default_factory=dict)

    def with_changes(self, overrides: Mapping[str, Any] | None = None,
                     events: Sequence[Event | Mapping[str, Any]] = (),
                     where: str | Path = "overrides") -> Scenario:
        """This scenario with more overrides and dated events on top (validated)."""
        overrides = dict(overrides or {})
        extra = tuple(e if isinstance(e, Event) else _event(e, where) for e in events)
        check_events(extra, where)
        levers, others = split_levers(overrides, where)
        return replace(self, params=self.params.updated(others, where),
                       events=self.events + extra, overrides={**self.overrides, **overrides},
                       branch_settings={**self.branch_settings, **levers})


def build_scenario(preset: str = BASELINE, overrides: Mapping[str, Any] | None = None,
                   events: Sequence[Event | Mapping[str, Any]] = (), name: str | None = None,
                   where: str | Path = "build_scenario") -> Scenario:
    """Baseline, then the preset's differences, then user overrides and extra events.

    >>> s = build_scenario("covert_channel", overrides={"coalition_isr": 0.3})
    >>> s.preset, s.params.coalition_isr
    ('covert_channel', 0.3)
    >>> build_scenario("covert_chanel")
    Traceback (most recent call last):
    borderscen.errors.ConfigError: build_scenario: preset = 'covert_chanel': not a known preset; ...
    (did you mean 'covert_channel'?)
    """
    table = presets()
    if preset not in table:
        raise unknown_name(where, "preset", preset, table, "preset")
    chosen, base = table[preset], table[BASELINE]
    settings = {k: s.value for k, s in chosen.set.items()}
    overrides = dict(overrides or {})
    levers, others = split_levers(overrides, where)
    params = make_params(others, where=where)
    settings.update(levers)
    extra = tuple(e if isinstance(e, Event) else _event(e, where) for e in events)
    check_events(extra, where)
    all_events = base.events + (chosen.events if preset != BASELINE else ()) + extra
    return Scenario(name=name or preset, params=params, events=all_events, preset=preset,
                    overrides=overrides, branch_settings=settings)


# ----------------------------------------------------------------------------- the history
@dataclass(frozen=True)
class History:
    """The dated record replayed in every run, and the branch month where scenarios begin."""

    events: tuple[Event, ...]
    branch: dt.date


@functools.cache
def history() -> History:
    path = Path(str(resources.files("borderscen") / "data" / HISTORY_FILE))
    data = read_toml(path)
    try:
        events = tuple(Event.model_validate(e) for e in data.get("events", []))
        branch = parse_month(data["last_month"])
    except (ValidationError, KeyError, ValueError) as exc:
        raise ConfigError(path, "events", "...", f"malformed history file: {exc}") from None
    check_events(events, path)
    return History(events=events, branch=branch)


def month_index(month: dt.date, start: dt.date) -> int:
    return (month.year - start.year) * 12 + month.month - start.month


def schedule(scenario: Scenario, start: dt.date, months: int
             ) -> dict[int, tuple[dict[str, float], frozenset[str]]]:
    """Per month index: parameter settings and triggers (history, then branch, then scenario).
    An event the user added that falls outside the run's months is refused (ConfigError)."""
    errors = event_month_errors(own_events(scenario), months, f"scenario {scenario.name!r}",
                                start=f"{start:%Y-%m}")
    if errors:
        raise ConfigErrors(errors)
    hist = history()
    out: dict[int, tuple[dict[str, float], set[str]]] = {}

    def add(month: dt.date, settings: Mapping[str, float], trigger: str | None) -> None:
        t = month_index(month, start)
        if 0 <= t < months:
            cur = out.setdefault(t, ({}, set()))
            cur[0].update(settings)
            if trigger:
                cur[1].add(trigger)

    for ev in hist.events:
        add(ev.month, ev.set, ev.trigger)
    add(hist.branch, scenario.branch_settings, "branch")
    for ev in scenario.events:
        add(ev.month, ev.set, ev.trigger)
    return {t: (settings, frozenset(trig)) for t, (settings, trig) in out.items()}


def merge_overrides(overrides: Mapping[str, Any] | None, params: Mapping[str, Any],
                    where: str | Path = "overrides") -> dict[str, Any]:
    """``overrides=`` and flat keyword overrides together; a parameter given in both with
    different values is refused (which one was meant?)."""
    overrides = dict(overrides or {})
    for name, value in params.items():
        if name in overrides and overrides[name] != value:
            raise ConfigError(where, name, value, f"also given in overrides= as {overrides[name]!r}; "
                                                  "give each parameter once")
    return {**overrides, **params}


def split_levers(overrides: Mapping[str, Any], where: str | Path) -> tuple[dict, dict]:
    """(levers, the rest): policy levers are choices from the branch month on (before it the
    history holds); uncertainties apply from the start. Values are validated either way."""
    check_names(overrides, where)
    make_params({k: v for k, v in overrides.items()}, where=where)
    reg = registry()
    levers = {k: float(v) for k, v in overrides.items() if reg[k].role == "lever"}
    return levers, {k: v for k, v in overrides.items() if k not in levers}


def _event(raw: Mapping[str, Any], where: str | Path) -> Event:
    try:
        return Event.model_validate(dict(raw))
    except ValidationError as exc:
        raise from_pydantic(where, exc, Event, prefix="events.") from None


def preset_diff(name: str) -> list[dict[str, Any]]:
    """Rows describing how a preset differs from baseline."""
    table, reg = presets(), registry()
    if name not in table:
        raise unknown_name("scenarios --diff", "preset", name, table, "preset")
    return [
        {"parameter": k, "baseline": reg[k].default, name: s.value, "unit": reg[k].unit,
         "evidence": ", ".join(s.evidence), "why": s.why}
        for k, s in table[name].set.items()
    ]
