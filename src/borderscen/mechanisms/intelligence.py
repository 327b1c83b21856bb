"""ODD 7.1 Intelligence: how coalition ISR, own services and Baghdad-Damascus sharing combine."""

from __future__ import annotations

import numpy as np


def combine(*qualities: np.ndarray | float) -> np.ndarray:
    """Independent sources: an operation is intelligence-led if any source finds the target.

    mu = 1 - prod(1 - q_i)
    """
    miss = np.ones(1)
    for q in qualities:
        miss = miss * (1.0 - np.clip(q, 0.0, 1.0))
    return 1.0 - miss


def isr_coverage(strength: np.ndarray, active: np.ndarray, hops_from_base: np.ndarray,
                 quality: float, decay: float) -> np.ndarray:
    """Coalition ISR in each zone: the best active base's strength, decayed per hop.

    isr_z = quality * max_b(active_b * strength_b * decay ** hops(b, z))
    ``hops_from_base`` has one row per base.
    """
    reach = (active * strength)[:, None] * decay ** hops_from_base
    return quality * reach.max(axis=0, initial=0.0)
