"""ODD 7.1 Forces that respond to the threat they see, within capacity.

Each force f (Iraqi CT, the Syrian government, the SDF, the coalition in Iraq and in Syria) runs

  E_f = min(cap_f * B_f, B_f * (omega + (1 - omega) * A_f / A_ref_f)) * presence_f

operations a month, where A_f is the force's own observed (tracked) attacks, smoothed over a
few months, A_ref_f the level its base tempo B_f answers, omega the share of effort that does
not depend on the threat, cap_f its surge capacity and presence_f troops or control. Effort is
spread over the force's zones by the attacks it has seen there (no omniscience). Intelligence
per zone combines independent sources: mu = 1 - prod(1 - q_i).
"""

from __future__ import annotations

import numpy as np


def effort(base: np.ndarray, observed: np.ndarray, reference: np.ndarray, floor: np.ndarray,
           surge_capacity: np.ndarray, presence: np.ndarray) -> np.ndarray:
    wanted = base * (floor + (1.0 - floor) * observed / reference)
    return np.minimum(wanted, surge_capacity * base) * presence


def allocate(total: np.ndarray, area: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Spread ``total`` (R, 1) over the zones of ``area`` (R, Z) by seen attacks (+ a floor)."""
    weight = area * (seen + 0.5)
    s = weight.sum(axis=-1, keepdims=True)
    return total * np.divide(weight, s, out=np.zeros_like(weight), where=s > 0)


def combine_intel(*qualities: np.ndarray) -> np.ndarray:
    miss = 1.0
    for q in qualities:
        miss = miss * (1.0 - np.clip(q, 0.0, 1.0))
    return 1.0 - miss


def isr_coverage(strength: np.ndarray, hops_from_base: np.ndarray, quality: np.ndarray,
                 decay: np.ndarray) -> np.ndarray:
    """Coalition ISR per zone: best base's strength (R, B), decayed per hop (B, Z)."""
    reach = strength[..., None] * decay[..., None] ** hops_from_base
    return quality * reach.max(axis=-2)


def smooth(previous: np.ndarray, current: np.ndarray, memory: float) -> np.ndarray:
    return memory * previous + (1.0 - memory) * current
