"""Data assimilation: a particle filter that carries the model to the last observed month.

After calibration nothing observed would otherwise condition the state a forecast starts from
(the model would run open loop from January 2022). :func:`assimilate` runs N particles (each a
replication with its own parameter draw) month by month from the spin-up to a forecast origin,
and at every month where observations end it

1. weighs each particle by the likelihood of those observations through the observation model
   (``mechanisms.observation``: negative-binomial counts, log-normal strength estimates,
   censored "at least" figures), each figure weighted 1/n of its group of rows (the same
   quantity, channel, country and year: twelve monthly CENTCOM releases count as much as one
   yearly figure, as in the calibration's distance);
2. records the effective sample size (ESS) and, when it falls below half the particles,
   resamples (systematic resampling) whole paths, so each surviving particle keeps the history
   that earned its weight;
3. rejuvenates: the calibrated parameters are jittered with a Liu-West kernel (shrink to the
   weighted mean by ``a``, add noise of ``h`` times the weighted spread, in the prior's
   coordinates, clipped to the prior), and the latent states that carry uncertainty (ISIS
   members, the recruitable pool, the coalition's tempo, Damascus's capacity) get small
   multiplicative noise. The ISIS tempo state is a discrete Markov state and needs none: its own
   transitions keep it diverse.

Each particle's months draw from the filter's own stream (one ``SeedSequence`` per call), not
from per-replication seeds: after resampling, copies of a particle must not share a future.
:func:`forecast` continues the filtered particles past the origin; forecast replication r
draws from its own seed, so scenarios branching from the same filtered cloud share common
random numbers. This is a bootstrap particle filter with parameter jitter, written on the
batched kernel (the ``particles`` library steps one model object per particle, which would
give up the batched month); SMC^2 would be exact for the parameters but costs a filter per
parameter particle.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from borderscen.assimilation.observe import (
    Comparable,
    ParticleValues,
    channel_values,
    comparable,
    dispersions,
    published,
)
from borderscen.inputs.params import calibration_priors
from borderscen.inputs.posterior import posterior_sample
from borderscen.inputs.record import holdouts, targets
from borderscen.inputs.scenarios import Scenario, build_scenario, month_index, parse_month
from borderscen.kernel.core import (
    MONTHLY_OUTPUTS,
    START,
    BatchParams,
    State,
    Threads,
    apply_schedule,
    init_state,
    make_context,
    month_dates,
    step,
)
from borderscen.kernel.layout import month_blocks, month_rows
from borderscen.machine import cores_or
from borderscen.mechanisms import observation
from borderscen.progress import Progress
from borderscen.runs import make_batch

#: Resample when the ESS falls below this share of the particles.
RESAMPLE_BELOW = 0.5
#: A month whose ESS (before resampling) is below this share is flagged as degenerate.
DEGENERATE_BELOW = 0.1
#: Latent states jittered after resampling, and the log-sd of their multiplicative noise.
STATE_JITTER = {"members": 0.05, "pool": 0.05}
CAPACITY_JITTER = 0.02
COALITION_JITTER = 0.05


@dataclass
class Filtered:
    """The particle cloud at a forecast origin, with the paths that got it there."""

    origin: dt.date
    months: int  # months simulated, January 2022 to the month before the origin
    values: list[dict[str, float]]  # each particle's parameters
    state: State
    P: BatchParams
    monthly: dict[str, np.ndarray]  # name -> (N, months), resampled along with the particles
    diagnostics: pd.DataFrame  # one row per assimilation month
    log_evidence: float
    observations: list[Comparable]
    scenario: Scenario
    seed: int

    @property
    def dates(self) -> list[dt.date]:
        return month_dates(self.months)

    @property
    def min_ess_share(self) -> float:
        d = self.diagnostics
        return float(d["ess_share"].min()) if len(d) else 1.0


def default_observations(origin: dt.date, include_holdouts: bool = True) -> list[Comparable]:
    """Every comparable observation of the record whose window ends before ``origin``."""
    rows = list(targets()) + (list(holdouts()) if include_holdouts else [])
    kept, _ = comparable(rows)
    return [c for c in kept if parse_month(c.end) < origin]


def _group_weights(obs: Sequence[Comparable]) -> np.ndarray:
    groups = Counter(c.group for c in obs)
    return np.array([1.0 / groups[c.group] for c in obs])


def _free() -> dict[str, tuple[str, float, float]]:
    """The calibrated parameters' priors from the registry: name -> (kind, low, high)."""
    return {name: (p.kind, p.min, p.max) for name, p in calibration_priors().items()}


def _initial_values(n: int, rng: np.random.Generator, fit_end: str | None) -> list[dict[str, float]]:
    sample = posterior_sample(fit_end)
    if sample is None or sample.empty:
        return [{} for _ in range(n)]
    rows = rng.integers(0, len(sample), size=n)
    return ParticleValues(list(sample.columns), sample.to_numpy(dtype=float)[rows]).dicts()


def systematic_resample(w: np.ndarray, u: float) -> np.ndarray:
    """Indices of N particles drawn by systematic resampling with offset ``u`` in [0, 1)."""
    n = len(w)
    c = np.cumsum(w)
    c[-1] = 1.0
    return np.searchsorted(c, (u + np.arange(n)) / n)


def _take(s: State, idx: np.ndarray) -> State:
    kw: dict[str, Any] = {}
    for f in fields(State):
        v = getattr(s, f.name)
        kw[f.name] = {k: a[idx] for k, a in v.items()} if f.name == "outputs" else v[idx]
    return replace(s, **kw)


def _select(s: State, P: BatchParams, line: np.ndarray, values: ParticleValues,
            idx: np.ndarray, filled: int) -> tuple[State, ParticleValues]:
    """The cloud's particles ``idx`` (after resampling): their state, lines of ancestors (their
    first ``filled`` months: the months after are not written yet; ``line`` in place) and
    parameter values; ``P``'s arrays are taken in place."""
    for k in P._values:
        P._values[k] = P._values[k][idx]
    line[:, :filled] = line[idx, :filled]
    return _take(s, idx), values.take(idx)


class _Paths(Mapping[str, np.ndarray]):
    """The cloud's paths over its first ``months`` months, each output read from the months as
    they were run (``simulated``: column m in the order the cloud had in month m) through each
    particle's line of ancestors (``line[i, m]``: the row of month m that particle i descends
    from). A resampling then moves one array of ancestors instead of every output's paths, and
    an output's paths are made only when read (the likelihood reads a few), once each."""

    def __init__(self, simulated: Mapping[str, np.ndarray], line: np.ndarray, months: int):
        self._simulated, self._line, self._months = simulated, line, months
        self._made: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._made:
            n = self._months
            self._made[name] = np.take_along_axis(self._simulated[name][:, :n], self._line[:, :n], axis=0)
        return self._made[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._simulated)

    def __len__(self) -> int:
        return len(self._simulated)


def _jitter_parameters(P: BatchParams, values: ParticleValues, w: np.ndarray,
                       rng: np.random.Generator, h: float) -> None:
    """Liu-West kernel on the calibrated parameters, in the prior's coordinates (after resampling,
    ``w`` is uniform)."""
    a = math.sqrt(1.0 - h * h)
    free = _free()
    # the shipped posterior's column order fixes the order of the draws below (it is the order
    # the priors had in code before they moved to the registry: the same filter, draw for draw)
    shipped = posterior_sample()
    order = [n for n in (shipped.columns if shipped is not None else []) if n in free] + list(free)
    for name in dict.fromkeys(order):
        kind, lo, hi = free[name]
        if name not in P._values:
            continue
        x = P._values[name][:, 0]
        y = np.log(x) if kind == "log" else x.copy()
        mean = float(np.sum(w * y))
        sd = float(np.sqrt(np.sum(w * (y - mean) ** 2)))
        y = a * y + (1 - a) * mean + h * sd * rng.standard_normal(len(y))
        blo, bhi = (math.log(lo), math.log(hi)) if kind == "log" else (lo, hi)
        y = np.clip(y, blo, bhi)
        x = np.exp(y) if kind == "log" else y
        P._values[name][:, 0] = x
        values.set(name, x)


def _jitter_states(s: State, rng: np.random.Generator) -> None:
    for name, sd in STATE_JITTER.items():
        v = getattr(s, name)
        noisy = v * np.exp(sd * rng.standard_normal(v.shape))
        setattr(s, name, np.round(noisy) if name == "members" else noisy)
    s.coalition_tempo = s.coalition_tempo + COALITION_JITTER * rng.standard_normal(s.coalition_tempo.shape)
    noise = CAPACITY_JITTER * rng.standard_normal(s.damascus_capacity.shape)
    s.damascus_capacity = np.clip(s.damascus_capacity + noise, 0.0, 1.0)


def assimilate(origin: str | dt.date = "2025-01", particles: int = 2000, seed: int = 0,
               scenario: Scenario | str = "baseline", observations: Sequence[Comparable] | None = None,
               fit_end: str | None = None, include_holdouts: bool = True, jitter: float = 0.1,
               progress: Progress | None = None, threads: int | None = None) -> Filtered:
    """Filter ``particles`` replications from January 2022 to the month before ``origin``.

    ``observations`` defaults to every comparable figure of the record (targets, and hold-outs
    unless ``include_holdouts`` is False) whose window ends before the origin: nothing at or after
    the origin is read. Parameters start from the shipped posterior (``fit_end``: the posterior
    fitted on targets ending by that month, e.g. '2022-12' for the backtest). ``jitter`` is the
    Liu-West ``h``. ``progress(done, total)`` (:data:`~borderscen.progress.Progress`) counts
    the months filtered.

    The filter does not go through the runner's executors: its months are sequential by nature
    (each month's resampling needs every particle's weight), and its particles run as one batch
    of arrays already. Within a month the particles are split over ``threads`` threads (default:
    one per core this process may use; 1 runs them in this thread): the compiled stages release
    the GIL, and the cloud is the same bit for bit whatever the number of threads. What can also
    run side by side is independent filters, e.g. the backtest's origins
    (:func:`borderscen.analysis.backtest.run_backtest`), each then with one thread.
    """
    n_threads = cores_or(threads, "threads")
    if n_threads > 1:
        with ThreadPoolExecutor(n_threads, thread_name_prefix="borderscen-filter") as pool:
            return _assimilate(origin, particles, seed, scenario, observations, fit_end,
                               include_holdouts, jitter, progress, Threads(pool, n_threads))
    return _assimilate(origin, particles, seed, scenario, observations, fit_end, include_holdouts,
                       jitter, progress, None)


def _assimilate(origin: str | dt.date, particles: int, seed: int, scenario: Scenario | str,
                observations: Sequence[Comparable] | None, fit_end: str | None,
                include_holdouts: bool, jitter: float, progress: Progress | None,
                threads: Threads | None) -> Filtered:
    origin = parse_month(origin) if isinstance(origin, str) else origin
    sc = build_scenario(scenario) if isinstance(scenario, str) else scenario
    T = month_index(origin, START)
    if T < 1:
        raise ValueError(f"origin {origin:%Y-%m} must be after the first month ({START:%Y-%m})")
    obs = list(observations) if observations is not None else default_observations(origin, include_holdouts)
    late = [c.id for c in obs if parse_month(c.end) >= origin]
    if late:
        raise ValueError(f"observations end at or after the origin {origin:%Y-%m}: {late}")
    ss = np.random.SeedSequence(int(seed))
    rng = np.random.default_rng(ss)
    drawn = _initial_values(particles, rng, fit_end)
    seeds = [int(x) for x in ss.spawn(1)[0].generate_state(particles, np.uint64) % (2**62)]
    batch, _ = make_batch(sc, seeds, T, draws=drawn)
    values = ParticleValues.of(batch.params)
    ctx = make_context()
    P = BatchParams(batch.params)
    s = init_state(P, ctx, seeds, threads)
    dates = month_dates(T)
    ends: dict[int, list[int]] = {}
    for j, c in enumerate(obs):
        ends.setdefault(month_index(parse_month(c.end), START), []).append(j)
    gw = _group_weights(obs)
    simulated = {k: np.empty((particles, T)) for k in MONTHLY_OUTPUTS}  # month by month, as run
    line = np.empty((particles, T), dtype=np.intp)  # each particle's ancestor in each month
    rows_now = np.arange(particles)
    logw = np.zeros(particles)
    log_evidence, rows = 0.0, []
    month_rng = np.random.default_rng(ss.spawn(2)[1])
    t0 = time.perf_counter()
    for t in range(T):
        triggers = apply_schedule(P, batch, t)
        s = step(s, P, month_rng.random((particles, ctx.layout.width)), ctx, triggers, threads)
        for k in MONTHLY_OUTPUTS:
            simulated[k][:, t] = s.outputs[k][:, 0]
        line[:, t] = rows_now
        if t in ends:
            js = ends[t]
            sub = [obs[j] for j in js]
            v = channel_values(_Paths(simulated, line, t + 1), dates[: t + 1], sub)
            disp = dispersions(values, sub)
            ll = np.zeros(particles)
            for i, (j, c) in enumerate(zip(js, sub, strict=True)):
                g = observation.GROUP[c.quantity]
                ll += gw[j] * observation.loglik(g, v[:, i], disp[:, i], c.low, c.high)
            w_prev = np.exp(logw - logw.max())
            w_prev /= w_prev.sum()
            logw = logw + ll
            m = logw.max()
            log_evidence += float(np.log(np.sum(w_prev * np.exp(ll - ll.max()))) + ll.max())
            w = np.exp(logw - m)
            w /= w.sum()
            ess = float(1.0 / np.sum(w * w))
            resampled = ess < RESAMPLE_BELOW * particles
            unique = particles
            if resampled:
                idx = systematic_resample(w, float(rng.random()))
                unique = int(len(np.unique(idx)))
                s, values = _select(s, P, line, values, idx, t + 1)
                logw = np.zeros(particles)
                _jitter_parameters(P, values, np.full(particles, 1.0 / particles), rng, jitter)
                _jitter_states(s, rng)
            rows.append({"month": dates[t], "observations": len(js), "ids": ",".join(c.id for c in sub),
                         "ess": ess, "ess_share": ess / particles, "resampled": resampled,
                         "unique_ancestors": unique, "degenerate": ess < DEGENERATE_BELOW * particles})
        if progress is not None:
            progress(t + 1, T)
    if logw.any():  # end on an equally weighted cloud
        w = np.exp(logw - logw.max())
        w /= w.sum()
        idx = systematic_resample(w, float(rng.random()))
        s, values = _select(s, P, line, values, idx, T)
    paths = _Paths(simulated, line, T)
    monthly = {k: paths[k] for k in MONTHLY_OUTPUTS}
    del paths, simulated
    diag = pd.DataFrame(rows)
    diag.attrs["wall_s"] = time.perf_counter() - t0
    return Filtered(origin=origin, months=T, values=values.dicts(), state=s, P=P, monthly=monthly,
                    diagnostics=diag, log_evidence=log_evidence, observations=obs, scenario=sc,
                    seed=int(seed))


@dataclass
class Forecast:
    """Paths from January 2022 to the horizon: filtered history, then the forecast."""

    monthly: dict[str, np.ndarray]  # (N, months)
    dates: list[dt.date]
    origin: dt.date
    values: list[dict[str, float]]
    seeds: list[int]
    filtered: Filtered

    def predictive(self, observations: Sequence[Comparable]) -> np.ndarray:
        """(N, n) published figures each replication would have seen (observation model)."""
        return published(self.monthly, self.dates, observations, self.values, self.seeds)


def continue_from(filtered: Filtered, horizon: int, seed: int = 0,
                  scenario: Scenario | str | None = None) -> Forecast:
    """Run the filtered particles ``horizon`` months past the origin (under ``scenario``'s
    settings from the branch month on; default: the filter's scenario). Replication r draws its
    months from seed r of ``SeedSequence(seed)``, so two scenarios continued from the same
    filtered cloud with the same seed share common random numbers."""
    sc = filtered.scenario if scenario is None else (
        build_scenario(scenario) if isinstance(scenario, str) else scenario)
    T0, N = filtered.months, len(filtered.values)
    total = T0 + int(horizon)
    seeds = [int(x) for x in np.random.SeedSequence(int(seed)).generate_state(N, np.uint64) % (2**62)]
    batch, _ = make_batch(sc, seeds, total, draws=[{}] * N)
    ctx = make_context()
    P = BatchParams(filtered.values)
    own = {k for k in sc.overrides}
    for k in own:  # a scenario's own overrides win over the filtered draws
        if k in P._values:
            P._values[k] = np.full_like(P._values[k], float(batch.params[0][k]))
    for t in range(T0):  # bring dated settings up to the origin
        settings, _ = batch.schedule.get(t, ({}, frozenset()))
        for name, value in settings.items():
            P.set(name, value)
    s = filtered.state
    monthly = {k: np.empty((N, total)) for k in MONTHLY_OUTPUTS}
    for k in MONTHLY_OUTPUTS:
        monthly[k][:, :T0] = filtered.monthly[k]
    for t, row in enumerate(month_rows(seeds, total, ctx.layout, first=T0), start=T0):
        s = step(s, P, month_blocks(row, ctx.layout), ctx, apply_schedule(P, batch, t))
        for k in MONTHLY_OUTPUTS:
            monthly[k][:, t] = s.outputs[k][:, 0]
    values = [{**v, **{k: float(P._values[k][i, 0]) for k in own if k in P._values}}
              for i, v in enumerate(filtered.values)]
    return Forecast(monthly=monthly, dates=month_dates(total), origin=filtered.origin, values=values,
                    seeds=seeds, filtered=filtered)


def forecast(origin: str | dt.date = "2025-01", horizon: int = 12, particles: int = 2000, seed: int = 0,
             scenario: Scenario | str = "baseline", **assimilate_kw) -> Forecast:
    """Assimilate the record to ``origin`` (see :func:`assimilate`), then run ``horizon`` months on."""
    filtered = assimilate(origin, particles=particles, seed=seed, scenario=scenario, **assimilate_kw)
    return continue_from(filtered, horizon, seed=seed + 1)


def open_loop(origin: str | dt.date, horizon: int, particles: int, seed: int = 0,
              scenario: Scenario | str = "baseline", fit_end: str | None = None) -> Forecast:
    """The same forecast without assimilation (for comparison): posterior draws from January 2022."""
    return continue_from(assimilate(origin, particles=particles, seed=seed, scenario=scenario,
                                    observations=[], fit_end=fit_end), horizon, seed=seed + 1)


def summary(filtered: Filtered) -> Mapping[str, float]:
    d = filtered.diagnostics
    return {"particles": len(filtered.values), "months": filtered.months,
            "assimilation_months": int(len(d)), "observations": len(filtered.observations),
            "min_ess_share": filtered.min_ess_share,
            "degenerate_months": int(d["degenerate"].sum()) if len(d) else 0,
            "log_evidence": filtered.log_evidence, "wall_s": float(d.attrs.get("wall_s", float("nan")))}
