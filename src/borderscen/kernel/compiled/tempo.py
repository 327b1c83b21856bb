"""Compiled :mod:`borderscen.kernel.stages.tempo`: the tempo state's shocks and switches and its
multiplier, in one loop over replications."""

from __future__ import annotations

import numpy as np
from numba import njit

from borderscen.kernel.compiled._common import launch
from borderscen.kernel.stage import Month
from borderscen.mechanisms.tempo import CAMPAIGN, LULL, STEADY


@njit(cache=True, nogil=True, error_model="numpy")
def _month(state, strike, u_shock, u_move, spinup, state_change, announced, q_lead, q_state, q_campaign,
           p_sc, p_sl, p_cs, p_ls, campaign_multiplier, lull_multiplier):
    R = state.shape[0]
    out = np.empty((R, 2))  # state, multiplier
    for r in range(R):
        loss = 0.0 if spinup else (1.0 if strike[r, 0] else 0.0)
        lull = min(max(q_lead[r, 0] * loss + q_state[r, 0] * state_change, 0.0), 1.0)
        campaign = q_campaign[r, 0] * announced
        s = int(state[r, 0])
        to_campaign = p_sc[r, 0] if s == STEADY else 0.0
        to_lull = p_sl[r, 0] if s == STEADY else 0.0
        to_steady = p_cs[r, 0] if s == CAMPAIGN else (p_ls[r, 0] if s == LULL else 0.0)
        u = u_move[r, 0]
        if u < to_steady:
            nxt = STEADY
        elif u < to_steady + to_campaign:
            nxt = CAMPAIGN
        elif u < to_steady + to_campaign + to_lull:
            nxt = LULL
        else:
            nxt = s
        if u_shock[r, 0] < lull:  # a shock wins over the ordinary move; a lull over a campaign
            nxt = LULL
        elif u_shock[r, 0] < lull + campaign * (1 - lull):
            nxt = CAMPAIGN
        out[r, 0] = float(nxt)
        out[r, 1] = campaign_multiplier[r, 0] if nxt == CAMPAIGN else (
            lull_multiplier[r, 0] if nxt == LULL else 1.0)
    return out


def run(m: Month) -> None:
    P, triggers = m.P, m.triggers
    t = launch(_month, m.s.tempo, m.strike, m.u["tempo_shock"], m.u["tempo_move"], "spinup" in triggers,
               float("state_change" in triggers), float("campaign_announced" in triggers),
               P.tempo_leadership_lull_prob, P.tempo_state_change_lull_prob, P.tempo_announced_campaign_prob,
               P.tempo_p_steady_to_campaign, P.tempo_p_steady_to_lull, P.tempo_p_campaign_to_steady,
               P.tempo_p_lull_to_steady, P.tempo_campaign_multiplier, P.tempo_lull_multiplier)
    m.tempo, m.tempo_multiplier = t[:, 0:1], t[:, 1:2]
    m.out.update(isis_tempo=m.tempo, isis_tempo_multiplier=m.tempo_multiplier)
