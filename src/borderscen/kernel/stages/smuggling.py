"""Smuggling along the corridor: route choice, interdiction, the weapons stock (ODD 7.6)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import draws, smuggling


def run(m: Month) -> None:
    P, zmap = m.P, m.ctx.zmap
    crossing = zmap.route_is_crossing
    hazard = smuggling.route_hazard(crossing, P.crossing_interdiction, P.track_interdiction, P.fortification,
                                    m.coordination, m.intel[:, zmap.route_ends])
    p_stop = smuggling.interdiction_probability(hazard)
    share = smuggling.route_shares(p_stop, np.where(crossing, 0.0, P.track_detour_cost),
                                   P.route_choice_sensitivity)
    demand = smuggling.demand(P.smuggling_demand, P.smuggling_demand_sd,
                              draws.normal(m.u["smuggling_demand"]))
    flow = smuggling.attempted_flow(demand, share, p_stop, P.smuggling_deterrence_elasticity)
    stopped = m.ctx.draws.binomial(m.u["interdiction"], np.round(flow * share), p_stop).sum(-1, keepdims=True)
    m.weapons = smuggling.next_weapons_stock(m.s.weapons, P.weapons_decay, P.weapons_share, flow, stopped)
    m.out.update(smuggling_flow=flow, interdictions=stopped, weapons_stock=m.weapons)


STAGE = Stage(
    name="smuggling", odd="7.6", run=run, mechanisms="smuggling draws",
    does="smugglers choose routes by interdiction risk and detour; interdictions; delivered weapons "
         "feed the stock",
    params="crossing_interdiction track_interdiction fortification track_detour_cost "
           "route_choice_sensitivity smuggling_demand smuggling_demand_sd smuggling_deterrence_elasticity "
           "weapons_decay weapons_share",
    draws=(Draw("smuggling_demand", 1, revision=1), Draw("interdiction", "routes", revision=1)),
    reads="weapons", uses="coordination intel", writes="weapons",
    outputs="smuggling_flow interdictions weapons_stock",
)
