"""ISIS members move across the zone network, away from security (ODD 7.9)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import movement


def run(m: Month) -> None:
    P, zmap = m.P, m.ctx.zmap
    cross = P.cross_border_permeability * np.exp(-(P.fortification + m.coordination))
    weights = movement.neighbour_weights(zmap.nbr, zmap.nbr_mask, zmap.nbr_cross, cross, zmap.hospitality,
                                         m.s.security, P.movement_security_aversion)
    movers = m.ctx.draws.binomial(m.u["movement"], m.s.members, P.member_mobility)
    m.members = movement.apply(m.s.members, movement.split(movers, weights), m.ctx.nbr_onehot)


STAGE = Stage(
    name="movement", odd="7.9", run=run, mechanisms="movement draws",
    does="a share of each zone's members moves to neighbours, weighted by permeability, hospitality "
         "and security",
    params="cross_border_permeability fortification movement_security_aversion member_mobility",
    draws=(Draw("movement", "zones", revision=1),),
    reads="members security", uses="coordination", writes="members",
)
