"""Compiled :mod:`borderscen.kernel.stages.leadership`: a strike on the leadership and the
disruption it leaves, in one loop over replications."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _month(disruption, coverage_iraq, coverage_syria, u, recorded, history, isr, partner_intel, partner_share,
           rate, size, recovery):
    R = disruption.shape[0]
    strike = np.empty((R, 1), np.bool_)
    after = np.empty((R, 1))
    for r in range(R):
        reach = (max(coverage_iraq[r, 0], coverage_syria[r, 0]) * isr[r, 0]
                 + partner_intel[r, 0] * partner_share[r, 0])
        hit = (u[r, 0] < min(max(rate[r, 0] * reach, 0.0), 1.0)) or recorded
        if history and not recorded:  # in the history, strikes happen on their recorded dates
            hit = False
        strike[r, 0] = hit
        after[r, 0] = min((1.0 - 1.0 / recovery[r, 0]) * disruption[r, 0] + size[r, 0] * hit, 0.9)
    return strike, after


def run(m: Month) -> None:
    P = m.P
    m.strike, m.disruption = launch(
        _month, m.s.disruption, m.coverage_iraq, m.coverage_syria, m.u["strike"],
        "leadership_strike" in m.triggers, "history" in m.triggers, P.coalition_isr, P.iraq_intel_base,
        P.strike_partner_share, P.strike_rate, P.strike_disruption, P.disruption_recovery_months)
    m.out["disruption"], m.out["leadership_strikes"] = m.disruption, m.strike.astype(float)
