"""Compiled :mod:`borderscen.kernel.stages.attrition`: neutralised and exits drawn per zone, and
their country totals, in one loop over replications and zones."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import binomial, binomial_given, binomial_p, launch
from borderscen.kernel.stage import Month
from borderscen.mechanisms.attrition import REFERENCE_MEMBERS


@njit(cache=True, nogil=True, error_model="numpy")
def _month(members, ops, intel, coalition_ops, u_attrition, u_exits, yield_syria, yield_iraq,
           disengagement, syria):
    R, Z = members.shape
    after = np.empty((R, Z))
    neutralised = np.empty((R, Z))
    totals = np.zeros((R, 5))  # exits, neutralised (Iraq, Syria), partnered neutralised (Iraq, Syria)
    for r in range(R):
        for z in range(Z):
            y = yield_syria[r, 0] if syria[z] else yield_iraq[r, 0]
            neutralised[r, z] = -math.expm1(-y * intel[r, z] * ops[r, z] / REFERENCE_MEMBERS)  # the hazard
    for r in range(R):  # the draws in a loop of their own: the loop above runs without their branches
        bp_exit = binomial_p(disengagement[r, 0])
        for z in range(Z):
            n = binomial(u_attrition[r, z], members[r, z], neutralised[r, z])
            left = members[r, z] - n
            exits = binomial_given(u_exits[r, z], left, bp_exit)
            after[r, z] = left - exits
            neutralised[r, z] = n
            share = coalition_ops[r, z] / ops[r, z] if ops[r, z] > 0 else 0.0
            c = 1 if syria[z] else 0
            totals[r, 0] += exits
            totals[r, 1 + c] += n
            totals[r, 3 + c] += n * share
    return after, neutralised, totals


def run(m: Month) -> None:
    P = m.P
    m.members, m.neutralised, t = launch(
        _month, m.members, m.ops_z, m.intel, m.coalition_ops_z, m.u["attrition"], m.u["exits"],
        P.yield_per_operation_syria, P.yield_per_operation_iraq, P.disengagement_rate, m.ctx.is_syria)
    m.out.update(exits=t[:, 0:1], neutralised_iraq=t[:, 1:2], neutralised_syria=t[:, 2:3],
                 partnered_neutralised_iraq=t[:, 3:4], partnered_neutralised_syria=t[:, 4:5])
