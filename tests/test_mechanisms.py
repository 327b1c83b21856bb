"""Each submodel alone: exact draws, and the limiting behaviour its ODD section claims."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

from borderscen.mechanisms import (
    attacks,
    attrition,
    camps,
    cooperation,
    draws,
    forces,
    leadership,
    movement,
    pipeline,
    politics,
    recruitment,
    smuggling,
)
from borderscen.randomness import as_int_seed, run_seed

RNG = np.random.default_rng(2026)


# ----------------------------------------------------------------------------- draws
def test_binomial_draws_equal_scipy_quantiles_to_the_integer():
    u = RNG.random(50_000)
    for n_max, p_pow in ((30, 1), (3000, 3), (20_000, 6)):
        n = RNG.integers(0, n_max, u.size).astype(float)
        p = RNG.random(u.size) ** p_pow
        np.testing.assert_array_equal(draws.binomial(u, n, p), st.binom.ppf(u, n, p))


def test_poisson_draws_equal_scipy_quantiles_to_the_integer():
    u = RNG.random(50_000)
    for scale in (0.05, 3.0, 400.0):
        lam = RNG.random(u.size) * scale
        np.testing.assert_array_equal(draws.poisson(u, lam), st.poisson.ppf(u, lam))


def test_draws_handle_edges():
    assert draws.binomial(np.array([0.5]), np.array([10.0]), np.array([1.0]))[0] == 10
    assert draws.binomial(np.array([0.5]), np.array([0.0]), np.array([0.5]))[0] == 0
    assert draws.poisson(np.array([0.999]), np.array([0.0]))[0] == 0


def test_seeds():
    assert run_seed(1, 0) != run_seed(1, 1) and run_seed(1, 3) == run_seed(1, 3)
    assert as_int_seed(np.int64(5)) == 5
    with pytest.raises(ValueError, match="non-negative integer"):
        as_int_seed(-1)


# ----------------------------------------------------------------------------- recruitment
def test_recruitable_share_matches_a_fine_grid_of_epsteins_rule():
    h, r = np.meshgrid((np.arange(600) + 0.5) / 600, (np.arange(600) + 0.5) / 600)
    for legit, arrest, thr in ((0.5, 0.2, 0.1), (0.2, 0.9, 0.05), (0.8, 0.0, 0.1), (0.3, 0.5, 0.0)):
        exact = recruitment.recruitable_share(np.array(legit), np.array(arrest), np.array(thr))
        grid = ((1 - legit) * h - r * arrest > thr).mean()
        assert abs(exact - grid) < 2e-3


def test_recruitment_falls_to_zero_as_the_pool_empties():
    members = np.full(5, 300.0)
    pools = np.array([4000.0, 1000.0, 100.0, 1.0, 0.0])
    rec = recruitment.expected_recruits(members, pools, np.full(5, 400_000.0), 0.01, 0.2, 0.0)
    assert np.all(np.diff(rec) < 0) and rec[-1] == 0
    assert np.all(rec <= pools)


def test_recruits_and_arrests_deplete_the_pool_and_grievance_renews_it():
    pool = recruitment.deplete_pool(np.array([100.0]), np.array([30.0]), np.array([20.0]), 1.0)
    assert pool[0] == 50
    assert recruitment.deplete_pool(np.array([10.0]), np.array([30.0]), np.array([0.0]), 1.0)[0] == 0
    renewed = recruitment.renew_pool(pool, np.array([200.0]), 0.1, np.array([0.0]))
    assert 50 < renewed[0] < 200


def test_the_pool_model_has_an_interior_equilibrium():
    """Iterating members and pool deterministically converges to the same positive level from
    a low and a high start: bounded, neither runaway nor extinct."""
    ends = []
    for m0 in (50.0, 5000.0):
        m, s = np.array([m0]), np.array([2000.0])
        for _ in range(1200):
            rec = recruitment.expected_recruits(m, s, np.array([400_000.0]), 0.01, 0.3, 0.0)
            lost = m * 0.03
            s = recruitment.renew_pool(s, np.array([2000.0]), 0.02, np.array([0.0])) - rec
            m = m + rec - lost
        ends.append(m[0])
    assert ends[0] > 10 and abs(ends[0] - ends[1]) / ends[1] < 0.01


def test_legitimacy_moves_toward_governance_and_harm_erodes_it():
    up = recruitment.next_legitimacy(np.array([0.2]), np.array([0.6]), 0.1, np.array([0.0]), 0.01)
    hurt = recruitment.next_legitimacy(np.array([0.2]), np.array([0.6]), 0.1, np.array([5.0]), 0.01)
    assert 0.2 < up[0] < 0.6 and hurt[0] < up[0]


# ----------------------------------------------------------------------------- attrition, forces
def test_per_member_attrition_does_not_fall_as_members_grow():
    """The hazard depends on operations and intelligence only: yield per operation rises with
    members in proportion (no saturation)."""
    h = attrition.member_hazard(np.array([20.0]), np.array([0.5]), np.array([0.8]))
    members = np.array([50.0, 500.0, 5000.0])
    yield_per_op = members * h / 20.0
    np.testing.assert_allclose(yield_per_op / members, yield_per_op[0] / members[0])
    assert attrition.member_hazard(np.array([0.0]), np.array([0.5]), np.array([0.8]))[0] == 0


def test_yield_per_operation_is_on_centcoms_scale_at_100_members():
    h = attrition.member_hazard(np.array([1.0]), np.array([1.0]), np.array([0.8]))
    assert h[0] * 100 == pytest.approx(0.8, rel=0.01)


def test_effort_rises_with_threat_within_surge_capacity_and_presence():
    e = forces.effort(20.0, np.array([1.0, 10.0, 100.0, 10_000.0]), 10.0, 0.5, 3.0, 1.0)
    assert np.all(np.diff(e[:3]) > 0) and e[1] == pytest.approx(20.0) and e[-1] == pytest.approx(60.0)
    assert forces.effort(20.0, np.array([50.0]), 10.0, 0.0, 3.0, 1.0)[0] == pytest.approx(20.0)
    assert forces.effort(20.0, np.array([50.0]), 10.0, 0.5, 3.0, 0.0)[0] == 0


def test_effort_goes_where_attacks_were_seen_and_sums_to_the_total():
    area = np.array([[1.0, 1.0, 0.0]])
    out = forces.allocate(np.array([[10.0]]), area, np.array([[9.5, 0.0, 50.0]]))
    assert out.sum() == pytest.approx(10.0) and out[0, 2] == 0 and out[0, 0] > out[0, 1]


def test_intelligence_sources_combine_as_independent_detections():
    assert forces.combine_intel(np.array([0.5]), np.array([0.5]))[0] == pytest.approx(0.75)
    hops = np.array([[0.0, 1.0, 2.0]])
    isr = forces.isr_coverage(np.array([[1.0]]), hops, np.array([[0.5]]), np.array([[0.5]]))
    np.testing.assert_allclose(isr, [[0.5, 0.25, 0.125]])


# ----------------------------------------------------------------------------- attacks
def test_hawkes_excitation_raises_the_long_run_rate_by_one_over_one_minus_alpha():
    u = np.random.default_rng(1).random((4000, 200))
    rates = []
    for alpha in (0.0, 0.5):
        x, total = np.zeros(200), np.zeros(200)
        for t in range(4000):
            lam = attacks.intensity(np.full(200, 100.0), 0.02, 1.0, 0.0, 0.0, 0.0, x, alpha)
            n = draws.poisson(u[t], lam)
            x = attacks.next_excitation(x, n, 0.5)
            total += n
        rates.append(total.mean() / 4000)
    assert rates[1] / rates[0] == pytest.approx(2.0, rel=0.05)


def test_scale_exponent_above_one_makes_big_networks_attack_more_per_member():
    m = np.array([50.0, 200.0, 0.0])
    per_member = attacks.intensity(m, 0.01, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0) / np.maximum(m, 1)
    assert per_member[1] > per_member[0] and per_member[2] == 0
    flat = attacks.intensity(m, 0.01, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0) / np.maximum(m, 1)
    assert flat[0] == pytest.approx(flat[1])


def test_security_and_disruption_cut_attacks():
    base = attacks.intensity(np.array([100.0]), 0.02, 1.0, np.array([0.0]), 0.0, 0.0, 0.0, 0.0)
    cut = attacks.intensity(np.array([100.0]), 0.02, 1.0, np.array([0.5]), 0.0, 0.25, 0.0, 0.0)
    assert cut[0] == pytest.approx(base[0] * 0.5 * 0.75)


def test_severity_is_heavy_tailed_and_counts_every_attack():
    u = np.random.default_rng(3).random((20_000, attacks.SEVERITY_SLOTS))
    one = attacks.severity(np.ones((20_000, 1)), u, np.array(2.4))
    assert one.min() >= 0 and np.percentile(one, 99.9) > 20 * np.median(one + 1)
    none = attacks.severity(np.zeros((5, 1)), u[:5], np.array(2.4))
    assert (none == 0).all()


# ----------------------------------------------------------------------------- camps, leadership
def test_breakout_needs_weak_guards_and_isis_capacity():
    h = camps.breakout_hazard
    assert h(0.3, 0.01, 4.0, 500.0, 300.0) > h(0.9, 0.01, 4.0, 500.0, 300.0)
    assert h(0.3, 0.01, 4.0, 500.0, 300.0) > h(0.3, 0.01, 4.0, 20.0, 300.0)
    assert h(0.3, 0.01, 4.0, 0.0, 300.0) == 0


def test_repatriation_never_exceeds_who_is_left():
    np.testing.assert_array_equal(camps.repatriation(np.array([100.0, 1000.0]), 250.0), [100.0, 250.0])


def test_disruption_jumps_at_a_strike_and_decays():
    d = leadership.next_disruption(np.array([0.0]), np.array([1.0]), 0.3, 4.0)
    later = leadership.next_disruption(d, np.array([0.0]), 0.3, 4.0)
    assert d[0] == pytest.approx(0.3) and later[0] == pytest.approx(0.225)


# ----------------------------------------------------------------------------- politics, regimes
def test_factions_revert_to_their_electoral_anchor():
    t = np.array([0.6])
    for _ in range(300):
        goal = politics.tehran_goal(0.35, 0.4, 0.3, 0.5, 0.5, 0.2)
        t, _ = politics.shift_to_tehran(t, 0.8 - t, 0.05 * (goal - t))
    assert t[0] == pytest.approx(0.35 + 0.2 * (0.5 * 0.4 - 0.5 * 0.3), abs=1e-3)


def test_regimes_have_hysteresis_and_fixed_thresholds():
    nr = cooperation.next_regime
    p, lim, d = cooperation.PARTNERSHIP, cooperation.LIMITED, cooperation.DETERIORATION
    assert nr(np.array(lim), np.array(0.62), 0.25, 0.6, 0.05) == p
    assert nr(np.array(p), np.array(0.57), 0.25, 0.6, 0.05) == p
    assert nr(np.array(p), np.array(0.54), 0.25, 0.6, 0.05) == lim
    assert nr(np.array(d), np.array(0.28), 0.25, 0.6, 0.05) == d


def test_the_channel_floor_keeps_sharing_in_deterioration():
    d = np.array(cooperation.DETERIORATION)
    assert cooperation.intel_sharing(np.array(0.2), d, 0.3, 0.0) == 0
    assert cooperation.intel_sharing(np.array(0.2), d, 0.3, 0.6) == pytest.approx(0.18)
    capped = cooperation.expected_joint_operations(np.array(0.9), np.array(cooperation.PARTNERSHIP), 8, 3)
    assert capped == 3


def test_pipeline_advances_only_in_partnership_and_slips_in_deterioration():
    stage, durations = np.array([[1.0]]), np.array([[6.0, 12.0, 12.0, 30.0]])
    p_in = pipeline.advance_probability(stage, np.array([[True]]), durations, 0.0, 0.5)
    p_out = pipeline.advance_probability(stage, np.array([[False]]), durations, 0.0, 0.5)
    assert p_in[0, 0] == pytest.approx(1 / 12) and p_out[0, 0] == 0
    down = pipeline.next_stage(stage, np.array([[0.9]]), np.array([[0.0]]), p_out, np.array([[True]]), 0.2)
    assert down[0, 0] == 0


# ----------------------------------------------------------------------------- smuggling, movement
def test_interdiction_on_one_route_displaces_flow():
    risk = np.array([0.1, 0.1, 0.1])
    base = smuggling.route_shares(risk, np.zeros(3), 3.0)
    pushed = smuggling.route_shares(np.array([0.8, 0.1, 0.1]), np.zeros(3), 3.0)
    assert pushed[0] < base[0] and pushed[1] > base[1]
    assert (smuggling.attempted_flow(100.0, base, risk, 0.5)
            > smuggling.attempted_flow(100.0, base, risk + 0.5, 0.5))


def test_movers_split_exactly_and_avoid_secure_neighbours():
    from borderscen.inputs.space import border_map
    zmap = border_map()
    sec = np.zeros((1, zmap.n))
    w = movement.neighbour_weights(zmap.nbr, zmap.nbr_mask, zmap.nbr_cross, np.array([[0.5]]),
                                   zmap.hospitality, sec, np.array([[2.0]]))
    movers = np.full((1, zmap.n), 37.0)
    flows = movement.split(movers, w)
    np.testing.assert_array_equal(flows.sum(-1), movers)
    onehot = np.zeros((zmap.n, zmap.nbr.shape[1], zmap.n))
    for z in range(zmap.n):
        for d in range(zmap.nbr.shape[1]):
            onehot[z, d, zmap.nbr[z, d]] = zmap.nbr_mask[z, d]
    after = movement.apply(np.full((1, zmap.n), 100.0), flows, onehot)
    assert after.sum() == 100.0 * zmap.n
    secured = sec.copy()
    secured[0, zmap.index["anbar_desert"]] = 0.9
    w2 = movement.neighbour_weights(zmap.nbr, zmap.nbr_mask, zmap.nbr_cross, np.array([[0.5]]),
                                    zmap.hospitality, secured, np.array([[2.0]]))
    into_anbar = (zmap.nbr == zmap.index["anbar_desert"]) & zmap.nbr_mask
    assert (w2[0][into_anbar] < w[0][into_anbar]).all()


# ----------------------------------------------------------------------------- maths moved out of the month
def test_a_hazard_breakout_frees_a_share_of_every_stock_and_a_recorded_one_only_its_detainees():
    args = (np.array([[0.3]]), np.array([[0.1]]), np.array([[1000.0]]), np.array([[4000.0]]),
            np.array([[800.0]]))
    det, alhol, roj = camps.breakout_escapes(np.array([[True]]), False, np.array([[50.0]]), *args[1:])
    assert (det[0, 0], alhol[0, 0], roj[0, 0]) == (100.0, 400.0, 80.0)
    det, alhol, roj = camps.breakout_escapes(np.array([[True]]), True, np.array([[50.0]]), *args[1:])
    assert (det[0, 0], alhol[0, 0], roj[0, 0]) == (50.0, 0.0, 0.0)
    none = camps.breakout_escapes(np.array([[False]]), False, np.array([[50.0]]), *args[1:])
    assert all(x[0, 0] == 0 for x in none)
    # Iraqis escape in proportion to their share of al-Hol, never more than there are
    assert camps.escaped_iraqis(np.array(400.0), np.array(1000.0), np.array(4000.0)) == 100.0
    assert camps.escaped_iraqis(np.array(400.0), np.array(50.0), np.array(0.0)) == 50.0


def test_smuggling_demand_has_its_mean_and_route_hazard_adds_its_parts():
    z = draws.normal((np.arange(200_000) + 0.5) / 200_000)
    assert smuggling.demand(np.array(40.0), np.array(0.5), z).mean() == pytest.approx(40.0, rel=1e-3)
    h = smuggling.route_hazard(np.array([True, False]), np.array(0.4), np.array(0.1), np.array(0.2),
                               np.array(0.05), np.array([[0.2, 0.4], [0.0, 0.0]]))
    np.testing.assert_allclose(h, [0.4 + 0.2 + 0.05 + 0.3, 0.1 + 0.2 + 0.05 + 0.0])
    stock = smuggling.next_weapons_stock(np.array(10.0), np.array(0.1), np.array(0.5), np.array(8.0),
                                         np.array(10.0))
    assert stock == pytest.approx(9.0)  # nothing got through: only decay


def test_syria_legitimacy_target_and_strike_reach_follow_their_drivers():
    new = np.array([False, True, True])
    target = recruitment.syria_legitimacy_target(new, np.array(0.4), np.array(0.2),
                                                 np.array([0.9, 0.5, 1.0]), np.array(0.1))
    np.testing.assert_allclose(target, [0.1, 0.4, 0.5])
    reach = leadership.strike_reach(np.array([0.2, 1.0]), np.array([0.6, 0.0]), np.array(0.5),
                                    np.array(0.3), np.array(0.5))
    np.testing.assert_allclose(reach, [0.6 * 0.5 + 0.15, 1.0 * 0.5 + 0.15])
    assert politics.militia_fear(np.array(0.8), np.array(0.7), np.array(0.6)) == pytest.approx(0.8)
