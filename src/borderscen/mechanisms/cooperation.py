"""ODD 7.7 The Baghdad-Damascus relationship: a cooperation index and its regime.

Each government's readiness is a logistic function of its drivers; cooperation needs both, so
the index moves toward their geometric mean. The regime (deterioration / limited / partnership)
is read off the index with hysteresis: institutions and grudges outlast the mood that made them.
"""

from __future__ import annotations

import math

DETERIORATION, LIMITED, PARTNERSHIP = "deterioration", "limited", "partnership"
REGIMES = (DETERIORATION, LIMITED, PARTNERSHIP)


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def target(openness_baghdad: float, willingness_damascus: float) -> float:
    return math.sqrt(openness_baghdad * willingness_damascus)


def next_index(index: float, goal: float, rate: float, shock: float) -> float:
    return min(1.0, max(0.0, index + rate * (goal - index) + shock))


def initial_regime(index: float, low: float, high: float) -> str:
    return DETERIORATION if index < low else PARTNERSHIP if index > high else LIMITED


def next_regime(regime: str, index: float, low: float, high: float, hysteresis: float) -> str:
    """Enter a regime at its threshold; leave it only once past the threshold by ``hysteresis``."""
    if regime == PARTNERSHIP and index >= high - hysteresis:
        return PARTNERSHIP
    if regime == DETERIORATION and index <= low + hysteresis:
        return DETERIORATION
    return initial_regime(index, low, high)
