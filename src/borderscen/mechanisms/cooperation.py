"""ODD 7.7 The Baghdad-Damascus relationship: an index, and the regime read from it.

Each government's readiness is a logistic function of its drivers; cooperation needs both, so
the index moves toward their geometric mean, with political shocks:

  C' = clip(C + r (sqrt(O_b * W_d) - C) + sd * eps, 0, 1)

The regime is read off the index with hysteresis at thresholds that are the same in every
scenario (presets change drivers, never thresholds): below the lower one the covert channel
closes (deterioration), above the upper one the relationship is institutionalised
(partnership), between them it runs as a limited covert channel. What a regime *does* is set by
policy levers: coordination centres (partnership only), a ceiling on joint operations, and the
intelligence sharing kept open even when relations sour (the channel's floor).
"""

from __future__ import annotations

import numpy as np

NONE, DETERIORATION, LIMITED, PARTNERSHIP = -1, 0, 1, 2
REGIMES = ("deterioration", "limited", "partnership")
REGIME_NAMES = {NONE: "none", DETERIORATION: "deterioration", LIMITED: "limited",
                PARTNERSHIP: "partnership"}


def logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def target(openness_baghdad: np.ndarray, willingness_damascus: np.ndarray) -> np.ndarray:
    return np.sqrt(openness_baghdad * willingness_damascus)


def next_index(index: np.ndarray, goal: np.ndarray, rate: np.ndarray, shock: np.ndarray) -> np.ndarray:
    return np.clip(index + rate * (goal - index) + shock, 0.0, 1.0)


def regime_of(index: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.where(index < low, DETERIORATION, np.where(index > high, PARTNERSHIP, LIMITED))


def next_regime(regime: np.ndarray, index: np.ndarray, low: np.ndarray, high: np.ndarray,
                hysteresis: np.ndarray) -> np.ndarray:
    """Enter a regime at its threshold; leave it only once past the threshold by ``hysteresis``."""
    fresh = regime_of(index, low, high)
    stay_p = (regime == PARTNERSHIP) & (index >= high - hysteresis)
    stay_d = (regime == DETERIORATION) & (index <= low + hysteresis)
    out = np.where(stay_p, PARTNERSHIP, np.where(stay_d, DETERIORATION, fresh))
    return np.where(regime == NONE, fresh, out)


def intel_sharing(index: np.ndarray, regime: np.ndarray, quality: np.ndarray,
                  channel_floor: np.ndarray) -> np.ndarray:
    """Sharing scales with the index while the channel is open; a floor keeps it in deterioration."""
    open_share = quality * index * (regime >= LIMITED)
    return np.where(regime == NONE, 0.0, np.maximum(open_share, quality * channel_floor * (regime >= 0)))


def expected_joint_operations(index: np.ndarray, regime: np.ndarray, per_month: np.ndarray,
                              ceiling: np.ndarray) -> np.ndarray:
    share = np.where(regime == PARTNERSHIP, 1.0, np.where(regime == LIMITED, 0.5, 0.0))
    return np.minimum(per_month * index * share, ceiling)
