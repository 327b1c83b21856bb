"""Recruitment from a finite, depleting pool (ODD 7.4)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import recruitment


def run(m: Month) -> None:
    P, ctx = m.P, m.ctx
    legitimacy = np.where(ctx.is_syria, m.legitimacy_syria, m.legitimacy_iraq)
    arrest = recruitment.arrest_probability(m.intel_led, m.members, P.deterrence_scale)
    share = recruitment.recruitable_share(legitimacy, arrest, P.activation_threshold)
    ceiling = recruitment.pool_ceiling(ctx.at_risk, P.susceptible_fraction, share)
    returnees = P.returnee_recruitable_share * (m.repatriated * ctx.initial_share_iraq
                                                + m.released * ctx.initial_share_syria)
    pool = recruitment.renew_pool(m.s.pool, ceiling, P.pool_renewal_rate, returnees)
    expected = recruitment.expected_recruits(m.members, pool, ctx.at_risk, P.susceptible_fraction,
                                             P.recruitment_contact_rate, m.s.disruption)
    m.recruits = m.ctx.draws.poisson(m.u["recruitment"], expected)
    m.pool = recruitment.deplete_pool(pool, m.recruits, m.neutralised, P.facilitators_per_neutralised)
    m.out["recruitable_pool"] = m.pool.sum(-1, keepdims=True)


STAGE = Stage(
    name="recruitment", odd="7.4", run=run, mechanisms="recruitment draws",
    does="the pool renews toward its ceiling (legitimacy, arrest risk) with returnees; members recruit "
         "from it; recruits and arrests of facilitators deplete it",
    params="deterrence_scale activation_threshold susceptible_fraction returnee_recruitable_share "
           "pool_renewal_rate recruitment_contact_rate facilitators_per_neutralised",
    draws=(Draw("recruitment", "zones", revision=1),),
    reads="pool disruption",
    uses="legitimacy_syria legitimacy_iraq intel_led members repatriated released neutralised",
    writes="recruits pool",
    outputs="recruitable_pool",
)
