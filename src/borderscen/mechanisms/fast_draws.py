"""The exact discrete draws of :mod:`borderscen.mechanisms.draws`, compiled with numba.

The same definition from the same uniforms (common random numbers): a Binomial or Poisson
variate is the smallest k with CDF(k) >= u. Where the reference evaluates the CDF with scipy
(``bdtr``, ``pdtr``: incomplete beta and gamma functions) from a normal-approximation guess,
this evaluates it by summing the probability mass: up from 0 for a mean below 40 (the mass at 0
from ``exp``, then the exact ratio recursion), else outward from the mode (log-mass from
``lgamma`` at the mode, looked up in a table for whole numbers below 4096: the same doubles, a
quarter less time), in one compiled loop per element. Below a mean of about 40 the sum from the
mode reaches 0 anyway (the mass at 0 is not yet below 1e-17 of the CDF), so summing up from 0 is
fewer steps, one division each instead of two; it is also the closer to the exact CDF there (within
1e-14 of exact rational sums for means 12-40, where the log-mass at the mode of a large n,
like scipy's ``bdtr``, can be 1e-11 off).

The two CDFs agree to about 1e-15 in absolute terms for typical arguments (1e-11 at worst, for
a large n and a small p), so a draw differs from the reference only when its uniform falls
within that distance of a step of the CDF: about one draw in 10^14. A caller drawing many
variates with one p (a replication's parameter) computes ``log1p(-p)`` and ``p / (1 - p)`` once
(:func:`_binomial_given`): the same doubles. A test compares whole months on hundreds of
replications against the reference (the oracle).

Needs the ``fast`` extra (numba); :func:`borderscen.kernel.core.make_context` falls back to the
reference without it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.mechanisms.draws import normal  # noqa: F401  (the same for both: scipy's ndtri)

_TINY = 1e-17  # a term below this share of the sum changes no double
_SMALL_MEAN = 40.0  # below this mean, sum the mass up from 0 instead of out from the mode
_LOG_MIN = -700.0  # log of the smallest mass at 0 that is still a normal double
_TABLE = 4096  # log-factorials of whole numbers below this are looked up, not recomputed


@njit(cache=True, nogil=True)
def _lgamma_table(size: int) -> np.ndarray:
    out = np.empty(size)
    out[0] = np.inf
    for i in range(1, size):
        out[i] = math.lgamma(float(i))
    return out


#: lgamma(k) for whole k below _TABLE, exactly as ``math.lgamma`` gives it in compiled code
_LGAMMA = _lgamma_table(_TABLE)


@njit(cache=True, nogil=True)
def _lgamma(x: float) -> float:
    """``math.lgamma(x)`` for a whole x >= 1: from the table below _TABLE (the same double)."""
    return _LGAMMA[int(x)] if x < _TABLE else math.lgamma(x)


@njit(cache=True, nogil=True)
def _binomial_one(u: float, n: float, p: float) -> float:
    if p >= 1.0:
        return n
    if n <= 0.0 or p <= 0.0:
        return 0.0
    return _binomial_given(u, n, p, math.log1p(-p), p / (1.0 - p))


@njit(cache=True, nogil=True)
def _binomial_given(u: float, n: float, p: float, log_q: float, ratio: float) -> float:
    """:func:`_binomial_one` given ``log_q = log1p(-p)`` and ``ratio = p / (1 - p)``, the same
    doubles: a caller drawing many variates with one p computes them once."""
    if p >= 1.0:
        return n
    if n <= 0.0 or p <= 0.0:
        return 0.0
    log_p0 = n * log_q
    if n * p < _SMALL_MEAN and log_p0 > _LOG_MIN:  # few steps up from 0: cheaper than the mode
        k, pk = 0.0, math.exp(log_p0)
        cdf = pk
        while cdf < u and k < n:
            pk *= (n - k) / (k + 1.0) * ratio
            k += 1.0
            cdf += pk
        return k
    mode = float(math.floor((n + 1.0) * p))
    mode = min(max(mode, 0.0), n)
    log_pmf = (_lgamma(n + 1.0) - _lgamma(mode + 1.0) - _lgamma(n - mode + 1.0)
               + mode * math.log(p) + (n - mode) * log_q)
    pmf_mode = math.exp(log_pmf)
    # CDF at the mode: the mass at and below it
    cdf, term, j = pmf_mode, pmf_mode, mode
    while j > 0.0:
        term *= j / (n - j + 1.0) / ratio
        cdf += term
        j -= 1.0
        if term < _TINY * cdf:
            break
    k, pk = mode, pmf_mode
    if cdf >= u:  # step down while CDF(k - 1) >= u
        while k > 0.0 and cdf - pk >= u:
            cdf -= pk
            pk *= k / (n - k + 1.0) / ratio
            k -= 1.0
        return k
    while cdf < u and k < n:  # step up while CDF(k) < u
        pk *= (n - k) / (k + 1.0) * ratio
        k += 1.0
        cdf += pk
    return k


@njit(cache=True, nogil=True)
def _poisson_one(u: float, lam: float) -> float:
    if lam <= 0.0:
        return 0.0
    if lam < _SMALL_MEAN:  # few steps up from 0: cheaper than the mode
        k = 0.0
        pk = math.exp(-lam)
        cdf = pk
        while cdf < u:
            pk *= lam / (k + 1.0)
            k += 1.0
            cdf += pk
            if pk == 0.0 and k > lam:
                break
        return k
    mode = float(math.floor(lam))
    pmf_mode = math.exp(-lam + mode * math.log(lam) - _lgamma(mode + 1.0))
    cdf, term, j = pmf_mode, pmf_mode, mode
    while j > 0.0:
        term *= j / lam
        cdf += term
        j -= 1.0
        if term < _TINY * cdf:
            break
    k, pk = mode, pmf_mode
    if cdf >= u:
        while k > 0.0 and cdf - pk >= u:
            cdf -= pk
            pk *= k / lam
            k -= 1.0
        return k
    while cdf < u:
        pk *= lam / (k + 1.0)
        k += 1.0
        cdf += pk
        if pk == 0.0 and k > lam:  # the rest of the tail is below a double
            break
    return k


@njit(cache=True, nogil=True)
def _binomial_all(u: np.ndarray, n: np.ndarray, p: np.ndarray, out: np.ndarray) -> None:
    for i in range(u.size):
        out[i] = _binomial_one(u[i], n[i], p[i])


@njit(cache=True, nogil=True)
def _poisson_all(u: np.ndarray, lam: np.ndarray, out: np.ndarray) -> None:
    for i in range(u.size):
        out[i] = _poisson_one(u[i], lam[i])


def _flat(*arrays: np.ndarray) -> tuple[tuple[int, ...], list[np.ndarray]]:
    b = np.broadcast_arrays(*arrays)
    return b[0].shape, [np.ascontiguousarray(a, dtype=float).ravel() for a in b]


def binomial(u: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial(n, p) quantile at u (n rounded, p clipped to [0, 1], as the reference)."""
    shape, (uf, nf, pf) = _flat(np.asarray(u, float), np.round(np.asarray(n, float)),
                                np.clip(np.asarray(p, float), 0.0, 1.0))
    out = np.empty(uf.size)
    _binomial_all(uf, nf, pf, out)
    return out.reshape(shape)


def poisson(u: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Poisson(lam) quantile at u."""
    shape, (uf, lf) = _flat(np.asarray(u, float), np.maximum(np.asarray(lam, float), 0.0))
    out = np.empty(uf.size)
    _poisson_all(uf, lf, out)
    return out.reshape(shape)
