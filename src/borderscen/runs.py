"""From a scenario and seeds to a batch, and from a batch's arrays to tidy tables.

This is the one place that turns a :class:`~borderscen.inputs.scenarios.Scenario` into the kernel's
inputs (history, branch settings, events, one posterior draw per replication) and the kernel's
arrays into the tables users see, so the Mesa face, ``simulate`` and the batch runner agree.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from borderscen.errors import ConfigError
from borderscen.inputs.params import registry
from borderscen.inputs.posterior import draw_for
from borderscen.inputs.scenarios import (
    Event,
    Scenario,
    build_scenario,
    history,
    month_index,
    preset_names,
    schedule,
)
from borderscen.kernel.core import (
    MONTHLY_OUTPUTS,
    START,
    ZONE_OUTPUTS,
    Batch,
    BatchResult,
    State,
    run_batch,
)
from borderscen.mechanisms.cooperation import REGIME_NAMES
from borderscen.randomness import SeedLike, as_int_seed

#: ISIS "resurges" when its members at the horizon exceed this multiple of those at the branch.
RESURGENCE_FACTOR = 2.0
#: ... and is "eliminated" below this many members (neither is "contained").
ELIMINATED_BELOW = 50


def branch_index() -> int:
    return month_index(history().branch, START)


def make_batch(scenario: Scenario | Sequence[Scenario], seeds: Sequence[int], months: int,
               parameters: str = "posterior",
               draws: Sequence[Mapping[str, float]] | None = None) -> tuple[Batch, list[int]]:
    """The kernel's batch for ``seeds``; also returns each replication's posterior row (-1: none).

    ``scenario`` may be one per seed (design points of a sweep) when they share their dated
    inputs: the schedule is the first one's. ``draws`` gives each replication its calibrated
    values instead of the posterior row its seed picks (calibration, variance splits). Either
    way a scenario's own overrides win.
    """
    scenarios = [scenario] * len(seeds) if isinstance(scenario, Scenario) else list(scenario)
    rows, values = [], []
    for i, (sc, seed) in enumerate(zip(scenarios, seeds, strict=True)):
        row, calibrated = (-1, draws[i]) if draws is not None else draw_for(int(seed), parameters)
        own = {k: v for k, v in calibrated.items() if k not in sc.overrides}
        values.append({**sc.params, **own})
        rows.append(row)
    batch = Batch(params=tuple(values), seeds=tuple(int(s) for s in seeds), months=int(months),
                  schedule=schedule(scenarios[0], START, months),
                  history_months=min(branch_index(), int(months)))
    return batch, rows


# ---------------------------------------------------------------------------- a filtered start
#: State fields of a start (everything that carries over between months, not the outputs).
STATE_FIELDS = tuple(f.name for f in fields(State) if f.name != "outputs")


def calibrated_values(values: Mapping[str, float]) -> dict[str, float]:
    """The part of a parameter set that a posterior draw or a filter particle carries: the
    calibrated parameters and the observation model's dispersions (``posterior_sample``'s rule)."""
    reg = registry()
    return {k: float(v) for k, v in values.items()
            if k in reg and (reg[k].calibrate or reg[k].group == "observation")}


@dataclass(frozen=True)
class StartState:
    """Where runs start instead of January 2022 (``[experiment] start = "filtered"``).

    Row i is one particle: its kernel state after ``months`` months, its calibrated values
    (``draws``: they replace the posterior draw; a scenario's own overrides still win, as in
    ``make_batch``) and its monthly paths to there (``monthly``: name -> (N, months)), which
    become the run's months before the branch. Plain arrays: picklable for any executor.
    """

    months: int
    state: State
    draws: tuple[dict[str, float], ...]
    monthly: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.draws)

    def take(self, rows: Sequence[int]) -> StartState:
        """The particles ``rows`` (copies: a run never changes the cloud it started from)."""
        idx = np.asarray(rows, dtype=int)
        state = replace(self.state, outputs={},
                        **{name: np.array(getattr(self.state, name)[idx]) for name in STATE_FIELDS})
        return StartState(self.months, state, tuple(dict(self.draws[i]) for i in idx),
                          {k: np.array(a[idx]) for k, a in self.monthly.items()})


def fill_start(result: BatchResult, start: StartState) -> BatchResult:
    """The months before ``start.months`` (NaN from ``run_batch(initial=...)``) become the
    particles' own paths; zone outputs stay NaN there (the filter keeps country totals only: a
    chunk's zone rows start at ``start.months``, :func:`zone_columns`' ``first``)."""
    T0 = min(start.months, result.monthly["isis_members"].shape[1])
    for k, a in result.monthly.items():
        a[:, :T0] = start.monthly[k][:, :T0]
    return result


def label_array(codes: np.ndarray, names: Sequence[str]) -> Any:
    """``names[codes]`` as an Arrow ``large_string`` array made from the codes (a dictionary,
    cast): a column of a few distinct labels (zones, regimes, phases) over many rows without a
    Python string per row."""
    import pyarrow as pa
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(codes, dtype=np.int32)),
                                          pa.array(list(names), pa.large_string())).cast(pa.large_string())


def labels_column(codes: np.ndarray, names: Sequence[str]) -> Any:
    """``names[codes]`` as a column of pandas' default string dtype, made from the codes
    (:func:`label_array`); an object array where pandas' strings are objects."""
    default = pd.Series(["x"]).dtype
    if isinstance(default, pd.StringDtype) and default.storage == "pyarrow":
        return pd.array(label_array(codes, names), dtype=default)
    return np.asarray(names, dtype=object)[codes]


#: Makes a string column from codes and their names: :func:`labels_column` (pandas) or
#: :func:`label_array` (Arrow).
Labels = Callable[[np.ndarray, Sequence[str]], Any]

#: The regimes' codes run from the lowest (NONE = -1) without a gap: their names in that order.
_REGIME_LOW = min(REGIME_NAMES)
_REGIME_ORDER = [REGIME_NAMES[c] for c in range(_REGIME_LOW, _REGIME_LOW + len(REGIME_NAMES))]


def regime_labels(codes: np.ndarray, labels: Labels = labels_column) -> Any:
    """The regimes' names of their codes (a string column; a code that is no regime, None)."""
    index = np.asarray(codes).astype(int) - _REGIME_LOW
    if index.size and (index.min() < 0 or index.max() >= len(_REGIME_ORDER)):
        return np.vectorize(REGIME_NAMES.get, otypes=[object])(np.asarray(codes).astype(int))
    return labels(index, _REGIME_ORDER)


def monthly_columns(result: BatchResult, columns: Sequence[str] = MONTHLY_OUTPUTS,
                    labels: Labels = labels_column) -> dict[str, Any]:
    """The columns of :func:`monthly_frame`, in order: numpy arrays, and string columns made by
    ``labels`` (so a store can build Arrow tables from them without pandas)."""
    R, T = result.monthly["isis_members"].shape
    out: dict[str, Any] = {
        "replication": np.repeat(np.arange(R), T), "step": np.tile(np.arange(1, T + 1), R),
        "date": np.tile(pd.to_datetime(result.dates).to_numpy(), R),
        "phase": labels(np.tile((np.arange(T) >= branch_index()).astype(np.int32), R),
                        ["history", "scenario"])}
    for k in columns:
        v = result.monthly[k].ravel()
        out[k] = regime_labels(v, labels) if k == "regime" else v
    return out


def monthly_frame(result: BatchResult, columns: Sequence[str] = MONTHLY_OUTPUTS) -> pd.DataFrame:
    """Long table: one row per replication and month (``replication`` is the batch position)."""
    return pd.DataFrame(monthly_columns(result, columns))


def zone_columns(result: BatchResult, zone_ids: Sequence[str],
                 labels: Labels = labels_column, first: int = 0) -> dict[str, Any]:
    """The columns of :func:`zone_frame`, in order (as :func:`monthly_columns`), from month
    index ``first`` on (a filtered start's: the filter keeps no zone outputs before it)."""
    R, T, Z = result.zones["attacks"].shape
    first = min(max(first, 0), T)
    order = np.argsort(np.array(zone_ids, dtype=str), kind="stable")
    months = T - first
    out: dict[str, Any] = {
        "replication": np.repeat(np.arange(R), months * Z),
        "step": np.tile(np.repeat(np.arange(first + 1, T + 1), Z), R),
        "zone": labels(np.tile(np.arange(len(order)), R * months), [str(zone_ids[i]) for i in order]),
        "date": np.tile(np.repeat(pd.to_datetime(result.dates[first:]).to_numpy(), Z), R)}
    for k in ZONE_OUTPUTS:
        out[k] = result.zones[k][:, first:, order].ravel()
    return out


def zone_frame(result: BatchResult, zone_ids: Sequence[str]) -> pd.DataFrame:
    """Long table: one row per replication, month and zone, the zones in the order of their
    ids (the stored tables' row order: replication, month, zone, so the store need not sort)."""
    return pd.DataFrame(zone_columns(result, zone_ids))


def summaries(result: BatchResult, desert_zones: np.ndarray) -> pd.DataFrame:
    """Run-level outcomes over the scenario period (branch month to horizon), one row per replication."""
    m = result.monthly
    b = min(branch_index(), m["isis_members"].shape[1] - 1)
    scen = slice(b, None)
    att = m["attacks_iraq"] + m["attacks_syria"]
    members = m["isis_members"]
    at_branch = members[:, max(b - 1, 0)]
    final = members[:, -1]
    regime = m["regime"][:, scen]
    last_year = att[:, -12:].sum(1)
    year_before_branch = att[:, max(b - 12, 0):b].sum(1) if b > 0 else att[:, :12].sum(1)
    resurgence = final > RESURGENCE_FACTOR * at_branch
    eliminated = final < ELIMINATED_BELOW
    desert = result.zones["attacks"][:, scen][:, :, desert_zones].sum((1, 2))
    return pd.DataFrame({
        "cum_attacks": att[:, scen].sum(1),
        "cum_attacks_iraq": m["attacks_iraq"][:, scen].sum(1),
        "cum_attacks_syria": m["attacks_syria"][:, scen].sum(1),
        "cum_attacks_tracked": (m["attacks_tracked_iraq"] + m["attacks_tracked_syria"])[:, scen].sum(1),
        "cum_attacks_claimed": (m["attacks_claimed_iraq"] + m["attacks_claimed_syria"])[:, scen].sum(1),
        "cum_attacks_desert": desert,
        "cum_casualties": (m["casualties_iraq"] + m["casualties_syria"])[:, scen].sum(1),
        "attacks_last_year": last_year,
        "attacks_year_before_branch": year_before_branch,
        "isis_members_at_branch": at_branch,
        "final_isis_members": final,
        "final_isis_members_iraq": m["isis_members_iraq"][:, -1],
        "final_isis_members_syria": m["isis_members_syria"][:, -1],
        "peak_isis_members": members[:, scen].max(1),
        "isis_growth": np.divide(final, at_branch, out=np.full_like(final, np.nan), where=at_branch > 0),
        "resurgence": resurgence,
        "eliminated": eliminated,
        "contained": ~resurgence & ~eliminated,
        "cum_recruits": (m["recruits_iraq"] + m["recruits_syria"])[:, scen].sum(1),
        "cum_neutralised": (m["neutralised_iraq"] + m["neutralised_syria"])[:, scen].sum(1),
        "cum_smuggling": m["smuggling_flow"][:, scen].sum(1),
        "final_weapons_stock": m["weapons_stock"][:, -1],
        "cum_interdictions": m["interdictions"][:, scen].sum(1),
        "cum_joint_operations": m["joint_operations"][:, scen].sum(1),
        "mean_cooperation": m["cooperation"][:, scen].mean(1),
        "final_cooperation": m["cooperation"][:, -1],
        "final_regime": regime_labels(regime[:, -1]),
        "months_partnership": (regime == 2).sum(1),
        "months_limited": (regime == 1).sum(1),
        "months_deterioration": (regime == 0).sum(1),
        "final_pipeline_stage": m["pipeline_stage"][:, -1],
        "pipeline_operating": m["pipeline_stage"][:, -1] >= 4,
        "breakouts": m["breakouts"][:, scen].sum(1),
        "escapees": m["escapees"][:, scen].sum(1),
        "final_tehran_camp": m["tehran_camp"][:, -1],
        "final_iran_influence": m["iran_influence"][:, -1],
    })


# ---------------------------------------------------------------------------- one run
DEFAULT_START = "2022-01"
#: Months from January 2022 to December 2030.
DEFAULT_HORIZON = 108
#: Longest horizon: December 2035.
MAX_HORIZON = 168
#: Output columns of a run's monthly table (besides step, date and phase).
OUTPUTS = ("date", *MONTHLY_OUTPUTS)


def resolve_scenario(scenario: Scenario | str, overrides: Mapping[str, Any] | None,
                     events: Sequence[Event]) -> Scenario:
    if isinstance(scenario, str):
        return build_scenario(scenario, overrides, events)
    if not isinstance(scenario, Scenario):
        raise ConfigError("borderscen", "scenario", scenario,
                          f"allowed: a preset name ({', '.join(preset_names())}) or a Scenario "
                          "(borderscen.build_scenario)")
    if overrides or events:
        return scenario.with_changes(overrides, events)
    return scenario


def check_horizon(horizon_months: int) -> int:
    if (isinstance(horizon_months, bool) or not isinstance(horizon_months, numbers.Integral)
            or not 1 <= int(horizon_months) <= MAX_HORIZON):
        raise ConfigError("borderscen", "horizon_months", horizon_months,
                          f"allowed: 1 to {MAX_HORIZON}, a whole number of months from January "
                          "2022 (108 is December 2030)")
    return int(horizon_months)


def simulate(scenario: Scenario | str = "baseline", seed: SeedLike = None,
             horizon_months: int = DEFAULT_HORIZON, overrides: Mapping[str, Any] | None = None,
             events: Sequence[Event] = (), parameters: str = "posterior", **params: Any) -> pd.DataFrame:
    """One run to the horizon as a DataFrame, one row per month (the notebook one-liner).

    Columns: ``step``, ``date``, ``phase`` ("history" to the branch month, then "scenario") and
    every monthly output (see ``borderscen.outputs``). Same numbers as ``BorderModel(...).run()``.
    Open loop: the run starts in January 2022 and replays the history without the record (an
    experiment's default ``start = "filtered"`` continues the assimilated record instead; its
    ``start = "open_loop"`` runs are the ones this function re-makes from their seeds).

    >>> import borderscen as bs
    >>> df = bs.simulate("covert_channel", seed=42, horizon_months=24)
    >>> len(df), f"{df['date'].iloc[-1]:%Y-%m}", df["phase"].unique().tolist()  # before the branch
    (24, '2023-12', ['history'])
    >>> df.equals(bs.simulate("covert_channel", seed=42, horizon_months=24))   # a seed re-makes it
    True
    """
    spec = resolve_scenario(scenario, {**(overrides or {}), **params}, events)
    batch, _ = make_batch(spec, [as_int_seed(seed)], check_horizon(horizon_months), parameters)
    return monthly_frame(run_batch(batch)).drop(columns="replication")
