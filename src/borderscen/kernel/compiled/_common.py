"""What the compiled stages share: the exact draws of :mod:`borderscen.mechanisms.fast_draws`
for one element, with the reference's argument handling (n rounded, p clipped, lambda >= 0)."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.mechanisms.fast_draws import _binomial_one, _poisson_one


@njit(cache=True, error_model="numpy")
def binomial(u: float, n: float, p: float) -> float:
    """Binomial(round(n), clip(p, 0, 1)) quantile at u, as ``draws.binomial``."""
    return _binomial_one(u, np.rint(n), min(max(p, 0.0), 1.0))


@njit(cache=True, error_model="numpy")
def poisson(u: float, lam: float) -> float:
    """Poisson(max(lam, 0)) quantile at u, as ``draws.poisson``."""
    return _poisson_one(u, max(lam, 0.0))


def launch(kernel, *args):
    """``kernel(*args)`` with every array C-contiguous, so that one compiled specialisation serves
    one replication (the Mesa face) and a batch alike: a block of uniforms or a column of a
    stage's results is a strided view in a batch but contiguous for one replication, and numba
    compiles (and caches) each layout separately."""
    return kernel(*(np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a for a in args))
