"""Global sensitivity analysis with SALib: Morris elementary effects (screening) and Sobol
first-order and total indices, over the parameters and ranges a config's [sweep] names.

The design points come from SALib's samplers (see experiments.design); the runs go through the
ordinary runner and store, so they are parallel, resumable and recorded like any experiment.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from borderscen.experiments.config import ExperimentConfig, load_config
from borderscen.experiments.design import expand, salib_problem
from borderscen.experiments.runner import run_experiment
from borderscen.progress import Progress, Tally

DEFAULT_OUTPUTS = ("cum_attacks", "final_isis_members", "mean_cooperation",
                   "months_partnership", "cum_smuggling")
METHODS = ("morris", "sobol")


def _for_method(cfg: ExperimentConfig, method: str) -> ExperimentConfig:
    assert cfg.sweep is not None  # run_sensitivity checks it first
    sweep = cfg.sweep.model_copy(update={"method": method})
    section = cfg.experiment.model_copy(update={"name": f"{cfg.name}_{method}"})
    return cfg.model_copy(update={"sweep": sweep, "experiment": section})


def indices(cfg: ExperimentConfig, runs: pd.DataFrame, method: str,
            outputs: Sequence[str] = DEFAULT_OUTPUTS, seed: int = 0) -> pd.DataFrame:
    """Tidy table: output, parameter, index name, value, 95% confidence half-width."""
    from SALib.analyze import morris, sobol
    problem = salib_problem(cfg)
    ok = runs[runs["status"] == "ok"]
    # one value per design point: the mean over replications (common seeds across points)
    by_point = ok.groupby("point")[list(outputs)].mean().sort_index()
    if len(by_point) != runs["point"].nunique():
        raise RuntimeError("some design points have no successful run; cannot compute indices")
    X = np.array([[p[n] for n in problem["names"]] for p in _points(runs, problem["names"])])
    rows = []
    for out in outputs:
        Y = by_point[out].to_numpy(float)
        if method == "morris":
            res = morris.analyze(problem, X, Y, num_levels=4, seed=seed)
            for i, name in enumerate(problem["names"]):
                rows += [{"output": out, "parameter": name, "index": "mu_star",
                          "value": res["mu_star"][i], "conf": res["mu_star_conf"][i]},
                         {"output": out, "parameter": name, "index": "sigma",
                          "value": res["sigma"][i], "conf": np.nan}]
        else:
            res = sobol.analyze(problem, Y, calc_second_order=False, seed=seed)
            for i, name in enumerate(problem["names"]):
                rows += [{"output": out, "parameter": name, "index": "S1",
                          "value": res["S1"][i], "conf": res["S1_conf"][i]},
                         {"output": out, "parameter": name, "index": "ST",
                          "value": res["ST"][i], "conf": res["ST_conf"][i]}]
    return pd.DataFrame(rows)


def _points(runs: pd.DataFrame, names: Sequence[str]) -> list[dict[str, float]]:
    first = runs.sort_values("point").drop_duplicates("point")
    return first[list(names)].to_dict("records")


def run_sensitivity(config: ExperimentConfig | str | Path, out_dir: str | Path = "results",
                    methods: Sequence[str] = METHODS, outputs: Sequence[str] = DEFAULT_OUTPUTS,
                    executor: str | None = None, workers: int | None = None,
                    progress: bool | None | Progress = None, fresh: bool = False,
                    scheduler: str | None = None) -> dict[str, pd.DataFrame]:
    """Run each method's design and return its indices (also written as CSV beside the runs).

    ``progress`` as :func:`~borderscen.experiments.run_experiment`'s; a callback counts the runs
    of every method's design as one count."""
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    if cfg.sweep is None or any(isinstance(v, list) for v in cfg.sweep.parameters.values()):
        raise ValueError("a sensitivity config needs [sweep.parameters] given as {min, max} ranges")
    designs = {method: _for_method(cfg, method) for method in methods}
    sizes = {method: len(expand(mcfg)[1]) for method, mcfg in designs.items()}
    tally = Tally(progress, sum(sizes.values())) if callable(progress) else None
    tables = {}
    for method, mcfg in designs.items():
        shown = tally.step(sizes[method]) if tally is not None else progress
        res = run_experiment(mcfg, out=Path(out_dir) / mcfg.name, executor=executor,
                             workers=workers, scheduler=scheduler, progress=shown, fresh=fresh)
        table = indices(mcfg, res.runs, method, outputs, seed=cfg.experiment.seed)
        table.to_csv(res.root / "indices.csv", index=False)
        tables[method] = table
    return tables
