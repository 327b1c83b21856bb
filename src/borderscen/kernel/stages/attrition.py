"""Counter-terrorism attrition and exits (ODD 7.2)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage, country_sum
from borderscen.mechanisms import attrition


def run(m: Month) -> None:
    P, syria = m.P, m.ctx.is_syria
    yield_z = np.where(syria, P.yield_per_operation_syria, P.yield_per_operation_iraq)
    hazard = attrition.member_hazard(m.ops_z, m.intel, yield_z)
    m.neutralised = m.ctx.draws.binomial(m.u["attrition"], m.members, hazard)
    m.members = m.members - m.neutralised
    exits = m.ctx.draws.binomial(m.u["exits"], m.members, attrition.exit_probability(P.disengagement_rate))
    m.members = m.members - exits
    partnered_share = np.divide(m.coalition_ops_z, m.ops_z, out=np.zeros_like(m.ops_z), where=m.ops_z > 0)
    n_iraq, n_syria = country_sum(m.neutralised, syria)
    pn_iraq, pn_syria = country_sum(m.neutralised * partnered_share, syria)
    m.out.update(exits=exits.sum(-1, keepdims=True), neutralised_iraq=n_iraq, neutralised_syria=n_syria,
                 partnered_neutralised_iraq=pn_iraq, partnered_neutralised_syria=pn_syria)


STAGE = Stage(
    name="attrition", odd="7.2", run=run, mechanisms="attrition draws",
    does="operations neutralise members in proportion to intelligence; disengagement and exits",
    params="yield_per_operation_syria yield_per_operation_iraq disengagement_rate",
    draws=(Draw("attrition", "zones", revision=1), Draw("exits", "zones", revision=1)),
    uses="ops_z intel members coalition_ops_z", writes="neutralised members",
    outputs="exits neutralised_iraq neutralised_syria partnered_neutralised_iraq partnered_neutralised_syria",
)
