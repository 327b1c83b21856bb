"""ODD 7.1a The coalition as a modelled actor: presence, a stochastic tempo and retaliation.

Presence scales with troops without a cap, with diminishing returns:

  presence = (troops / reference) ** e         (0 without troops; e in [0, 1])

where the reference is the 2024 level the calibrated base tempo answers (about 2,500 in Iraq and
2,000 in Syria). The coalition's partnered operations are a count, not an expectation:

  x' = phi * x + sigma * z                     latent log tempo per country (AR(1))
  r' = rho * r + beta * max(A - A_seen, 0) / (A_seen + 1)   retaliation after a surge of attacks
  ops ~ Poisson(E * exp(x - var/2) * (1 + r))  var = sigma^2 / (1 - phi^2)

E is the effort rule of ODD 7.1 (threat response within capacity, times presence, times whether
it has a partner on the ground: the SDF, and Damascus once it joins the coalition). A surge of
attacks above what the coalition has been seeing in its partners' zones raises its tempo for a
few months (the retaliation campaigns after attacks on its forces).

The exit timetable and a residual force are axes of 2026-30 (ODD 7.1b): when the dated inputs
set a country's troops to 0 (the scheduled exit), the troops actually there are

  troops = last month's troops   for the first d months the schedule says 0 (d: the delay)
         = residual              afterwards

so with d = 0 and no residual force the schedule holds as written.
"""

from __future__ import annotations

import numpy as np


def presence(troops: np.ndarray, reference: np.ndarray, elasticity: np.ndarray) -> np.ndarray:
    ratio = np.maximum(np.asarray(troops, float), 0.0) / reference
    return np.where(ratio > 0, ratio ** elasticity, 0.0)


def next_log_tempo(x: np.ndarray, phi: np.ndarray, sigma: np.ndarray, z: np.ndarray) -> np.ndarray:
    return phi * x + sigma * z


def tempo_factor(x: np.ndarray, phi: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """exp(x) with its stationary mean divided out (the factor averages 1 over time)."""
    var = sigma * sigma / np.maximum(1.0 - phi * phi, 1e-9)
    return np.exp(x - var / 2.0)


def next_retaliation(r: np.ndarray, attacks: np.ndarray, seen: np.ndarray, memory: np.ndarray,
                     gain: np.ndarray) -> np.ndarray:
    surge = np.maximum(attacks - seen, 0.0) / (seen + 1.0)
    return memory * r + gain * surge


def troops_after_exit(scheduled: np.ndarray, previous: np.ndarray, months_out: np.ndarray,
                      delay: np.ndarray, residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(troops present, months the schedule has said 0) this month, per country.

    ``scheduled``: the dated inputs' troops; ``previous``: last month's troops present;
    ``months_out``: last month's count of months the schedule said 0. While the schedule keeps
    troops above 0 it holds as written; once it says 0, the last level stays ``delay`` months and
    then ``residual`` troops remain.
    """
    scheduled = np.asarray(scheduled, float)
    out = np.where(scheduled > 0, 0.0, months_out + 1.0)
    after = np.where(out <= delay, previous, residual)
    return np.where(scheduled > 0, scheduled, after), out


def coverage(level: np.ndarray) -> np.ndarray:
    """ISR, guarding support and strike reach are shares: they saturate at full presence."""
    return np.minimum(1.0, level)


def base_strength(coverage_iraq: np.ndarray, coverage_syria: np.ndarray, base_in_syria: np.ndarray,
                  base_federal: np.ndarray, federal_bases: np.ndarray) -> np.ndarray:
    """(R, B) strength of each base: its country's coverage, times the use of federal Iraqi bases."""
    strength = np.where(base_in_syria, coverage_syria, coverage_iraq)
    return strength * np.where(base_federal, federal_bases, 1.0)


def innovation_sd(stationary_sd: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """The AR(1) shock's sd that gives the log tempo the stationary sd ``stationary_sd``."""
    return stationary_sd * np.sqrt(1.0 - phi * phi)
