"""ODD 7.4 Recruitment, after Epstein's (2002) civil-violence rule, integrated over a population.

A person with hardship H ~ U(0,1) and risk aversion R ~ U(0,1) in a zone with state legitimacy L
and arrest probability a is recruitable when  H (1 - L) - R a > T.  The recruitable share is that
rule averaged over a fixed grid of (H, R); recruits then join through existing networks.
Legitimacy falls with backlash from civilian harm (Kress-Szechtman misses, ODD 7.2).
"""

from __future__ import annotations

import numpy as np

_GRID = (np.arange(32) + 0.5) / 32
_H, _R = (g.ravel() for g in np.meshgrid(_GRID, _GRID))


def arrest_probability(intel_led_ops: np.ndarray, members: np.ndarray, k: float) -> np.ndarray:
    """Epstein's a = 1 - exp(-k * cops / actives): intelligence-led operations per 100 members."""
    per_hundred = np.asarray(intel_led_ops, float) / (np.asarray(members, float) / 100.0 + 1.0)
    return -np.expm1(-k * per_hundred)


def recruitable_share(legitimacy: np.ndarray, arrest: np.ndarray, threshold: float) -> np.ndarray:
    """Share of the population for which H (1 - L) - R a > T."""
    grievance = _H[None, :] * (1.0 - np.asarray(legitimacy, float))[:, None]
    net = grievance - _R[None, :] * np.asarray(arrest, float)[:, None]
    return (net > threshold).mean(axis=1)


def expected_recruits(susceptible: np.ndarray, share: np.ndarray, members: np.ndarray,
                      rate: float, network_half: float) -> np.ndarray:
    """rate * susceptible * share * F / (F + F_half): recruitment runs through existing cells."""
    members = np.asarray(members, float)
    return rate * susceptible * share * members / (members + network_half)


def next_backlash(backlash: np.ndarray, harm: np.ndarray, per_harm: float, decay: float):
    return np.clip((1.0 - decay) * backlash + per_harm * harm, 0.0, 1.0)
