"""The actors of ODD section 2 as Mesa agents: the inspectable face of one replication.

The month's decisions are the pure functions in ``borderscen.mechanisms`` (run by the kernel for
one replication or many); each agent here is a view of its part of that state, so what you
inspect in a notebook or the explorer is exactly what the batch computes.
"""

from __future__ import annotations

from mesa import Agent
from mesa.discrete_space import CellAgent, FixedAgent


class _View:
    """Read a (1, 1) or (1, Z) state array as a plain number."""

    @staticmethod
    def scalar(x) -> float:
        return float(x[0, 0])


class Coalition(Agent, _View):
    """The US-led coalition: troops, federal bases, partnered operations."""

    @property
    def troops_iraq(self) -> float:  # troops present: the schedule after any delay or residual force
        return self.scalar(self.model.state.troops[:, :1])

    @property
    def troops_syria(self) -> float:
        return self.scalar(self.model.state.troops[:, 1:])

    @property
    def partnered_operations(self) -> float:
        return self.model.last("partnered_operations_iraq") + self.model.last("partnered_operations_syria")


class Baghdad(FixedAgent, _View):
    """Baghdad's government: the Tehran-aligned, pragmatic and Kurdish-Sunni weights, openness."""

    def __init__(self, model, cell):
        super().__init__(model)
        self.cell = cell

    tehran = property(lambda self: self.scalar(self.model.state.tehran))
    pragmatic = property(lambda self: self.scalar(self.model.state.pragmatic))
    kurd_sunni = property(lambda self: 1.0 - self.tehran - self.pragmatic)
    openness = property(lambda self: self.model.last("openness_baghdad"))
    legitimacy = property(lambda self: self.scalar(self.model.state.legitimacy_iraq))


class Damascus(FixedAgent, _View):
    """The government in Damascus (Assad to December 2024, then the new government)."""

    def __init__(self, model, cell):
        super().__init__(model)
        self.cell = cell

    capacity = property(lambda self: self.scalar(self.model.state.damascus_capacity))
    willingness = property(lambda self: self.model.last("willingness_damascus"))
    legitimacy = property(lambda self: self.scalar(self.model.state.legitimacy_syria))


class Iran(Agent, _View):
    influence = property(lambda self: self.scalar(self.model.state.iran))


class Militias(Agent, _View):
    presence = property(lambda self: self.scalar(self.model.state.militia))


class Turkey(Agent, _View):
    pressure = property(lambda self: self.scalar(self.model.state.turkey))


class Gulf(Agent, _View):
    support = property(lambda self: self.scalar(self.model.state.gulf))


class SDF(FixedAgent, _View):
    """The SDF: holds the north-east, its camps and prisons, until January 2026."""

    def __init__(self, model, cell):
        super().__init__(model)
        self.cell = cell

    holds_northeast = property(lambda self: bool(self.scalar(self.model.params.sdf_control)))
    detainees = property(lambda self: self.scalar(self.model.state.detainees))
    guard = property(lambda self: self.model.last("guard"))


class Camp(FixedAgent, _View):
    """Al-Hol or Roj: residents (and, for al-Hol, Iraqis awaiting return)."""

    def __init__(self, model, cell, name: str):
        super().__init__(model)
        self.cell = cell
        self.name = name

    @property
    def residents(self) -> float:
        s = self.model.state
        return self.scalar(s.alhol_residents if self.name == "al-Hol" else s.roj_residents)


class IsisPresence(CellAgent):
    """ISIS in one zone: its members (cells are counted, not tracked one by one)."""

    def __init__(self, model, cell, zone: int):
        super().__init__(model)
        self.cell = cell
        self.zone = zone

    @property
    def members(self) -> int:
        return int(self.model.state.members[0, self.zone])

    @property
    def attacks_last_month(self) -> int:
        out = self.model.state.outputs
        return int(out["zone_attacks"][0, self.zone]) if out else 0


__all__ = ["SDF", "Baghdad", "Camp", "Coalition", "Damascus", "Gulf", "Iran", "IsisPresence",
           "Militias", "Turkey"]
