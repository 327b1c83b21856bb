"""ODD 7.9 Cell movement across the zone network (vectorised over cells).

A cell moves with probability m; it picks a neighbour with weight
  w = permeability(route) * hospitality(neighbour) * exp(-aversion * security(neighbour)),
hospitality being the neighbour's recruitable population relative to the largest zone's (cells
go where they have a social base, as the sources' desert strongholds suggest),
where cross-border routes carry a permeability cut by fortification and coordination centres.
"""

from __future__ import annotations

import numpy as np


def destinations(zone: np.ndarray, u_move: np.ndarray, u_pick: np.ndarray, mobility: float,
                 nbr: np.ndarray, nbr_mask: np.ndarray, nbr_cross: np.ndarray,
                 cross_weight: float, security: np.ndarray, aversion: float,
                 hospitality: np.ndarray) -> np.ndarray:
    """New zone of every cell slot (unchanged where it does not move)."""
    weights = (nbr_mask * np.where(nbr_cross, cross_weight, 1.0) * hospitality[nbr]
               * np.exp(-aversion * security[nbr]))
    w = weights[zone]
    total = w.sum(axis=1)
    cum = np.cumsum(w, axis=1) / np.where(total > 0, total, 1.0)[:, None]
    pick = (u_pick[:, None] > cum).sum(axis=1)
    pick = np.minimum(pick, nbr.shape[1] - 1)
    moves = (u_move < mobility) & (total > 0)
    return np.where(moves, nbr[zone, pick], zone)
