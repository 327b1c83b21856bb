"""What the compiled stages share: the exact draws of :mod:`borderscen.mechanisms.fast_draws`
for one element, with the reference's argument handling (n rounded, p clipped, lambda >= 0)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.mechanisms.fast_draws import _binomial_given, _binomial_one, _poisson_one


@njit(cache=True, nogil=True, error_model="numpy")
def binomial(u: float, n: float, p: float) -> float:
    """Binomial(round(n), clip(p, 0, 1)) quantile at u, as ``draws.binomial``."""
    return _binomial_one(u, np.rint(n), min(max(p, 0.0), 1.0))


@njit(cache=True, nogil=True, error_model="numpy")
def binomial_p(p: float) -> tuple[float, float, float]:
    """clip(p, 0, 1) with what a draw needs of it, ``log1p(-p)`` and ``p / (1 - p)``: computed
    once for many draws with the same p (a replication's parameter) and passed to
    :func:`binomial_given`."""
    p = min(max(p, 0.0), 1.0)
    if 0.0 < p < 1.0:
        return p, math.log1p(-p), p / (1.0 - p)
    return p, 0.0, 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def binomial_given(u: float, n: float, bp: tuple[float, float, float]) -> float:
    """:func:`binomial` with p given as :func:`binomial_p` of it: the same draw, the same doubles."""
    return _binomial_given(u, np.rint(n), bp[0], bp[1], bp[2])


@njit(cache=True, nogil=True, error_model="numpy")
def poisson(u: float, lam: float) -> float:
    """Poisson(max(lam, 0)) quantile at u, as ``draws.poisson``."""
    return _poisson_one(u, max(lam, 0.0))


def launch(kernel, *args):
    """``kernel(*args)`` with every array C-contiguous, so that one compiled specialisation serves
    one replication (the Mesa face) and a batch alike: a column of a stage's results (or a block
    of uniforms sliced from a month's row) is a strided view in a batch but contiguous for one
    replication, and numba compiles (and caches) each layout separately. A contiguous array is
    passed as it is (no copy), as are a batch's uniform blocks
    (:func:`borderscen.kernel.layout.month_blocks`)."""
    return kernel(*(np.ascontiguousarray(a) if isinstance(a, np.ndarray) else a for a in args))
