"""Compiled :mod:`borderscen.kernel.stages.casualties`: each attack's discrete Pareto severity,
evaluated only for the slots the month's attacks fill."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _severity(attacks, u, exponent):
    """:func:`borderscen.mechanisms.attacks.severity` per replication."""
    R, slots = u.shape
    out = np.empty((R, 1))
    for r in range(R):
        e = exponent[r, 0]
        a = attacks[r, 0]
        drawn = 0.0
        total = 0.0
        every = not e > 2.0  # the mean of the drawn severities stands for attacks beyond the slots
        for j in range(slots):
            if j < a or (every and a > slots):
                each = math.floor((1.0 - u[r, j]) ** (-1.0 / (e - 1.0))) - 1.0
                total += each
                if j < a:
                    drawn += each
        extra = max(a - slots, 0.0)
        if extra > 0.0:
            mean = 1.0 / max(e - 2.0, 1e-9) if e > 2.0 else total / slots
            drawn += extra * min(mean, 50.0)
        out[r, 0] = drawn
    return out


def run(m: Month) -> None:
    P, u = m.P, m.u
    m.out["casualties_iraq"] = launch(_severity, m.attacks_iraq, u["severity_iraq"], P.severity_exponent)
    m.out["casualties_syria"] = launch(_severity, m.attacks_syria, u["severity_syria"], P.severity_exponent)
