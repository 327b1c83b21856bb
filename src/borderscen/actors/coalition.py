"""The US-led coalition (ODD 2, 7.1): troop levels on the 2025-2026 transition timeline, ISR
reach from its bases, joint US-Iraqi operations, and quiet encouragement of cooperation.

Evidence: coalition-phase1, coalition-bases-to-harir, coalition-phase2, harir-residual,
joint-ops-2024h1, us-troops-iraq-2024, us-troops-syria, us-quiet-encouragement.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from mesa import Agent

from borderscen.mechanisms.intelligence import isr_coverage
from borderscen.randomness import poisson_from_uniform

#: Transition dates from source 004 (before any user delay).
MOVE_TO_HARIR = dt.date(2025, 11, 1)
PHASE2_END = dt.date(2026, 9, 1)
#: Bases named in the sources; federal Iraqi bases are vacated at the move to Harir.
FEDERAL_BASES = ("Ain al-Asad", "Baghdad airport")


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    return dt.date(day.year + y, m + 1, 1)


class Coalition(Agent):
    """Troops, bases and operations of the US-led coalition."""

    def __init__(self, model):
        super().__init__(model)
        p, zmap = model.p, model.map
        self.reference_iraq = p.us_troops_iraq_initial or 1.0
        self.reference_syria = p.us_troops_syria_initial or 1.0
        self.troops_iraq = p.us_troops_iraq_initial
        self.troops_syria = p.us_troops_syria_initial
        bases = [(z.base, zmap.index[z.id], z.country) for z in zmap.zones if z.base]
        self.base_in_syria = np.array([c == "syria" for _, _, c in bases])
        self.base_federal = np.array([n in FEDERAL_BASES for n, _, _ in bases])
        self.base_hops = zmap.hops[[i for _, i, _ in bases]]
        self.isr = np.zeros(zmap.n)
        self.operations = 0
        self.encouragement = 0.0

    def schedule(self, month: dt.date, stay_support_ratio: float) -> tuple[float, float, bool]:
        """(troops in Iraq, troops in Syria, federal bases still used) for a month."""
        p = self.model.p
        if not p.transition_enabled:
            return p.us_troops_iraq_initial, p.us_troops_syria_initial, True
        delay = int(p.transition_delay_months)
        if month < add_months(MOVE_TO_HARIR, delay):
            return p.us_troops_iraq_initial, p.us_troops_syria_initial, True
        if month < add_months(PHASE2_END, delay):
            return p.us_troops_iraq_phase2, p.us_troops_syria_initial, False
        residual = min(p.us_troops_iraq_residual * stay_support_ratio, p.us_troops_iraq_initial)
        return residual, p.us_troops_syria_residual, False

    def step(self) -> None:
        m = self.model
        p = m.p
        self.troops_iraq, self.troops_syria, federal = self.schedule(
            m.month, m.baghdad.us_stay_support / m.baghdad.us_stay_support_initial)
        strength = np.where(self.base_in_syria, self.troops_syria / self.reference_syria,
                            self.troops_iraq / self.reference_iraq).clip(0.0, 1.0)
        active = (federal | ~self.base_federal) & (strength > 0)
        self.isr = isr_coverage(strength, active, self.base_hops, p.coalition_isr,
                                p.isr_distance_decay)
        expected = p.coalition_ops_per_month * min(1.0, self.troops_iraq / self.reference_iraq)
        self.operations = int(poisson_from_uniform(m.draws["operations"][0], expected))
        self.encouragement = p.us_encouragement * (1.0 - m.iran.influence)
