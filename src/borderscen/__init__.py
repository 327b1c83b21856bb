"""borderscen: agent-based scenario simulation of Iraq-Syria border security cooperation after
the fall of Assad. Exploratory scenarios, not forecasts.

Quick start::

    import borderscen as bs
    df = bs.simulate("covert_channel", seed=1)           # one run, a DataFrame per month
    res = bs.run_experiment("experiments/smoke.toml")    # a batch, stored as Parquet
    res.quantiles("attacks_tracked_iraq"); res.regime_probabilities()
    bs.plots.fans.fan_chart(res.timeseries)
"""

from importlib import metadata

from borderscen import analysis as _analysis  # noqa: F401  (registers Results' summaries)
from borderscen import errors
from borderscen.experiments import (
    ExperimentConfig,
    Results,
    load_config,
    load_results,
    run_experiment,
)
from borderscen.inputs.params import Parameters, make_params, registry
from borderscen.inputs.scenarios import Event, Scenario, build_scenario, preset_names, presets
from borderscen.interfaces.builder import Experiment, grid, lhs, morris, sobol
from borderscen.randomness import run_seed
from borderscen.runs import OUTPUTS, simulate

try:
    __version__ = metadata.version("borderscen")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "OUTPUTS", "BorderModel", "Event", "Experiment", "grid", "lhs", "morris", "sobol",
    "ExperimentConfig", "Parameters", "Results", "Scenario",
    "actors", "assimilate", "errors", "forecast",
    "build_scenario", "load_config", "load_results", "make_params", "plots", "preset_names",
    "presets", "registry", "run_experiment", "run_seed", "simulate",
]


#: Imported on first use: running batches never loads matplotlib (plots) or Mesa (the Mesa face).
_LAZY = {"plots": ("borderscen.plots", None), "actors": ("borderscen.actors", None),
         "BorderModel": ("borderscen.model", "BorderModel"),
         "assimilate": ("borderscen.assimilation.filter", "assimilate"),
         "forecast": ("borderscen.assimilation.filter", "forecast")}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        module_name, attribute = _LAZY[name]
        module = importlib.import_module(module_name)
        return getattr(module, attribute) if attribute else module
    raise AttributeError(f"module 'borderscen' has no attribute {name!r}")

