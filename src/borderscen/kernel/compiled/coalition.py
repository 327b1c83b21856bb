"""Compiled :mod:`borderscen.kernel.stages.coalition`: troops after any delayed exit, presence,
coverage and ISR from the bases, in one loop over replications."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month


@njit(cache=True, nogil=True, error_model="numpy")
def _month(scheduled_iraq, scheduled_syria, previous, months_out, delay, residual_iraq, residual_syria,
           reference_iraq, reference_syria, elasticity, federal_bases, isr_quality, decay,
           base_in_syria, base_federal, base_hops):
    R = previous.shape[0]
    B, Z = base_hops.shape
    troops = np.empty((R, 2))
    clock = np.empty((R, 2))
    presence = np.empty((R, 2))
    coverage = np.empty((R, 2))
    isr = np.empty((R, Z))
    strength = np.empty(B)
    hops = base_hops.astype(np.int64)  # whole hops: decay ** h once per distance, not per base and zone
    decayed = np.empty(hops.max() + 1)
    for r in range(R):
        for h in range(decayed.size):
            decayed[h] = decay[r, 0] ** float(h)
        for c in range(2):
            scheduled = scheduled_iraq[r, 0] if c == 0 else scheduled_syria[r, 0]
            residual = residual_iraq[r, 0] if c == 0 else residual_syria[r, 0]
            reference = reference_iraq[r, 0] if c == 0 else reference_syria[r, 0]
            out = 0.0 if scheduled > 0 else months_out[r, c] + 1.0
            after = previous[r, c] if out <= delay[r, 0] else residual
            t = scheduled if scheduled > 0 else after
            troops[r, c], clock[r, c] = t, out
            ratio = max(t, 0.0) / reference
            presence[r, c] = ratio ** elasticity[r, 0] if ratio > 0 else 0.0
            coverage[r, c] = min(1.0, presence[r, c])
        for b in range(B):
            strength[b] = ((coverage[r, 1] if base_in_syria[b] else coverage[r, 0])
                           * (federal_bases[r, 0] if base_federal[b] else 1.0))
        for z in range(Z):
            best = -np.inf
            for b in range(B):
                best = max(best, strength[b] * decayed[hops[b, z]])
            isr[r, z] = isr_quality[r, 0] * best
    return troops, clock, presence, coverage, isr


def run(m: Month) -> None:
    P, ctx = m.P, m.ctx
    m.troops, m.exit_clock, presence, coverage, m.isr = launch(_month,
        P.us_troops_iraq, P.us_troops_syria, m.s.troops, m.s.exit_clock, P.us_exit_delay_months,
        P.residual_troops_iraq, P.residual_troops_syria, P.us_troops_reference_iraq,
        P.us_troops_reference_syria, P.coalition_troop_elasticity, P.us_federal_bases, P.coalition_isr,
        P.isr_distance_decay, ctx.base_in_syria, ctx.base_federal, ctx.base_hops)
    m.presence_iraq, m.presence_syria = presence[:, :1], presence[:, 1:]
    m.coverage_iraq, m.coverage_syria = coverage[:, :1], coverage[:, 1:]
    m.out["us_troops_iraq"], m.out["us_troops_syria"] = m.troops[:, :1], m.troops[:, 1:]
