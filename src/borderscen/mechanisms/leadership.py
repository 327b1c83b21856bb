"""ODD 7.11 Leadership strikes (decapitation) and the disruption they cause.

A strike kills or captures senior leaders; cells lose direction for a while:

  D' = (1 - 1/tau) * D + d * strike,   D capped at 0.9
  attacks and recruitment are multiplied by (1 - D)

In the history period strikes happen on their recorded dates; afterwards with a monthly
probability that scales with the intelligence reach the coalition (and partners) still have.
"""

from __future__ import annotations

import numpy as np


def strike_probability(base_rate: np.ndarray, reach: np.ndarray) -> np.ndarray:
    return np.clip(base_rate * reach, 0.0, 1.0)


def next_disruption(disruption: np.ndarray, strike: np.ndarray, size: np.ndarray,
                    recovery_months: np.ndarray) -> np.ndarray:
    return np.minimum((1.0 - 1.0 / recovery_months) * disruption + size * strike, 0.9)


def strike_reach(coverage_iraq: np.ndarray, coverage_syria: np.ndarray, isr_quality: np.ndarray,
                 partner_intel: np.ndarray, partner_share: np.ndarray) -> np.ndarray:
    """The intelligence reach behind a strike: the coalition's best coverage times its ISR, plus
    what partners contribute."""
    return np.maximum(coverage_iraq, coverage_syria) * isr_quality + partner_intel * partner_share
