"""Compiled :mod:`borderscen.kernel.stages.repatriation`: al-Hol's Iraqis repatriated (everyone
leaves if the camp closes) and detainees transferred, in one loop over replications."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _month(iraqis, residents, detainees, pace, per_month, closed):
    R = iraqis.shape[0]
    out = np.empty((R, 5))  # repatriated, al-Hol's Iraqis, al-Hol's residents, released, detainees
    for r in range(R):
        repatriated = min(iraqis[r, 0], max(pace[r, 0], 0.0))
        left_iraqis = iraqis[r, 0] - repatriated
        left = residents[r, 0] - repatriated
        released = 0.0
        if closed:  # al-Hol emptied: Iraqis go home, the rest disperse in Syria
            repatriated = repatriated + left_iraqis
            released = left - left_iraqis
            left_iraqis, left = 0.0, 0.0
        out[r, 0], out[r, 1], out[r, 2], out[r, 3] = repatriated, left_iraqis, left, released
        out[r, 4] = max(detainees[r, 0] - per_month[r, 0], 0.0)
    return out


def run(m: Month) -> None:
    s, P = m.s, m.P
    t = launch(_month, s.alhol_iraqis, s.alhol_residents, s.detainees, P.repatriation_per_month,
               P.detainee_transfer_per_month, "camp_closed" in m.triggers)
    m.repatriated, m.alhol_iraqis, m.alhol_residents = t[:, 0:1], t[:, 1:2], t[:, 2:3]
    m.released, m.detainees = t[:, 3:4], t[:, 4:5]
    m.out["repatriated"] = m.repatriated
