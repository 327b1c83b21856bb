"""ODD 7.3 Attack generation: a discrete-time Hawkes process per zone.

lambda_z(t) = mu_z(t) + alpha * X_z(t),  X_z(t) = delta * X_z(t-1) + (1 - delta) * N_z(t-1)
mu_z(t)     = r * (F_z / 100) * (1 - S_z) * (1 + w * W / (W + W_half) * corridor_z)
S_z         = 1 - exp(-E_z * mu^intel_z / s)       (security from intelligence-led operations)

alpha < 1 keeps the process stable; the geometric kernel sums to one, so alpha is the branching
ratio (expected follow-on attacks per attack).
"""

from __future__ import annotations

import numpy as np


def security(intel_led_ops: np.ndarray, scale: float) -> np.ndarray:
    return -np.expm1(-np.asarray(intel_led_ops, float) / scale)


def base_intensity(members: np.ndarray, rate: float, security_z: np.ndarray,
                   weapons_boost: np.ndarray) -> np.ndarray:
    return rate * np.asarray(members, float) / 100.0 * (1.0 - security_z) * (1.0 + weapons_boost)


def intensity(base: np.ndarray, excitation: np.ndarray, branching: float) -> np.ndarray:
    return base + branching * excitation


def next_excitation(excitation: np.ndarray, attacks: np.ndarray, memory: float) -> np.ndarray:
    return memory * excitation + (1.0 - memory) * attacks


def weapons_boost(stock: float, max_boost: float, half_stock: float, mask: np.ndarray) -> np.ndarray:
    """Smuggled weapons raise attack capacity in corridor and desert zones (saturating)."""
    return max_boost * stock / (stock + half_stock) * mask
