"""Baghdad as a government whose policy comes from its factions (ODD 2, 7.7).

Weights: the Tehran-aligned camp, the pragmatic camp, and the Kurdish and Sunni blocs. Iranian
pressure moves weight to the Tehran camp; ISIS threat moves it to the pragmatic camp; the
11 Nov 2025 election shifts it once. Outputs: openness to Damascus, counter-terrorism effort,
repatriation pace and support for a continued US presence.

  threat   = A / (A + A_ref)            A: mean reported attacks in Iraq over the last 3 months
  dT       = rho * (pressure * I_iran - salience * threat)   (taken from / given to pragmatists)
  openness = logistic(b0 + b_f * (P + K/2 - T) + b_t * threat - b_turk * turkey + us + qatar)
  stay     = K + P/2                    (Kurds, Sunnis and about half the Shia leadership)

Evidence: tehran-camp-opposes, pragmatic-camp-favours, kurds-sunnis-want-us, election-2025,
iran-trilateral, withdrawal-vacuum, alhol-repatriated.
"""

from __future__ import annotations

from mesa.discrete_space import FixedAgent

from borderscen.mechanisms.cooperation import logistic

MIN_CAMP_WEIGHT = 0.02


class Baghdad(FixedAgent):
    def __init__(self, model, cell):
        super().__init__(model)
        self.cell = cell
        p = model.p
        self.tehran = p.tehran_camp_initial
        self.pragmatic = p.pragmatic_camp_initial
        self.kurd_sunni = 1.0 - self.tehran - self.pragmatic
        self.threat = 0.0
        self.openness = 0.5
        self.ct_operations = p.iraq_ct_ops_per_month
        self.repatriation_pace = p.repatriation_per_month
        self.us_stay_support = self.us_stay_support_initial = self.kurd_sunni + self.pragmatic / 2

    @property
    def faction_balance(self) -> float:
        """Pragmatic share of the two Shia camps: above 0.5 the pragmatists lead."""
        return self.pragmatic / (self.pragmatic + self.tehran)

    def shift_to_tehran(self, amount: float) -> None:
        shia = self.tehran + self.pragmatic
        self.tehran = min(max(self.tehran + amount, MIN_CAMP_WEIGHT), shia - MIN_CAMP_WEIGHT)
        self.pragmatic = shia - self.tehran

    def step(self) -> None:
        m, p = self.model, self.model.p
        recent = m.recent_reported_attacks_iraq
        self.threat = recent / (recent + p.threat_reference_attacks)
        self.shift_to_tehran(p.faction_drift_rate
                             * (p.iran_pressure * m.iran.influence - p.threat_salience * self.threat))
        if "election" in m.triggers:
            self.shift_to_tehran(p.election_shift + p.election_noise_sd * m.draws["politics"][0])
        self.openness = logistic(
            p.baghdad_openness_bias
            + p.openness_faction_weight * (self.pragmatic + self.kurd_sunni / 2 - self.tehran)
            + p.openness_threat_weight * self.threat
            - p.turkey_drag_weight * m.turkey.pressure
            + m.coalition.encouragement + p.qatar_mediation)
        self.ct_operations = p.iraq_ct_ops_per_month * (1.0 + self.threat)
        self.repatriation_pace = p.repatriation_per_month * (0.5 + m.cooperation)
        self.us_stay_support = self.kurd_sunni + self.pragmatic / 2
