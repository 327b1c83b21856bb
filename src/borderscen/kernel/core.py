"""The model's month, over arrays of shape (replications, zones) (ODD 3, process overview).

A month is the named stages of :data:`borderscen.kernel.stages.STAGES`, run in order: each stage
is a module with its declaration and a function wiring the pure submodels of
``borderscen.mechanisms``. Before the month, the dated inputs (the history to the branch month,
then the scenario's settings) set the parameters (:func:`apply_schedule`); after it, the outputs
are recorded into preallocated arrays (:func:`record`). This module holds the state, the
static context and the loop over months.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields
from types import ModuleType

import numpy as np

from borderscen.inputs.space import BorderMap, border_map
from borderscen.kernel.layout import Layout, make_layout, month_blocks, month_rows
from borderscen.kernel.stage import Month, Stage, country_sum
from borderscen.kernel.stages import MONTHLY_OUTPUTS, STAGES, monthly_outputs  # noqa: F401  (re-exported)
from borderscen.mechanisms import cooperation, draws, recruitment, tempo

START = dt.date(2022, 1, 1)

#: Months run before January 2022 so that ISIS's state (pool, excitation, what forces have seen,
#: security, tempo) starts on its own dynamics rather than at zero (ODD 5).
SPINUP_MONTHS = 24
#: Zone outputs (tidy table: one row per month and zone).
ZONE_OUTPUTS = ("attacks", "members", "security", "intel")


# ----------------------------------------------------------------------------- parameters
class BatchParams:
    """Parameter values as (R, 1) arrays: each replication may carry its own posterior draw."""

    def __init__(self, values: Sequence[Mapping[str, float]]):
        names = list(values[0])
        table = np.array([[v[n] for n in names] for v in values], dtype=float).T.copy()  # (names, R)
        self.__dict__["_values"] = {n: column[:, None] for n, column in zip(names, table, strict=True)}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, name: str, value: float) -> None:
        self._values[name] = np.full_like(self._values[name], float(value))

    def rows(self, lo: int, hi: int) -> BatchParams:
        """Replications ``lo`` to ``hi - 1`` (views of these arrays, no copy)."""
        out = object.__new__(BatchParams)
        values: dict[str, np.ndarray] = self.__dict__["_values"]
        out.__dict__["_values"] = {n: a[lo:hi] for n, a in values.items()}
        return out


# ----------------------------------------------------------------------------- static context
@dataclass(frozen=True)
class Context:
    """What does not change during a run: the map's arrays, the month's stages and what they
    imply (the draw layout and the monthly outputs)."""

    zmap: BorderMap
    stages: tuple[Stage, ...]
    layout: Layout
    outputs: tuple[str, ...]
    #: the exact discrete draws: ``mechanisms.fast_draws`` (compiled) or ``mechanisms.draws``
    draws: ModuleType
    is_syria: np.ndarray
    at_risk: np.ndarray
    initial_share_iraq: np.ndarray
    initial_share_syria: np.ndarray
    sdf_zones: np.ndarray
    damascus_zones: np.ndarray
    nbr_onehot: np.ndarray
    base_hops: np.ndarray
    base_in_syria: np.ndarray
    base_federal: np.ndarray
    alhol: int
    roj: int
    camp_zones: np.ndarray
    weapons_mask: np.ndarray


FEDERAL_BASES = ("Ain al-Asad", "Baghdad airport")


def draw_backend(compiled: bool | None = None) -> ModuleType:
    """The module of exact discrete draws: the compiled one (the ``fast`` extra, numba) when
    ``compiled`` is True, or None and numba is installed; else the numpy/scipy reference."""
    if compiled is False:
        return draws
    try:
        from borderscen.mechanisms import fast_draws
    except ImportError as err:
        if compiled:
            raise ImportError("compiled=True needs numba: pip install 'borderscen[fast]'") from err
        return draws
    return fast_draws


def make_context(zmap: BorderMap | None = None, stages: Sequence[Stage] = STAGES,
                 compiled: bool | None = None) -> Context:
    """The static context of a run: the map, the month's stages and what they imply, and the
    draws (``compiled``: see :func:`draw_backend`)."""
    zmap = zmap or border_map()
    draws_module = draw_backend(compiled)
    stages = tuple(stages)
    if draws_module is not draws:  # the compiled draws come with the compiled stages
        from borderscen.kernel.compiled import compiled_stages
        stages = compiled_stages(stages)
    share = zmap.isis_share
    iraq_share = np.where(~zmap.is_syria, share, 0.0)
    syria_share = np.where(zmap.is_syria, share, 0.0)
    onehot = np.zeros((zmap.n, zmap.nbr.shape[1], zmap.n))
    for z in range(zmap.n):
        for d in range(zmap.nbr.shape[1]):
            if zmap.nbr_mask[z, d]:
                onehot[z, d, zmap.nbr[z, d]] = 1.0
    bases = [(z.base, zmap.index[z.id], z.country) for z in zmap.zones if z.base]
    camp_ids = {z.camp: zmap.index[z.id] for z in zmap.zones if z.camp}
    return Context(
        zmap=zmap, stages=stages, layout=make_layout(zmap.n, len(zmap.smuggling_routes), stages),
        outputs=monthly_outputs(stages), draws=draws_module,
        is_syria=zmap.is_syria, at_risk=zmap.susceptible,
        initial_share_iraq=iraq_share / iraq_share.sum(),
        initial_share_syria=syria_share / syria_share.sum(),
        sdf_zones=zmap.held_by["sdf"], damascus_zones=zmap.held_by["damascus"],
        nbr_onehot=onehot, base_hops=zmap.hops[[i for _, i, _ in bases]],
        base_in_syria=np.array([c == "syria" for _, _, c in bases]),
        base_federal=np.array([n in FEDERAL_BASES for n, _, _ in bases]),
        alhol=camp_ids["al-Hol"], roj=camp_ids["Roj"],
        camp_zones=np.array([camp_ids["al-Hol"], camp_ids["Roj"]]),
        weapons_mask=(zmap.is_corridor | zmap.is_desert).astype(float),
    )


# ----------------------------------------------------------------------------- state
@dataclass
class State:
    """Everything that carries over from one month to the next, per replication."""

    members: np.ndarray
    pool: np.ndarray
    excitation: np.ndarray
    seen: np.ndarray
    legitimacy_iraq: np.ndarray
    legitimacy_syria: np.ndarray
    tehran: np.ndarray
    tehran_anchor: np.ndarray
    pragmatic: np.ndarray
    iran: np.ndarray
    militia: np.ndarray
    turkey: np.ndarray
    gulf: np.ndarray
    damascus_capacity: np.ndarray
    cooperation: np.ndarray
    regime: np.ndarray
    stage: np.ndarray
    disruption: np.ndarray
    weapons: np.ndarray
    alhol_residents: np.ndarray
    alhol_iraqis: np.ndarray
    roj_residents: np.ndarray
    detainees: np.ndarray
    security: np.ndarray
    intel: np.ndarray
    tempo: np.ndarray
    coalition_tempo: np.ndarray
    retaliation: np.ndarray
    #: US troops present (Iraq, Syria) and months the schedule has said 0 (the exit axes, ODD 7.1b)
    troops: np.ndarray
    exit_clock: np.ndarray
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


def init_state(P: BatchParams, ctx: Context, seeds: Sequence[int] | None = None,
               threads: Threads | None = None) -> State:
    """ODD 5: the state in January 2022.

    Members are spread over zones by the sources' emphasis. With ``seeds``, ISIS's own state
    (recruitable pool, self-excitation, what forces have seen, security, its tempo) is then spun
    up for :data:`SPINUP_MONTHS` under January 2022's settings from each seed's spin-up stream,
    and members are rescaled back to their initial totals; everything else starts as given.
    ``threads``: as in :func:`step`.
    """
    s = _raw_state(P, ctx)
    if seeds is None or SPINUP_MONTHS == 0:
        return s
    spun = s
    for t, row in enumerate(month_rows(seeds, SPINUP_MONTHS, ctx.layout, stream=1)):
        if t == 0:
            s.tempo = tempo.initial_state(row[:, ctx.layout["tempo_move"]], P.tempo_p_steady_to_campaign,
                                          P.tempo_p_steady_to_lull, P.tempo_p_campaign_to_steady,
                                          P.tempo_p_lull_to_steady)
        spun = step(spun, P, month_blocks(row, ctx.layout), ctx, frozenset({"history", "spinup"}),
                    threads)
    fresh = _raw_state(P, ctx)
    m_iraq, m_syria = country_sum(spun.members, ctx.is_syria)
    t_iraq, t_syria = country_sum(fresh.members, ctx.is_syria)
    scale = np.where(ctx.is_syria, np.divide(t_syria, m_syria, out=np.ones_like(m_syria), where=m_syria > 0),
                     np.divide(t_iraq, m_iraq, out=np.ones_like(m_iraq), where=m_iraq > 0))
    fresh.members = np.round(spun.members * scale)
    for name in ("pool", "excitation", "seen", "security", "intel", "tempo", "coalition_tempo",
                 "retaliation"):
        setattr(fresh, name, getattr(spun, name))
    return fresh


def _raw_state(P: BatchParams, ctx: Context) -> State:
    R, Z = P.attack_rate_iraq.shape[0], ctx.zmap.n
    members = np.round(P.isis_members_iraq_initial * ctx.initial_share_iraq
                       + P.isis_members_syria_initial * ctx.initial_share_syria)
    legit_syria = P.legitimacy_syria_assad
    legit = np.where(ctx.is_syria, legit_syria, P.legitimacy_iraq)
    share = recruitment.recruitable_share(legit, np.zeros((R, Z)), P.activation_threshold)
    pool = P.pool_initial_fill * recruitment.pool_ceiling(ctx.at_risk, P.susceptible_fraction, share)
    zeros = np.zeros((R, 1))
    return State(
        members=members, pool=pool, excitation=np.zeros((R, Z)), seen=np.zeros((R, Z)),
        legitimacy_iraq=P.legitimacy_iraq.copy(), legitimacy_syria=legit_syria.copy(),
        tehran=P.tehran_camp_initial.copy(), tehran_anchor=P.tehran_camp_initial.copy(),
        pragmatic=P.pragmatic_camp_initial.copy(),
        iran=P.iran_influence_initial.copy(), militia=zeros.copy(), turkey=zeros.copy(),
        gulf=zeros.copy(), damascus_capacity=P.damascus_capacity_initial.copy(),
        cooperation=zeros.copy(), regime=np.full((R, 1), cooperation.NONE), stage=zeros.copy(),
        disruption=zeros.copy(), weapons=zeros.copy(),
        alhol_residents=P.alhol_population_initial.copy(), alhol_iraqis=P.alhol_iraqis_initial.copy(),
        roj_residents=P.roj_population_initial.copy(), detainees=P.detainees_initial.copy(),
        security=np.zeros((R, Z)), intel=np.zeros((R, Z)),
        tempo=np.zeros((R, 1)), coalition_tempo=np.zeros((R, 2)), retaliation=np.zeros((R, 2)),
        troops=np.concatenate([P.us_troops_iraq, P.us_troops_syria], axis=-1), exit_clock=np.zeros((R, 2)),
    )


# ----------------------------------------------------------------------------- the month
STATE_FIELDS = tuple(f.name for f in fields(State) if f.name != "outputs")


@dataclass(frozen=True)
class Threads:
    """Threads to split a month's replications over (:func:`step`): a pool, and how many
    blocks to cut (its number of threads)."""

    pool: Executor
    n: int


#: Fewest replications per thread worth splitting a month for (below it the threads' own cost,
#: a few hundred microseconds a month, outweighs what they save).
MIN_ROWS_PER_THREAD = 256


def step(s: State, P: BatchParams, u: np.ndarray | Mapping[str, np.ndarray], ctx: Context,
         triggers: frozenset[str], threads: Threads | None = None) -> State:
    """Advance every replication one month through the stages. ``u``: this month's uniforms,
    (R, layout.width), or its blocks by name, each (R, width)
    (:func:`borderscen.kernel.layout.month_blocks`).

    ``threads``: a thread pool over which the replications are split in consecutive blocks, one
    per thread (the compiled stages release the GIL; at least :data:`MIN_ROWS_PER_THREAD` a
    block). Each replication reads only its own state,
    parameters and uniforms, so the result is the same, bit for bit, however it is split."""
    blocks = u if isinstance(u, Mapping) else {name: u[:, sl] for name, sl in ctx.layout.blocks.items()}
    R = len(next(iter(blocks.values())))
    n = min(threads.n, R // MIN_ROWS_PER_THREAD) if threads is not None else 1
    if n > 1:
        assert threads is not None
        cuts = [R * i // n for i in range(n + 1)]
        parts = [threads.pool.submit(step, _rows(s, lo, hi), P.rows(lo, hi),
                                {k: b[lo:hi] for k, b in blocks.items()}, ctx, triggers)
                 for lo, hi in zip(cuts[:-1], cuts[1:], strict=True)]
        return _joined([f.result() for f in parts])
    m = Month(s, P, blocks, ctx, triggers)
    for stage in ctx.stages:
        stage.run(m)
    return State(**{name: getattr(m, name) for name in STATE_FIELDS}, outputs=m.out)


def _rows(s: State, lo: int, hi: int) -> State:
    """Replications ``lo`` to ``hi - 1`` of a state (views)."""
    return State(**{n: getattr(s, n)[lo:hi] for n in STATE_FIELDS},
                 outputs={k: a[lo:hi] for k, a in s.outputs.items()})


def _joined(parts: Sequence[State]) -> State:
    """The states of consecutive blocks of replications as one."""
    return State(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in STATE_FIELDS},
                 outputs={k: np.concatenate([p.outputs[k] for p in parts]) for k in parts[0].outputs})


# ----------------------------------------------------------------------------- a whole batch
@dataclass(frozen=True)
class Batch:
    """R replications of one scenario: parameter sets (one per replication), seeds and inputs.

    ``schedule`` maps a month index to the parameter settings and triggers of that month
    (history, the scenario's branch settings, dated events), the same for every replication.
    """

    params: tuple[Mapping[str, float], ...]
    seeds: tuple[int, ...]
    months: int
    schedule: Mapping[int, tuple[Mapping[str, float], frozenset[str]]]
    history_months: int


@dataclass
class BatchResult:
    monthly: dict[str, np.ndarray]  # name -> (R, months)
    zones: dict[str, np.ndarray]  # name -> (R, months, Z)
    dates: list[dt.date]


def month_dates(months: int) -> list[dt.date]:
    return [dt.date(START.year + (START.month - 1 + t) // 12, (START.month - 1 + t) % 12 + 1, 1)
            for t in range(months)]


def apply_schedule(P: BatchParams, batch: Batch, t: int) -> frozenset[str]:
    settings, triggers = batch.schedule.get(t, ({}, frozenset()))
    for name, value in settings.items():
        P.set(name, value)
    return triggers | ({"history"} if t < batch.history_months else frozenset())


def run_batch(batch: Batch, ctx: Context | None = None, initial: State | None = None,
              first_month: int = 0) -> BatchResult:
    """Run every replication of ``batch`` to its horizon, all months recorded in arrays.

    With ``initial`` (a state after ``first_month`` months, e.g. a filtered particle cloud), the
    run starts there instead of January 2022: the dated settings of the earlier months are
    applied to the parameters (their triggers are not fired again), months from ``first_month``
    on draw from each seed's own uniforms as always, and the earlier months are left NaN for the
    caller to fill. Without it, ``first_month`` must be 0.
    """
    ctx = ctx or make_context()
    P = BatchParams(batch.params)
    R, T, Z = len(batch.seeds), batch.months, ctx.zmap.n
    if initial is None and first_month:
        raise ValueError(f"first_month = {first_month!r} needs an initial state (initial=...)")
    by_month = np.empty((T, len(ctx.outputs), R))  # month-major while running: contiguous writes
    zones = {k: np.empty((R, T, Z)) for k in ZONE_OUTPUTS}
    if initial is None:
        s = init_state(P, ctx, batch.seeds)
    else:
        if initial.members.shape[0] != R:
            raise ValueError(f"initial state has {initial.members.shape[0]} replications; the batch has {R}")
        s, first_month = initial, min(int(first_month), T)
        for t in range(first_month):
            for name, value in batch.schedule.get(t, ({}, frozenset()))[0].items():
                P.set(name, value)
        by_month[:first_month] = np.nan
        for a in zones.values():
            a[:, :first_month] = np.nan
    # each seed's months from 0: those before the start are skipped in its stream, not drawn
    for t, row in enumerate(month_rows(batch.seeds, T, ctx.layout, first=first_month), start=first_month):
        s = step(s, P, month_blocks(row, ctx.layout), ctx, apply_schedule(P, batch, t))
        row_out = by_month[t]
        for i, k in enumerate(ctx.outputs):
            row_out[i] = s.outputs[k][:, 0]
        record_zones(s, t, zones)
    monthly = {k: np.ascontiguousarray(by_month[:, i].T) for i, k in enumerate(ctx.outputs)}
    return BatchResult(monthly, zones, month_dates(T))


def record(s: State, t: int, monthly: dict[str, np.ndarray], zones: dict[str, np.ndarray]) -> None:
    """Write month ``t`` of state ``s`` into the preallocated output arrays."""
    for k, column in monthly.items():
        column[:, t] = s.outputs[k][:, 0]
    record_zones(s, t, zones)


def record_zones(s: State, t: int, zones: dict[str, np.ndarray]) -> None:
    zones["attacks"][:, t] = s.outputs["zone_attacks"]
    zones["members"][:, t] = s.members
    zones["security"][:, t] = s.security
    zones["intel"][:, t] = s.intel
