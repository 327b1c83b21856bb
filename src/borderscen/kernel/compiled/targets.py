"""Compiled :mod:`borderscen.kernel.stages.targets`: the exposure of state-held Syrian zones, in
one loop over replications and zones."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _month(state_zones, new_government, capacity, share):
    R, Z = new_government.shape[0], state_zones.size
    out = np.empty((R, Z))
    for r in range(R):
        after = 1.0 - share[r, 0] * (1.0 - min(max(capacity[r, 0], 0.0), 1.0))
        for z in range(Z):
            out[r, z] = after if (state_zones[z] > 0 and new_government[r, 0]) else 1.0
    return out


def run(m: Month) -> None:
    m.exposure = launch(_month, m.ctx.damascus_zones, m.new_government, m.damascus_capacity,
                        m.P.state_target_share)
