"""ODD 7.2 Counter-terrorism attrition, after Kress & Szechtman (2009).

An operation is intelligence-led with probability mu (targeted fire) and otherwise falls on the
zone's population, of which ISIS members are a share F / (F + P). Losses grow with effort times
intelligence; misses harm civilians, which feeds backlash (ODD 7.4). Targeted operations must
first find their targets: their yield saturates with the members present, F / (F + h) (a Holling
type-II search term, our assumption), so attrition thins as cells become scarce.
"""

from __future__ import annotations

import numpy as np


def expected_losses(effort: np.ndarray, intel: np.ndarray, members: np.ndarray,
                    exposed_per_member: float, per_operation: float, detection_half: float):
    """Expected members neutralised and civilians harmed per zone in a month.

    L_z = E_z * k * (mu_z * F_z / (F_z + h) + (1 - mu_z) * F_z / (F_z + P_z)),  P_z = c * F_z
    H_z = E_z * k * (1 - mu_z) * P_z / (F_z + P_z)
    """
    members = np.asarray(members, float)
    present = members > 0
    exposed = exposed_per_member * members
    hit_share = np.divide(members, members + exposed, out=np.zeros_like(members),
                          where=members + exposed > 0)
    found = members / (members + detection_half)
    shots = effort * per_operation * present
    losses = shots * (intel * found + (1 - intel) * hit_share)
    harm = shots * (1 - intel) * (1 - hit_share)
    return np.minimum(losses, members), harm


def loss_probability(expected: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Per-member chance of being neutralised: 1 - exp(-L/F) keeps it below 1."""
    return -np.expm1(-np.divide(expected, members, out=np.zeros_like(expected, dtype=float),
                                where=members > 0))


def allocate_to_cells(zone_losses: np.ndarray, zone: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Split each zone's losses over its cells in proportion to size (largest remainder).

    Every member of a zone is equally exposed, so a cell's expected share is its share of the
    zone's members; rounding by largest remainder keeps totals exact without extra randomness.
    """
    zone_members = np.bincount(zone, members, minlength=zone_losses.size)
    exact = zone_losses[zone] * np.divide(members, zone_members[zone],
                                          out=np.zeros(members.size), where=zone_members[zone] > 0)
    base = np.floor(exact).astype(np.int64)
    short = zone_losses - np.bincount(zone, base, minlength=zone_losses.size)
    order = np.lexsort((-(exact - base), zone))
    zone_sorted = zone[order]
    rank = np.arange(order.size) - np.searchsorted(zone_sorted, zone_sorted, side="left")
    extra = np.zeros(members.size, np.int64)
    extra[order] = rank < short[zone_sorted]
    return np.minimum(base + extra, members)
