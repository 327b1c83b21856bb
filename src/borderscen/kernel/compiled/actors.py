"""Compiled :mod:`borderscen.kernel.stages.actors`: Iran, militias, Turkey and the Gulf, Baghdad's
camps and openness, Damascus's capacity and willingness and the camps' guard, in one loop over
replications (the normal quantiles are scipy's, as in the reference)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month
from borderscen.mechanisms import draws
from borderscen.mechanisms.politics import MIN_CAMP_WEIGHT

#: the month's values, in the columns of the kernel's result
NAMES = ("iran", "militia", "turkey", "gulf", "seen_iraq", "seen_syria", "tehran_anchor", "tehran",
         "pragmatic", "openness", "damascus_capacity", "willingness", "guard_sdf", "guard")


@njit(cache=True, nogil=True, error_model="numpy")
def _logistic(x):
    return 1.0 / (1.0 + math.exp(-x))


@njit(cache=True, nogil=True, error_model="numpy")
def _month(seen, syria, iran0, tehran0, anchor0, pragmatic0, cooperation0, militia0, stage0, capacity0,
           coverage_syria, z_election, z_faction, z_capacity, election, branch, p):
    R, Z = seen.shape
    out = np.empty((R, 14))
    for r in range(R):
        new_government = p[r, 0]
        sdf_control = p[r, 1]
        us_encouragement = p[r, 2]
        push = p[r, 3]
        iran_rate = p[r, 4]
        militia_rate = p[r, 5]
        opposition = p[r, 6]
        gulf_pull = p[r, 7]
        tolerance = p[r, 8]
        ref_iraq = p[r, 9]
        ref_syria = p[r, 10]
        election_shift = p[r, 11]
        election_sd = p[r, 12]
        branch_shift = p[r, 13]
        formation_sd = p[r, 14]
        pressure = p[r, 15]
        salience = p[r, 16]
        faction_pull = p[r, 17]
        drift_rate = p[r, 18]
        faction_sd = p[r, 19]
        openness_bias = p[r, 20]
        faction_weight = p[r, 21]
        threat_weight = p[r, 22]
        turkey_weight = p[r, 23]
        qatar = p[r, 24]
        growth = p[r, 25]
        partner = p[r, 26]
        partner_gain = p[r, 27]
        capacity_sd = p[r, 28]
        militia_fear = p[r, 29]
        willingness_bias = p[r, 30]
        fear_weight = p[r, 31]
        gulf_weight = p[r, 32]
        sdf_guard = p[r, 33]
        sdf_us_dependence = p[r, 34]
        sdf_turkey = p[r, 35]
        damascus_guard = p[r, 36]
        encouragement = us_encouragement * (1.0 - iran0[r, 0])
        goal_iran = min(1.0, tehran0[r, 0] * (1.0 + push * cooperation0[r, 0]))
        iran = iran0[r, 0] + iran_rate * (goal_iran - iran0[r, 0])
        militia = militia0[r, 0] + militia_rate * (iran * cooperation0[r, 0] - militia0[r, 0])
        stakes = cooperation0[r, 0] * (iran + stage0[r, 0] / 4.0 + 0.5)
        turkey = opposition * (0.5 + 0.5 * min(1.0, stakes))
        gulf = gulf_pull * min(max(1.0 - iran / tolerance, -1.0), 1.0)
        seen_iraq = 0.0
        seen_syria = 0.0
        for z in range(Z):
            if syria[z]:
                seen_syria += seen[r, z]
            else:
                seen_iraq += seen[r, z]
        threat_iraq = seen_iraq / (seen_iraq + ref_iraq)
        threat_syria = seen_syria / (seen_syria + ref_syria)
        jump = 0.0
        if election:
            jump = jump + election_shift + election_sd * z_election[r, 0]
        if branch:  # who forms the post-election government is uncertain
            jump = jump + branch_shift + formation_sd * z_election[r, 0]
        anchor = anchor0[r, 0] + jump
        goal = anchor + faction_pull * (pressure * iran - salience * threat_iraq)
        drift = jump + drift_rate * (goal - tehran0[r, 0] - jump) + faction_sd * z_faction[r, 0]
        shia = tehran0[r, 0] + pragmatic0[r, 0]
        tehran = min(max(tehran0[r, 0] + drift, MIN_CAMP_WEIGHT), shia - MIN_CAMP_WEIGHT)
        pragmatic = shia - tehran
        kurd_sunni = 1.0 - tehran - pragmatic
        openness = _logistic(openness_bias + faction_weight * (pragmatic + kurd_sunni / 2 - tehran)
                             + threat_weight * threat_iraq - turkey_weight * turkey + encouragement + qatar)
        capacity = capacity0[r, 0]
        if new_government > 0:
            gain = growth * (1.0 + max(gulf, 0.0)) + partner_gain * partner
            shock = capacity_sd * z_capacity[r, 0]
            capacity = min(max(capacity + gain * (1.0 - capacity) + shock, 0.0), 1.0)
        fear = militia_fear * min(1.0, iran + militia)
        willingness = _logistic(willingness_bias - fear_weight * fear + gulf_weight * gulf
                                - turkey_weight * turkey + threat_weight * threat_syria + qatar)
        guard_sdf = (sdf_guard * (1.0 - sdf_us_dependence * (1.0 - coverage_syria[r, 0]))
                     * (1.0 - sdf_turkey * turkey))
        guard = guard_sdf if sdf_control > 0 else damascus_guard * capacity
        out[r, 0] = iran
        out[r, 1] = militia
        out[r, 2] = turkey
        out[r, 3] = gulf
        out[r, 4] = seen_iraq
        out[r, 5] = seen_syria
        out[r, 6] = anchor
        out[r, 7] = tehran
        out[r, 8] = pragmatic
        out[r, 9] = openness
        out[r, 10] = capacity
        out[r, 11] = willingness
        out[r, 12] = guard_sdf
        out[r, 13] = guard
    return out


#: the parameters the kernel reads, in the order it unpacks them
PARAMS = ("damascus_new_government", "sdf_control", "us_encouragement", "iran_trilateral_push",
          "iran_adjustment_rate", "militia_adjustment_rate", "turkey_opposition", "gulf_pull",
          "gulf_iran_tolerance", "threat_reference_iraq", "threat_reference_syria", "election_shift",
          "election_noise_sd", "branch_faction_shift", "government_formation_sd", "iran_pressure",
          "threat_salience", "faction_pull", "faction_drift_rate", "faction_noise_sd",
          "baghdad_openness_bias",
          "openness_faction_weight", "openness_threat_weight", "turkey_drag_weight", "qatar_mediation",
          "damascus_capacity_growth", "coalition_partner_damascus", "damascus_partner_capacity_gain",
          "damascus_capacity_sd", "damascus_militia_fear", "damascus_willingness_bias",
          "willingness_fear_weight", "gulf_weight", "sdf_guard_capacity", "sdf_us_dependence",
          "sdf_turkey_sensitivity", "damascus_guard_capacity")


def run(m: Month) -> None:
    s, P, u = m.s, m.P, m.u
    election, branch = "election" in m.triggers, "branch" in m.triggers
    z_election = draws.normal(u["election_noise"]) if election or branch else np.zeros_like(s.tehran)
    params = np.concatenate([getattr(P, name) for name in PARAMS], axis=-1)
    t = launch(_month, s.seen, m.ctx.is_syria, s.iran, s.tehran, s.tehran_anchor, s.pragmatic,
               s.cooperation, s.militia, s.stage, s.damascus_capacity, m.coverage_syria, z_election,
               draws.normal(u["faction_noise"]), draws.normal(u["capacity_noise"]), election, branch, params)
    m.new_government = P.damascus_new_government > 0
    m.sdf_holds = P.sdf_control > 0
    for i, name in enumerate(NAMES):
        setattr(m, name, t[:, i:i + 1])
    m.out.update(iran_influence=m.iran, militia_presence=m.militia, turkey_pressure=m.turkey,
                 gulf_support=m.gulf, tehran_camp=m.tehran, pragmatic_camp=m.pragmatic,
                 openness_baghdad=m.openness, willingness_damascus=m.willingness,
                 damascus_capacity=m.damascus_capacity, guard=m.guard)
