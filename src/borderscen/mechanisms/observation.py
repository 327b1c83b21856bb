"""ODD 7.10 Observation channels: what each kind of count sees of the true attacks.

  tracked_c  ~ Binomial(attacks_c, p_track)      independent media-based trackers
  claimed_c  ~ Binomial(attacks_c, p_claim)      ISIS-claimed attacks (as CENTCOM counts them)
  official   ~ Binomial(attacks_iraq, p_official) the Iraqi government's own count

Every calibration target and hold-out is compared through its own channel, never to true
attacks. The tracker's detection probability is not identified by counts alone (true attacks
are never observed); it is fixed and marked as an assumption.

The observation model (model v3, issue 21). A published figure is a noisy reading of the
model's channel value v for its period (the binomial thinning above gives v):

  counts (attacks, operations, neutralised):  Y ~ NegBin(mean v, size k_g)
  strength estimates (members):               log Y ~ Normal(log v, s^2)

with one dispersion per channel group g, calibrated with the other free parameters on the
2022-24 record only. The size k_g carries both reporting noise and the model's discrepancy:
what a tracker or release counts that the model does not, and vice versa. "At least" and
"fewer than" figures and intervals are censored observations: their likelihood is the
probability of the interval. The same functions serve the ABC distance (noisy ABC: simulated
figures are drawn through this model), the particle filter's weights, the hold-out and backtest
predictive samples, and every observed-versus-model band.
"""

from __future__ import annotations

import numpy as np
from scipy import special

#: Channel group of each observed quantity, and the parameter that sets its dispersion.
GROUP = {"attacks": "attacks", "operations": "operations", "neutralised": "neutralised",
         "members": "strength"}
DISPERSION = {"attacks": "obs_size_attacks", "operations": "obs_size_operations",
              "neutralised": "obs_size_neutralised", "strength": "obs_sd_strength"}
_FLOOR = 1e-9


def is_count(group: str) -> bool:
    return group != "strength"


def sample(group: str, value: np.ndarray, dispersion: np.ndarray, u1: np.ndarray,
           u2: np.ndarray) -> np.ndarray:
    """Published figures drawn at uniforms (u1, u2) given the model's channel values."""
    from borderscen.mechanisms import draws

    value = np.maximum(np.asarray(value, float), 0.0)
    if not is_count(group):
        return value * np.exp(dispersion * draws.normal(u1))
    k = np.asarray(dispersion, float)
    gamma = special.gammaincinv(k, np.clip(u1, 1e-12, 1 - 1e-12)) / k  # mean-1 gamma
    return draws.poisson(u2, value * gamma)


def _nb_logcdf(y: np.ndarray, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log P(Y <= y) for NegBin(mean, size k); -inf below 0."""
    p = k / (k + np.maximum(mean, _FLOOR))
    y = np.asarray(y, float)
    with np.errstate(divide="ignore"):
        return np.where(y < 0, -np.inf, np.log(np.maximum(special.betainc(k, np.floor(y) + 1, p), 0.0)))


def _nb_logsf(y: np.ndarray, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log P(Y > y)."""
    p = k / (k + np.maximum(mean, _FLOOR))
    y = np.asarray(y, float)
    with np.errstate(divide="ignore"):
        return np.where(y < 0, 0.0, np.log(np.maximum(special.betainc(np.floor(y) + 1, k, 1 - p), 0.0)))


def nb_logpmf(y: float, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    mean = np.maximum(mean, _FLOOR)
    return (special.gammaln(y + k) - special.gammaln(k) - special.gammaln(y + 1)
            + k * np.log(k / (k + mean)) + y * np.log(mean / (k + mean)))


def loglik(group: str, value: np.ndarray, dispersion: np.ndarray, low: float, high: float) -> np.ndarray:
    """log-likelihood of a published figure (exact if low == high, else the interval [low, high],
    high may be inf) given model channel values ``value`` (any shape)."""
    value = np.asarray(value, float)
    if not is_count(group):
        sd = np.asarray(dispersion, float)
        mu = np.log(np.maximum(value, 1.0))
        if low == high:
            return -0.5 * ((np.log(low) - mu) / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi)) - np.log(low)
        a = (np.log(max(low, 1e-9)) - mu) / sd
        b = (np.log(high) - mu) / sd if np.isfinite(high) else np.full_like(mu, np.inf)
        return np.log(np.maximum(special.ndtr(b) - special.ndtr(a), 1e-300))
    k = np.asarray(dispersion, float)
    if low == high:
        return nb_logpmf(round(low), value, k)
    lo = np.ceil(low)
    if not np.isfinite(high):
        return _nb_logsf(lo - 1, value, k)
    upper = _nb_logcdf(np.floor(high), value, k)
    below = _nb_logcdf(lo - 1, value, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        return upper + np.log1p(-np.exp(np.minimum(below - upper, 0.0)))
