"""Forces set their effort from the threat they see and spread it over their zones; the
coalition's partnered operations follow its own stochastic tempo (ODD 7.1, 7.1a)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage, country_sum
from borderscen.mechanisms import coalition, draws, forces


def run(m: Month) -> None:
    s, P, ctx = m.s, m.P, m.ctx
    syria, seen = ctx.is_syria, s.seen
    m.iraq_area = (~syria).astype(float)
    sdf_area = ctx.sdf_zones * m.sdf_holds
    dam_area = ctx.damascus_zones + ctx.sdf_zones * ~m.sdf_holds
    seen_sdf = (seen * sdf_area).sum(-1, keepdims=True)
    seen_dam = (seen * dam_area).sum(-1, keepdims=True)
    ref_sdf = P.threat_reference_syria * P.sdf_threat_share
    ref_dam = P.threat_reference_syria * (1.0 - P.sdf_threat_share)
    surge, eta_syria = P.surge_capacity, P.response_elasticity_syria
    ops_iraq = forces.effort(P.iraq_ct_ops_per_month, m.seen_iraq, P.threat_reference_iraq,
                             P.response_elasticity_iraq, surge, 1.0)
    syrian_state_base = forces.syrian_state_base(m.new_government, P.damascus_ct_ops_per_month,
                                                 m.damascus_capacity, P.assad_ct_ops_per_month,
                                                 P.assad_weakened, P.assad_ct_decline_2024)
    ops_dam = forces.effort(syrian_state_base, seen_dam, ref_dam, eta_syria, surge, 1.0)
    ops_sdf = forces.effort(P.sdf_ct_ops_per_month, seen_sdf, ref_sdf, eta_syria, surge,
                            m.sdf_holds * m.guard_sdf)

    phi = P.coalition_tempo_persistence
    sigma = coalition.innovation_sd(P.coalition_tempo_sd, phi)
    m.coalition_tempo = coalition.next_log_tempo(s.coalition_tempo, phi, sigma,
                                                 draws.normal(m.u["coalition_tempo"]))
    tempo = coalition.tempo_factor(m.coalition_tempo, phi, sigma) * (1.0 + s.retaliation)
    expected_iraq = forces.effort(P.coalition_ops_iraq_per_month, m.seen_iraq, P.threat_reference_iraq,
                                  P.response_elasticity_coalition, surge, m.presence_iraq)
    m.partner_zones_syria = sdf_area + dam_area * P.coalition_partner_damascus
    has_partner = m.partner_zones_syria.sum(-1, keepdims=True) > 0
    m.seen_partner = (seen * m.partner_zones_syria).sum(-1, keepdims=True)
    expected_syria = forces.effort(P.coalition_ops_syria_per_month, m.seen_partner, ref_sdf,
                                   P.response_elasticity_coalition, surge, m.presence_syria * has_partner)
    coal_ops = m.ctx.draws.poisson(m.u["coalition_ops"],
                             np.concatenate([expected_iraq, expected_syria], axis=-1) * tempo)
    coal_iraq, coal_syria = coal_ops[:, :1], coal_ops[:, 1:]
    m.coalition_ops_z = (forces.allocate(coal_iraq, m.iraq_area, seen)
                         + forces.allocate(coal_syria, m.partner_zones_syria, seen))
    m.ops_z = (forces.allocate(ops_iraq, m.iraq_area, seen) + forces.allocate(ops_dam, dam_area, seen)
               + forces.allocate(ops_sdf, sdf_area, seen) + m.coalition_ops_z
               + forces.allocate(m.joint_ops, ctx.zmap.is_border.astype(float), seen))
    own = forces.own_intel(m.iraq_area, dam_area, sdf_area, P.iraq_intel_base, P.syria_intel_base,
                           P.sdf_intel_base, m.new_government, m.damascus_capacity)
    m.intel = forces.combine_intel(own, m.isr, m.sharing * ctx.zmap.is_border)
    m.intel_led = m.ops_z * m.intel
    o_iraq, o_syria = country_sum(m.ops_z, syria)
    m.out.update(operations_iraq=o_iraq, operations_syria=o_syria, partnered_operations_iraq=coal_iraq,
                 partnered_operations_syria=coal_syria, coalition_tempo_iraq=tempo[:, :1],
                 coalition_tempo_syria=tempo[:, 1:])


STAGE = Stage(
    name="forces", odd="7.1, 7.1a", run=run, mechanisms="forces coalition draws",
    does="each force's operations from the threat it sees, within capacity; the coalition's tempo and "
         "partnered operations; operations and intelligence per zone",
    params="sdf_threat_share threat_reference_syria threat_reference_iraq surge_capacity "
           "response_elasticity_syria response_elasticity_iraq iraq_ct_ops_per_month "
           "damascus_ct_ops_per_month assad_ct_ops_per_month assad_weakened assad_ct_decline_2024 "
           "sdf_ct_ops_per_month coalition_tempo_persistence coalition_tempo_sd coalition_ops_iraq_per_month "
           "response_elasticity_coalition coalition_partner_damascus coalition_ops_syria_per_month "
           "iraq_intel_base syria_intel_base sdf_intel_base",
    draws=(Draw("coalition_tempo", 2, revision=3), Draw("coalition_ops", 2, revision=3)),
    reads="seen coalition_tempo retaliation",
    uses="sdf_holds seen_iraq new_government damascus_capacity guard_sdf presence_iraq presence_syria "
         "joint_ops isr sharing",
    writes="iraq_area coalition_tempo partner_zones_syria seen_partner coalition_ops_z ops_z intel intel_led",
    outputs="operations_iraq operations_syria partnered_operations_iraq partnered_operations_syria "
            "coalition_tempo_iraq coalition_tempo_syria",
)
