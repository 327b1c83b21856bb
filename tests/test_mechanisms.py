"""Issue 3: each submodel as a pure function, tested without a model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from borderscen.mechanisms import (
    attacks,
    attrition,
    camps,
    cooperation,
    intelligence,
    movement,
    pipeline,
    recruitment,
    smuggling,
)
from borderscen.randomness import binomial_from_uniform, poisson_from_uniform, run_seed

RNG = np.random.default_rng(12345)


def test_inverse_cdf_draws_have_the_right_distributions():
    u = RNG.random(20_000)
    for lam in (0.4, 6.0, 80.0):
        k = poisson_from_uniform(u, np.full(u.size, lam))
        np.testing.assert_array_equal(k, stats.poisson.ppf(u, lam))
    for n, p in ((12, 0.3), (900, 0.01), (5, 0.999)):
        k = binomial_from_uniform(u, np.full(u.size, n), np.full(u.size, p))
        np.testing.assert_array_equal(k, stats.binom.ppf(u, n, p))
    assert (poisson_from_uniform(u[:5], np.zeros(5)) == 0).all()
    assert (binomial_from_uniform(u[:5], np.zeros(5), np.full(5, 0.5)) == 0).all()


def test_run_seeds_are_distinct_per_replication_and_stable():
    seeds = [run_seed(7, r) for r in range(1000)]
    assert len(set(seeds)) == 1000
    assert seeds[3] == run_seed(7, 3) and run_seed(8, 3) != seeds[3]


def test_intelligence_sources_combine_as_independent_detections():
    mu = intelligence.combine(np.array([0.2, 0.0]), np.array([0.5, 0.0]), 0.1)
    np.testing.assert_allclose(mu, [1 - 0.8 * 0.5 * 0.9, 0.1])


def test_isr_falls_with_distance_and_without_active_bases():
    hops = np.array([[0.0, 1.0, 2.0]])
    full = intelligence.isr_coverage(np.array([1.0]), np.array([True]), hops, 0.5, 0.6)
    np.testing.assert_allclose(full, [0.5, 0.3, 0.18])
    off = intelligence.isr_coverage(np.array([1.0]), np.array([False]), hops, 0.5, 0.6)
    assert (off == 0).all()


def test_more_intelligence_means_more_losses_and_less_civilian_harm():
    effort, members = np.full(3, 20.0), np.full(3, 400.0)
    low, harm_low = attrition.expected_losses(effort, np.full(3, 0.2), members, 30, 20, 300)
    high, harm_high = attrition.expected_losses(effort, np.full(3, 0.6), members, 30, 20, 300)
    assert (high > low).all() and (harm_high < harm_low).all()
    none, _ = attrition.expected_losses(effort, np.full(3, 0.6), np.zeros(3), 30, 20, 300)
    assert (none == 0).all()


def test_targeted_attrition_saturates_when_cells_are_scarce():
    effort, intel = np.array([20.0]), np.array([0.8])
    per_member = [attrition.expected_losses(effort, intel, np.array([m]), 30, 20, 300)[0][0] / m
                  for m in (50.0, 500.0, 5000.0)]
    assert per_member[0] > per_member[1] > per_member[2]


def test_loss_allocation_keeps_zone_totals_and_never_exceeds_members():
    zone = RNG.integers(0, 5, 300)
    members = RNG.integers(0, 90, 300)
    totals = np.bincount(zone, members, minlength=5).astype(np.int64)
    zone_losses = (totals * RNG.random(5)).astype(np.int64)
    out = attrition.allocate_to_cells(zone_losses, zone, members)
    np.testing.assert_array_equal(np.bincount(zone, out, minlength=5), zone_losses)
    assert (out >= 0).all() and (out <= members).all()


def test_hawkes_self_excitation_raises_the_long_run_rate():
    base, memory, months = np.full(200, 2.0), 0.5, 120
    means = []
    for alpha in (0.0, 0.5):
        x, total = np.zeros(200), 0
        rng = np.random.default_rng(1)
        for _ in range(months):
            n = poisson_from_uniform(rng.random(200), attacks.intensity(base, x, alpha))
            x = attacks.next_excitation(x, n, memory)
            total += n.sum()
        means.append(total / (200 * months))
    assert means[0] == pytest.approx(2.0, rel=0.05)
    assert means[1] == pytest.approx(2.0 / (1 - 0.5), rel=0.08)  # stationary mean mu / (1 - alpha)


def test_security_cuts_the_base_attack_rate():
    members = np.full(2, 500.0)
    sec = attacks.security(np.array([0.0, 30.0]), 15)
    rate = attacks.base_intensity(members, 1.0, sec, np.zeros(2))
    assert rate[0] == pytest.approx(5.0) and rate[1] < rate[0] * 0.2


def test_recruitable_share_follows_epsteins_rule():
    share = recruitment.recruitable_share(np.array([0.2, 0.8, 0.5, 0.5]),
                                          np.array([0.0, 0.0, 0.0, 0.9]), 0.1)
    assert share[0] > share[1]          # lower legitimacy, more grievance
    assert share[2] > share[3]          # higher arrest risk deters
    # exact for a = 0: P(H (1 - L) > T) = 1 - T / (1 - L)
    assert share[0] == pytest.approx(1 - 0.1 / 0.8, abs=0.02)


def test_backlash_from_civilian_harm_lowers_legitimacy_then_decays():
    b = recruitment.next_backlash(np.zeros(1), np.array([100.0]), 0.002, 0.1)
    assert b[0] == pytest.approx(0.2)
    assert recruitment.next_backlash(b, np.zeros(1), 0.002, 0.1)[0] == pytest.approx(0.18)


def test_breakout_hazard_rises_as_guards_weaken():
    hazards = [camps.breakout_hazard(g, 0.004, 4.0) for g in (1.0, 0.7, 0.3, 0.0)]
    assert hazards == sorted(hazards) and hazards[0] == pytest.approx(1 - np.exp(-0.004))
    assert camps.repatriation(100, 270) == 100


def test_interdiction_at_one_route_displaces_flow_rather_than_ending_it():
    cost = np.array([0.0, 0.5, 0.5])
    p0 = smuggling.interdiction_probability(np.array([0.4, 0.1, 0.1]))
    p1 = smuggling.interdiction_probability(np.array([1.5, 0.1, 0.1]))  # crack down on the crossing
    s0, s1 = smuggling.route_shares(p0, cost, 3.0), smuggling.route_shares(p1, cost, 3.0)
    assert s1[0] < s0[0] and (s1[1:] > s0[1:]).all()
    f0 = smuggling.attempted_flow(100, s0, p0, 0.5)
    f1 = smuggling.attempted_flow(100, s1, p1, 0.5)
    # the crossing's risk more than doubled, yet total flow moves by under 5%: it went elsewhere
    assert p1[0] > 2 * p0[0] and abs(f1 - f0) / f0 < 0.05


def test_pressure_on_every_route_cuts_total_flow():
    cost = np.array([0.0, 0.5, 0.5])
    hazard = np.array([0.4, 0.1, 0.1])
    flows = []
    for extra in (0.0, 0.4, 1.0):  # e.g. joint border coordination centres on all routes
        p = smuggling.interdiction_probability(hazard + extra)
        flows.append(smuggling.attempted_flow(100, smuggling.route_shares(p, cost, 3.0), p, 0.5))
    assert flows[0] > flows[1] > flows[2]


def test_cooperation_regimes_have_hysteresis():
    low, high, h = 0.25, 0.6, 0.05
    assert cooperation.initial_regime(0.61, low, high) == "partnership"
    assert cooperation.next_regime("partnership", 0.57, low, high, h) == "partnership"
    assert cooperation.next_regime("partnership", 0.54, low, high, h) == "limited"
    assert cooperation.next_regime("limited", 0.57, low, high, h) == "limited"
    assert cooperation.next_regime("deterioration", 0.29, low, high, h) == "deterioration"
    assert cooperation.next_regime("deterioration", 0.31, low, high, h) == "limited"
    assert cooperation.target(0.9, 0.1) == pytest.approx(0.3)
    assert cooperation.next_index(0.95, 1.0, 0.5, 0.2) == 1.0


def test_pipeline_advances_only_in_partnership_with_a_secure_route():
    args = dict(security_min=0.15, base=0.2, turkey=0.5, turkey_drag=0.5, cost_drag=0.3)
    assert pipeline.advance_probability("limited", 0.9, **args) == 0
    assert pipeline.advance_probability("partnership", 0.1, **args) == 0
    p = pipeline.advance_probability("partnership", 0.3, **args)
    assert p == pytest.approx(0.2 * 0.75 * 0.7)
    assert pipeline.advance_probability("partnership", 0.3, **{**args, "turkey": 1.0}) < p
    assert pipeline.next_stage(2, "deterioration", 0.9, 0.01, 0.0, 0.1) == 1
    assert pipeline.next_stage(4, "partnership", 0.0, 0.9, 1.0, 0.1) == 4


def test_cells_move_to_neighbours_and_avoid_secured_zones():
    nbr = np.array([[1, 2], [0, 0], [0, 0]])
    mask = np.array([[True, True], [True, False], [True, False]])
    cross = np.array([[False, True], [False, False], [True, False]])
    zone = np.zeros(10_000, int)
    u = np.random.default_rng(3).random((2, zone.size))
    kw = dict(mobility=0.5, nbr=nbr, nbr_mask=mask, nbr_cross=cross, cross_weight=1.0,
              aversion=3.0, hospitality=np.ones(3))
    new = movement.destinations(zone, u[0], u[1], security=np.array([0.0, 0.0, 0.8]), **kw)
    moved = new[new != 0]
    assert abs(len(moved) / zone.size - 0.5) < 0.02
    assert (moved == 1).mean() > 0.85   # zone 2 is secured: exp(-2.4) relative weight
    fortified = movement.destinations(zone, u[0], u[1], security=np.zeros(3), **{**kw, "cross_weight": 0.1})
    assert (fortified == 2).sum() < (movement.destinations(zone, u[0], u[1], security=np.zeros(3),
                                                           **kw) == 2).sum()
