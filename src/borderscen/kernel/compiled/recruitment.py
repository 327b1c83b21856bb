"""Compiled :mod:`borderscen.kernel.stages.recruitment`: the pool renewed toward its ceiling,
recruits drawn per zone, the pool depleted, in one loop over replications and zones."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch, poisson
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _recruitable_share(legitimacy: float, arrest: float, threshold: float) -> float:
    """:func:`borderscen.mechanisms.recruitment.recruitable_share` for one zone."""
    g = 1.0 - legitimacy
    if not g > threshold:
        return 0.0
    reach = (g - threshold) / arrest if arrest > 0 else 1.0
    r_star = min(max(reach, 0.0), 1.0)
    share = r_star - (threshold * r_star + arrest * r_star**2 / 2) / (g if g > 0 else 1.0)
    return min(max(share, 0.0), 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _month(members, intel_led, pool, disruption, neutralised, legitimacy_syria, legitimacy_iraq,
           repatriated, released, u, syria, at_risk, share_iraq, share_syria, deterrence, threshold,
           sigma, returnee_share, renewal, contact, facilitators):
    R, Z = members.shape
    recruits = np.empty((R, Z))
    pool_next = np.empty((R, Z))
    total = np.zeros((R, 1))
    for r in range(R):
        for z in range(Z):
            legitimacy = legitimacy_syria[r, 0] if syria[z] else legitimacy_iraq[r, 0]
            per_hundred = intel_led[r, z] / (members[r, z] / 100.0 + 1.0)
            arrest = -math.expm1(-deterrence[r, 0] * per_hundred)
            share = _recruitable_share(legitimacy, arrest, threshold[r, 0])
            ceiling = sigma[r, 0] * at_risk[z] * share
            returnees = returnee_share[r, 0] * (repatriated[r, 0] * share_iraq[z]
                                                + released[r, 0] * share_syria[z])
            p = max(pool[r, z] + renewal[r, 0] * (ceiling - pool[r, z]) + returnees, 0.0)
            scale = sigma[r, 0] * at_risk[z]
            fraction = p / scale if scale > 0 else 0.0
            recruits[r, z] = min(contact[r, 0] * members[r, z] * fraction * (1.0 - disruption[r, 0]), p)
            pool_next[r, z] = p  # the mean and the renewed pool: drawn and depleted below
    for r in range(R):  # the draws in a loop of their own: the loop above runs without their branches
        for z in range(Z):
            k = poisson(u[r, z], recruits[r, z])
            recruits[r, z] = k
            left = max(pool_next[r, z] - k - facilitators[r, 0] * neutralised[r, z], 0.0)
            pool_next[r, z] = left
            total[r, 0] += left
    return recruits, pool_next, total


def run(m: Month) -> None:
    P, ctx = m.P, m.ctx
    m.recruits, m.pool, m.out["recruitable_pool"] = launch(_month,
        m.members, m.intel_led, m.s.pool, m.s.disruption, m.neutralised, m.legitimacy_syria,
        m.legitimacy_iraq, m.repatriated, m.released, m.u["recruitment"], ctx.is_syria, ctx.at_risk,
        ctx.initial_share_iraq, ctx.initial_share_syria, P.deterrence_scale, P.activation_threshold,
        P.susceptible_fraction, P.returnee_recruitable_share, P.pool_renewal_rate,
        P.recruitment_contact_rate, P.facilitators_per_neutralised)
