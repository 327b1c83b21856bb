"""borderscen as an EMA Workbench client (Kwakkel 2017): a ready ``ReplicatorModel``.

    import borderscen.interfaces.ema as bsema
    from ema_workbench import SequentialEvaluator
    model = bsema.model(uncertainties=["tehran_camp_initial", "iran_pressure"], replications=10)
    with SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=50)

Uncertainties and levers come from the parameter registry (ranges, kinds, roles: see
borderscen.inputs.levers); the preset is a categorical uncertainty; outcomes are the run-level metrics
of the runner; replications carry common-random-number seeds (replication r has the seed
``run_seed(root_seed, r)`` in every experiment, as in the batch runner). A parameter combination
the model rejects (e.g. the two Shia camps' weights summing above the cap) yields NaN outcomes
and ``valid = 0`` instead of aborting the whole batch.

Each replication runs through the runner's :func:`~borderscen.experiments.runner.run_one` (what
one run of an experiment's chunk is: the same scenario and seed give the same numbers). Where
runs execute and how their progress shows is EMA Workbench's to decide (its evaluators, e.g.
``MultiprocessingEvaluator``, and its own progress bar), since it calls the model one replication
at a time: the adapter takes no executor and no progress callback of its own.

Needs the optional extra: ``pip install 'borderscen[explore]'``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from borderscen.analysis.export import results_to_ema  # noqa: F401 - part of the client's API
from borderscen.errors import ConfigError
from borderscen.inputs.levers import levers, uncertainties
from borderscen.inputs.params import registry

#: Name of the categorical uncertainty choosing the scenario preset.
PRESET = "preset"
#: Outcome flagging runs the model accepted (1) or rejected as an invalid combination (0).
VALID = "valid"


def _ema():
    from borderscen.analysis.discovery import _import_ema
    return _import_ema("ema_workbench")


@functools.cache
def run_metrics(horizon_months: int = 1) -> tuple[str, ...]:
    """Names of the numeric run-level metrics the runner reports (probed with one short run)."""
    from borderscen.experiments.runner import run_one
    from borderscen.inputs.scenarios import build_scenario
    from borderscen.model import DEFAULT_START
    summary = run_one(build_scenario("baseline"), 0, horizon_months, DEFAULT_START).summary
    return tuple(k for k, v in summary.items() if isinstance(v, int | float | bool | np.number))


def run_model(seed: int, preset: str = "baseline", horizon_months: int = 36,
              start: str | None = None, outputs: Sequence[str] = (), series: Sequence[str] = (),
              **params: Any) -> dict:
    """One run for EMA: parameters as keyword arguments; run-level metrics (``outputs``) and
    monthly outputs (``series``, arrays over months) out."""
    from borderscen.experiments.runner import run_one
    from borderscen.inputs.scenarios import build_scenario
    from borderscen.model import DEFAULT_START
    reg = registry()
    overrides = {k: float(v) for k, v in params.items() if k in reg}
    try:
        scenario = build_scenario(preset, overrides)
    except ConfigError:
        return {**{o: math.nan for o in outputs},
                **{o: np.full(int(horizon_months), np.nan) for o in series}, VALID: 0.0}
    out = run_one(scenario, int(seed), int(horizon_months), start or DEFAULT_START)
    return {**{o: float(out.summary[o]) for o in outputs},
            **{o: out.timeseries[o].to_numpy(dtype=float) for o in series}, VALID: 1.0}


def _parameter(name: str):
    ema = _ema()
    spec = registry()[name]
    if spec.kind == "bool":
        return ema.IntegerParameter(name, 0, 1)
    if spec.kind == "int":
        return ema.IntegerParameter(name, int(spec.min), int(spec.max))
    return ema.RealParameter(name, spec.min, spec.max)


def model(uncertainties_: Sequence[str] | None = None, levers_: Sequence[str] | None = None,
          presets: Sequence[str] | None = None, outcomes: Sequence[str] | None = None,
          replications: int = 10, root_seed: int = 1, horizon_months: int = 36,
          name: str = "borderscen", aggregate: bool = False, series: Sequence[str] = (), *,
          uncertainties: Sequence[str] | None = None, levers: Sequence[str] | None = None):
    """A ready EMA ``ReplicatorModel`` of borderscen.

    ``uncertainties`` and ``levers`` default to every registry parameter of that role (use
    subsets for anything but screening); ``presets`` (default: all) is a categorical
    uncertainty when more than one is given; ``outcomes`` default to every numeric run-level
    metric. With ``aggregate`` each outcome is the mean over replications (a ScalarOutcome),
    otherwise an ArrayOutcome holding every replication's value. ``series`` names monthly
    outputs (e.g. ``cooperation``) returned as arrays (replications x months).
    """
    from borderscen.inputs.scenarios import preset_names
    from borderscen.randomness import run_seed
    ema = _ema()
    unc = list(uncertainties if uncertainties is not None else
               uncertainties_ if uncertainties_ is not None else _all_uncertainties())
    lev = list(levers if levers is not None else levers_ if levers_ is not None else _all_levers())
    reg = registry()
    for n in (*unc, *lev):
        if n not in reg:
            raise ConfigError("borderscen.interfaces.ema.model", "parameter", n, "not a registry parameter")
    outs = list(outcomes) if outcomes is not None else list(run_metrics())
    fn = functools.partial(run_model, horizon_months=horizon_months, outputs=tuple(outs),
                           series=tuple(series))
    m = ema.ReplicatorModel(name, function=fn)
    names = list(presets) if presets is not None else list(preset_names())
    params = [_parameter(n) for n in unc]
    if len(names) > 1:
        params.append(ema.CategoricalParameter(PRESET, names))
    else:
        m.constants = [ema.Constant(PRESET, names[0])]
    m.uncertainties = params
    m.levers = [_parameter(n) for n in lev]
    kind = ema.ScalarOutcome if aggregate else ema.ArrayOutcome
    extra = {"function": np.mean} if aggregate else {}
    m.outcomes = [kind(o, **extra) for o in (*outs, VALID)] + [ema.ArrayOutcome(o) for o in series]
    m.replications = [{"seed": run_seed(root_seed, r)} for r in range(replications)]
    return m


def _all_uncertainties() -> list[str]:
    return uncertainties()


def _all_levers() -> list[str]:
    return levers()
