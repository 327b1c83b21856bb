"""ABC-SMC calibration with pyabc on the 2022-24 record (optional extra ``[calibration]``).

The free parameters (``calibrate = true`` in the registry) get priors from the evidence; each
particle runs the model from January 2022 to December 2024 under the history, and its distance
to the record is the root mean square of log errors over every comparable target, each through
its own observation channel (``analysis.observe``), scaled by that target's tolerance and
weighted so that no group of rows (say, twelve monthly CENTCOM releases) outweighs a yearly one.
Hold-outs (2025 on) are never read here.

pyabc keeps its history in a SQLite database, so a calibration can be resumed; the result is a
posterior sample (``posterior.csv``), a report (acceptance, effective sample size, intervals)
and the fit figure.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from borderscen.analysis.observe import Comparable, channel_values, comparable, log_error, published
from borderscen.kernel.core import make_context, run_batch
from borderscen.mechanisms import observation
from borderscen.params import load_calibrated, registry  # noqa: F401  (load_calibrated moved there)
from borderscen.record import FIT_END, targets
from borderscen.runs import make_batch
from borderscen.scenarios import build_scenario

FIT_MONTHS = 36  # January 2022 to December 2024
#: Log-scale tolerance of each kind of figure (a tracker's yearly count is good to about 20%).
TOLERANCE = {"attacks": 0.2, "operations": 0.15, "neutralised": 0.3, "members": 0.3}

#: Priors: (kind, low, high); "log" is log-uniform. Ranges from the evidence (see ODD 7.13).
PRIORS = {
    "isis_members_iraq_initial": ("uniform", 400, 4000),
    "isis_members_syria_initial": ("uniform", 800, 6000),
    "recruitment_contact_rate": ("log", 0.01, 1.0),
    "yield_per_operation_iraq": ("uniform", 0.1, 3.0),
    "yield_per_operation_syria": ("uniform", 0.1, 5.0),
    "attack_rate_iraq": ("log", 0.001, 0.1),
    "attack_rate_syria": ("log", 0.001, 0.2),
    "attack_scale_exponent": ("uniform", 0.5, 2.5),
    "security_scale": ("log", 1.0, 100.0),
    "pool_initial_fill": ("uniform", 0.05, 1.0),
    "claim_probability": ("uniform", 0.05, 0.9),
    "official_detection_iraq": ("uniform", 0.2, 1.0),
    "assad_ct_decline_2024": ("uniform", 0.0, 0.95),
}


def free_parameters() -> list[str]:
    reg = registry()
    names = [n for n, s in reg.items() if s.calibrate]
    missing = set(names) ^ set(PRIORS)
    if missing:
        raise ValueError(f"calibrated parameters and priors disagree on: {sorted(missing)}")
    return names


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
        return np.sqrt((errors**2 * self.weights).sum(axis=-1))


def simulate_fit_period(values: list[dict[str, float]], seeds: list[int], ctx=None):
    """Run the 2022-24 history for each (parameter set, seed); returns (monthly, dates)."""
    batch, _ = make_batch(build_scenario("baseline"), seeds, FIT_MONTHS, draws=values)
    result = run_batch(batch, ctx)
    return result.monthly, result.dates


def _pyabc():
    try:
        import pyabc
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError("calibration needs pyabc: pip install 'borderscen[calibration]'") from exc
    return pyabc


def prior():
    pyabc = _pyabc()
    dists = {}
    for name, (kind, lo, hi) in PRIORS.items():
        if kind == "log":
            dists[name] = pyabc.RV("uniform", math.log(lo), math.log(hi) - math.log(lo))
        else:
            dists[name] = pyabc.RV("uniform", lo, hi - lo)
    return pyabc.Distribution(**{("log_" + k if PRIORS[k][0] == "log" else k): v for k, v in dists.items()})


def from_particle(par) -> dict[str, float]:
    return {k: (math.exp(par["log_" + k]) if kind == "log" else float(par[k]))
            for k, (kind, _, _) in PRIORS.items()}


class _Model:
    """pyabc model: one run of the fit period; its summary is the vector of scaled errors.

    ``prefetch`` runs many proposals as one batch (the kernel's array path) and caches their
    summaries, so :class:`BatchSampler` can evaluate a whole wave of pyabc's proposals at once;
    called alone, a proposal runs by itself with the same result.
    """

    def __init__(self, problem: Problem, seed: int):
        self.problem, self.seed, self.calls = problem, seed, 0
        self.ctx = make_context()
        self.cache: dict[int, np.ndarray] = {}

    def _seed(self) -> int:
        self.calls += 1
        return int(np.random.SeedSequence([self.seed, self.calls]).generate_state(1)[0])

    def prefetch(self, pars: list) -> None:
        seeds = [self._seed() for _ in pars]
        monthly, dates = simulate_fit_period([from_particle(p) for p in pars], seeds, self.ctx)
        errors = self.problem.errors(monthly, dates)
        for p, e in zip(pars, errors, strict=True):
            self.cache[id(p)] = e

    def __call__(self, par) -> dict[str, np.ndarray]:
        e = self.cache.pop(id(par), None)
        if e is None:
            monthly, dates = simulate_fit_period([from_particle(par)], [self._seed()], self.ctx)
            e = self.problem.errors(monthly, dates)[0]
        return {"e": e}


def _bounds() -> dict[str, tuple[float, float]]:
    """The prior's support in pyabc's (log-transformed) coordinates."""
    out = {}
    for k, (kind, lo, hi) in PRIORS.items():
        if kind == "log":
            out["log_" + k] = (math.log(lo), math.log(hi))
        else:
            out[k] = (lo, hi)
    return out


def sample_prior(size: int) -> list:
    """``size`` draws from the (uniform in pyabc's coordinates) prior, as pyabc Parameters."""
    import pyabc
    cols = {k: np.random.uniform(lo, hi, size) for k, (lo, hi) in _bounds().items()}  # noqa: NPY002
    return [pyabc.Parameter({k: float(v[i]) for k, v in cols.items()}) for i in range(size)]


def _vector_proposals(kw: dict, size: int) -> tuple[list, dict[int, float]]:
    """pyabc's perturbation kernel for a single model, vectorised: draw from the kernel, keep
    draws inside the prior's support, weigh each by prior / kernel density (the prior is uniform
    on its support, so its density is a constant that cancels on normalisation)."""
    import pyabc
    m = int(kw["m"][0])
    kernel = kw["transitions"][m]
    bounds = _bounds()
    kept: list[pd.DataFrame] = []
    have = 0
    while have < size:
        draw = kernel.rvs(size=size)
        inside = np.ones(len(draw), bool)
        for k, (lo, hi) in bounds.items():
            inside &= (draw[k] >= lo).to_numpy() & (draw[k] <= hi).to_numpy()
        kept.append(draw[inside])
        have += int(inside.sum())
    draws = pd.concat(kept).iloc[:size].reset_index(drop=True)
    x = draws[kernel.X.columns].to_numpy()
    diff = x[:, None, :] - kernel.X.to_numpy()[None, :, :]
    inv = np.linalg.inv(kernel.cov)
    mahal = np.einsum("npi,ij,npj->np", diff, inv, diff)
    norm = 1.0 / math.sqrt((2 * math.pi) ** x.shape[1] * np.linalg.det(kernel.cov))
    density = (np.exp(-0.5 * mahal) * norm * kernel.w[None, :]).sum(axis=1)
    params = [pyabc.Parameter({k: float(v) for k, v in row.items()}) for row in draws.to_dict("records")]
    weights = {id(p): 1.0 / d for p, d in zip(params, density, strict=True)}
    return [(m, p) for p in params], weights


def batch_sampler(model: _Model, wave: int = 400):
    """A pyabc sampler that proposes with pyabc's own machinery (prior, transition kernels,
    weights, acceptance) but simulates each wave of proposals as one batch."""
    pyabc = _pyabc()
    from pyabc.inference_util.inference_util import evaluate_proposal, generate_valid_proposal
    from pyabc.population import Particle

    class BatchSampler(pyabc.sampler.SingleCoreSampler):
        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            kw = getattr(simulate_one, "keywords", None)
            name = getattr(getattr(simulate_one, "func", None), "__name__", "")
            if kw is None or name not in ("_simulate_one", "_simulate_one_from_prior") \
                    or not kw.get("evaluate", True):
                return super().sample_until_n_accepted(n, simulate_one, t, max_eval=max_eval,
                                                       all_accepted=all_accepted, ana_vars=ana_vars)
            sample, evaluations = self._create_empty_sample(), 0
            single = name == "_simulate_one" and len(kw["m"]) == 1
            while sample.n_accepted < n:
                size = max(64, min(wave, 3 * (n - sample.n_accepted)))
                weights: dict[int, float] = {}
                if name == "_simulate_one_from_prior":
                    proposals = [(0, p) for p in sample_prior(size)]
                elif single:  # pyabc's proposal for one model, drawn and weighed as arrays
                    proposals, weights = _vector_proposals(kw, size)
                else:
                    proposals = [generate_valid_proposal(
                        t=kw["t"], m=kw["m"], p=kw["p"], model_prior=kw["model_prior"],
                        parameter_priors=kw["parameter_priors"],
                        model_perturbation_kernel=kw["model_perturbation_kernel"],
                        transitions=kw["transitions"]) for _ in range(size)]
                model.prefetch([theta for _, theta in proposals])
                for m_ss, theta in proposals:
                    if sample.n_accepted >= n:
                        model.cache.pop(id(theta), None)
                        continue
                    if name == "_simulate_one_from_prior":
                        result = kw["models"][m_ss].summary_statistics(0, theta, kw["summary_statistics"])
                        particle = Particle(m=m_ss, parameter=theta, weight=1.0, sum_stat=result.sum_stat,
                                            distance=np.inf, accepted=True, proposal_id=0,
                                            preliminary=False)
                    else:
                        weight_function = kw["weight_function"]
                        if theta is not None and id(theta) in weights:
                            w = weights[id(theta)]
                            weight_function = (lambda m, th, acc, w=w: acc * w)  # noqa: E731
                        particle = evaluate_proposal(
                            m_ss, theta, t=kw["t"], models=kw["models"],
                            summary_statistics=kw["summary_statistics"],
                            distance_function=kw["distance_function"], eps=kw["eps"],
                            acceptor=kw["acceptor"], x_0=kw["x_0"],
                            weight_function=weight_function, proposal_id=kw["proposal_id"])
                    sample.append(particle)
                    evaluations += 1
            self.nr_evaluations_ = evaluations
            return sample

    return BatchSampler()


def calibrate(out: str | Path, population: int = 300, generations: int = 8, seed: int = 2022,
              workers: int = 1, min_epsilon: float = 0.0, resume: bool = True,
              min_acceptance_rate: float = 0.03, fit_end: str = FIT_END) -> dict:
    """Run (or resume) ABC-SMC; write posterior.csv, report.json and history.db under ``out``.

    pyabc proposes and weighs; each wave of proposals is simulated as one batch in this process
    (``workers`` is kept for the API; the batch is faster than pyabc's process pool here).
    """
    pyabc = _pyabc()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    problem = Problem.from_record(fit_end)
    db = f"sqlite:///{(out / 'history.db').resolve()}"
    weights = problem.weights

    def distance(x, x0):
        return float(np.sqrt(((x["e"] - x0["e"]) ** 2 * weights).sum()))

    model = _Model(problem, seed)
    np.random.seed(seed)  # noqa: NPY002 - pyabc draws its proposals from numpy's global generator
    abc = pyabc.ABCSMC(model, prior(), distance, population_size=population,
                       sampler=batch_sampler(model))
    t0 = time.perf_counter()
    existing = resume and (out / "history.db").exists()
    if existing:
        try:
            abc.load(db, 1)
        except Exception:  # noqa: BLE001 - a foreign or broken database: start afresh
            existing = False
    if not existing:
        (out / "history.db").unlink(missing_ok=True)
        abc.new(db, {"e": np.zeros(len(problem.targets))})
    history = abc.run(minimum_epsilon=min_epsilon, max_nr_populations=generations,
                      min_acceptance_rate=min_acceptance_rate)
    wall = time.perf_counter() - t0
    report = summarise(history, problem, wall, population, seed) | {"fit_end": fit_end}
    draws = posterior_draws(history, 1000, seed)
    draws.to_csv(out / "posterior.csv", index=False)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    return report


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
    return pd.DataFrame(rows)[list(PRIORS)]


def summarise(history, problem: Problem, wall_s: float, population: int, seed: int) -> dict:
    pops = history.get_all_populations()
    df, w = history.get_distribution()
    w = w / w.sum()
    natural = pd.DataFrame([from_particle(df.iloc[i]) for i in range(len(df))])
    intervals = {}
    for k in PRIORS:
        order = np.argsort(natural[k].to_numpy())
        cdf = np.cumsum(w[order])
        vals = natural[k].to_numpy()[order]
        q = [float(vals[np.searchsorted(cdf, p)]) for p in (0.05, 0.5, 0.95)]
        kind, lo, hi = PRIORS[k]
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
        "effective_sample_size": float(1.0 / (w**2).sum()),
        "wall_s": wall_s,
        "targets": [c.id for c in problem.targets],
        "targets_skipped": [{"id": i, "why": why} for i, why in problem.skipped],
        "parameters": intervals,
    }


def install(out: str | Path, registry_file: str | Path | None = None, fit_end: str = FIT_END) -> Path:
    """Ship a calibration: copy its posterior sample into the package, set defaults to medians.

    A calibration on an earlier window (``fit_end`` before the fit period's end) ships as that
    window's posterior (``posterior_to_<fit_end>.csv``, the backtest's) and leaves defaults alone.
    """
    from borderscen.params import registry_path
    from borderscen.posterior import posterior_path

    out = Path(out)
    draws = pd.read_csv(out / "posterior.csv")
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


def posterior_predictive(draws: pd.DataFrame, n: int = 300, months: int = 60, seed: int = 3):
    """Baseline runs to ``months`` (default December 2026), one posterior row and seed each."""
    values, seeds = _predictive_draws(draws, n, seed)
    batch, _ = make_batch(build_scenario("baseline"), seeds, months, draws=values)
    result = run_batch(batch)
    return result.monthly, result.dates


def draw_figures(out: str | Path, draws: pd.DataFrame, formats=("png",)) -> list[Path]:
    """The fit figure (targets and hold-outs) and the posterior pair plot, with their CSVs."""
    from borderscen.plots.calibration import calibration_fit, posterior_pairs
    from borderscen.plots.style import save
    from borderscen.record import holdouts

    out = Path(out)
    monthly, dates = posterior_predictive(draws)
    values, seeds = _predictive_draws(draws, 300, 3)  # the same draws and seeds as the runs
    fit, _ = comparable(targets())
    held, _ = comparable(holdouts())
    figures = published(monthly, dates, [*fit, *held], values, seeds)  # through the observation model
    files = save(*calibration_fit(monthly, dates, fit, held, predictive=figures), out / "calibration_fit",
                 "calibration", formats)
    files += save(*posterior_pairs(draws[list(PRIORS)], PRIORS), out / "posterior_pairs", "calibration",
                  formats)
    return files
