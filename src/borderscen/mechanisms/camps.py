"""ODD 7.5 Camps and prisons as stocks: repatriation out, spill-over and breakouts into ISIS."""

from __future__ import annotations

import numpy as np


def breakout_hazard(guard: float, base: float, sensitivity: float) -> float:
    """Monthly chance of a mass breakout: 1 - exp(-h0 * exp(beta * (1 - guard)))."""
    return float(-np.expm1(-base * np.exp(sensitivity * (1.0 - guard))))


def spillover(residents: np.ndarray, guard: float, rate: float) -> np.ndarray:
    """Expected monthly recruits out of each camp, scaled by the guard shortfall."""
    return rate * np.asarray(residents, float) * (1.0 - guard)


def repatriation(eligible: float, pace: float) -> float:
    return float(min(eligible, max(pace, 0.0)))
