"""ODD 7.3 Attacks: a discrete-time Hawkes process per zone, and their severity.

  lambda_z = a_c * M_z * (M_z / 100) ** (gamma - 1) * (1 - S_z) * (1 + w_z) * (1 - D) + alpha * X_z
  X_z'     = delta * X_z + (1 - delta) * N_z          (geometric kernel; alpha: branching ratio)
  S_z      = 1 - exp(-E_z mu_z / s)                    (security from intelligence-led operations)

Severity (people killed or wounded per attack) is heavy-tailed: a discrete Pareto with exponent
alpha_sev (Clauset, Young & Gleditsch 2007 estimate about 2.4 for terrorist events), drawn for
up to ``SEVERITY_SLOTS`` attacks a month per country; attacks beyond that count at the mean.
Seasonality (e.g. Ramadan campaigns) is left out: the monthly record we fit shows no stable
seasonal pattern we could identify.
"""

from __future__ import annotations

import numpy as np

SEVERITY_SLOTS = 24


def security(intel_led_ops: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return -np.expm1(-intel_led_ops / scale)


def intensity(members: np.ndarray, rate: np.ndarray, scale_exponent: np.ndarray, security_z: np.ndarray,
              boost: np.ndarray, disruption: np.ndarray, excitation: np.ndarray,
              branching: np.ndarray) -> np.ndarray:
    scaled = np.divide(members, 100.0)
    capacity = np.where(members > 0, members * np.power(np.maximum(scaled, 1e-9), scale_exponent - 1.0), 0.0)
    return rate * capacity * (1.0 - security_z) * (1.0 + boost) * (1.0 - disruption) + branching * excitation


def next_excitation(excitation: np.ndarray, attacks: np.ndarray, memory: np.ndarray) -> np.ndarray:
    return memory * excitation + (1.0 - memory) * attacks


def weapons_boost(stock: np.ndarray, max_boost: np.ndarray, half_stock: np.ndarray,
                  mask: np.ndarray) -> np.ndarray:
    """Smuggled weapons raise attack capacity in corridor and desert zones (saturating)."""
    return max_boost * stock / (stock + half_stock) * mask


def severity(attacks: np.ndarray, u: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Total casualties of ``attacks`` (R, 1) given uniforms u (R, SEVERITY_SLOTS).

    Each attack's casualties are floor((1 - u) ** (-1 / (exponent - 1))) - 1 (0, 1, 2, ...).
    """
    each = np.floor((1.0 - u) ** (-1.0 / (exponent - 1.0))) - 1.0
    slots = np.arange(u.shape[-1])
    drawn = (each * (slots < attacks)).sum(axis=-1, keepdims=True)
    mean = np.where(exponent > 2.0, 1.0 / np.maximum(exponent - 2.0, 1e-9), each.mean(-1, keepdims=True))
    return drawn + np.maximum(attacks - u.shape[-1], 0) * np.minimum(mean, 50.0)
