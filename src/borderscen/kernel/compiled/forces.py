"""Compiled :mod:`borderscen.kernel.stages.forces`: each force's effort, the coalition's tempo and
partnered operations, operations and intelligence per zone, in one loop over replications."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch, poisson
from borderscen.kernel.stage import Month
from borderscen.mechanisms import draws


@njit(cache=True, nogil=True, error_model="numpy")
def _effort(base, observed, reference, elasticity, surge, presence):
    """:func:`borderscen.mechanisms.forces.effort` for one force."""
    return base * min(((observed + 0.5) / (reference + 0.5)) ** elasticity, surge) * presence


@njit(cache=True, nogil=True, error_model="numpy")
def _clip01(x):
    return min(max(x, 0.0), 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _month(seen, seen_iraq, sdf_holds, new_government, capacity, guard_sdf, presence_iraq, presence_syria,
           joint_ops, isr, sharing, tempo_before, retaliation, z_tempo, u_ops, syria, sdf_zones,
           damascus_zones, is_border, sdf_threat_share, threat_syria, threat_iraq, surge, eta_syria, eta_iraq,
           eta_coalition, iraq_ops, damascus_ops, assad_ops, assad_weakened, assad_decline, sdf_ops,
           persistence, tempo_sd, coalition_iraq_ops, coalition_syria_ops, partner_damascus, iraq_intel,
           syria_intel, sdf_intel):
    R, Z = seen.shape
    partner = np.empty((R, Z))
    coalition_ops_z = np.empty((R, Z))
    ops_z = np.empty((R, Z))
    intel = np.empty((R, Z))
    intel_led = np.empty((R, Z))
    log_tempo = np.empty((R, 2))
    out = np.zeros((R, 7))  # seen in partner zones, operations (Iraq, Syria), partnered operations
    #                         (Iraq, Syria), coalition tempo (Iraq, Syria)
    for r in range(R):
        holds = sdf_holds[r, 0]
        seen_sdf = 0.0
        seen_dam = 0.0
        seen_partner = 0.0
        w_iraq = 0.0
        w_dam = 0.0
        w_sdf = 0.0
        w_partner = 0.0
        w_border = 0.0
        has_partner = 0.0
        for z in range(Z):
            sdf_area = 1.0 if (sdf_zones[z] and holds) else 0.0
            dam_area = 1.0 if (damascus_zones[z] or (sdf_zones[z] and not holds)) else 0.0
            p = sdf_area + dam_area * partner_damascus[r, 0]
            partner[r, z] = p
            seen_sdf += seen[r, z] * sdf_area
            seen_dam += seen[r, z] * dam_area
            seen_partner += seen[r, z] * p
            has_partner += p
            floor = seen[r, z] + 0.5
            w_iraq += (0.0 if syria[z] else 1.0) * floor
            w_dam += dam_area * floor
            w_sdf += sdf_area * floor
            w_partner += p * floor
            w_border += (1.0 if is_border[z] else 0.0) * floor
        ref_sdf = threat_syria[r, 0] * sdf_threat_share[r, 0]
        ref_dam = threat_syria[r, 0] * (1.0 - sdf_threat_share[r, 0])
        ops_iraq = _effort(iraq_ops[r, 0], seen_iraq[r, 0], threat_iraq[r, 0], eta_iraq[r, 0], surge[r, 0],
                           1.0)
        if new_government[r, 0]:
            state_base = damascus_ops[r, 0] * capacity[r, 0]
        else:
            state_base = assad_ops[r, 0] * (1.0 - assad_weakened[r, 0] * assad_decline[r, 0])
        ops_dam = _effort(state_base, seen_dam, ref_dam, eta_syria[r, 0], surge[r, 0], 1.0)
        ops_sdf = _effort(sdf_ops[r, 0], seen_sdf, ref_sdf, eta_syria[r, 0], surge[r, 0],
                          holds * guard_sdf[r, 0])
        phi = persistence[r, 0]
        sigma = tempo_sd[r, 0] * math.sqrt(1.0 - phi * phi)
        var = sigma * sigma / max(1.0 - phi * phi, 1e-9)
        expected_iraq = _effort(coalition_iraq_ops[r, 0], seen_iraq[r, 0], threat_iraq[r, 0],
                                eta_coalition[r, 0], surge[r, 0], presence_iraq[r, 0])
        expected_syria = _effort(coalition_syria_ops[r, 0], seen_partner, ref_sdf, eta_coalition[r, 0],
                                 surge[r, 0], presence_syria[r, 0] * (has_partner > 0))
        coalition = np.empty(2)
        for c in range(2):
            log_tempo[r, c] = phi * tempo_before[r, c] + sigma * z_tempo[r, c]
            factor = math.exp(log_tempo[r, c] - var / 2.0) * (1.0 + retaliation[r, c])
            out[r, 5 + c] = factor
            coalition[c] = poisson(u_ops[r, c], (expected_iraq if c == 0 else expected_syria) * factor)
        out[r, 0] = seen_partner
        out[r, 3] = coalition[0]
        out[r, 4] = coalition[1]
        syria_own = syria_intel[r, 0] * (capacity[r, 0] if new_government[r, 0] else 1.0)
        share_border = sharing[r, 0]
        for z in range(Z):
            sdf_area = 1.0 if (sdf_zones[z] and holds) else 0.0
            dam_area = 1.0 if (damascus_zones[z] or (sdf_zones[z] and not holds)) else 0.0
            iraq_area = 0.0 if syria[z] else 1.0
            border = 1.0 if is_border[z] else 0.0
            floor = seen[r, z] + 0.5
            a_iraq = ops_iraq * (iraq_area * floor / w_iraq) if w_iraq > 0 else 0.0
            a_dam = ops_dam * (dam_area * floor / w_dam) if w_dam > 0 else 0.0
            a_sdf = ops_sdf * (sdf_area * floor / w_sdf) if w_sdf > 0 else 0.0
            c_iraq = coalition[0] * (iraq_area * floor / w_iraq) if w_iraq > 0 else 0.0
            c_syria = coalition[1] * (partner[r, z] * floor / w_partner) if w_partner > 0 else 0.0
            a_joint = joint_ops[r, 0] * (border * floor / w_border) if w_border > 0 else 0.0
            coalition_z = c_iraq + c_syria
            ops = a_iraq + a_dam + a_sdf + coalition_z + a_joint
            coalition_ops_z[r, z] = coalition_z
            ops_z[r, z] = ops
            own = iraq_area * iraq_intel[r, 0] + dam_area * syria_own + sdf_area * sdf_intel[r, 0]
            miss = (1.0 * (1.0 - _clip01(own)) * (1.0 - _clip01(isr[r, z]))
                    * (1.0 - _clip01(share_border * border)))
            intel[r, z] = 1.0 - miss
            intel_led[r, z] = ops * intel[r, z]
            out[r, 2 if syria[z] else 1] += ops
    return partner, coalition_ops_z, ops_z, intel, intel_led, log_tempo, out


def run(m: Month) -> None:
    s, P, ctx = m.s, m.P, m.ctx
    m.iraq_area = (~ctx.is_syria).astype(float)
    (m.partner_zones_syria, m.coalition_ops_z, m.ops_z, m.intel, m.intel_led, m.coalition_tempo,
     t) = launch(_month,
        s.seen, m.seen_iraq, m.sdf_holds, m.new_government, m.damascus_capacity, m.guard_sdf,
        m.presence_iraq, m.presence_syria, m.joint_ops, m.isr, m.sharing, s.coalition_tempo, s.retaliation,
        draws.normal(m.u["coalition_tempo"]), m.u["coalition_ops"], ctx.is_syria, ctx.sdf_zones,
        ctx.damascus_zones, ctx.zmap.is_border, P.sdf_threat_share, P.threat_reference_syria,
        P.threat_reference_iraq, P.surge_capacity, P.response_elasticity_syria, P.response_elasticity_iraq,
        P.response_elasticity_coalition, P.iraq_ct_ops_per_month, P.damascus_ct_ops_per_month,
        P.assad_ct_ops_per_month, P.assad_weakened, P.assad_ct_decline_2024, P.sdf_ct_ops_per_month,
        P.coalition_tempo_persistence, P.coalition_tempo_sd, P.coalition_ops_iraq_per_month,
        P.coalition_ops_syria_per_month, P.coalition_partner_damascus, P.iraq_intel_base,
        P.syria_intel_base, P.sdf_intel_base)
    m.seen_partner = t[:, 0:1]
    m.out.update(operations_iraq=t[:, 1:2], operations_syria=t[:, 2:3], partnered_operations_iraq=t[:, 3:4],
                 partnered_operations_syria=t[:, 4:5], coalition_tempo_iraq=t[:, 5:6],
                 coalition_tempo_syria=t[:, 6:7])
