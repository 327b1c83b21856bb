"""Compiled :mod:`borderscen.kernel.stages.pipeline`: the project advances or slips back a stage,
in one loop over replications."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month
from borderscen.mechanisms.cooperation import DETERIORATION, PARTNERSHIP
from borderscen.mechanisms.pipeline import OPERATING


@njit(cache=True, nogil=True, error_model="numpy")
def _month(stage, regime, turkey, u_advance, u_regress, d0, d1, d2, d3, drag, p_regress):
    R = stage.shape[0]
    out = np.empty((R, 1))
    for r in range(R):
        s = stage[r, 0]
        p = 0.0
        if regime[r, 0] == PARTNERSHIP and s < OPERATING:
            i = int(min(s, OPERATING - 1))
            d = d0[r, 0] if i == 0 else (d1[r, 0] if i == 1 else (d2[r, 0] if i == 2 else d3[r, 0]))
            p = min(max((1.0 - drag[r, 0] * turkey[r, 0]) / d, 0.0), 1.0)
        up = u_advance[r, 0] < p
        down = regime[r, 0] == DETERIORATION and s > 0 and u_regress[r, 0] < p_regress[r, 0]
        out[r, 0] = s + (1.0 if up else 0.0) - (1.0 if (down and not up) else 0.0)
    return out


def run(m: Month) -> None:
    P = m.P
    m.stage = launch(_month, m.s.stage, m.regime, m.turkey, m.u["pipeline_advance"], m.u["pipeline_regress"],
                     P.pipeline_months_to_agreement, P.pipeline_months_to_financing,
                     P.pipeline_months_to_construction, P.pipeline_months_to_operation,
                     P.pipeline_turkey_drag, P.pipeline_regress_prob)
    m.out["pipeline_stage"] = m.stage
