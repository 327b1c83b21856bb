"""ODD 7.6 Smuggling along the Deir ez-Zor - Anbar corridor.

Smugglers choose among routes by a logit on interdiction risk and detour cost, so pressure on one
route displaces flow to others; total flow falls only with the mean risk, by an elasticity below
one (interdiction displaces more than it deters). Delivered weapons feed ISIS capacity.
"""

from __future__ import annotations

import numpy as np


def interdiction_probability(hazard: np.ndarray) -> np.ndarray:
    return -np.expm1(-np.maximum(hazard, 0.0))


def route_shares(p_interdict: np.ndarray, detour_cost: np.ndarray, sensitivity: np.ndarray) -> np.ndarray:
    utility = -sensitivity * p_interdict - detour_cost
    w = np.exp(utility - utility.max(axis=-1, keepdims=True))
    return w / w.sum(axis=-1, keepdims=True)


def attempted_flow(demand: np.ndarray, shares: np.ndarray, p_interdict: np.ndarray,
                   elasticity: np.ndarray) -> np.ndarray:
    mean_risk = (shares * p_interdict).sum(axis=-1, keepdims=True)
    return demand * (1.0 - mean_risk) ** elasticity
