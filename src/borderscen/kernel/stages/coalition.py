"""The coalition's presence: the scheduled exits as carried out, coverage and ISR (ODD 7.1a, 7.1b)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Month, Stage
from borderscen.mechanisms import coalition, forces


def run(m: Month) -> None:
    P, ctx = m.P, m.ctx
    m.troops, m.exit_clock = coalition.troops_after_exit(
        np.concatenate([P.us_troops_iraq, P.us_troops_syria], axis=-1), m.s.troops, m.s.exit_clock,
        P.us_exit_delay_months, np.concatenate([P.residual_troops_iraq, P.residual_troops_syria], axis=-1))
    troops_iraq, troops_syria = m.troops[:, :1], m.troops[:, 1:]
    m.presence_iraq = coalition.presence(troops_iraq, P.us_troops_reference_iraq,
                                         P.coalition_troop_elasticity)
    m.presence_syria = coalition.presence(troops_syria, P.us_troops_reference_syria,
                                          P.coalition_troop_elasticity)
    m.coverage_iraq = coalition.coverage(m.presence_iraq)
    m.coverage_syria = coalition.coverage(m.presence_syria)
    strength = coalition.base_strength(m.coverage_iraq, m.coverage_syria, ctx.base_in_syria, ctx.base_federal,
                                       P.us_federal_bases)
    m.isr = forces.isr_coverage(strength, ctx.base_hops, P.coalition_isr, P.isr_distance_decay)
    m.out["us_troops_iraq"], m.out["us_troops_syria"] = troops_iraq, troops_syria


STAGE = Stage(
    name="coalition", odd="7.1a, 7.1b", run=run, mechanisms="coalition forces",
    does="troops present after any delayed exit and residual force; presence, coverage and ISR "
         "from the bases",
    params="us_troops_iraq us_troops_syria us_exit_delay_months residual_troops_iraq residual_troops_syria "
           "us_troops_reference_iraq us_troops_reference_syria coalition_troop_elasticity us_federal_bases "
           "coalition_isr isr_distance_decay",
    reads="troops exit_clock",
    writes="troops exit_clock presence_iraq presence_syria coverage_iraq coverage_syria isr",
    outputs="us_troops_iraq us_troops_syria",
)
