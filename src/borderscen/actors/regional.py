"""Regional actors (ODD 2, 7.7): Iran, Tehran-aligned militias, Turkey and the Gulf states.

Iran      I' = I + r (T_camp * (1 + push * c) - I)     influence follows its Iraqi allies and
                                                        the share of cooperation it captures
Militias  M' = M + r_m (I * c - M)                      presence in Syria rides on cooperation
Turkey    pressure = o * (1/2 + 1/2 min(1, c * (I + stage/4 + 1/2)))   rises with what it fears
Gulf      support  = g * clip(1 - I / tolerance, -1, 1)   backs cooperation only if Iran is out

Evidence: iran-trilateral, damascus-militia-fear, turkey-opposes, gulf-turkey-condition,
gulf-arab-axis.
"""

from __future__ import annotations

from mesa import Agent

from borderscen.mechanisms.pipeline import OPERATING


class Iran(Agent):
    def __init__(self, model):
        super().__init__(model)
        self.influence = model.p.iran_influence_initial

    def step(self) -> None:
        m, p = self.model, self.model.p
        goal = min(1.0, m.baghdad.tehran * (1.0 + p.iran_trilateral_push * m.cooperation))
        self.influence += p.iran_adjustment_rate * (goal - self.influence)


class Militias(Agent):
    def __init__(self, model):
        super().__init__(model)
        self.presence = 0.0

    def step(self) -> None:
        m, p = self.model, self.model.p
        self.presence += p.militia_adjustment_rate * (m.iran.influence * m.cooperation - self.presence)


class Turkey(Agent):
    def __init__(self, model):
        super().__init__(model)
        self.pressure = 0.0

    def step(self) -> None:
        m, p = self.model, self.model.p
        stakes = m.cooperation * (m.iran.influence + m.pipeline_stage / OPERATING + 0.5)
        self.pressure = p.turkey_opposition * (0.5 + 0.5 * min(1.0, stakes))


class Gulf(Agent):
    def __init__(self, model):
        super().__init__(model)
        self.support = 0.0

    def step(self) -> None:
        m, p = self.model, self.model.p
        self.support = p.gulf_pull * min(1.0, max(-1.0, 1.0 - m.iran.influence / p.gulf_iran_tolerance))
