"""The actors decide from last month's outcomes: Iran, militias, Turkey, the Gulf, Baghdad's camps
and openness, Damascus's capacity and willingness, and who guards the camps (ODD 7.12)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage, country_sum
from borderscen.mechanisms import camps, draws, politics


def run(m: Month) -> None:
    s, P, u = m.s, m.P, m.u
    m.new_government = P.damascus_new_government > 0
    m.sdf_holds = P.sdf_control > 0
    encouragement = politics.us_encouragement(P.us_encouragement, s.iran)
    m.iran = politics.iran_influence(s.iran, s.tehran, s.cooperation, P.iran_trilateral_push,
                                     P.iran_adjustment_rate)
    m.militia = politics.militia_presence(s.militia, m.iran, s.cooperation, P.militia_adjustment_rate)
    m.turkey = politics.turkey_pressure(P.turkey_opposition, s.cooperation, m.iran, s.stage)
    m.gulf = politics.gulf_support(P.gulf_pull, m.iran, P.gulf_iran_tolerance)

    m.seen_iraq, m.seen_syria = country_sum(s.seen, m.ctx.is_syria)
    threat_iraq = politics.threat(m.seen_iraq, P.threat_reference_iraq)
    threat_syria = politics.threat(m.seen_syria, P.threat_reference_syria)
    jump = np.zeros_like(s.tehran)
    if "election" in m.triggers:
        jump = jump + P.election_shift + P.election_noise_sd * draws.normal(u["election_noise"])
    if "branch" in m.triggers:  # who forms the post-election government is uncertain
        jump = jump + P.branch_faction_shift + P.government_formation_sd * draws.normal(u["election_noise"])
    m.tehran_anchor = s.tehran_anchor + jump
    goal = politics.tehran_goal(m.tehran_anchor, m.iran, threat_iraq, P.iran_pressure, P.threat_salience,
                                P.faction_pull)
    drift = (jump + P.faction_drift_rate * (goal - s.tehran - jump)
             + P.faction_noise_sd * draws.normal(u["faction_noise"]))
    m.tehran, m.pragmatic = politics.shift_to_tehran(s.tehran, s.pragmatic, drift)
    m.openness = politics.openness(m.tehran, m.pragmatic, threat_iraq, m.turkey, encouragement, P)

    m.damascus_capacity = np.where(m.new_government, politics.damascus_capacity(
        s.damascus_capacity, m.gulf, P.damascus_capacity_growth, P.coalition_partner_damascus,
        P.damascus_partner_capacity_gain, P.damascus_capacity_sd * draws.normal(u["capacity_noise"])),
        s.damascus_capacity)
    fear = politics.militia_fear(P.damascus_militia_fear, m.iran, m.militia)
    m.willingness = politics.willingness(fear, m.gulf, m.turkey, threat_syria, P)

    m.guard_sdf = camps.sdf_guard(P.sdf_guard_capacity, P.sdf_us_dependence, m.coverage_syria,
                                  P.sdf_turkey_sensitivity, m.turkey)
    m.guard = np.where(m.sdf_holds, m.guard_sdf, P.damascus_guard_capacity * m.damascus_capacity)
    m.out.update(iran_influence=m.iran, militia_presence=m.militia, turkey_pressure=m.turkey,
                 gulf_support=m.gulf, tehran_camp=m.tehran, pragmatic_camp=m.pragmatic,
                 openness_baghdad=m.openness, willingness_damascus=m.willingness,
                 damascus_capacity=m.damascus_capacity, guard=m.guard)


STAGE = Stage(
    name="actors", odd="7.12", run=run, mechanisms="politics camps",
    does="Iran, militias, Turkey, the Gulf; Baghdad's camps and openness; Damascus's capacity and "
         "willingness; the camps' guard",
    params="damascus_new_government sdf_control us_encouragement iran_trilateral_push iran_adjustment_rate "
           "militia_adjustment_rate turkey_opposition gulf_pull gulf_iran_tolerance threat_reference_iraq "
           "threat_reference_syria election_shift election_noise_sd branch_faction_shift "
           "government_formation_sd iran_pressure threat_salience faction_pull faction_drift_rate "
           "faction_noise_sd baghdad_openness_bias openness_faction_weight openness_threat_weight "
           "turkey_drag_weight qatar_mediation damascus_capacity_growth coalition_partner_damascus "
           "damascus_partner_capacity_gain damascus_capacity_sd damascus_militia_fear "
           "damascus_willingness_bias willingness_fear_weight gulf_weight sdf_guard_capacity "
           "sdf_us_dependence sdf_turkey_sensitivity damascus_guard_capacity",
    draws=(Draw("faction_noise", 1, revision=1), Draw("election_noise", 1, revision=1),
           Draw("capacity_noise", 1, revision=4)),
    reads="iran tehran tehran_anchor pragmatic cooperation militia stage seen damascus_capacity",
    uses="coverage_syria",
    writes="new_government sdf_holds iran militia turkey gulf seen_iraq seen_syria tehran_anchor tehran "
           "pragmatic openness damascus_capacity willingness guard_sdf guard",
    triggers="election branch",
    outputs="iran_influence militia_presence turkey_pressure gulf_support tehran_camp pragmatic_camp "
            "openness_baghdad willingness_damascus damascus_capacity guard",
)
