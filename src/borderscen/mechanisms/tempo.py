"""ODD 7.3a ISIS's operational tempo: a latent Markov state that switches between regimes.

ISIS's attack tempo is not a constant rate: it runs campaigns, goes quiet, and reorganises after
it loses leaders or the state it fights changes. Each replication carries a monthly state

  k in {steady, campaign, lull}        multiplier m_k on attack intensity: 1, m_c > 1, m_l < 1

  from steady:    to campaign with p_sc, to lull with p_sl, else stay
  from campaign:  to steady with p_cs, else stay
  from lull:      to steady with p_ls, else stay

and dated shocks override the ordinary transition with their own probability: a leadership loss
sends ISIS into a lull (reorganisation) with q_lead, a change of the state it fights (the fall of
Assad) with q_state, and an announced campaign starts a campaign with q_campaign. Switching rates,
multipliers and q_lead are estimated from monthly counts before 2022 (docs/tempo-evidence.md),
never from the 2025-26 hold-outs. The state is latent: the particle filter infers it from the
record (assimilation.filter).

Two uniforms a month: one for the shock, one for the ordinary transition.
"""

from __future__ import annotations

import numpy as np

STEADY, CAMPAIGN, LULL = 0, 1, 2
NAMES = {STEADY: "steady", CAMPAIGN: "campaign", LULL: "lull"}


def transition_matrix(p_sc, p_sl, p_cs, p_ls) -> np.ndarray:
    """(..., 3, 3) monthly transition matrix (rows: from; columns: to)."""
    p_sc, p_sl, p_cs, p_ls = np.broadcast_arrays(*(np.asarray(x, float) for x in (p_sc, p_sl, p_cs, p_ls)))
    z = np.zeros_like(p_sc)
    rows = [np.stack([1 - p_sc - p_sl, p_sc, p_sl], -1),
            np.stack([p_cs, 1 - p_cs, z], -1),
            np.stack([p_ls, z, 1 - p_ls], -1)]
    return np.stack(rows, -2)


def stationary(p_sc, p_sl, p_cs, p_ls) -> np.ndarray:
    """(..., 3) long-run share of months in each state (for the spin-up's starting draw)."""
    w = np.stack(np.broadcast_arrays(np.ones_like(np.asarray(p_sc, float)),
                                     np.asarray(p_sc, float) / np.asarray(p_cs, float),
                                     np.asarray(p_sl, float) / np.asarray(p_ls, float)), -1)
    return w / w.sum(-1, keepdims=True)


def next_state(state: np.ndarray, u_shock: np.ndarray, u_move: np.ndarray, p_sc, p_sl, p_cs, p_ls,
               lull_shock: np.ndarray, campaign_shock: np.ndarray) -> np.ndarray:
    """Next month's state. ``lull_shock``/``campaign_shock``: this month's shock probabilities
    (0 when no shock), e.g. q_lead where a leadership loss happened."""
    s = state.astype(int)
    to_campaign = np.where(s == STEADY, p_sc, 0.0)
    to_lull = np.where(s == STEADY, p_sl, 0.0)
    to_steady = np.where(s == CAMPAIGN, p_cs, np.where(s == LULL, p_ls, 0.0))
    ordinary = np.where(u_move < to_steady, STEADY,
                        np.where(u_move < to_steady + to_campaign, CAMPAIGN,
                                 np.where(u_move < to_steady + to_campaign + to_lull, LULL, s)))
    # a shock wins over the ordinary move; a lull shock wins over a campaign shock
    shocked = np.where(u_shock < lull_shock, LULL,
                       np.where(u_shock < lull_shock + campaign_shock * (1 - lull_shock), CAMPAIGN, -1))
    return np.where(shocked >= 0, shocked, ordinary).astype(float)


def initial_state(u: np.ndarray, p_sc, p_sl, p_cs, p_ls) -> np.ndarray:
    """A draw from the stationary distribution (the spin-up's first month)."""
    pi = stationary(p_sc, p_sl, p_cs, p_ls)
    c = np.cumsum(pi, -1)
    return (u[..., None] >= c[..., :-1]).sum(-1).astype(float).reshape(u.shape)


def multiplier(state: np.ndarray, campaign: np.ndarray, lull: np.ndarray) -> np.ndarray:
    return np.where(state == CAMPAIGN, campaign, np.where(state == LULL, lull, 1.0))


def shock_probabilities(leadership_loss: np.ndarray, state_change: bool, campaign_announced: bool,
                        q_lead: np.ndarray, q_state: np.ndarray,
                        q_campaign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """This month's (lull, campaign) shock probabilities from its leadership loss and dated shocks."""
    lull = np.clip(q_lead * leadership_loss + q_state * state_change, 0.0, 1.0)
    return lull, q_campaign * campaign_announced
