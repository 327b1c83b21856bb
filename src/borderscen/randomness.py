"""Seeds and random streams (ODD: stochasticity).

One ``SeedSequence`` per run, split into a fixed list of named streams, one per mechanism.
Each stream draws arrays of a fixed shape every month whatever the state, so two runs with the
same seed share their noise wherever their mechanisms agree (common random numbers). Discrete
draws are made by inverting CDFs at those uniforms (scipy.special), which keeps the alignment.
"""

from __future__ import annotations

import numpy as np
from scipy import special

STREAMS = ("init", "politics", "cooperation", "operations", "movement", "attrition",
           "recruitment", "camps", "smuggling", "attacks", "observation", "pipeline")

SeedLike = int | np.random.SeedSequence | None


def as_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    return seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)


def spawn_streams(seed: SeedLike) -> dict[str, np.random.Generator]:
    """Independent generators for each mechanism, derived from one run seed."""
    children = as_seed_sequence(seed).spawn(len(STREAMS))
    return {name: np.random.default_rng(ss) for name, ss in zip(STREAMS, children, strict=True)}


def run_seed(root_seed: int, replication: int) -> int:
    """The integer seed of replication ``replication`` under ``root_seed``.

    It is the same for every scenario and design point, so scenarios are compared under common
    random numbers, and it is recorded with every run so any run can be re-made alone.
    """
    a, b = np.random.SeedSequence(root_seed, spawn_key=(replication,)).generate_state(2, np.uint32)
    return int((int(a) << 31) ^ int(b))


def poisson_from_uniform(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson(lam) quantile at u (vectorised inverse CDF)."""
    lam = np.maximum(np.asarray(lam, float), 0.0)
    k = np.ceil(special.pdtrik(u, np.maximum(lam, 1e-12)))
    k = np.where(np.isnan(k), 0.0, np.maximum(k, 0.0))
    below = np.maximum(k - 1, 0)
    k = np.where((k > 0) & (special.pdtr(below, lam) >= u), below, k)
    return np.where(lam > 0, k, 0.0).astype(np.int64)


def binomial_from_uniform(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial(n, p) quantile at u (vectorised inverse CDF)."""
    n = np.round(np.asarray(n, float))
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    ok = (n > 0) & (p > 0)
    k = np.ceil(special.bdtrik(u, np.where(ok, n, 1.0), np.where(ok, np.minimum(p, 1 - 1e-12), 0.5)))
    k = np.clip(np.where(np.isnan(k), 0.0, k), 0.0, n)
    below = np.maximum(k - 1, 0)
    cdf_below = special.bdtr(below.astype(np.int64), np.maximum(n, 1).astype(np.int64), p)
    k = np.where((k > 0) & (cdf_below >= u), below, k)
    k = np.where(p >= 1.0, n, k)
    return np.where(ok, k, 0.0).astype(np.int64)
