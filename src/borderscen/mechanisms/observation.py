"""ODD 7.10 Observation: reported attacks are a thinned sample of true attacks.

Calibration compares the sources' counts with reported attacks, not true ones.
"""

from __future__ import annotations

import numpy as np

from borderscen.randomness import binomial_from_uniform


def reported(attacks: np.ndarray, report_prob: np.ndarray, u: np.ndarray) -> np.ndarray:
    return binomial_from_uniform(u, attacks, report_prob)
