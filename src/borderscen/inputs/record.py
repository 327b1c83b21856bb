"""The observed record: calibration targets (2022-01..2024-12) and hold-outs (2025-01 onwards).

``targets()`` reads ``data/targets.toml`` and ``holdouts()`` reads ``data/holdout.toml``; each
row is one public figure (an attack count, a strength estimate, an operation yield...) tagged with
the channel it was observed through, and cites an ``rec-...`` id in the evidence catalogue. The
calibration must use ``targets()`` only; ``holdouts()`` is for scoring a calibrated model.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import math
import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from borderscen.errors import ConfigError, ConfigErrors, collect, from_pydantic, read_toml

Quantity = Literal["attacks", "members", "operations", "neutralised", "killed", "detained",
                   "camp_population", "detainees", "repatriated"]
Channel = Literal["tracker", "claimed", "official", "partnered_ops", "un_estimate", "camp_admin"]
Country = Literal["iraq", "syria", "both"]

QUANTITIES: tuple[str, ...] = get_args(Quantity)
CHANNELS: tuple[str, ...] = get_args(Channel)
COUNTRIES: tuple[str, ...] = get_args(Country)

FIT_START, FIT_END = "2022-01", "2024-12"
HOLDOUT_START = "2025-01"

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])/(\d{4})-(0[1-9]|1[0-2])$")


class _Period:
    """``start`` and ``end`` of a record row's ``period`` ('YYYY-MM/YYYY-MM')."""

    if TYPE_CHECKING:
        period: str

    @property
    def start(self) -> str:
        """First month covered, 'YYYY-MM'."""
        return self.period.split("/")[0]

    @property
    def end(self) -> str:
        """Last month covered (inclusive), 'YYYY-MM'."""
        return self.period.split("/")[1]


class Observation(_Period, BaseModel):
    """One observed figure: what, where, when, how observed, and the evidence behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    quantity: Quantity
    country: Country
    period: str
    channel: Channel
    unit: str
    evidence: str
    value: float | None = None
    interval: tuple[float, float] | None = None
    lower: float | None = None
    upper: float | None = None
    area: str | None = None
    #: The exact days covered, 'YYYY-MM-DD/YYYY-MM-DD', when the source's window is not whole months:
    #: the period is then the months it touches, and flows are pro-rated by the days covered.
    days: str | None = None
    note: str | None = None

    @field_validator("period")
    @classmethod
    def _period(cls, period: str) -> str:
        if not _PERIOD.match(period):
            raise ValueError("must look like 'YYYY-MM/YYYY-MM' (inclusive months)")
        first, last = period.split("/")
        if first > last:
            raise ValueError("ends before it starts")
        return period

    @model_validator(mode="after")
    def _days(self) -> Observation:
        if self.days is None:
            return self
        try:
            first, last = (dt.date.fromisoformat(x) for x in self.days.split("/"))
        except ValueError:
            raise ValueError(f"days {self.days!r} must look like 'YYYY-MM-DD/YYYY-MM-DD'") from None
        if first > last:
            raise ValueError(f"days {self.days!r} end before they start")
        if (f"{first:%Y-%m}", f"{last:%Y-%m}") != (self.start, self.end):
            raise ValueError(f"days {self.days!r} must start in the period's first month and end in its "
                             f"last ({self.period})")
        return self

    @property
    def month_fractions(self) -> tuple[float, ...]:
        """Share of each month of the period that the window covers (all 1 without ``days``)."""
        if self.days is None:
            return (1.0,) * self.months
        first, last = (dt.date.fromisoformat(x) for x in self.days.split("/"))
        out = []
        y, m = first.year, first.month
        for _ in range(self.months):
            n = calendar.monthrange(y, m)[1]
            lo = first.day if (y, m) == (first.year, first.month) else 1
            hi = last.day if (y, m) == (last.year, last.month) else n
            out.append((hi - lo + 1) / n)
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return tuple(out)

    @model_validator(mode="after")
    def _figure(self) -> Observation:
        given = [k for k in ("value", "interval", "lower", "upper") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of value, interval, lower, upper (got {given or 'none'})")
        figures = self.interval or (getattr(self, given[0]),)
        if not all(x > 0 for x in figures):
            raise ValueError(f"figures must be positive (got {list(figures)})")
        lo, hi = self.bounds
        if self.interval is not None and not lo < hi:
            raise ValueError(f"interval {list(self.interval)} must be [low, high] with low < high")
        return self


    @property
    def months(self) -> int:
        """How many months the period spans (1 for a dated stock)."""
        (y0, m0), (y1, m1) = (map(int, p.split("-")) for p in (self.start, self.end))
        return (y1 - y0) * 12 + (m1 - m0) + 1

    @property
    def bounds(self) -> tuple[float, float]:
        """(low, high) the observation allows: 'lower' has high = inf, 'upper' has low = 0."""
        if self.interval is not None:
            return self.interval
        if self.lower is not None:
            return self.lower, math.inf
        if self.upper is not None:
            return 0.0, self.upper
        assert self.value is not None  # the validator allows exactly one of the four forms
        return self.value, self.value


def data_path(name: str) -> Path:
    return Path(str(resources.files("borderscen") / "data" / name))


def load_observations(path: str | Path, table: str, *, start: str | None = None,
                      end: str | None = None, catalogue=None) -> list[Observation]:
    """Read ``[[table]]`` rows from ``path``; check schema, unique ids, the time window
    (``start <= period <= end``, 'YYYY-MM') and that every evidence id is in the catalogue."""
    from borderscen.inputs.evidence import catalogue as default_catalogue

    path = Path(path)
    data = read_toml(path)
    if extra := set(data) - {table}:
        raise ConfigError(path, sorted(extra)[0], "...", f"unknown top-level key; allowed: {table}")
    cat = catalogue if catalogue is not None else default_catalogue()
    out: list[Observation] = []
    errors: list[ConfigError] = []
    seen: set[str] = set()
    for i, raw in enumerate(data.get(table, [])):
        where = f"{table}[{i}]"
        try:
            obs = Observation.model_validate(raw)
        except ValidationError as exc:
            errors.extend(ConfigError(e.where, e.key.rstrip("."), e.value, e.allowed, e.hint)
                          for e in from_pydantic(path, exc, Observation, prefix=f"{where}.").errors)
            continue
        if obs.id in seen:
            errors.append(ConfigError(path, f"{where}.id", obs.id, "ids must be unique"))
        seen.add(obs.id)
        if start and obs.start < start:
            errors.append(ConfigError(path, f"{where}.period", obs.period,
                                      f"must start in {start} or later in this file"))
        if end and obs.end > end:
            errors.append(ConfigError(path, f"{where}.period", obs.period,
                                      f"must end by {end} in this file"))
        collect(errors, functools.partial(cat.require, [obs.evidence], path, f"{where}.evidence"))
        out.append(obs)
    if errors:
        raise ConfigErrors(errors)
    return out


@functools.cache
def _cached(name: str, table: str, start: str, end: str | None) -> tuple[Observation, ...]:
    return tuple(load_observations(data_path(name), table, start=start, end=end))


def targets() -> list[Observation]:
    """Calibration targets: the fit period 2022-01..2024-12 only."""
    return list(_cached("targets.toml", "target", FIT_START, FIT_END))


def holdouts() -> list[Observation]:
    """Hold-out observations from 2025-01 on: never calibrate or tune on these."""
    return list(_cached("holdout.toml", "holdout", HOLDOUT_START, None))


# ---------------------------------------------------------------------- tempo training set (issue 22)
TEMPO_START, TEMPO_FIT_END = "2017-01", "2021-12"
ShockKind = Literal["leadership_loss", "state_change", "campaign_announced"]


class TempoRow(_Period, BaseModel):
    """One published count of ISIS attacks before the hold-out years (docs/tempo-evidence.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    series: str
    country: Country
    channel: Literal["tracker", "claimed"]
    period: str
    value: float
    unit: str
    evidence: str

    @field_validator("period")
    @classmethod
    def _period(cls, period: str) -> str:
        return Observation._period(period)


class TempoShock(BaseModel):
    """A dated shock to ISIS's tempo (leadership loss, change of the state fought, announced campaign)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: ShockKind
    month: str
    evidence: str

    @field_validator("month")
    @classmethod
    def _month(cls, month: str) -> str:
        if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", month):
            raise ValueError("must look like 'YYYY-MM'")
        return month


class TempoRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    row: tuple[TempoRow, ...]
    shock: tuple[TempoShock, ...] = ()


def load_tempo_record(path: str | Path, *, catalogue=None) -> TempoRecord:
    """Read and check a tempo record: schema, months from 2017-01 and before the hold-out (2025-01),
    one row per (series, period), values > 0 and every evidence id in the catalogue."""
    from borderscen.inputs.evidence import catalogue as default_catalogue

    path = Path(path)
    try:
        rec = TempoRecord.model_validate(read_toml(path))
    except ValidationError as exc:
        raise from_pydantic(path, exc, TempoRecord) from None
    cat = catalogue if catalogue is not None else default_catalogue()
    errors: list[ConfigError] = []
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(rec.row):
        where = f"row[{i}]"
        if r.start < TEMPO_START or r.end >= HOLDOUT_START:
            errors.append(ConfigError(path, f"{where}.period", r.period,
                                      f"must lie in {TEMPO_START}..2024-12 (2025 on is the hold-out)"))
        if (r.series, r.period) in seen:
            errors.append(ConfigError(path, f"{where}.period", r.period, f"one row per period in {r.series}"))
        seen.add((r.series, r.period))
        if not r.value > 0:
            errors.append(ConfigError(path, f"{where}.value", r.value, "a positive count"))
        collect(errors, functools.partial(cat.require, [r.evidence], path, f"{where}.evidence"))
    for i, s in enumerate(rec.shock):
        if not TEMPO_START <= s.month < HOLDOUT_START:
            errors.append(ConfigError(path, f"shock[{i}].month", s.month,
                                      f"must lie in {TEMPO_START}..2024-12 (2025 on is the hold-out)"))
        collect(errors, functools.partial(cat.require, [s.evidence], path, f"shock[{i}].evidence"))
    if errors:
        raise ConfigErrors(errors)
    return rec


@functools.cache
def tempo_record() -> TempoRecord:
    """The pre-2022 tempo training set (2017-21 fitted; 2022-24 overlap rows for checks only)."""
    return load_tempo_record(data_path("tempo_record.toml"))
