"""How the model would have reported an observation: each public figure through its channel.

An :class:`~borderscen.inputs.record.Observation` names a quantity, a country, a period and the channel
it was observed through (a tracker's count, ISIS's claims, an official count, CENTCOM's
partnered-operations release, a strength estimate). ``model_value`` computes the same thing from
a batch's monthly arrays, so targets and hold-outs are always compared like with like: claimed
attacks with the model's claimed attacks, never with its true attacks.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from borderscen.inputs.record import Observation
from borderscen.mechanisms import observation

#: Share of UN "members" (members and supporters) who are fighters: the UN's own wording ranges
#: from "about half" (February 2023) to "most" (August 2023). The model counts fighters and
#: active operatives, so a members figure is compared after scaling by this range.
FIGHTER_SHARE = (0.5, 1.0)

_SERIES = {
    ("attacks", "tracker"): "attacks_tracked_{c}",
    ("attacks", "claimed"): "attacks_claimed_{c}",
    ("attacks", "official"): "attacks_official_{c}",
    ("operations", "partnered_ops"): "partnered_operations_{c}",
    ("neutralised", "partnered_ops"): "partnered_neutralised_{c}",
    ("members", "un_estimate"): "isis_members_{c}",
    ("members", "official"): "isis_members_{c}",
}
#: Rows the model should not be held to, and why.
EXCLUDED = {
    "killed-syria-2022": "inflated by the January 2022 Ghwayran prison battle (over 400 ISIS dead), "
                         "which the model represents as a breakout, not as attrition in operations",
}
#: Quantities summed over the period (flows); the others are stocks, averaged over it.
FLOWS = ("attacks", "operations", "neutralised")


@dataclass(frozen=True)
class Comparable:
    """An observation the model can produce: its id, series, months and (low, high) bounds."""

    id: str
    quantity: str
    country: str
    channel: str
    start: str
    end: str
    low: float
    high: float
    group: str
    #: Share of each month of the window the source covers (day resolution); () means whole months.
    fractions: tuple[float, ...] = ()

    @property
    def span(self) -> float:
        """Months the window covers, pro-rated at day resolution (e.g. 10 days of December: 0.32)."""
        if self.fractions:
            return float(sum(self.fractions))
        return float(month_index_between(self.start, self.end))

    @property
    def point(self) -> float:
        """A single number for scores: the value, an interval's midpoint, or a lower bound."""
        if math.isinf(self.high):
            return self.low
        return (self.low + self.high) / 2


def month_index_between(start: str, end: str) -> int:
    """Whole months from ``start`` to ``end`` inclusive ('YYYY-MM')."""
    (y0, m0), (y1, m1) = (map(int, p.split("-")) for p in (start, end))
    return (y1 - y0) * 12 + (m1 - m0) + 1


def _month(text: str) -> dt.date:
    y, m = map(int, text.split("-"))
    return dt.date(y, m, 1)


def _fractions(o) -> tuple[float, ...]:
    return tuple(o.month_fractions) if getattr(o, "days", None) else ()


def comparable(observations: Sequence[Observation]) -> tuple[list[Comparable], list[tuple[str, str]]]:
    """The observations the model can reproduce, and (id, reason) for those it cannot.

    Killed and detained rows of the same country and period are merged into one neutralised
    observation (the model does not separate killing from capture).
    """
    kept, skipped = [], []
    pairs: dict[tuple[str, str, str], dict[str, Observation]] = {}
    for o in observations:
        if o.id in EXCLUDED:
            skipped.append((o.id, EXCLUDED[o.id]))
            continue
        if o.quantity in ("killed", "detained") and o.channel == "partnered_ops":
            pairs.setdefault((o.country, o.period, o.channel), {})[o.quantity] = o
            continue
        key = (o.quantity, o.channel)
        if getattr(o, "area", None):
            skipped.append((o.id, f"covers one area ({o.area}), not a whole country"))
        elif key not in _SERIES:
            skipped.append((o.id, f"the model has no {o.quantity} series through the {o.channel} channel"))
        elif o.channel == "official" and o.quantity == "attacks" and o.country != "iraq":
            skipped.append((o.id, "only Iraq's official count is modelled"))
        else:
            low, high = o.bounds
            if o.quantity == "members" and "fighter" not in (o.note or "").lower() \
                    and not o.id.startswith("fighters") and o.country == "both":
                low, high = low * FIGHTER_SHARE[0], high * FIGHTER_SHARE[1]
            kept.append(Comparable(o.id, o.quantity, o.country, o.channel, o.start, o.end, low, high,
                                   f"{o.quantity}/{o.channel}/{o.country}/{o.start[:4]}",
                                   _fractions(o)))
    for (country, period, channel), rows in pairs.items():
        if set(rows) != {"killed", "detained"}:
            for o in rows.values():
                skipped.append((o.id, "killed or detained alone; the model counts both together"))
            continue
        k, d = rows["killed"], rows["detained"]
        (kl, kh), (dl, dh) = k.bounds, d.bounds
        start, end = period.split("/")
        if k.days != d.days:
            raise ValueError(f"{k.id} and {d.id} pair killed with detained over different days")
        kept.append(Comparable(f"{k.id}+{d.id}", "neutralised", country, channel, start, end,
                               kl + dl, kh + dh, f"neutralised/{channel}/{country}/{start[:4]}",
                               _fractions(k)))
    return kept, skipped


def series_names(c: Comparable) -> tuple[str, ...]:
    """The monthly output columns whose sum over the window is ``c``'s channel value."""
    pattern = _SERIES[(c.quantity, c.channel)] if c.quantity != "neutralised" else "partnered_neutralised_{c}"
    countries = ("iraq", "syria") if c.country == "both" else (c.country,)
    return tuple(pattern.format(c=k) for k in countries)


def model_value(monthly: Mapping[str, np.ndarray], dates: Sequence[dt.date],
                c: Comparable) -> np.ndarray | None:
    """(R,) model values of one comparable observation, or None if outside the run's months."""
    first, last = _month(c.start), _month(c.end)
    idx = [i for i, d in enumerate(dates) if first <= d <= last]
    expected = (last.year - first.year) * 12 + last.month - first.month + 1
    if len(idx) != expected:
        return None
    series = np.sum([monthly[name][:, idx] for name in series_names(c)], axis=0)
    if c.quantity not in FLOWS:
        return series.mean(axis=1)
    if c.fractions:  # a window of days: each month counts by the share of it covered
        return series @ np.asarray(c.fractions, float)
    return series.sum(axis=1)


def log_error(value: np.ndarray, low: float, high: float) -> np.ndarray:
    """0 inside [low, high]; otherwise the log distance to the nearest bound (+1 smoothing)."""
    v = np.log1p(np.maximum(value, 0.0))
    lo = math.log1p(low)
    hi = math.log1p(high) if math.isfinite(high) else math.inf
    return np.where(v < lo, lo - v, np.where(v > hi, v - hi, 0.0))


def channel_values(monthly: Mapping[str, np.ndarray], dates: Sequence[dt.date],
                   observations: Sequence[Comparable]) -> np.ndarray:
    """(R, n) model channel values of each observation (NaN where outside the run's months)."""
    R = next(iter(monthly.values())).shape[0]
    cols = []
    for c in observations:
        v = model_value(monthly, dates, c)
        cols.append(np.full(R, np.nan) if v is None else v)
    return np.stack(cols, axis=1) if cols else np.zeros((R, 0))


class ParticleValues:
    """Particles' parameter values as one (particles, parameters) table: what a list of one dict
    per particle holds, taken, changed and read by column without a Python object per particle
    (the particle filter resamples and jitters thousands of them, dozens of times)."""

    def __init__(self, names: Sequence[str], table: np.ndarray):
        self.names = list(names)
        self.index = {n: i for i, n in enumerate(self.names)}
        self.table = table

    @classmethod
    def of(cls, values: Sequence[Mapping[str, float]]) -> ParticleValues:
        """From one mapping per particle, all with the same names."""
        names = list(values[0]) if len(values) else []
        return cls(names, np.array([[float(v[n]) for n in names] for v in values], dtype=float)
                   .reshape(len(values), len(names)))

    def __len__(self) -> int:
        return len(self.table)

    def take(self, rows: np.ndarray) -> ParticleValues:
        return ParticleValues(self.names, self.table[rows])

    def column(self, name: str, default: float | None = None) -> np.ndarray:
        """One parameter's values (``default`` for every particle where the table has none)."""
        if name in self.index:
            return self.table[:, self.index[name]]
        if default is None:
            raise KeyError(name)
        return np.full(len(self.table), float(default))

    def set(self, name: str, x: np.ndarray) -> None:
        self.table[:, self.index[name]] = x

    def dicts(self) -> list[dict[str, float]]:
        """One dict per particle (name -> value), as Python floats."""
        return [dict(zip(self.names, row, strict=True)) for row in self.table.tolist()]


def dispersions(values: Sequence[Mapping[str, float]] | ParticleValues,
                observations: Sequence[Comparable]) -> np.ndarray:
    """(R, n) each replication's observation-model dispersion for each observation: its own value
    where its parameter draw has one, else the registry's default (the ABC's own draws have
    none: ``borderscen calibrate`` fits them after it, on the same window, and writes them into
    its posterior sample)."""
    from borderscen.inputs.params import registry

    names = [observation.DISPERSION[observation.GROUP[c.quantity]] for c in observations]
    default = {n: float(registry()[n].default) for n in set(names)}
    if isinstance(values, ParticleValues):
        cols = [values.column(n, default[n]) for n in names]
        return np.stack(cols, axis=1) if cols else np.zeros((len(values), 0))
    return np.array([[float(v.get(n, default[n])) for n in names] for v in values])


def published(monthly: Mapping[str, np.ndarray], dates: Sequence[dt.date],
              observations: Sequence[Comparable], values: Sequence[Mapping[str, float]],
              seeds: Sequence[int]) -> np.ndarray:
    """(R, n) figures each replication would have seen published: its channel values drawn
    through the observation model (mechanisms.observation) with its own dispersions, from
    uniforms of its seed's observation stream (stream 2: never shared with the run's months)."""
    v = channel_values(monthly, dates, observations)
    disp = dispersions(values, observations)
    u = np.stack([np.random.default_rng(np.random.SeedSequence(int(s), spawn_key=(2,)))
                  .random((2, len(observations))) for s in seeds])
    out = np.empty_like(v)
    for j, c in enumerate(observations):
        g = observation.GROUP[c.quantity]
        out[:, j] = observation.sample(g, np.nan_to_num(v[:, j]), disp[:, j], u[:, 0, j], u[:, 1, j])
    return np.where(np.isnan(v), np.nan, out)
