"""Compiled :mod:`borderscen.kernel.stages.movement`: movers drawn per zone, split over
neighbours by largest remainder, in one loop over replications and zones."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import binomial_given, binomial_p, launch
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
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
            # one more for the slots of the `short` largest remainders (descending, ties by slot:
            # the reference's stable sort), picked one by one; only where the weight is positive
            chosen = 0
            for _ in range(min(int(movers - base_sum), D)):
                best = -1
                for e in range(D):
                    if not (chosen >> e) & 1 and (best < 0 or rem[e] > rem[best]):
                        best = e
                chosen |= 1 << best
            for d in range(D):
                if not nbr_mask[z, d]:  # no neighbour in this slot: no flow
                    continue
                flow = exact[d] + (1.0 if ((chosen >> d) & 1 and w[d] > 0.0) else 0.0)
                out[r, z] -= flow  # a flow of 0 changes nothing: no branch on it
                out[r, nbr[z, d]] += flow
    return out


def run(m: Month) -> None:
    P, zmap = m.P, m.ctx.zmap
    m.members = launch(_month, m.s.members, m.s.security, m.u["movement"], P.cross_border_permeability,
                       P.fortification, np.broadcast_to(m.coordination, P.fortification.shape),
                       P.movement_security_aversion, P.member_mobility, zmap.nbr, zmap.nbr_mask,
                       zmap.nbr_cross, zmap.hospitality)
