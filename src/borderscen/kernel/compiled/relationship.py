"""Compiled :mod:`borderscen.kernel.stages.relationship`: the cooperation index and regime,
intelligence sharing, coordination and joint operations, in one loop over replications."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch, poisson
from borderscen.kernel.stage import Month
from borderscen.mechanisms import draws
from borderscen.mechanisms.cooperation import DETERIORATION, LIMITED, NONE, PARTNERSHIP


@njit(cache=True, nogil=True, error_model="numpy")
def _regime_of(index, low, high):
    return DETERIORATION if index < low else (PARTNERSHIP if index > high else LIMITED)


@njit(cache=True, nogil=True, error_model="numpy")
def _month(regime_before, cooperation_before, openness, willingness, new_government, z, u_joint, noise_sd,
           rate, initial, low, high, hysteresis, quality, channel_floor, centre_interdiction, centres,
           per_month, ceiling):
    R = regime_before.shape[0]
    regime = np.empty((R, 1), np.int64)
    values = np.empty((R, 5))  # cooperation, sharing, coordination, joint operations, output cooperation
    for r in range(R):
        before = regime_before[r, 0]
        started = before != NONE
        lo, hi = low[r, 0], high[r, 0]
        if started:
            c0 = cooperation_before[r, 0]
            goal = math.sqrt(openness[r, 0] * willingness[r, 0])
            index = min(max(c0 + rate[r, 0] * (goal - c0) + noise_sd[r, 0] * z[r, 0], 0.0), 1.0)
        else:
            index = initial[r, 0]
        c = index if new_government[r, 0] else 0.0
        fresh = _regime_of(c, lo, hi)
        if started:
            if before == PARTNERSHIP and c >= hi - hysteresis[r, 0]:
                g = PARTNERSHIP
            elif before == DETERIORATION and c <= lo + hysteresis[r, 0]:
                g = DETERIORATION
            else:
                g = fresh
        else:
            g = fresh
        if not new_government[r, 0]:
            g = NONE
        regime[r, 0] = g
        if g == NONE:
            sharing = 0.0
        else:
            open_share = quality[r, 0] * c * (1.0 if g >= LIMITED else 0.0)
            sharing = max(open_share, quality[r, 0] * channel_floor[r, 0] * (1.0 if g >= 0 else 0.0))
        share = 1.0 if g == PARTNERSHIP else (0.5 if g == LIMITED else 0.0)
        values[r, 0] = c
        values[r, 1] = sharing
        values[r, 2] = centre_interdiction[r, 0] * centres[r, 0] * (1.0 if g == PARTNERSHIP else 0.0)
        values[r, 3] = poisson(u_joint[r, 0], min(per_month[r, 0] * c * share, ceiling[r, 0]))
        values[r, 4] = np.nan if g == NONE else c
    return regime, values


def run(m: Month) -> None:
    s, P, u = m.s, m.P, m.u
    m.regime, t = launch(
        _month, s.regime, s.cooperation, m.openness, m.willingness, m.new_government,
        draws.normal(u["cooperation"]), u["joint_ops"], P.cooperation_noise_sd, P.cooperation_adjustment_rate,
        P.cooperation_initial, P.deterioration_threshold, P.partnership_threshold, P.regime_hysteresis,
        P.intel_sharing_quality, P.channel_floor, P.coordination_centre_interdiction, P.coordination_centres,
        P.joint_ops_per_month, P.joint_ops_ceiling)
    m.cooperation, m.sharing, m.coordination, m.joint_ops = t[:, 0:1], t[:, 1:2], t[:, 2:3], t[:, 3:4]
    m.out.update(cooperation=t[:, 4:5], regime=m.regime.astype(float), joint_operations=m.joint_ops,
                 intel_sharing=m.sharing)
