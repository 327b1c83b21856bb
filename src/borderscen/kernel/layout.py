"""Where each month's random numbers come from: one uniform matrix per replication.

A replication's stream is ``default_rng(seed).random((months, WIDTH))``: row t holds month t's
uniforms, and each mechanism reads its own fixed columns. A run's noise therefore depends only on
its seed, never on its state, scenario, batch size or executor (common random numbers), and the
first T rows are the same whatever the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from borderscen.mechanisms.attacks import SEVERITY_SLOTS


@dataclass(frozen=True)
class Layout:
    blocks: dict[str, slice]
    width: int

    def __getitem__(self, name: str) -> slice:
        return self.blocks[name]


def make_layout(n_zones: int, n_routes: int) -> Layout:
    widths = {
        "faction_noise": 1, "election_noise": 1, "strike": 1, "cooperation": 1,
        "joint_ops": 1, "movement": n_zones, "attrition": n_zones, "exits": n_zones,
        "recruitment": n_zones, "spillover": n_zones, "breakout": 1, "detainee_joiners": 1,
        "resident_joiners": 1, "smuggling_demand": 1, "interdiction": n_routes,
        "attacks": n_zones, "tracked": n_zones, "claimed": n_zones, "official": n_zones,
        "severity_iraq": SEVERITY_SLOTS, "severity_syria": SEVERITY_SLOTS,
        "pipeline_advance": 1, "pipeline_regress": 1,
        "tempo_shock": 1, "tempo_move": 1, "coalition_tempo": 2, "coalition_ops": 2,
        "capacity_noise": 1,
    }
    blocks, start = {}, 0
    for name, w in widths.items():
        blocks[name] = slice(start, start + w)
        start += w
    return Layout(blocks, start)


def uniforms(seeds: list[int] | np.ndarray, months: int, width: int, stream: int = 0) -> np.ndarray:
    """(R, months, width) uniforms, each replication from its own seed.

    ``stream`` 0 is the run's months from January 2022; stream 1 is the spin-up before it
    (a child of the same seed, so a run's spin-up never shares numbers with its months).
    """
    out = np.empty((len(seeds), months, width))
    for r, seed in enumerate(seeds):
        ss = np.random.SeedSequence(int(seed), spawn_key=(stream,) if stream else ())
        out[r] = np.random.default_rng(ss).random((months, width))
    return out
