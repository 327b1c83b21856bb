"""Compiled :mod:`borderscen.kernel.stages.movement`: movers drawn per zone, split over
neighbours by largest remainder, in one loop over replications and zones."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import binomial_given, binomial_p, launch
from borderscen.kernel.stage import Month


@njit(cache=True, error_model="numpy")
def _month(members, security, u, permeability, fortification, coordination, aversion, mobility,
           nbr, nbr_mask, nbr_cross, hospitality):
    R, Z = members.shape
    D = nbr.shape[1]
    out = members.copy()
    w = np.empty(D)
    exact = np.empty(D)
    rem = np.empty(D)
    pull = np.empty(Z)  # exp(-aversion * security) per destination zone, once a month
    for r in range(R):
        cross = permeability[r, 0] * math.exp(-(fortification[r, 0] + coordination[r, 0]))
        bp = binomial_p(mobility[r, 0])
        for k in range(Z):
            pull[k] = math.exp(-aversion[r, 0] * security[r, k])
        for z in range(Z):
            movers = binomial_given(u[r, z], members[r, z], bp)
            if movers == 0.0:
                continue
            total = 0.0
            for d in range(D):
                if nbr_mask[z, d]:
                    k = nbr[z, d]
                    c = cross if nbr_cross[z, d] else 1.0
                    w[d] = c * hospitality[k] * pull[k]
                else:
                    w[d] = 0.0
                total += w[d]
            if not total > 0.0:
                continue
            base_sum = 0.0
            for d in range(D):
                exact[d] = movers * (w[d] / total)
                b = math.floor(exact[d])
                rem[d] = exact[d] - b
                exact[d] = b
                base_sum += b
            short = movers - base_sum  # one more for the `short` largest remainders
            for d in range(D):
                flow = exact[d]
                if short > 0.0 and w[d] > 0.0:
                    rank = 0  # of d's remainder, descending, ties by slot (a stable sort)
                    for e in range(D):
                        rank += (rem[e] > rem[d]) | ((rem[e] == rem[d]) & (e < d))
                    if rank < short:
                        flow += 1.0
                if flow != 0.0:
                    out[r, z] -= flow
                    out[r, nbr[z, d]] += flow
    return out


def run(m: Month) -> None:
    P, zmap = m.P, m.ctx.zmap
    m.members = launch(_month, m.s.members, m.s.security, m.u["movement"], P.cross_border_permeability,
                       P.fortification, np.broadcast_to(m.coordination, P.fortification.shape),
                       P.movement_security_aversion, P.member_mobility, zmap.nbr, zmap.nbr_mask,
                       zmap.nbr_cross, zmap.hospitality)
