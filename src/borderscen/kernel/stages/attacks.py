"""Attacks: a self-exciting count per zone, held down by security and disruption, raised by
weapons and the tempo, scaled by the targets ISIS has (ODD 7.3)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage, country_sum
from borderscen.mechanisms import attacks


def run(m: Month) -> None:
    P, ctx = m.P, m.ctx
    m.security = attacks.security(m.intel_led, P.security_scale)
    boost = attacks.weapons_boost(m.weapons, P.weapons_attack_boost, P.weapons_half_stock, ctx.weapons_mask)
    rate = np.where(ctx.is_syria, P.attack_rate_syria, P.attack_rate_iraq)
    lam = m.tempo_multiplier * m.exposure * attacks.intensity(
        m.members, rate, P.attack_scale_exponent, m.security, boost, m.disruption, m.s.excitation,
        P.hawkes_branching)
    m.zone_attacks = m.ctx.draws.poisson(m.u["attacks"], lam)
    m.excitation = attacks.next_excitation(m.s.excitation, m.zone_attacks, P.hawkes_memory)
    m.attacks_iraq, m.attacks_syria = country_sum(m.zone_attacks, ctx.is_syria)
    m.out.update(attacks_iraq=m.attacks_iraq, attacks_syria=m.attacks_syria, zone_attacks=m.zone_attacks)


STAGE = Stage(
    name="attacks", odd="7.3", run=run, mechanisms="attacks draws",
    does="security from intelligence-led operations; attacks per zone (Hawkes) times the tempo",
    params="security_scale weapons_attack_boost weapons_half_stock attack_rate_syria attack_rate_iraq "
           "attack_scale_exponent hawkes_branching hawkes_memory",
    draws=(Draw("attacks", "zones", revision=1),),
    reads="excitation",
    uses="intel_led weapons tempo_multiplier exposure members disruption",
    writes="security zone_attacks excitation attacks_iraq attacks_syria",
    outputs="attacks_iraq attacks_syria",
)
