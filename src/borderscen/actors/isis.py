"""ISIS cells (ODD 2): many identifiable Mesa agents whose hot state lives in arrays.

Each cell is a ``CellAgent`` in a zone of the network with a slot in :class:`IsisCells`; the
monthly mechanisms (movement, attrition, recruitment, attacks) run over those arrays at once, and
the agents are only touched when a cell moves, forms, splits or is destroyed.

Evidence: isis-desert-cells, isis-cross-border.
"""

from __future__ import annotations

import numpy as np
from mesa.discrete_space import CellAgent


class ISISCell(CellAgent):
    """One cell; ``members`` and ``zone`` read the shared arrays."""

    def __init__(self, model, slot: int, cell):
        super().__init__(model)
        self.slot = slot
        self.cell = cell

    @property
    def members(self) -> int:
        return int(self.model.isis.members[self.slot])

    @property
    def zone(self) -> str:
        return self.model.map.ids[self.model.isis.zone[self.slot]]


class IsisCells:
    """Array state of all cell slots: members, zone, alive, and the agent in each slot."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.members = np.zeros(capacity, np.int64)
        self.zone = np.zeros(capacity, np.int64)
        self.alive = np.zeros(capacity, bool)
        self.agents: list[ISISCell | None] = [None] * capacity

    def members_by_zone(self, n_zones: int) -> np.ndarray:
        return np.bincount(self.zone[self.alive], self.members[self.alive], minlength=n_zones)

    @property
    def count(self) -> int:
        return int(self.alive.sum())

    @property
    def total(self) -> int:
        return int(self.members[self.alive].sum())

    def add(self, model, zone: int, members: int) -> None:
        """Give recruits to a new cell, or to the zone's smallest cell when slots run out."""
        free = np.flatnonzero(~self.alive)
        if free.size == 0:
            self._reinforce(zone, members)
            return
        slot = int(free[0])
        self.members[slot], self.zone[slot], self.alive[slot] = members, zone, True
        self.agents[slot] = ISISCell(model, slot, model.space[model.map.ids[zone]])

    def reinforce_or_add(self, model, zone: int, members: int) -> None:
        """Recruits join the smallest living cell in their zone, or form a cell if none."""
        if not self._reinforce(zone, members, only_zone=True):
            self.add(model, zone, members)

    def _reinforce(self, zone: int, members: int, only_zone: bool = False) -> bool:
        here = np.flatnonzero(self.alive & (self.zone == zone))
        if here.size == 0:
            if only_zone:
                return False
            here = np.flatnonzero(self.alive)
            if here.size == 0:
                return False
        self.members[here[np.argmin(self.members[here])]] += members
        return True

    def split_large(self, model, size: float) -> None:
        for slot in np.flatnonzero(self.alive & (self.members > size)):
            half = int(self.members[slot]) // 2
            if (~self.alive).any():
                self.members[slot] -= half
                self.add(model, int(self.zone[slot]), half)

    def remove_dead(self) -> None:
        for slot in np.flatnonzero(self.alive & (self.members <= 0)):
            self.alive[slot] = False
            self.members[slot] = 0
            self.agents[slot].remove()
            self.agents[slot].cell = None
            self.agents[slot] = None

    def relocate(self, model, new_zone: np.ndarray) -> int:
        """Apply moves; returns how many cells moved."""
        moved = np.flatnonzero(self.alive & (new_zone != self.zone))
        for slot in moved:
            self.agents[slot].cell = model.space[model.map.ids[new_zone[slot]]]
        self.zone[moved] = new_zone[moved]
        return int(moved.size)
