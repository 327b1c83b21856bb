"""ODD 7.3b Targets: what ISIS can attack in the zones Assad's state held.

Before December 2024 most of ISIS's attacks in the Badia and along the Euphrates were ambushes on
the Assad state's army and its allied militias (SOHR's counts of those killed: 101 soldiers and
militiamen and 10 civilians in the first weeks of 2024). When that state fell, its garrisons
dissolved and the Iran-backed militias left Syria within weeks: ISIS lost most of its targets
there. The new government's forces become targets again as they deploy, which the model ties to
its capacity. In a zone Assad's state held, attack intensity is scaled by the exposure

  x = 1                                   under Assad (the calibration window: nothing changes)
  x = 1 - s * (1 - C)                     under the new government, with capacity C in [0, 1]

where s is the share of ISIS's attack opportunities there that were the old state's forces
(``state_target_share``). The SDF's zones keep x = 1, also after Damascus takes them over: the
evidence is about Assad's garrisons, and the north-east's forces did not dissolve.
"""

from __future__ import annotations

import numpy as np


def exposure(state_zones: np.ndarray, new_government: np.ndarray, capacity: np.ndarray,
             target_share: np.ndarray) -> np.ndarray:
    """(R, Z) factor on attack intensity: 1 outside state-held zones and under Assad."""
    after = 1.0 - target_share * (1.0 - np.clip(capacity, 0.0, 1.0))
    return np.where((state_zones > 0) & new_government, after, 1.0)
