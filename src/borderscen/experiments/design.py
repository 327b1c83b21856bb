"""Experimental designs: which parameter points to run (full grid, Latin hypercube, or the
Saltelli/Morris samples SALib needs for Sobol indices and elementary effects)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from borderscen.errors import ConfigError
from borderscen.experiments.config import ExperimentConfig, Range, SweepConfig
from borderscen.inputs.params import registry
from borderscen.randomness import run_seed


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run: which scenario, design point and replication, with its seed."""

    index: int
    scenario: int
    point: int
    replication: int
    seed: int


def _sweep(cfg: ExperimentConfig) -> SweepConfig:
    if cfg.sweep is None:
        raise ValueError(f"experiment {cfg.name!r} has no [sweep] section; its design needs one")
    return cfg.sweep


def _ranges(sweep: SweepConfig) -> dict[str, Range]:
    """The swept {min, max} ranges that LHS, Sobol and Morris designs sample inside."""
    out = {}
    for name, v in sweep.parameters.items():
        if not isinstance(v, Range):
            raise ValueError(f"sweep.parameters.{name} = {v!r}: a {sweep.method} design needs a "
                             "{min, max} range, not a list of values")
        out[name] = v
    return out


def _grid(sweep: SweepConfig) -> dict[str, list[float | bool]]:
    """The swept lists of values that a grid design crosses."""
    out = {}
    for name, v in sweep.parameters.items():
        if isinstance(v, Range):
            raise ValueError(f"sweep.parameters.{name} = {{min = {v.min}, max = {v.max}}}: a grid "
                             "design needs a list of values, not a range")
        out[name] = v
    return out


def salib_problem(cfg: ExperimentConfig) -> dict:
    ranges = _ranges(_sweep(cfg))
    return {"num_vars": len(ranges), "names": list(ranges),
            "bounds": [[r.min, r.max] for r in ranges.values()]}


def _integral(names: list[str], values: np.ndarray) -> np.ndarray:
    reg = registry()
    for j, name in enumerate(names):
        if reg[name].kind in ("int", "bool"):
            values[:, j] = np.round(values[:, j])
    return values


def design_points(cfg: ExperimentConfig) -> list[dict[str, float]]:
    """Parameter points of the sweep ([{}] when there is no sweep), crossed with the sweep's
    named policies when it has any (policy-major; see borderscen.inputs.levers)."""
    points = _sweep_points(cfg)
    if cfg.sweep is not None and cfg.sweep.policies:
        from borderscen.inputs.levers import cross_policies
        return cross_policies(points, cfg.sweep.policies)
    return points


def _sweep_points(cfg: ExperimentConfig) -> list[dict[str, float]]:
    sweep = cfg.sweep
    if sweep is None:
        return [{}]
    names = list(sweep.parameters)
    if sweep.method == "grid":
        grids = _grid(sweep)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grids.values())]
    ranges = list(_ranges(sweep).values())
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
    problem, n, seed = salib_problem(cfg), _sweep(cfg).samples, cfg.experiment.seed
    if _sweep(cfg).method == "sobol":
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
