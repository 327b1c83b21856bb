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


def route_hazard(is_crossing: np.ndarray, crossing: np.ndarray, track: np.ndarray,
                 fortification: np.ndarray, coordination: np.ndarray,
                 intel_at_ends: np.ndarray) -> np.ndarray:
    """(R, routes) interdiction hazard: the route kind's base, the border's fortification and
    coordination, and the intelligence at the route's two ends (mean)."""
    return (np.where(is_crossing, crossing, track) + fortification + coordination
            + intel_at_ends.mean(axis=-1))


def demand(mean: np.ndarray, sd: np.ndarray, z: np.ndarray) -> np.ndarray:
    """This month's demand: lognormal with mean ``mean`` and log-sd ``sd`` at normal quantile z."""
    return mean * np.exp(sd * z - sd * sd / 2)


def next_weapons_stock(stock: np.ndarray, decay: np.ndarray, share: np.ndarray, flow: np.ndarray,
                       stopped: np.ndarray) -> np.ndarray:
    """The stock decays; a share of what got through is weapons."""
    return (1 - decay) * stock + share * np.maximum(flow - stopped, 0.0)
