"""Experimental designs: which parameter points to run (full grid, Latin hypercube, or the
Saltelli/Morris samples SALib needs for Sobol indices and elementary effects)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from borderscen.errors import ConfigError
from borderscen.experiments.config import ExperimentConfig, Range
from borderscen.params import registry
from borderscen.randomness import run_seed


@dataclass(frozen=True)
class RunSpec:
    """One run: which scenario, design point and replication, with its seed."""

    index: int
    scenario: int
    point: int
    replication: int
    seed: int


def salib_problem(cfg: ExperimentConfig) -> dict:
    names = list(cfg.sweep.parameters)
    bounds = [[r.min, r.max] for r in cfg.sweep.parameters.values()]
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def _integral(names: list[str], values: np.ndarray) -> np.ndarray:
    reg = registry()
    for j, name in enumerate(names):
        if reg[name].kind in ("int", "bool"):
            values[:, j] = np.round(values[:, j])
    return values


def design_points(cfg: ExperimentConfig) -> list[dict[str, float]]:
    """Parameter points of the sweep ([{}] when there is no sweep), crossed with the sweep's
    named policies when it has any (policy-major; see borderscen.levers)."""
    points = _sweep_points(cfg)
    if cfg.sweep is not None and cfg.sweep.policies:
        from borderscen.levers import cross_policies
        return cross_policies(points, cfg.sweep.policies)
    return points


def _sweep_points(cfg: ExperimentConfig) -> list[dict[str, float]]:
    sweep = cfg.sweep
    if sweep is None:
        return [{}]
    names = list(sweep.parameters)
    if sweep.method == "grid":
        grids = [sweep.parameters[n] for n in names]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grids)]
    ranges: list[Range] = [sweep.parameters[n] for n in names]
    lo, hi = np.array([r.min for r in ranges]), np.array([r.max for r in ranges])
    if sweep.method == "lhs":
        from scipy.stats import qmc  # scipy.stats costs 0.7 s to import: only Latin hypercubes need it

        unit = qmc.LatinHypercube(d=len(names), seed=cfg.experiment.seed).random(sweep.samples)
        values = qmc.scale(unit, lo, hi)
    else:
        values = _salib_sample(cfg)
    values = _integral(names, values)
    return [dict(zip(names, map(float, row), strict=True)) for row in values]


def _salib_sample(cfg: ExperimentConfig) -> np.ndarray:
    try:
        from SALib.sample import morris, sobol
    except ImportError as exc:  # optional extra
        raise ImportError("Sobol and Morris designs need SALib: "
                          "pip install 'borderscen[sensitivity]'") from exc
    problem, n, seed = salib_problem(cfg), cfg.sweep.samples, cfg.experiment.seed
    if cfg.sweep.method == "sobol":
        return sobol.sample(problem, n, calc_second_order=False, seed=seed)
    return morris.sample(problem, n, num_levels=4, seed=seed)


def expand(cfg: ExperimentConfig) -> tuple[list[dict[str, float]], list[RunSpec]]:
    """Design points and the full list of runs, in a fixed order.

    Replication r has the same seed in every scenario and at every design point, so comparisons
    across them are paired (common random numbers).
    """
    from borderscen.errors import ConfigErrors
    from borderscen.experiments.config import _check_size
    if problems := _check_size(cfg, cfg.source):
        raise ConfigErrors(problems)
    points = design_points(cfg)
    if not points:
        raise ConfigError(cfg.source, "sweep.parameters", "...", "the design has zero points")
    seeds = [run_seed(int(cfg.experiment.seed), r) for r in range(cfg.experiment.replications)]
    runs, i = [], 0
    for s in range(len(cfg.scenarios)):
        for p in range(len(points)):
            for r, seed in enumerate(seeds):
                runs.append(RunSpec(i, s, p, r, seed))
                i += 1
    return points, runs
