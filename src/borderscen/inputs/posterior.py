"""The shipped posterior sample of the calibrated parameters, and which draw a run uses.

``data/posterior.csv`` holds draws from the ABC-SMC posterior (``borderscen calibrate``), one row
per draw, one column per calibrated parameter. By default each replication gets its own draw,
chosen from its seed, so replication r uses the same draw in every scenario and design point
(paired, like the seeds): fan charts then show parametric as well as stochastic uncertainty.
``parameters = "median"`` uses the posterior medians (the registry defaults) instead.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from borderscen.inputs.params import registry

POSTERIOR_FILE = "posterior.csv"
MODES = ("posterior", "median")


def posterior_path(fit_end: str | None = None) -> Path:
    """The shipped posterior (fitted on 2022-24), or the one fitted on targets ending by ``fit_end``."""
    name = POSTERIOR_FILE if fit_end is None else f"posterior_to_{fit_end}.csv"
    return Path(str(resources.files("borderscen") / "data" / name))


@functools.cache
def posterior_sample(fit_end: str | None = None) -> pd.DataFrame | None:
    """The shipped draws (None before the first calibration); ``fit_end`` as in posterior_path."""
    path = posterior_path(fit_end)
    if not path.exists():
        return None
    df = pd.read_csv(path)
    reg = registry()
    # calibrated parameters, and the observation model's dispersions fitted on the same window
    unknown = [c for c in df.columns
               if c not in reg or not (reg[c].calibrate or reg[c].group == "observation")]
    if unknown:
        raise ValueError(f"{path}: columns {unknown} are not calibrated parameters in the registry")
    return df


def draw_index(seed: int, n_draws: int) -> int:
    """The posterior row a run with this seed uses (independent of its other random numbers)."""
    return int(np.random.SeedSequence(int(seed), spawn_key=(7,)).generate_state(1, np.uint64)[0] % n_draws)


def draw_for(seed: int, mode: str = "posterior") -> tuple[int, dict[str, float]]:
    """(row, calibrated values) for a run; (-1, {}) with ``median`` or without a sample."""
    if mode not in MODES:
        raise ValueError(f"parameters = {mode!r}; allowed: {', '.join(MODES)}")
    sample = posterior_sample()
    if mode == "median" or sample is None or sample.empty:
        return -1, {}
    row = draw_index(seed, len(sample))
    return row, {k: float(v) for k, v in sample.iloc[row].items()}
