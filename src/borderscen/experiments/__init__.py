"""Batch experiments: config files -> design -> runs -> results store.

Data flows one way: :mod:`config` validates a TOML file, :mod:`design` expands it into runs,
:mod:`runner` maps the pure :func:`runner.run_one` over any ``concurrent.futures`` executor in
chunks, and :mod:`store` writes each finished chunk atomically so a batch can resume.
"""

from borderscen.experiments.config import ExperimentConfig, load_config
from borderscen.experiments.runner import run_experiment, run_one
from borderscen.experiments.store import Results, load_results

__all__ = ["ExperimentConfig", "Results", "load_config", "load_results", "run_experiment",
           "run_one"]
