"""ODD 7.1 Forces that respond to the threat they see, within capacity.

Each force f (Iraqi CT, the Syrian government, the SDF, the coalition in Iraq and in Syria) runs

  E_f = B_f * min(cap, ((A_f + 1/2) / (A_ref_f + 1/2)) ** eta_f) * presence_f

operations a month, where A_f is the force's own observed (tracked) attacks, smoothed over a
few months, A_ref_f the level its base tempo B_f answers, eta_f its elasticity of effort to
threat, cap its surge capacity and presence_f troops or control. The elasticities come from the
record: Iraq's CTS ran about 300 operations in 2021 and 240 in 2023 while Iraq's attacks fell
3.6-fold (eta about 0.2), and CENTCOM's partnered operations stayed near 16-33 a month in Iraq
from 2022 to 2024 while attacks fell 7-fold (eta near 0). Effort is
spread over the force's zones by the attacks it has seen there (no omniscience). Intelligence
per zone combines independent sources: mu = 1 - prod(1 - q_i).
"""

from __future__ import annotations

import numpy as np


def effort(base: np.ndarray, observed: np.ndarray, reference: np.ndarray, elasticity: np.ndarray,
           surge_capacity: np.ndarray, presence: np.ndarray | float) -> np.ndarray:
    response = ((observed + 0.5) / (reference + 0.5)) ** elasticity
    return base * np.minimum(response, surge_capacity) * presence


def allocate(total: np.ndarray, area: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Spread ``total`` (R, 1) over the zones of ``area`` (R, Z) by seen attacks (+ a floor)."""
    weight = area * (seen + 0.5)
    s = weight.sum(axis=-1, keepdims=True)
    return total * np.divide(weight, s, out=np.zeros_like(weight), where=s > 0)


def combine_intel(*qualities: np.ndarray) -> np.ndarray:
    miss: np.ndarray | float = 1.0
    for q in qualities:
        miss = miss * (1.0 - np.clip(q, 0.0, 1.0))
    return np.asarray(1.0 - miss)


def isr_coverage(strength: np.ndarray, hops_from_base: np.ndarray, quality: np.ndarray,
                 decay: np.ndarray) -> np.ndarray:
    """Coalition ISR per zone: best base's strength (R, B), decayed per hop (B, Z)."""
    reach = strength[..., None] * decay[..., None] ** hops_from_base
    return quality * reach.max(axis=-2)


def smooth(previous: np.ndarray, current: np.ndarray, memory: float) -> np.ndarray:
    return memory * previous + (1.0 - memory) * current


def syrian_state_base(new_government: np.ndarray, damascus_ops: np.ndarray, capacity: np.ndarray,
                      assad_ops: np.ndarray, assad_weakened: np.ndarray,
                      assad_decline: np.ndarray) -> np.ndarray:
    """The Syrian state's base tempo: Assad's (less its 2024 decline once weakened), then the new
    government's in proportion to its capacity."""
    assad = assad_ops * (1.0 - assad_weakened * assad_decline)
    return np.where(new_government, damascus_ops * capacity, assad)


def own_intel(iraq_area: np.ndarray, damascus_area: np.ndarray, sdf_area: np.ndarray,
              iraq_base: np.ndarray, syria_base: np.ndarray, sdf_base: np.ndarray,
              new_government: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """(R, Z) intelligence of the force that holds each zone; the new Syrian government's in
    proportion to its capacity."""
    syria = syria_base * np.where(new_government, capacity, 1.0)
    return iraq_area * iraq_base + damascus_area * syria + sdf_area * sdf_base
