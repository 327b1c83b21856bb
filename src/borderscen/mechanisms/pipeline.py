"""ODD 7.8 The Kirkuk-Banias pipeline as a staged project.

Stages: 0 none, 1 agreement, 2 financing, 3 construction, 4 operating. In partnership the
project advances from stage s with monthly probability (1 - turkey_drag * turkey) / D_s, D_s
the stage's expected duration in months; in deterioration it slips back a stage with a monthly
probability. No security gate: we found no evidence for one (it was an assumption in v1).
"""

from __future__ import annotations

import numpy as np

STAGES = ("none", "agreement", "financing", "construction", "operating")
OPERATING = 4


def advance_probability(stage: np.ndarray, in_partnership: np.ndarray, durations: np.ndarray,
                        turkey: np.ndarray, turkey_drag: np.ndarray) -> np.ndarray:
    """durations: (R, 4) expected months to leave stages 0..3."""
    idx = np.minimum(stage, OPERATING - 1).astype(int)
    d = np.take_along_axis(durations, idx, axis=-1)
    p = (1.0 - turkey_drag * turkey) / d
    return np.where(in_partnership & (stage < OPERATING), np.clip(p, 0.0, 1.0), 0.0)


def next_stage(stage: np.ndarray, u_advance: np.ndarray, u_regress: np.ndarray, p_advance: np.ndarray,
               in_deterioration: np.ndarray, p_regress: np.ndarray) -> np.ndarray:
    up = u_advance < p_advance
    down = in_deterioration & (stage > 0) & (u_regress < p_regress)
    return stage + up - (down & ~up)
