"""ABC-SMC calibration with pyabc on the 2022-24 record (optional extra ``[calibration]``).

The free parameters (``calibrate = true`` in the registry) get priors from the evidence; each
particle runs the model from January 2022 to December 2024 under the history, and its distance
to the record is the root mean square of log errors over every comparable target, each through
its own observation channel (``assimilation.observe``), scaled by that target's tolerance and
weighted so that no group of rows (say, twelve monthly CENTCOM releases) outweighs a yearly one.
Hold-outs (2025 on) are never read here.

pyabc keeps its history in a SQLite database, so a calibration can be resumed; the result is a
posterior sample (``posterior.csv``, with the observation model's dispersions fitted after the
ABC on the same window), a report (acceptance, effective sample size of each generation,
intervals, dispersions) and the fit figure. :func:`install` ships it, unless it is degenerate.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from borderscen.assimilation.observe import Comparable, channel_values, comparable, log_error, published
from borderscen.errors import BorderscenError
from borderscen.inputs.params import calibration_priors, load_calibrated, registry  # noqa: F401
from borderscen.inputs.record import FIT_END, targets
from borderscen.inputs.scenarios import build_scenario
from borderscen.kernel.core import make_context, run_batch
from borderscen.mechanisms import observation
from borderscen.progress import Progress, Tally
from borderscen.runs import make_batch

FIT_MONTHS = 36  # January 2022 to December 2024


class CalibrationNotShipped(BorderscenError, ValueError):
    """A calibration :func:`install` will not ship (degenerate, or fitted to another window)."""

#: Log-scale tolerance of each kind of figure (a tracker's yearly count is good to about 20%).
TOLERANCE = {"attacks": 0.2, "operations": 0.15, "neutralised": 0.3, "members": 0.3}
#: Smallest and largest wave of proposals simulated as one batch.
WAVE_MIN, WAVE_MAX = 50, 20_000
#: Most runs a worker simulates as one batch (larger batches run slower per run).
BLOCK = 1000


def free_parameters() -> list[str]:
    """The calibrated parameters (``calibrate = true`` in the registry, each with its prior)."""
    return list(calibration_priors())


@dataclass
class Problem:
    """The targets the model can reproduce, their weights, and what was left out and why."""

    targets: list[Comparable]
    weights: np.ndarray
    scales: np.ndarray
    skipped: list[tuple[str, str]]

    @classmethod
    def from_record(cls, fit_end: str = FIT_END) -> Problem:
        """The targets whose windows end by ``fit_end`` ('YYYY-MM'; default the whole fit period)."""
        kept, skipped = comparable(targets())
        skipped += [(c.id, f"ends after the fit window ({fit_end})") for c in kept if c.end > fit_end]
        kept = [c for c in kept if c.end <= fit_end]
        groups = Counter(c.group for c in kept)
        weights = np.array([1.0 / groups[c.group] for c in kept])
        scales = np.array([TOLERANCE[c.quantity] for c in kept])
        return cls(kept, weights / weights.sum(), scales, skipped)

    def errors(self, monthly, dates) -> np.ndarray:
        """(R, n_targets) scaled log errors of each replication's channel values."""
        figures = channel_values(monthly, dates, self.targets)
        cols = [log_error(figures[:, j], c.low, c.high) / s
                for j, (c, s) in enumerate(zip(self.targets, self.scales, strict=True))]
        return np.nan_to_num(np.stack(cols, axis=1), nan=0.0)

    def distance(self, errors: np.ndarray) -> np.ndarray:
        """The ABC distance of scaled errors (the last axis): their weighted root mean square."""
        return np.sqrt((errors**2 * self.weights).sum(axis=-1))


def simulate_fit_period(values: list[dict[str, float]], seeds: list[int], ctx=None):
    """Run the 2022-24 history for each (parameter set, seed); returns (monthly, dates)."""
    batch, _ = make_batch(build_scenario("baseline"), seeds, FIT_MONTHS, draws=values)
    result = run_batch(batch, ctx)
    return result.monthly, result.dates


@functools.cache
def _worker_problem(fit_end: str) -> tuple[Problem, object]:
    return Problem.from_record(fit_end), make_context()


def fit_errors(values: list[dict[str, float]], seeds: list[int], fit_end: str = FIT_END) -> np.ndarray:
    """(R, n_targets) scaled errors of one block of (parameter set, seed) pairs; what each
    worker runs (the problem and the kernel's context are built once per process)."""
    problem, ctx = _worker_problem(fit_end)
    monthly, dates = simulate_fit_period(values, seeds, ctx)
    return problem.errors(monthly, dates)


def _pyabc():
    try:
        import pyabc
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("calibration needs pyabc: pip install 'borderscen[calibration]'") from exc
    return pyabc


# ---------------------------------------------------------------------------- the prior
def coordinates() -> dict[str, tuple[str, float, float]]:
    """pyabc's coordinates of the prior: ``log_<name>`` for a log prior, else the name, each
    uniform on (low, high); mapped to (parameter name, low, high)."""
    out = {}
    for name, p in calibration_priors().items():
        if p.kind == "log":
            out["log_" + name] = (name, math.log(p.min), math.log(p.max))
        else:
            out[name] = (name, p.min, p.max)
    return out


def prior():
    """The prior as a pyabc ``Distribution`` (uniform in :func:`coordinates`)."""
    pyabc = _pyabc()
    return pyabc.Distribution(**{k: pyabc.RV("uniform", lo, hi - lo)
                                 for k, (_, lo, hi) in coordinates().items()})


def sample_prior(size: int, rng: np.random.Generator) -> pd.DataFrame:
    """``size`` draws from the prior in pyabc's coordinates, from the seeded generator ``rng``."""
    return pd.DataFrame({k: rng.uniform(lo, hi, size) for k, (_, lo, hi) in coordinates().items()})


def natural(frame: pd.DataFrame) -> list[dict[str, float]]:
    """Rows in pyabc's coordinates as parameter values (``log_`` columns exponentiated)."""
    cols = {name: (np.exp(frame[k].to_numpy()) if k.startswith("log_") else frame[k].to_numpy())
            for k, (name, _, _) in coordinates().items()}
    return [{k: float(v[i]) for k, v in cols.items()} for i in range(len(frame))]


def from_particle(par) -> dict[str, float]:
    """One pyabc parameter (or row of a population) in natural units."""
    return {name: (math.exp(par[k]) if k.startswith("log_") else float(par[k]))
            for k, (name, _, _) in coordinates().items()}


def _inside(frame: pd.DataFrame) -> np.ndarray:
    """Which rows lie in the prior's support (where its density is positive)."""
    keep = np.ones(len(frame), bool)
    for k, (_, lo, hi) in coordinates().items():
        x = frame[k].to_numpy()
        keep &= (x >= lo) & (x <= hi)
    return keep


@contextlib.contextmanager
def numpy_global_rng(seed: int) -> Iterator[None]:
    """Seed numpy's global generator for the block, and give the caller's state back after it.

    pyabc draws from the global generator (its perturbation kernel's ``rvs``); this makes those
    draws reproducible without changing the importing process's random state. Not thread-safe:
    another thread drawing from the global generator meanwhile would see these draws.
    """
    saved = np.random.get_state()  # noqa: NPY002 - pyabc uses the global generator; restored below
    np.random.set_state(np.random.RandomState(seed).get_state())  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(saved)  # noqa: NPY002


# ---------------------------------------------------------------------------- waves of runs
class Waves:
    """Simulates waves of proposals: their seeds from the calibration's seed, their runs split
    into blocks of at most ``BLOCK`` (at least one per worker) over ``pool`` (or run here when
    there is none), their scaled errors stacked in proposal order. A proposal's seed depends on
    its place in the sequence of proposals, not on the blocks or the workers."""

    def __init__(self, seed: int, fit_end: str = FIT_END, pool=None, workers: int = 1):
        self.seed, self.fit_end, self.pool, self.workers = seed, fit_end, pool, max(1, workers)
        self.simulated = 0  # every run, including those past the n-th acceptance of a generation

    def __call__(self, values: list[dict[str, float]]) -> np.ndarray:
        first = self.simulated
        state = np.random.SeedSequence([self.seed, 1, first]).generate_state(len(values), np.uint64)
        seeds = [int(s) for s in state >> np.uint64(2)]
        self.simulated += len(values)
        if self.pool is None:
            return fit_errors(values, seeds, self.fit_end)
        blocks = max(self.workers, math.ceil(len(values) / BLOCK))
        cuts = np.linspace(0, len(values), blocks + 1).astype(int)
        futures = [self.pool.submit(fit_errors, values[a:b], seeds[a:b], self.fit_end)
                   for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]
        return np.concatenate([f.result() for f in futures])


def wave_sampler(waves: Waves, problem: Problem, rng: np.random.Generator,
                 progress: Tally | None = None, log: Callable[[str], None] | None = None):
    """A pyabc ``Sampler`` (its public interface) that draws, simulates and accepts whole waves
    of proposals as arrays, with pyabc's own prior, perturbation kernel and epsilon.

    At generation 0 (and for pyabc's calibration sample) proposals are drawn from the prior with
    ``rng``; later, from the previous population's kernel (``transitions[0].rvs``), redrawn until
    inside the prior's support. A proposal is accepted when its distance is at most ``eps(t)``
    (pyabc's uniform acceptor) and weighted prior density / kernel density (``pdf``), as pyabc's
    own samplers do. Proposals are taken in the order drawn and the generation stops at the
    n-th acceptance, so the acceptance rate pyabc records is that of a sequential sampler; runs
    of a wave past that point are counted in ``waves.simulated`` only. It stops at pyabc's
    ``max_eval`` (a generation that would fall below ``min_acceptance_rate``) with the sample
    marked not ok, so pyabc ends the run on the last complete generation.

    Bind it to its ``ABCSMC`` with :meth:`bind` before running. Each generation (and the prior
    sample) is a step of ``progress`` counting accepted particles; ``log`` gets a line at the end
    of each.
    """
    pyabc = _pyabc()

    class WaveSampler(pyabc.Sampler):  # type: ignore[name-defined]  # pyabc ships no types
        def __init__(self):
            super().__init__()
            self.abc: Any = None
            self.rate = 0.5  # the last generation's acceptance rate sizes the next one's first wave

        def bind(self, abc) -> None:
            if not isinstance(abc.acceptor, pyabc.UniformAcceptor):
                raise TypeError("the wave sampler accepts as pyabc's UniformAcceptor does; "
                                f"got {type(abc.acceptor).__name__}")
            self.abc = abc

        def _proposals(self, size: int, t: int, from_prior: bool) -> pd.DataFrame:
            if from_prior:
                return sample_prior(size, rng)
            kernel = self.abc.transitions[0]
            kept, have = [], 0
            while have < size:
                draw = kernel.rvs(size=size)
                draw = draw[_inside(draw)]
                kept.append(draw)
                have += len(draw)
            return pd.concat(kept).iloc[:size].reset_index(drop=True)

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            if self.abc is None:
                raise RuntimeError("bind the wave sampler to its ABCSMC first: sampler.bind(abc)")
            sample = self.sample_factory()
            from_prior = all_accepted or t == 0
            eps = math.inf if all_accepted else float(self.abc.eps(t))
            evaluations, accepted = 0, 0
            report = progress.step(n) if progress is not None else None
            while accepted < n and evaluations < max_eval:
                # this generation's acceptance rate so far, else the last one's (pyabc's default
                # epsilon, the median of the prior sample's distances, accepts about half at t = 0)
                rate = 1.0 if all_accepted else (accepted / evaluations if accepted else self.rate)
                want = (n - accepted) / max(rate, 1e-3) * (1.0 if evaluations == 0 else 1.2)
                # pyabc's max_eval (population / min_acceptance_rate) may be fractional
                budget = max_eval - evaluations
                size = int(min(max(want, WAVE_MIN), WAVE_MAX,
                               math.ceil(budget) if math.isfinite(budget) else WAVE_MAX))
                proposals = self._proposals(size, t, from_prior)
                errors = waves(natural(proposals))
                distance = problem.distance(errors)
                ok = distance <= eps
                # take proposals in order up to the n-th acceptance
                last = int(np.flatnonzero(ok)[n - accepted - 1]) + 1 if ok.sum() >= n - accepted else size
                ok, distance, errors = ok[:last], distance[:last], errors[:last]
                proposals = proposals.iloc[:last]
                weights = np.ones(last)
                if not from_prior and ok.any():
                    taken = proposals[ok]
                    density = self.abc.transitions[0].pdf(taken)
                    priors = np.array([self.abc.parameter_priors[0].pdf(pyabc.Parameter(row))
                                       for row in taken.to_dict("records")])
                    weights[ok] = priors / np.atleast_1d(density)
                rows = proposals.to_dict("records")
                for i in range(last):
                    if not ok[i] and not sample.record_rejected:
                        continue
                    sample.append(pyabc.Particle(
                        m=0, parameter=pyabc.Parameter(rows[i]), weight=float(weights[i]) if ok[i] else 0.0,
                        sum_stat={"e": errors[i]}, distance=math.inf if all_accepted else float(distance[i]),
                        accepted=bool(ok[i]), proposal_id=0, preliminary=False))
                evaluations += last
                accepted += int(ok.sum())
                if report is not None:
                    report(min(accepted, n), n)
            if log is not None:
                what = "prior sample" if all_accepted else f"generation {t + 1}, epsilon {eps:.3g}"
                log(f"calibrate: {what}: {min(accepted, n)}/{n} particles accepted of "
                    f"{evaluations:,} evaluated; {waves.simulated:,} simulations in all")
            if not all_accepted:
                self.rate = accepted / max(evaluations, 1)
            self.nr_evaluations_ = evaluations
            if accepted < n:
                sample.ok = False
            return sample

    return WaveSampler()


def calibrate(out: str | Path, population: int = 300, generations: int = 8, seed: int = 2022,
              workers: int = 1, min_epsilon: float = 0.0, resume: bool = True,
              min_acceptance_rate: float = 0.03, fit_end: str = FIT_END, executor: str = "process",
              scheduler: str | None = None, progress: Progress | None = None,
              log: Callable[[str], None] | None = None) -> dict:
    """Run (or resume) ABC-SMC; write posterior.csv, report.json and history.db under ``out``.

    pyabc drives the generations (epsilon schedule, kernel fitting, weights, the history); the
    wave sampler (:func:`wave_sampler`) simulates whole waves of proposals through the batched
    kernel, split over ``workers`` processes of ``executor`` (``serial`` runs them here; ``dask``
    uses ``scheduler`` or a local cluster). ``progress(done, total)`` counts the particles
    accepted in this session, ``population`` for each of the ``generations`` (and for pyabc's
    prior sample when starting afresh), after each wave; it reaches ``total`` when ABC-SMC stops,
    also when it stops early (``min_epsilon`` reached, acceptance too low). ``log`` gets one
    line per generation (epsilon, evaluations, simulations).

    Reproducible for a given ``seed`` and ``population`` (whatever the workers): prior draws come
    from a generator seeded from ``seed``, pyabc's kernel draws from numpy's global generator
    seeded for the run and restored after it (the caller's random state is left as it was).
    """
    from borderscen.experiments.runner import make_executor
    pyabc = _pyabc()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problem = Problem.from_record(fit_end)
    db = f"sqlite:///{(out / 'history.db').resolve()}"
    weights = problem.weights

    def distance(x, x0):  # the same as Problem.distance, for pyabc's own bookkeeping
        return float(np.sqrt(((x["e"] - x0["e"]) ** 2 * weights).sum()))

    def model(par):  # pyabc needs a model; the wave sampler never calls it on the hot path
        return {"e": fit_errors([from_particle(par)], [seed], fit_end)[0]}

    sequence = np.random.SeedSequence([seed, 2022])
    prior_rng, global_seed = np.random.default_rng(sequence.spawn(1)[0]), int(sequence.generate_state(1)[0])
    t0 = time.perf_counter()
    kind = executor if workers > 1 or executor == "dask" or scheduler else "serial"
    with make_executor(kind, workers, scheduler) as pool:
        waves = Waves(seed, fit_end, None if kind == "serial" else pool, workers)
        existing = resume and (out / "history.db").exists()
        tally = Tally(progress, population * (generations + (not existing)))
        sampler = wave_sampler(waves, problem, prior_rng, tally, log)
        abc = pyabc.ABCSMC(model, prior(), distance, population_size=population, sampler=sampler)
        sampler.bind(abc)
        if existing:
            try:
                abc.load(db, 1)
            except Exception:  # noqa: BLE001 - a foreign or broken database: start afresh
                existing = False
                tally.total += population  # the prior sample after all
        if existing:  # resumed: the waves continue the seed sequence where the database stops
            waves.simulated = int(abc.history.total_nr_simulations)
        else:
            (out / "history.db").unlink(missing_ok=True)
            abc.new(db, {"e": np.zeros(len(problem.targets))})
        before = waves.simulated
        with numpy_global_rng(global_seed + waves.simulated):
            history = abc.run(minimum_epsilon=min_epsilon, max_nr_populations=generations,
                              min_acceptance_rate=min_acceptance_rate)
        tally.finish()
    wall = time.perf_counter() - t0
    if history.max_t < 0:
        raise ValueError(f"no ABC-SMC generation reached {population} acceptances within pyabc's "
                         f"budget of population / min_acceptance_rate = {population} / "
                         f"{min_acceptance_rate:g} evaluations: lower min_acceptance_rate")
    report = summarise(history, problem, wall, population, seed) | {
        "fit_end": fit_end, "simulated_this_session": waves.simulated - before,
        "workers": workers, "simulations_per_s": round((waves.simulated - before) / wall, 1)}
    draws = with_dispersions(posterior_draws(history, 1000, seed), fit_end)
    report["dispersions"] = {k: float(draws[k].iloc[0]) for k in observation.DISPERSION.values()}
    if log is not None:
        log("calibrate: observation-model dispersions on the same window: " + ", ".join(
            f"{k} {v:.4g}" for k, v in report["dispersions"].items()))
    draws.to_csv(out / "posterior.csv", index=False)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


#: The smallest effective sample size (Kish's, of the final generation's weights), as a share of
#: the population, of a calibration that :func:`install` ships. Below it the 1,000 posterior
#: draws repeat a few particles and the posterior's intervals rest on those few. An assumption,
#: set between the runs seen: final generations of 1,000 particles gave 184 (the shipped fit)
#: and 83, and a refit to 2022-12 on 6 targets collapsed to 1.2 at its 13th generation, where
#: the 11 generations before it (after the first, from the prior) had held 44-168.
MIN_ESS_SHARE = 0.05


def degenerate_text(report: dict) -> str:
    """What a degenerate calibration means and what to do, for the log and for the refusal."""
    return (f"the last generation's effective sample size is {report['effective_sample_size']:.1f} "
            f"of {report['population']} particles (under {MIN_ESS_SHARE:.0%}): its posterior sample "
            "repeats a few particles, so it is not for installing; run again with more particles "
            "(--population) or another --seed")


def with_dispersions(draws: pd.DataFrame, fit_end: str = FIT_END) -> pd.DataFrame:
    """``draws`` with the observation model's dispersions (:func:`fit_dispersions` on the
    calibration's own window) as constant columns, as the shipped posteriors carry them: a
    window's dispersions are fitted on that window's targets only (a backtest origin's posterior
    never takes the 2022-24 ones from the registry)."""
    missing = [k for k in observation.DISPERSION.values() if k not in draws.columns]
    if not missing:
        return draws
    return draws.assign(**fit_dispersions(draws[free_parameters()], fit_end=fit_end))


#: Grids searched for each dispersion (log-spaced sizes; log-scale sds for strength).
DISPERSION_GRID = {"count": np.geomspace(0.5, 2000.0, 121), "strength": np.geomspace(0.02, 2.0, 81)}


def fit_dispersions(draws: pd.DataFrame, n: int = 600, seed: int = 5, fit_end: str = FIT_END
                    ) -> dict[str, float]:
    """The observation model's dispersion per channel group, by maximum predictive likelihood on
    the fit period's targets (empirical Bayes, second stage after the ABC).

    For each group g, the size k_g (or log-sd for strength) maximises the sum over the group's
    targets (each weighted 1/n of its row group, as in the distance) of log mean_i p(y | v_i, k),
    where v_i are ``n`` posterior-predictive channel values (posterior draws and seeds). Only
    targets (2022-24, or those ending by ``fit_end``) are read: never a hold-out.
    """
    monthly, dates = posterior_predictive(draws, n=n, months=FIT_MONTHS, seed=seed)
    problem = Problem.from_record(fit_end)
    v = channel_values(monthly, dates, problem.targets)
    out = {}
    for group, param in observation.DISPERSION.items():
        js = [j for j, c in enumerate(problem.targets) if observation.GROUP[c.quantity] == group]
        if not any(math.isfinite(problem.targets[j].high) for j in js):  # "at least" alone: no scale
            out[param] = float(registry()[param].default)
            continue
        grid = DISPERSION_GRID["count" if observation.is_count(group) else "strength"]
        score = np.zeros(len(grid))
        for j in js:
            c = problem.targets[j]
            ll = np.stack([observation.loglik(group, v[:, j], np.full(len(v), k), c.low, c.high)
                           for k in grid])
            m = ll.max(axis=1, keepdims=True)
            score += problem.weights[j] * (m[:, 0] + np.log(np.exp(ll - m).mean(axis=1)))
        spec = registry()[param]
        out[param] = float(np.clip(grid[int(np.argmax(score))], spec.min, spec.max))
    return out


def posterior_draws(history, n: int, seed: int) -> pd.DataFrame:
    """``n`` draws from the final population, resampled by weight, in natural units."""
    df, w = history.get_distribution()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(df), size=n, replace=True, p=w / w.sum())
    rows = [from_particle(df.iloc[i]) for i in idx]
    return pd.DataFrame(rows)[free_parameters()]


def summarise(history, problem: Problem, wall_s: float, population: int, seed: int) -> dict:
    pops = history.get_all_populations()
    ess = []
    for t in range(history.max_t + 1):  # each generation read once; the last is the posterior
        df, w = history.get_distribution(t=t)
        ess.append(float(w.sum() ** 2 / (w**2).sum()))
    w = w / w.sum()
    natural = pd.DataFrame([from_particle(df.iloc[i]) for i in range(len(df))])
    intervals = {}
    for k, p in calibration_priors().items():
        order = np.argsort(natural[k].to_numpy())
        cdf = np.cumsum(w[order])
        vals = natural[k].to_numpy()[order]
        q = [float(vals[np.searchsorted(cdf, p)]) for p in (0.05, 0.5, 0.95)]
        kind, lo, hi = p.kind, p.min, p.max
        width = (math.log(q[2]) - math.log(q[0])) / (math.log(hi) - math.log(lo)) if kind == "log" \
            else (q[2] - q[0]) / (hi - lo)
        intervals[k] = {"q05": q[0], "median": q[1], "q95": q[2], "prior": [lo, hi], "kind": kind,
                        "width_vs_prior": width}
    return {
        "method": "ABC-SMC (pyabc)",
        "seed": seed,
        "population": population,
        "generations": int(history.max_t + 1),
        "epsilons": [float(e) for e in pops["epsilon"].tolist()],
        "simulations": int(history.total_nr_simulations),
        "acceptance_rate": float(population * (history.max_t + 1) / max(history.total_nr_simulations, 1)),
        "effective_sample_size": ess[-1],
        "effective_sample_sizes": ess,  # each generation's
        "degenerate": bool(ess[-1] < MIN_ESS_SHARE * population),
        "wall_s": wall_s,
        "targets": [c.id for c in problem.targets],
        "targets_skipped": [{"id": i, "why": why} for i, why in problem.skipped],
        "parameters": intervals,
    }


def install(out: str | Path, registry_file: str | Path | None = None, fit_end: str = FIT_END) -> Path:
    """Ship a calibration: copy its posterior sample into the package, set defaults to medians.

    A calibration on an earlier window (``fit_end`` before the fit period's end) ships as that
    window's posterior (``posterior_to_<fit_end>.csv``, the backtest's) and leaves defaults alone.
    The shipped sample carries the observation model's dispersions fitted on the same window
    (:func:`with_dispersions`; their defaults too for the whole period). Refused, with
    :class:`CalibrationNotShipped`, when the calibration's report says it is degenerate
    (:data:`MIN_ESS_SHARE`) or was fitted to another window than ``fit_end``.
    """
    from borderscen.inputs.params import registry_path
    from borderscen.inputs.posterior import posterior_path

    out = Path(out)
    report_file = out / "report.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    if report.get("fit_end", fit_end) != fit_end:
        raise CalibrationNotShipped(f"{out}: fitted to targets ending by {report['fit_end']}, not "
                                    f"{fit_end}: install it with fit_end={report['fit_end']!r}")
    if report.get("degenerate"):
        raise CalibrationNotShipped(f"{out}: {degenerate_text(report)}")
    draws = with_dispersions(pd.read_csv(out / "posterior.csv"), fit_end)
    target = posterior_path(None if fit_end == FIT_END else fit_end)
    draws.to_csv(target, index=False)
    if fit_end != FIT_END:
        return target
    path = Path(registry_file) if registry_file else registry_path()
    text = path.read_text().splitlines()
    section = None
    for i, line in enumerate(text):
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section in draws.columns and line.startswith("default = "):
            med = float(np.median(draws[section]))
            text[i] = f"default = {float(f'{med:.4g}')!r}"
    path.write_text("\n".join(text) + "\n")
    return target


def write_calibrated(draws: pd.DataFrame, path: str | Path, note: str = "") -> Path:
    """A TOML file of posterior medians (with 5-95% intervals) that a config can apply
    (``[experiment].calibration``) instead of per-replication draws."""
    reg = registry()
    lines = ["# Calibrated parameter values (posterior medians, ABC-SMC).",
             f"# Written by `borderscen calibrate`. {note}".rstrip(), "", "[parameters]"]
    for name in draws.columns:
        value = float(np.clip(np.median(draws[name]), reg[name].min, reg[name].max))
        lines.append(f"{name} = {value:.6g}")
    lines += ["", "# 5% and 95% posterior quantiles", "[uncertainty]"]
    for name in draws.columns:
        lo, hi = np.percentile(draws[name], [5, 95])
        lines.append(f"{name} = [{lo:.6g}, {hi:.6g}]")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def _predictive_draws(draws: pd.DataFrame, n: int, seed: int) -> tuple[list[dict[str, float]], list[int]]:
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(draws), size=n, replace=len(draws) < n)
    values = [{k: float(v) for k, v in draws.iloc[r].items()} for r in rows]
    seeds = [int(s) for s in rng.integers(0, 2**62, size=n)]
    return values, seeds


def posterior_predictive(draws: pd.DataFrame, n: int = 300, months: int = 60, seed: int = 3,
                         executor: Any = "serial", progress: Progress | None = None):
    """Baseline runs to ``months`` (default December 2026), one posterior row and seed each,
    through the runner on ``executor`` (a kind or an executor instance: the same runs whatever
    it is); ``progress(done, total)`` counts them."""
    from borderscen.experiments.runner import run_replications

    values, seeds = _predictive_draws(draws, n, seed)
    batch, _ = make_batch(build_scenario("baseline"), seeds, months, draws=values)
    result = run_replications(batch, executor, progress=progress)
    return result.monthly, result.dates


def predictive_check(draws: pd.DataFrame, n: int = 300, seed: int = 3) -> dict[str, Any]:
    """What the calibration figures draw: ``n`` baseline posterior-predictive runs (monthly
    outputs and dates), the comparable targets and hold-outs, and the figures each run would
    have seen published through the observation model (same draws and seeds as the runs)."""
    from borderscen.inputs.record import holdouts
    monthly, dates = posterior_predictive(draws, n=n, seed=seed)
    values, seeds = _predictive_draws(draws, n, seed)
    fit, _ = comparable(targets())
    held, _ = comparable(holdouts())
    return {"monthly": monthly, "dates": dates, "fit": fit, "held": held,
            "published": published(monthly, dates, [*fit, *held], values, seeds),
            "draws": draws[free_parameters()], "priors": calibration_priors()}
