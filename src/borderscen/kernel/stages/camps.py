"""Camps and prisons, inflows to ISIS: spill-over, breakouts and the escapees who join; then this
month's recruits, spill-over and joiners join the members (ODD 7.5)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage, country_sum
from borderscen.mechanisms import camps


def run(m: Month) -> None:
    s, P, u, ctx = m.s, m.P, m.u, m.ctx
    alhol, members = m.alhol_residents, m.members
    residents = np.zeros_like(members)
    residents[:, ctx.alhol], residents[:, ctx.roj] = alhol[:, 0], s.roj_residents[:, 0]
    spill = ctx.draws.poisson(u["spillover"],
                              camps.expected_spillover(residents, m.guard, P.camp_spillover_rate))
    near = members[:, ctx.camp_zones].sum(-1, keepdims=True)
    p_break = camps.breakout_hazard(m.guard, P.breakout_base_hazard, P.breakout_guard_sensitivity,
                                    near, P.breakout_half_members)
    recorded = "camp_breakout" in m.triggers
    breakout = (u["breakout"] < p_break) & ("history" not in m.triggers) | recorded
    escaped_detainees, escaped_alhol, escaped_roj = camps.breakout_escapes(
        breakout, recorded, P.forced_escapees, P.breakout_escape_fraction, m.detainees, alhol,
        s.roj_residents)
    m.detainees = m.detainees - escaped_detainees
    m.alhol_iraqis = m.alhol_iraqis - camps.escaped_iraqis(escaped_alhol, m.alhol_iraqis, alhol)
    m.alhol_residents, m.roj_residents = alhol - escaped_alhol, s.roj_residents - escaped_roj
    joiners = (ctx.draws.binomial(u["detainee_joiners"], escaped_detainees, P.detainee_join_prob)
               + ctx.draws.binomial(u["resident_joiners"], escaped_alhol + escaped_roj, P.resident_join_prob))
    m.members = members + m.recruits + spill
    m.members[:, ctx.alhol] += joiners[:, 0]

    rec_iraq, rec_syria = country_sum(m.recruits + spill, ctx.is_syria)
    m_iraq, m_syria = country_sum(m.members, ctx.is_syria)
    m.out.update(isis_members=m_iraq + m_syria, isis_members_iraq=m_iraq, isis_members_syria=m_syria,
                 recruits_iraq=rec_iraq, recruits_syria=rec_syria + joiners,
                 camp_population=m.alhol_residents + m.roj_residents, alhol_iraqis=m.alhol_iraqis,
                 detainees=m.detainees, breakouts=breakout.astype(float),
                 escapees=escaped_detainees + escaped_alhol + escaped_roj)


STAGE = Stage(
    name="camps", odd="7.5", run=run, mechanisms="camps draws",
    does="spill-over from the camps; a breakout (hazard, or on its recorded date) frees detainees and "
         "residents, some of whom join; recruits, spill-over and joiners join the members",
    params="camp_spillover_rate breakout_base_hazard breakout_guard_sensitivity breakout_half_members "
           "forced_escapees breakout_escape_fraction detainee_join_prob resident_join_prob",
    draws=(Draw("spillover", "zones", revision=1), Draw("breakout", 1, revision=1),
           Draw("detainee_joiners", 1, revision=1), Draw("resident_joiners", 1, revision=1)),
    reads="roj_residents", uses="alhol_residents members guard detainees alhol_iraqis recruits",
    writes="detainees alhol_iraqis alhol_residents roj_residents members",
    triggers="camp_breakout history",
    outputs="isis_members isis_members_iraq isis_members_syria recruits_iraq recruits_syria camp_population "
            "alhol_iraqis detainees breakouts escapees",
)
