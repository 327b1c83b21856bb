"""The new Damascus government (ODD 2, 7.7): capacity that grows with Gulf support, fear that
cooperation lets Iraqi militias and Iran back in, and its own counter-terrorism in the Badia.

  capacity'   = capacity + g * (1 + max(gulf, 0)) * (1 - capacity)
  fear        = f * min(1, I_iran + militias)
  willingness = logistic(d0 - w_f * fear + w_g * gulf - b_turk * turkey + qatar)

Evidence: damascus-militia-fear, gulf-arab-axis, damascus-security-messages, isis-badia-ambushes.
"""

from __future__ import annotations

from mesa.discrete_space import FixedAgent

from borderscen.mechanisms.cooperation import logistic


class Damascus(FixedAgent):
    def __init__(self, model, cell):
        super().__init__(model)
        self.cell = cell
        self.capacity = model.p.damascus_capacity_initial
        self.fear = 0.0
        self.willingness = 0.5
        self.ct_operations = 0.0

    def step(self) -> None:
        m, p = self.model, self.model.p
        gulf = m.gulf.support
        self.capacity += p.damascus_capacity_growth * (1.0 + max(gulf, 0.0)) * (1.0 - self.capacity)
        self.fear = p.damascus_militia_fear * min(1.0, m.iran.influence + m.militias.presence)
        self.willingness = logistic(p.damascus_willingness_bias - p.willingness_fear_weight * self.fear
                                    + p.gulf_weight * gulf - p.turkey_drag_weight * m.turkey.pressure
                                    + p.qatar_mediation)
        self.ct_operations = p.damascus_ct_ops_per_month * self.capacity
