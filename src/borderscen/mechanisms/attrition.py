"""ODD 7.2 Counter-terrorism attrition at the scale of the public record.

An operation in zone z finds ISIS members in proportion to how many are there (intelligence
finds more when there is more to find) and to the intelligence behind it:

  yield per operation = y_c * mu_z * M_z / m_ref        (m_ref = 100 members)
  per-member hazard   h_z = 1 - exp(-y_c * mu_z * E_z / m_ref)
  neutralised_z       ~ Binomial(M_z, h_z)

so the loss per member does not fall as ISIS grows (no saturation), and y_c is CENTCOM's unit:
killed plus detained per partnered operation, at 100 members in the zone and full intelligence.
Operations without intelligence (1 - mu) fall on the population and harm civilians, which
erodes legitimacy (Kress & Szechtman 2009).
"""

from __future__ import annotations

import numpy as np

REFERENCE_MEMBERS = 100.0


def member_hazard(operations: np.ndarray, intel: np.ndarray, yield_per_op: np.ndarray) -> np.ndarray:
    return -np.expm1(-yield_per_op * intel * operations / REFERENCE_MEMBERS)


def untargeted_operations(operations: np.ndarray, intel: np.ndarray) -> np.ndarray:
    return operations * (1.0 - intel)


def exit_probability(rate: np.ndarray) -> np.ndarray:
    """Disengagement, defection and arrest outside operations: a constant monthly hazard."""
    return np.clip(rate, 0.0, 1.0)
