"""Compiled :mod:`borderscen.kernel.stages.attacks`: security, the Hawkes intensity and the
attacks drawn per zone, in one loop over replications and zones."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch, poisson
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _month(intel_led, weapons, tempo_multiplier, exposure, members, disruption, excitation, u, syria,
           weapons_mask, security_scale, max_boost, half_stock, rate_syria, rate_iraq, exponent,
           branching, memory):
    R, Z = members.shape
    security = np.empty((R, Z))
    attacks = np.empty((R, Z))
    excitation_next = np.empty((R, Z))
    totals = np.zeros((R, 2))
    for r in range(R):
        boost_r = max_boost[r, 0] * weapons[r, 0] / (weapons[r, 0] + half_stock[r, 0])
        for z in range(Z):
            s = -math.expm1(-intel_led[r, z] / security_scale[r, 0])
            security[r, z] = s
            boost = boost_r * weapons_mask[z]
            rate = rate_syria[r, 0] if syria[z] else rate_iraq[r, 0]
            n = members[r, z]
            capacity = n * max(n / 100.0, 1e-9) ** (exponent[r, 0] - 1.0) if n > 0 else 0.0
            intensity = (rate * capacity * (1.0 - s) * (1.0 + boost) * (1.0 - disruption[r, 0])
                         + branching[r, 0] * excitation[r, z])
            attacks[r, z] = tempo_multiplier[r, 0] * exposure[r, z] * intensity  # the mean, drawn below
    for r in range(R):  # the draws in a loop of their own: the loop above runs without their branches
        for z in range(Z):
            k = poisson(u[r, z], attacks[r, z])
            attacks[r, z] = k
            excitation_next[r, z] = memory[r, 0] * excitation[r, z] + (1.0 - memory[r, 0]) * k
            totals[r, 1 if syria[z] else 0] += k
    return security, attacks, excitation_next, totals


def run(m: Month) -> None:
    P, ctx = m.P, m.ctx
    m.security, m.zone_attacks, m.excitation, t = launch(_month,
        m.intel_led, m.weapons, m.tempo_multiplier, np.broadcast_to(m.exposure, m.members.shape),
        m.members, m.disruption, m.s.excitation, m.u["attacks"], ctx.is_syria, ctx.weapons_mask,
        P.security_scale, P.weapons_attack_boost, P.weapons_half_stock, P.attack_rate_syria,
        P.attack_rate_iraq, P.attack_scale_exponent, P.hawkes_branching, P.hawkes_memory)
    m.attacks_iraq, m.attacks_syria = t[:, 0:1], t[:, 1:2]
    m.out.update(attacks_iraq=m.attacks_iraq, attacks_syria=m.attacks_syria, zone_attacks=m.zone_attacks)
