"""Compiled :mod:`borderscen.kernel.stages.smuggling`: route hazards and shares, the flow,
interdictions drawn per route and the weapons stock, in one loop over replications."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import binomial, launch
from borderscen.kernel.stage import Month
from borderscen.mechanisms import draws


@njit(cache=True, nogil=True, error_model="numpy")
def _month(intel, weapons, coordination, z_demand, u_interdiction, is_crossing, route_ends, crossing,
           track, fortification, detour, sensitivity, mean, sd, elasticity, decay, weapons_share):
    R = intel.shape[0]
    K = is_crossing.size
    out = np.empty((R, 3))  # flow, interdictions, weapons stock
    p_stop = np.empty(K)
    utility = np.empty(K)
    for r in range(R):
        top = -np.inf
        for k in range(K):
            ends = (intel[r, route_ends[k, 0]] + intel[r, route_ends[k, 1]]) / 2.0
            hazard = (crossing[r, 0] if is_crossing[k] else track[r, 0]) + fortification[r, 0] \
                + coordination[r, 0] + ends
            p_stop[k] = -math.expm1(-max(hazard, 0.0))
            utility[k] = -sensitivity[r, 0] * p_stop[k] - (0.0 if is_crossing[k] else detour[r, 0])
            top = max(top, utility[k])
        total = 0.0
        for k in range(K):
            utility[k] = math.exp(utility[k] - top)
            total += utility[k]
        risk = 0.0
        for k in range(K):
            utility[k] = utility[k] / total  # the route's share
            risk += utility[k] * p_stop[k]
        demand = mean[r, 0] * math.exp(sd[r, 0] * z_demand[r, 0] - sd[r, 0] * sd[r, 0] / 2)
        flow = demand * (1.0 - risk) ** elasticity[r, 0]
        stopped = 0.0
        for k in range(K):
            stopped += binomial(u_interdiction[r, k], flow * utility[k], p_stop[k])
        out[r, 0] = flow
        out[r, 1] = stopped
        out[r, 2] = (1 - decay[r, 0]) * weapons[r, 0] + weapons_share[r, 0] * max(flow - stopped, 0.0)
    return out


def run(m: Month) -> None:
    P, zmap = m.P, m.ctx.zmap
    t = launch(_month, m.intel, m.s.weapons, np.broadcast_to(m.coordination, P.fortification.shape),
               draws.normal(m.u["smuggling_demand"]), m.u["interdiction"], zmap.route_is_crossing,
               zmap.route_ends, P.crossing_interdiction, P.track_interdiction, P.fortification,
               P.track_detour_cost, P.route_choice_sensitivity, P.smuggling_demand, P.smuggling_demand_sd,
               P.smuggling_deterrence_elasticity, P.weapons_decay, P.weapons_share)
    m.weapons = t[:, 2:3]
    m.out.update(smuggling_flow=t[:, 0:1], interdictions=t[:, 1:2], weapons_stock=m.weapons)
