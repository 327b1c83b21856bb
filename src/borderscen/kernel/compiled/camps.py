"""Compiled :mod:`borderscen.kernel.stages.camps`: spill-over drawn per zone, a breakout and its
escapees and joiners, and the month's members, in one loop over replications."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import binomial, launch, poisson
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _month(members, recruits, alhol_residents, alhol_iraqis, roj_residents, detainees, guard, u_spill,
           u_breakout, u_detainee_joiners, u_resident_joiners, spill_rate, base, sensitivity, half,
           forced, fraction, detainee_join, resident_join, alhol, roj, camp_zones, syria,
           history, recorded):
    R, Z = members.shape
    members_next = np.empty((R, Z))
    stocks = np.empty((R, 4))  # detainees, al-Hol's Iraqis, al-Hol's residents, Roj's residents
    out = np.zeros((R, 9))  # members (Iraq, Syria), recruits (Iraq, Syria), breakout, escapees,
    #                         camp population, al-Hol's Iraqis, detainees
    for r in range(R):
        g = guard[r, 0]
        held = alhol_residents[r, 0]
        near = 0.0
        for i in range(camp_zones.size):
            near += members[r, camp_zones[i]]
        capacity = near / (near + half[r, 0])
        p_break = -math.expm1(-base[r, 0] * math.exp(sensitivity[r, 0] * (1.0 - g)) * capacity)
        breakout = ((u_breakout[r, 0] < p_break) and not history) or recorded
        from_hazard = breakout and not recorded
        d = detainees[r, 0]
        escaped_detainees = min(d, forced[r, 0] if recorded else np.rint(breakout * fraction[r, 0] * d))
        escaped_alhol = np.rint(from_hazard * fraction[r, 0] * held)
        escaped_roj = np.rint(from_hazard * fraction[r, 0] * roj_residents[r, 0])
        iraqis = alhol_iraqis[r, 0]
        stocks[r, 0] = d - escaped_detainees
        stocks[r, 1] = iraqis - min(iraqis, np.rint(escaped_alhol * iraqis / max(held, 1.0)))
        stocks[r, 2] = held - escaped_alhol
        stocks[r, 3] = roj_residents[r, 0] - escaped_roj
        joiners = (binomial(u_detainee_joiners[r, 0], escaped_detainees, detainee_join[r, 0])
                   + binomial(u_resident_joiners[r, 0], escaped_alhol + escaped_roj, resident_join[r, 0]))
        for z in range(Z):
            residents = held if z == alhol else (roj_residents[r, 0] if z == roj else 0.0)
            spill = poisson(u_spill[r, z], spill_rate[r, 0] * residents * (1.0 - g))
            new = members[r, z] + recruits[r, z] + spill
            if z == alhol:
                new += joiners
            members_next[r, z] = new
            c = 1 if syria[z] else 0
            out[r, c] += new
            out[r, 2 + c] += recruits[r, z] + spill
        out[r, 3] += joiners
        out[r, 4] = 1.0 if breakout else 0.0
        out[r, 5] = escaped_detainees + escaped_alhol + escaped_roj
        out[r, 6] = stocks[r, 2] + stocks[r, 3]
        out[r, 7] = stocks[r, 1]
        out[r, 8] = stocks[r, 0]
    return members_next, stocks, out


def run(m: Month) -> None:
    s, P, u, ctx = m.s, m.P, m.u, m.ctx
    m.members, stocks, t = launch(_month,
        m.members, m.recruits, m.alhol_residents, m.alhol_iraqis, s.roj_residents, m.detainees, m.guard,
        u["spillover"], u["breakout"], u["detainee_joiners"], u["resident_joiners"], P.camp_spillover_rate,
        P.breakout_base_hazard, P.breakout_guard_sensitivity, P.breakout_half_members, P.forced_escapees,
        P.breakout_escape_fraction, P.detainee_join_prob, P.resident_join_prob, ctx.alhol, ctx.roj,
        ctx.camp_zones, ctx.is_syria, "history" in m.triggers, "camp_breakout" in m.triggers)
    m.detainees, m.alhol_iraqis = stocks[:, 0:1], stocks[:, 1:2]
    m.alhol_residents, m.roj_residents = stocks[:, 2:3], stocks[:, 3:4]
    m.out.update(isis_members=t[:, 0:1] + t[:, 1:2], isis_members_iraq=t[:, 0:1],
                 isis_members_syria=t[:, 1:2],
                 recruits_iraq=t[:, 2:3], recruits_syria=t[:, 3:4], camp_population=t[:, 6:7],
                 alhol_iraqis=m.alhol_iraqis, detainees=m.detainees, breakouts=t[:, 4:5], escapees=t[:, 5:6])
