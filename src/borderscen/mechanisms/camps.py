"""ODD 7.5 Camps and prisons as stocks: repatriation out, spill-over and breakouts into ISIS.

  repatriated   = min(Iraqis in al-Hol, pace)                         (pace: the dated record)
  spill-over    ~ Poisson(r_s * residents * (1 - guard))
  breakout      : monthly hazard 1 - exp(-h0 * exp(b (1 - guard)) * M_near / (M_near + M_half))

A breakout needs weak guards *and* an organisation with the intent and capacity to mount it: the
hazard grows with guard shortfall and with ISIS members in the camps' zones (the January 2022
Ghwayran assault took hundreds of fighters).
"""

from __future__ import annotations

import numpy as np


def repatriation(iraqis: np.ndarray, pace: np.ndarray) -> np.ndarray:
    return np.minimum(iraqis, np.maximum(pace, 0.0))


def expected_spillover(residents: np.ndarray, guard: np.ndarray, rate: np.ndarray) -> np.ndarray:
    return rate * residents * (1.0 - guard)


def breakout_hazard(guard: np.ndarray, base: np.ndarray, sensitivity: np.ndarray,
                    members_near: np.ndarray, half_members: np.ndarray) -> np.ndarray:
    capacity = members_near / (members_near + half_members)
    return -np.expm1(-base * np.exp(sensitivity * (1.0 - guard)) * capacity)


def sdf_guard(capacity: np.ndarray, us_dependence: np.ndarray, us_share: np.ndarray,
              turkey_sensitivity: np.ndarray, turkey: np.ndarray) -> np.ndarray:
    return capacity * (1.0 - us_dependence * (1.0 - us_share)) * (1.0 - turkey_sensitivity * turkey)


def transfer(detainees: np.ndarray, per_month: np.ndarray) -> np.ndarray:
    """Detainees left after this month's transfers out of the north-east's prisons."""
    return np.maximum(detainees - per_month, 0.0)


def breakout_escapes(breakout: np.ndarray, recorded: bool, forced_escapees: np.ndarray,
                     escape_fraction: np.ndarray, detainees: np.ndarray, alhol: np.ndarray,
                     roj: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(escaped detainees, al-Hol residents, Roj residents) after a breakout.

    A breakout of the hazard frees a fraction of every stock; a recorded breakout (a dated
    event) frees the recorded number of detainees and no camp residents.
    """
    from_hazard = breakout & (not recorded)
    escaped_detainees = np.minimum(detainees, np.where(
        recorded, forced_escapees, np.round(breakout * escape_fraction * detainees)))
    escaped_alhol = np.round(from_hazard * escape_fraction * alhol)
    escaped_roj = np.round(from_hazard * escape_fraction * roj)
    return escaped_detainees, escaped_alhol, escaped_roj


def escaped_iraqis(escaped_alhol: np.ndarray, iraqis: np.ndarray, alhol: np.ndarray) -> np.ndarray:
    """Iraqis among al-Hol's escapees, in proportion to their share of its residents."""
    return np.minimum(iraqis, np.round(escaped_alhol * iraqis / np.maximum(alhol, 1.0)))
