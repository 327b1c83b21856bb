"""ODD 7.9 Movement of ISIS members across the zone network.

A share m of each zone's members moves each month (Binomial), to neighbours with weights
  w = permeability(route) * hospitality(neighbour) * exp(-aversion * security(neighbour)),
cross-border routes cut by fortification and coordination centres. Movers are split over
neighbours by largest remainder (exact totals, no extra randomness).
"""

from __future__ import annotations

import numpy as np


def neighbour_weights(nbr: np.ndarray, nbr_mask: np.ndarray, nbr_cross: np.ndarray,
                      cross_weight: np.ndarray, hospitality: np.ndarray, security: np.ndarray,
                      aversion: np.ndarray) -> np.ndarray:
    """(R, Z, D) weights of moving from each zone to each neighbour slot."""
    cross = np.where(nbr_cross, cross_weight[..., None], 1.0)
    return nbr_mask * cross * hospitality[nbr] * np.exp(-aversion[..., None] * security[:, nbr])


def split(movers: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Integer flows (R, Z, D) summing to ``movers`` (R, Z), proportional to ``weights``."""
    total = weights.sum(axis=-1, keepdims=True)
    share = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    exact = movers[..., None] * share
    base = np.floor(exact)
    short = movers - base.sum(axis=-1)
    rank = np.argsort(np.argsort(-(exact - base), axis=-1, kind="stable"), axis=-1, kind="stable")
    extra = (rank < short[..., None]) & (weights > 0)
    return base + extra


def apply(members: np.ndarray, flows: np.ndarray, nbr_onehot: np.ndarray) -> np.ndarray:
    """members - out + in; ``nbr_onehot`` (Z, D, Z) maps neighbour slots to zones."""
    inflow = np.einsum("rzd,zdk->rk", flows, nbr_onehot)
    return members - flows.sum(axis=-1) + inflow
