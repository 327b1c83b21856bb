"""Seeds (ODD: stochasticity).

A run is fully determined by its scenario, its parameters and one integer seed. The seed feeds a
``SeedSequence`` whose generator fills the run's uniform matrix (``kernel.layout``), and picks its
posterior draw (``posterior``). Within an experiment, replication r gets ``run_seed(root, r)``
in every scenario and design point (common random numbers).
"""

from __future__ import annotations

import numbers

import numpy as np

from borderscen.errors import ConfigError

SeedLike = int | np.integer | np.random.SeedSequence | None


def as_int_seed(seed: SeedLike) -> int:
    """An integer seed from an int (numpy ints too), a SeedSequence, or None (fresh entropy)."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.generate_state(1, np.uint64)[0] >> 1)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ConfigError("borderscen", "seed", seed, "allowed: a non-negative integer, a numpy "
                          "SeedSequence, or None")
    return int(seed)


def run_seed(root_seed: int, replication: int) -> int:
    """The integer seed of replication ``replication`` under ``root_seed``.

    It is the same for every scenario and design point, so scenarios are compared under common
    random numbers, and it is recorded with every run so any run can be re-made alone.

    >>> run_seed(42, 0) == run_seed(42, 0) != run_seed(42, 1)
    True
    """
    a, b = np.random.SeedSequence(root_seed, spawn_key=(replication,)).generate_state(2, np.uint32)
    return int((int(a) << 31) ^ int(b))
