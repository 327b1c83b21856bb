"""ODD 7.4 Recruitment from a finite, depleting pool (Epstein 2002; Castillo-Chavez & Song 2003).

Each zone has a recruitable pool S (persons). Its ceiling follows Epstein's civil-violence rule:
a person with hardship H ~ U(0,1) and risk aversion R ~ U(0,1) in a zone with state legitimacy L
and arrest probability a is recruitable when H (1 - L) - R a > T, so

  S*_z    = sigma * N_z * share(L_c, a_z, T)          (N_z: the zone's at-risk population)
  S_z'    = S_z + rho (S*_z - S_z) + returnees_z - recruits_z - nu * neutralised_z
  recruits_z ~ Poisson(beta * M_z * S_z / (sigma N_z) * (1 - disruption))

Recruits scale with the cells' own reach (members M) and fall to zero as the pool empties;
recruits and arrests of facilitators deplete it, grievance renews it. With an exit flow and
attrition this has an interior (endemic) equilibrium, M* = rho (S* - S_eq) / (delta + h), where
S_eq = sigma N (delta + h) / beta: ISIS persists where beta * share > delta + h, and dies out
where it is not.
"""

from __future__ import annotations

import numpy as np


def arrest_probability(intel_led_ops: np.ndarray, members: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Epstein's a = 1 - exp(-k * cops / actives): intelligence-led operations per 100 members."""
    per_hundred = intel_led_ops / (members / 100.0 + 1.0)
    return -np.expm1(-k * per_hundred)


def recruitable_share(legitimacy: np.ndarray, arrest: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Share of a population with H, R ~ U(0,1) for which g H - a R > T, g = 1 - L (exact).

    P = integral over r in [0, r*] of (1 - (T + a r) / g) dr = r* - (T r* + a r*^2 / 2) / g,
    with r* = min(1, (g - T) / a); zero when g <= T.
    """
    g = 1.0 - np.asarray(legitimacy, float)
    a = np.asarray(arrest, float)
    t = np.asarray(threshold, float)
    reach = np.where(a > 0, (g - t) / np.where(a > 0, a, 1.0), 1.0)
    r_star = np.clip(reach, 0.0, 1.0)
    share = r_star - (t * r_star + a * r_star**2 / 2) / np.where(g > 0, g, 1.0)
    return np.where(g > t, np.clip(share, 0.0, 1.0), 0.0)


def pool_ceiling(at_risk: np.ndarray, sigma: np.ndarray, share: np.ndarray) -> np.ndarray:
    return sigma * at_risk * share


def renew_pool(pool: np.ndarray, ceiling: np.ndarray, rate: np.ndarray, inflow: np.ndarray) -> np.ndarray:
    return np.maximum(pool + rate * (ceiling - pool) + inflow, 0.0)


def expected_recruits(members: np.ndarray, pool: np.ndarray, at_risk: np.ndarray, sigma: np.ndarray,
                      contact_rate: np.ndarray, disruption: np.ndarray) -> np.ndarray:
    """beta * M * S / (sigma N) * (1 - D), never more than the pool holds."""
    scale = sigma * at_risk
    fraction = np.divide(pool, scale, out=np.zeros_like(pool), where=scale > 0)
    return np.minimum(contact_rate * members * fraction * (1.0 - disruption), pool)


def deplete_pool(pool: np.ndarray, recruits: np.ndarray, neutralised: np.ndarray,
                 facilitators_per_neutralised: np.ndarray) -> np.ndarray:
    return np.maximum(pool - recruits - facilitators_per_neutralised * neutralised, 0.0)


def next_legitimacy(legitimacy: np.ndarray, target: np.ndarray, rate: np.ndarray,
                    harm: np.ndarray, harm_cost: np.ndarray) -> np.ndarray:
    """L' = L + kappa (L* - L) - b * harm: governance pulls toward its level, civilian harm erodes it."""
    return np.clip(legitimacy + rate * (target - legitimacy) - harm_cost * harm, 0.0, 1.0)


def syria_legitimacy_target(new_government: np.ndarray, level: np.ndarray, governance_gain: np.ndarray,
                            capacity: np.ndarray, level_assad: np.ndarray) -> np.ndarray:
    """Where legitimacy in Syria tends: Assad's level, then the new government's, raised or lowered
    by how far its capacity is above or below one half."""
    return np.where(new_government, level + governance_gain * (capacity - 0.5), level_assad)
