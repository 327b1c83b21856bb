"""Camps and prisons, outflows: repatriation of al-Hol's Iraqis, the camp's closure, transfers
of detainees (ODD 7.5)."""

from __future__ import annotations

import numpy as np

from borderscen.kernel.stage import Month, Stage
from borderscen.mechanisms import camps


def run(m: Month) -> None:
    s, P = m.s, m.P
    m.repatriated = camps.repatriation(s.alhol_iraqis, P.repatriation_per_month)
    m.alhol_iraqis = s.alhol_iraqis - m.repatriated
    m.alhol_residents = s.alhol_residents - m.repatriated
    m.released = np.zeros_like(m.alhol_residents)
    if "camp_closed" in m.triggers:  # al-Hol emptied: Iraqis go home, the rest disperse in Syria
        m.repatriated = m.repatriated + m.alhol_iraqis
        m.released = m.alhol_residents - m.alhol_iraqis
        m.alhol_iraqis, m.alhol_residents = np.zeros_like(m.alhol_residents), np.zeros_like(m.alhol_residents)
    m.detainees = camps.transfer(s.detainees, P.detainee_transfer_per_month)
    m.out["repatriated"] = m.repatriated


STAGE = Stage(
    name="repatriation", odd="7.5", run=run, mechanisms="camps",
    does="Iraqis repatriated from al-Hol (all residents leave if it closes); detainees transferred",
    params="repatriation_per_month detainee_transfer_per_month",
    reads="alhol_iraqis alhol_residents detainees", triggers="camp_closed",
    writes="repatriated alhol_iraqis alhol_residents released detainees",
    outputs="repatriated",
)
