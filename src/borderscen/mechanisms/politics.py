"""ODD 7.12 The actors' monthly decisions, as pure functions of last month's state.

Baghdad: weights of the Tehran-aligned camp T, the pragmatic camp P and the Kurdish and Sunni
blocs K = 1 - T - P. Iranian pressure moves weight to T, Iraq's own threat moves it to P, and
politics drifts randomly; the 11 Nov 2025 election shifts it once (history).
  threat   = A_iraq / (A_iraq + A_ref_iraq)     A: Iraq's own tracked attacks, smoothed
  T*       = anchor + pull (pressure * I - salience * threat)    anchor: the last election's weight
  dT       = rho (T* - T) + sd * eps           (elections and the branch move the anchor and T)
  openness = logistic(b0 + b_f (P + K/2 - T) + b_t threat - b_turk turkey + us + mediation)
Damascus (from Dec 2024): capacity grows with Gulf support; it fears that cooperation lets Iraqi
militias and Iran back in.
  willingness = logistic(d0 - w_f fear + w_g gulf - b_turk turkey + w_t threat_syria + mediation)
Iran:     I' = I + r (T (1 + push C) - I)
Militias: M' = M + r_m (I C - M)
Turkey:   pressure = o (1/2 + 1/2 min(1, C (I + stage/4 + 1/2)))
Gulf:     support  = g clip(1 - I / tolerance, -1, 1)
"""

from __future__ import annotations

import numpy as np

from borderscen.mechanisms.cooperation import logistic

MIN_CAMP_WEIGHT = 0.02


def threat(observed: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return observed / (observed + reference)


def tehran_goal(anchor, influence, threat_iraq, pressure, salience, pull) -> np.ndarray:
    """Where the Tehran camp's weight tends: its electoral anchor, pushed by Iran, pulled by threat."""
    return anchor + pull * (pressure * influence - salience * threat_iraq)


def shift_to_tehran(tehran: np.ndarray, pragmatic: np.ndarray, amount: np.ndarray):
    shia = tehran + pragmatic
    new_t = np.clip(tehran + amount, MIN_CAMP_WEIGHT, shia - MIN_CAMP_WEIGHT)
    return new_t, shia - new_t


def openness(tehran, pragmatic, threat_iraq, turkey, encouragement, p) -> np.ndarray:
    kurd_sunni = 1.0 - tehran - pragmatic
    return logistic(p.baghdad_openness_bias
                    + p.openness_faction_weight * (pragmatic + kurd_sunni / 2 - tehran)
                    + p.openness_threat_weight * threat_iraq
                    - p.turkey_drag_weight * turkey + encouragement + p.qatar_mediation)


def willingness(fear, gulf, turkey, threat_syria, p) -> np.ndarray:
    return logistic(p.damascus_willingness_bias - p.willingness_fear_weight * fear
                    + p.gulf_weight * gulf - p.turkey_drag_weight * turkey
                    + p.openness_threat_weight * threat_syria + p.qatar_mediation)


def damascus_capacity(capacity, gulf, growth, partner=0.0, partner_gain=0.0, shock=0.0) -> np.ndarray:
    """The new government's counter-terrorism capacity: an uncertain state in [0, 1].

    It grows towards 1 with Gulf support and, once Damascus partners with the coalition, with
    that partnership; a monthly shock (consolidation setbacks, its own fights) makes its path
    uncertain, so the particle filter can read it from the record.
    """
    gain = growth * (1.0 + np.maximum(gulf, 0.0)) + partner_gain * partner
    return np.clip(capacity + gain * (1.0 - capacity) + shock, 0.0, 1.0)


def iran_influence(influence, tehran, cooperation, push, rate) -> np.ndarray:
    goal = np.minimum(1.0, tehran * (1.0 + push * cooperation))
    return influence + rate * (goal - influence)


def militia_presence(presence, influence, cooperation, rate) -> np.ndarray:
    return presence + rate * (influence * cooperation - presence)


def turkey_pressure(opposition, cooperation, influence, stage) -> np.ndarray:
    stakes = cooperation * (influence + stage / 4.0 + 0.5)
    return opposition * (0.5 + 0.5 * np.minimum(1.0, stakes))


def gulf_support(pull, influence, tolerance) -> np.ndarray:
    return pull * np.clip(1.0 - influence / tolerance, -1.0, 1.0)


def us_encouragement(weight: np.ndarray, influence: np.ndarray) -> np.ndarray:
    """Washington's push on Baghdad towards cooperation, blunted by Iran's influence."""
    return weight * (1.0 - influence)


def militia_fear(weight: np.ndarray, influence: np.ndarray, militia: np.ndarray) -> np.ndarray:
    """Damascus's fear that cooperation lets Iran and the militias back in."""
    return weight * np.minimum(1.0, influence + militia)
