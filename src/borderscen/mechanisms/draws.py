"""Exact discrete draws from uniforms (inverse CDF), vectorised over any shape.

Every random number of a run is a uniform from the run's own stream, laid out in fixed columns
(:mod:`borderscen.kernel.layout`), so a run's noise never depends on its state, its batch or its
scenario: common random numbers hold by construction. A discrete variate is the exact quantile
at its uniform, the smallest k with CDF(k) >= u: a normal-approximation guess, then corrected
step by step with the exact CDF (scipy.special.bdtr / pdtr) until that definition holds. Tests
check every draw against scipy.stats' ``ppf`` to the integer.
"""

from __future__ import annotations

import numpy as np
from scipy import special

_MAX_STEPS = 10_000


def _quantile(u: np.ndarray, guess: np.ndarray, upper: np.ndarray, cdf) -> np.ndarray:
    """Smallest k in [0, upper] with cdf(k, idx) >= u, starting from ``guess``.

    ``cdf(k, idx)`` evaluates the CDF at k for the elements ``idx``; only elements still moving
    are evaluated, so a good guess costs one or two CDF evaluations per element.
    """
    k = np.clip(guess, 0.0, upper)
    idx = np.flatnonzero(cdf(k, slice(None)) < u)
    for _ in range(_MAX_STEPS):  # step up while CDF(k) < u
        idx = idx[k[idx] < upper[idx]]
        if idx.size == 0:
            break
        k[idx] += 1
        idx = idx[cdf(k[idx], idx) < u[idx]]
    idx = np.flatnonzero(k > 0)
    for _ in range(_MAX_STEPS):  # step down while CDF(k - 1) >= u
        if idx.size == 0:
            break
        idx = idx[cdf(k[idx] - 1, idx) >= u[idx]]
        k[idx] -= 1
        idx = idx[k[idx] > 0]
    return k


def _cornish_fisher(mean: np.ndarray, sd: np.ndarray, skew: np.ndarray, u: np.ndarray) -> np.ndarray:
    z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    return np.floor(mean + sd * (z + (z * z - 1.0) * skew / 6.0) + 0.5)


def poisson(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson(lam) quantile at u."""
    lam = np.maximum(np.asarray(lam, float), 0.0)
    lam, u = np.broadcast_arrays(lam, np.asarray(u, float))
    out = np.zeros(lam.shape)
    live = lam > 0
    if live.any():
        lv, uv = lam[live], u[live]
        sd = np.sqrt(lv)
        guess = _cornish_fisher(lv, sd, 1.0 / sd, uv)
        out[live] = _quantile(uv, guess, np.full(lv.shape, np.inf),
                              lambda k, i: special.pdtr(k, lv[i]))
    return out


def binomial(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial(n, p) quantile at u."""
    n = np.round(np.asarray(n, float))
    p = np.clip(np.asarray(p, float), 0.0, 1.0)
    n, p, u = np.broadcast_arrays(n, p, np.asarray(u, float))
    out = np.where(p >= 1.0, n, 0.0)
    live = (n > 0) & (p > 0) & (p < 1)
    if live.any():
        nv, pv, uv = n[live], p[live], u[live]
        ni = nv.astype(np.int64)
        sd = np.sqrt(nv * pv * (1 - pv))
        guess = _cornish_fisher(nv * pv, sd, (1 - 2 * pv) / sd, uv)
        out[live] = _quantile(uv, guess, nv,
                              lambda k, i: special.bdtr(k.astype(np.int64), ni[i], pv[i]))
    return out


def normal(u: np.ndarray) -> np.ndarray:
    """Standard normal quantile at u."""
    return special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
