"""The SDF and the camps (ODD 2, 7.5).

The SDF guards camps and prisons; its capacity depends on US support in Syria and falls under
Turkish pressure:  guard = g0 * (1 - d_us * (1 - min(1, troops_syria / ref))) * (1 - d_tr * turkey).
Camps are stocks of residents; Iraqis leave them by repatriation.

Evidence: sdf-holds-detainees, camps-ticking-bomb, us-troops-syria, turkey-opposes,
alhol-iraqis-remaining, alhol-repatriated.
"""

from __future__ import annotations

from mesa.discrete_space import FixedAgent

from borderscen.mechanisms.camps import repatriation


class SDF(FixedAgent):
    def __init__(self, model, cell):
        super().__init__(model)
        self.cell = cell
        self.detainees = float(model.p.detainees_initial)
        self.guard = model.p.sdf_guard_capacity
        self.ct_operations = 0.0

    def step(self) -> None:
        m, p = self.model, self.model.p
        us_share = min(1.0, m.coalition.troops_syria / m.coalition.reference_syria)
        self.guard = (p.sdf_guard_capacity * (1.0 - p.sdf_us_dependence * (1.0 - us_share))
                      * (1.0 - p.sdf_turkey_sensitivity * m.turkey.pressure))
        self.ct_operations = p.sdf_ct_ops_per_month * self.guard


class Camp(FixedAgent):
    """A camp (al-Hol or Roj): residents, of whom some are Iraqis awaiting return."""

    def __init__(self, model, cell, name: str, residents: float, iraqis: float):
        super().__init__(model)
        self.cell = cell
        self.name = name
        self.residents = float(residents)
        self.iraqis = float(min(iraqis, residents))

    def repatriate(self, pace: float) -> float:
        out = repatriation(self.iraqis, pace)
        self.iraqis -= out
        self.residents -= out
        return out

    def release(self, share: float) -> float:
        """Residents who escape in a breakout (Iraqis among them in proportion)."""
        escaped = share * self.residents
        if self.residents > 0:
            self.iraqis -= escaped * self.iraqis / self.residents
        self.residents -= escaped
        return escaped
