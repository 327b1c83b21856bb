"""Compiled :mod:`borderscen.kernel.stages.observation`: tracked, claimed and official counts
drawn per zone, the coalition's retaliation and the smoothed threat, in one loop."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import binomial_given, binomial_p, launch
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _month(attacks, u_tracked, u_claimed, u_official, p_tracked, p_claimed, p_official, syria,
           iraq_area, partner_zones, seen_iraq, seen_partner, retaliation, memory, gain, seen,
           threat_memory):
    R, Z = attacks.shape
    seen_next = np.empty((R, Z))
    retaliation_next = np.empty((R, 2))
    totals = np.zeros((R, 5))  # tracked (Iraq, Syria), claimed (Iraq, Syria), official (Iraq)
    for r in range(R):
        partner_iraq = 0.0
        partner_syria = 0.0
        bp_tracked, bp_claimed = binomial_p(p_tracked[r, 0]), binomial_p(p_claimed[r, 0])
        bp_official = binomial_p(p_official[r, 0])
        for z in range(Z):
            a = attacks[r, z]
            tracked = binomial_given(u_tracked[r, z], a, bp_tracked)
            claimed = binomial_given(u_claimed[r, z], a, bp_claimed)
            official = binomial_given(u_official[r, z], 0.0 if syria[z] else a, bp_official)
            c = 1 if syria[z] else 0
            totals[r, c] += tracked
            totals[r, 2 + c] += claimed
            totals[r, 4] += official
            partner_iraq += tracked * iraq_area[z]
            partner_syria += tracked * partner_zones[r, z]
            seen_next[r, z] = threat_memory[r, 0] * seen[r, z] + (1.0 - threat_memory[r, 0]) * tracked
        surge_iraq = max(partner_iraq - seen_iraq[r, 0], 0.0) / (seen_iraq[r, 0] + 1.0)
        surge_syria = max(partner_syria - seen_partner[r, 0], 0.0) / (seen_partner[r, 0] + 1.0)
        retaliation_next[r, 0] = memory[r, 0] * retaliation[r, 0] + gain[r, 0] * surge_iraq
        retaliation_next[r, 1] = memory[r, 0] * retaliation[r, 1] + gain[r, 0] * surge_syria
    return seen_next, retaliation_next, totals


def run(m: Month) -> None:
    P = m.P
    m.seen, m.retaliation, t = launch(_month,
        m.zone_attacks, m.u["tracked"], m.u["claimed"], m.u["official"], P.tracker_detection,
        P.claim_probability, P.official_detection_iraq, m.ctx.is_syria, m.iraq_area,
        np.broadcast_to(m.partner_zones_syria, m.zone_attacks.shape), m.seen_iraq, m.seen_partner,
        m.s.retaliation, P.retaliation_memory, P.retaliation_gain, m.s.seen, P.threat_memory)
    m.out.update(attacks_tracked_iraq=t[:, 0:1], attacks_tracked_syria=t[:, 1:2],
                 attacks_claimed_iraq=t[:, 2:3], attacks_claimed_syria=t[:, 3:4],
                 attacks_official_iraq=t[:, 4:5])
