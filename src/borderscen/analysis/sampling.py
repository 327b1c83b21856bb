"""Run a model variant over a list of seeds, in parallel when asked: the shared engine of
validation, calibration and paired comparisons (seeds shared across variants: CRN)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from borderscen.experiments.runner import make_executor, run_one
from borderscen.model import DEFAULT_HORIZON, DEFAULT_START
from borderscen.randomness import run_seed
from borderscen.scenarios import Event, build_scenario


@dataclass(frozen=True)
class Variant:
    """A scenario to sample: preset, overrides and extra dated events."""

    preset: str = "baseline"
    overrides: Mapping[str, float] = field(default_factory=dict)
    events: tuple[Event, ...] = ()


def _run(args) -> tuple[pd.DataFrame, dict[str, Any]]:
    scenario, seed, horizon = args
    out = run_one(scenario, seed, horizon, DEFAULT_START)
    return out.timeseries, out.summary


def sample(variants: Sequence[Variant], replications: int, root_seed: int = 1,
           horizon_months: int = DEFAULT_HORIZON, executor: str = "serial",
           workers: int = 0) -> list[list[tuple[pd.DataFrame, dict[str, Any]]]]:
    """For each variant, (timeseries, summary) of each replication; replication r has the same
    seed in every variant."""
    seeds = [run_seed(root_seed, r) for r in range(replications)]
    scenarios = [build_scenario(v.preset, v.overrides, v.events) for v in variants]
    jobs = [(sc, s, horizon_months) for sc in scenarios for s in seeds]
    with make_executor(executor, workers) as pool:
        results = list(pool.map(_run, jobs, chunksize=max(1, len(jobs) // 16)))
    return [results[i * replications:(i + 1) * replications] for i in range(len(variants))]
