"""Compiled :mod:`borderscen.kernel.stages.legitimacy`: civilian harm summed per country and
legitimacy in Iraq and Syria, in one loop over replications."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _month(ops, intel, syria, legitimacy_iraq, legitimacy_syria, new_government, capacity, level_syria,
           gain, level_assad, level_iraq, rate, harm_cost):
    R, Z = ops.shape
    out = np.empty((R, 2))
    for r in range(R):
        harm_iraq = 0.0
        harm_syria = 0.0
        for z in range(Z):
            harm = ops[r, z] * (1.0 - intel[r, z]) / 100.0
            if syria[z]:
                harm_syria += harm
            else:
                harm_iraq += harm
        target = (level_syria[r, 0] + gain[r, 0] * (capacity[r, 0] - 0.5) if new_government[r, 0]
                  else level_assad[r, 0])
        li, ls = legitimacy_iraq[r, 0], legitimacy_syria[r, 0]
        k, cost = rate[r, 0], harm_cost[r, 0]
        out[r, 0] = min(max(li + k * (level_iraq[r, 0] - li) - cost * harm_iraq, 0.0), 1.0)
        out[r, 1] = min(max(ls + k * (target - ls) - cost * harm_syria, 0.0), 1.0)
    return out


def run(m: Month) -> None:
    s, P = m.s, m.P
    t = launch(_month, m.ops_z, m.intel, m.ctx.is_syria, s.legitimacy_iraq, s.legitimacy_syria,
               m.new_government, m.damascus_capacity, P.legitimacy_syria, P.governance_legitimacy_gain,
               P.legitimacy_syria_assad, P.legitimacy_iraq, P.legitimacy_adjustment_rate,
               P.collateral_harm_cost)
    m.legitimacy_iraq, m.legitimacy_syria = t[:, 0:1], t[:, 1:2]
    m.out.update(legitimacy_iraq=m.legitimacy_iraq, legitimacy_syria=m.legitimacy_syria)
