"""Leadership strikes and the disruption they cause (ODD 7.11)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Draw, Month, Stage
from borderscen.mechanisms import leadership


def run(m: Month) -> None:
    P = m.P
    reach = leadership.strike_reach(m.coverage_iraq, m.coverage_syria, P.coalition_isr, P.iraq_intel_base,
                                    P.strike_partner_share)
    recorded = "leadership_strike" in m.triggers
    m.strike = (m.u["strike"] < leadership.strike_probability(P.strike_rate, reach)) | recorded
    if "history" in m.triggers and not recorded:
        m.strike = np.zeros_like(m.strike)  # in the history, strikes happen on their recorded dates
    m.disruption = leadership.next_disruption(m.s.disruption, m.strike, P.strike_disruption,
                                              P.disruption_recovery_months)
    m.out["disruption"], m.out["leadership_strikes"] = m.disruption, m.strike.astype(float)


STAGE = Stage(
    name="leadership", odd="7.11", run=run, mechanisms="leadership",
    does="a strike on the leadership (on its recorded dates in the history), and the disruption it leaves",
    params="coalition_isr iraq_intel_base strike_partner_share strike_rate strike_disruption "
           "disruption_recovery_months",
    draws=(Draw("strike", 1, revision=1),),
    reads="disruption", uses="coverage_iraq coverage_syria", writes="strike disruption",
    triggers="leadership_strike history",
    outputs="disruption leadership_strikes",
)
