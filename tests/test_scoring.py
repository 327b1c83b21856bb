"""Pre-registered scores (analysis.scoring, docs/scoring.md) on synthetic data with known answers."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from borderscen.analysis import scoring as S

LEVELS = np.round(np.linspace(0.005, 0.995, 199), 3)  # the backtest's grid


def _sr():
    """scoringrules (the dev and scoring extras): the reference the numpy scores must equal."""
    return pytest.importorskip("scoringrules")


def _normal_grid(mu: float = 0.0, sd: float = 1.0) -> np.ndarray:
    return stats.norm.ppf(LEVELS, mu, sd)


# ------------------------------------------------------------------ CRPS against scoringrules
@pytest.mark.parametrize("kind", ["normal", "gamma", "poisson", "tiny"])
def test_crps_sample_equals_scoringrules_on_exact_observations(kind):
    sr = _sr()
    rng = np.random.default_rng(3)
    for trial in range(25):
        x = {"normal": lambda: rng.normal(50, 20, 400), "gamma": lambda: rng.gamma(0.7, 300, 1000),
             "poisson": lambda: rng.poisson(4, 300).astype(float),  # many ties
             "tiny": lambda: rng.normal(0, 1, 3)}[kind]()
        for y in (float(np.median(x)), float(x.min()) - 5, float(x.max()) + 7, float(x[0])):
            ours = S.crps_sample(x, y)
            for est in ("nrg", "int", "qd"):
                ref = float(sr.crps_ensemble(y, x, estimator=est))
                assert ours == pytest.approx(ref, rel=1e-9, abs=1e-9), (kind, trial, y, est)
            ref_log = float(sr.crps_ensemble(np.log1p(max(y, 0)), np.log1p(np.maximum(x, 0)),
                                             estimator="nrg"))
            assert S.crps_log_sample(x, y) == pytest.approx(ref_log, rel=1e-9, abs=1e-9)


def test_crps_quantiles_equals_scoringrules_weighted_ensemble():
    """A quantile grid is the step distribution with level_weights: scoringrules' weighted
    ensemble CRPS of the same values and weights is the same number."""
    sr = _sr()
    rng = np.random.default_rng(4)
    w = S.level_weights(LEVELS)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w[0] == pytest.approx(0.0075) and w[100] == pytest.approx(0.005)
    for _ in range(40):
        q = _normal_grid(rng.normal(10, 5), rng.uniform(0.5, 8))
        y = rng.normal(10, 8)
        for est in ("nrg", "int"):
            ref = float(sr.crps_ensemble(y, q, ens_w=w, estimator=est))
            assert S.crps_quantiles(q, LEVELS, y) == pytest.approx(ref, rel=1e-9, abs=1e-9)
    # and it approximates the closed form of the normal distribution's CRPS
    assert S.crps_quantiles(_normal_grid(), LEVELS, 0.3) == pytest.approx(
        float(sr.crps_normal(0.3, 0.0, 1.0)), rel=0.02)


def test_scoring_works_without_scoringrules():
    code = textwrap.dedent("""
        import sys
        sys.modules["scoringrules"] = None  # importing it now fails
        import numpy as np
        from borderscen.analysis import scoring
        print(scoring.crps_sample(np.array([0.0, 1.0]), 0.0))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) == pytest.approx(0.25)  # E|X-0| - E|X-X'|/2 = 0.5 - 0.25


# ------------------------------------------------------------------ censored CRPS
def _numeric_censored(x: np.ndarray, low: float, high: float) -> float:
    """Brute-force quadrature of int_{-inf}^{low} F^2 + int_{high}^{inf} (1-F)^2 of an ECDF."""
    F = lambda t: float((x <= t).mean())  # noqa: E731
    lo_end, hi_end = x.min() - 1, x.max() + 1
    pts = list(np.sort(x))
    a = integrate.quad(lambda t: F(t) ** 2, lo_end, low, points=[p for p in pts if lo_end < p < low],
                       limit=500)[0] if low > lo_end else 0.0
    b = integrate.quad(lambda t: (1 - F(t)) ** 2, high, hi_end, points=[p for p in pts if high < p < hi_end],
                       limit=500)[0] if np.isfinite(high) and high < hi_end else 0.0
    return a + b


def test_censored_crps_known_values():
    x = np.array([0.0, 1.0])
    assert S.crps_sample(x, 0.5, 2.0) == pytest.approx(0.5 ** 2 * 0.5)  # F = 1/2 on [0, 0.5)
    assert S.crps_sample(x, 2.0, np.inf) == pytest.approx(0.25 * 1 + 1 * 1)  # at least 2
    assert S.crps_sample(x, -1.0, 0.5) == pytest.approx(0.25 * 0.5)  # mass 1/2 above 0.5
    rng = np.random.default_rng(5)
    for _ in range(10):
        s = rng.gamma(2, 10, 30)
        lo = float(rng.uniform(0, 40))
        hi = lo + float(rng.exponential(10)) if rng.random() < 0.7 else np.inf
        assert S.crps_sample(s, lo, hi) == pytest.approx(_numeric_censored(s, lo, hi), abs=1e-6)


def test_censored_crps_zero_inside_positive_outside_and_exact_when_bounds_meet():
    rng = np.random.default_rng(6)
    x = rng.uniform(10, 20, 500)
    assert S.crps_sample(x, 10.0, 20.0) == 0.0
    assert S.crps_sample(x, 5.0, np.inf) == 0.0  # "at least 5": all mass above
    assert S.crps_sample(x, 12.0, 20.0) > 0
    assert S.crps_sample(x, 10.0, 18.0) > 0
    assert S.crps_sample(x, 25.0, np.inf) > 0
    q = _normal_grid(15, 2)
    assert S.crps_quantiles(q, LEVELS, q.min(), q.max()) == 0.0
    assert S.crps_quantiles(q, LEVELS, 16.0, 16.0) == S.crps_quantiles(q, LEVELS, 16.0)
    for y in (3.0, 15.0, 30.0):  # low == high: the energy form E|X - y| - E|X - X'| / 2
        energy = np.abs(x - y).mean() - np.abs(x[:, None] - x[None, :]).mean() / 2
        assert S.crps_sample(x, y, y) == pytest.approx(energy, rel=1e-9)
    # widening the bounds never raises the score, and shrinks it to the exact value's as they meet
    scores = [S.crps_sample(x, 14.0 - d, 14.0 + d) for d in (0, 0.5, 1, 2, 4)]
    assert all(a >= b for a, b in zip(scores, scores[1:], strict=False))
    assert S.crps_sample(x, 14.0 - 1e-9, 14.0 + 1e-9) == pytest.approx(S.crps_sample(x, 14.0), rel=1e-6)


def test_bad_inputs_are_refused_with_the_value():
    with pytest.raises(ValueError, match=r"high < low.*low=5"):
        S.crps_sample([1.0, 2.0], 5.0, 3.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        S.crps_quantiles([1.0, 2.0], [0.5, 0.4], 1.0)
    with pytest.raises(ValueError, match="must not decrease"):
        S.crps_quantiles([2.0, 1.0], [0.4, 0.6], 1.0)
    with pytest.raises(ValueError, match="3 quantiles given for 2 levels"):
        S.crps_quantiles([1.0, 2.0, 3.0], [0.4, 0.6], 1.0)
    with pytest.raises(ValueError, match="lead 13"):
        S.horizon(13)
    with pytest.raises(ValueError, match="lacks the columns"):
        S.score_table(pd.DataFrame({"id": ["a"]}))


# ------------------------------------------------------------------ PIT and coverage
def _chi2_uniform(u: np.ndarray, bins: int = 10) -> float:
    counts = np.histogram(u, bins=bins, range=(0, 1))[0]
    return float(stats.chisquare(counts).pvalue)


def test_pit_of_calibrated_forecast_is_uniform_and_overconfident_is_u_shaped():
    rng = np.random.default_rng(7)
    n = 4000
    mu = rng.normal(0, 3, n)
    y = rng.normal(mu, 1.0)
    calibrated = np.array([S.pit(_normal_grid(m, 1.0), v, levels=LEVELS, rng=rng) for m, v in zip(mu, y,
                                                                                                   strict=True)])
    narrow = np.array([S.pit(_normal_grid(m, 0.5), v, levels=LEVELS, rng=rng) for m, v in zip(mu, y,
                                                                                               strict=True)])
    assert _chi2_uniform(calibrated) > 1e-3
    assert _chi2_uniform(narrow) < 1e-12
    h = np.histogram(narrow, bins=10, range=(0, 1))[0] / n
    assert h[0] > 0.2 and h[-1] > 0.2 and h[4:6].max() < 0.06  # U: piled in the end bins


def test_randomised_pit_needed_for_counts_with_ties():
    """Poisson counts: the randomised PIT is uniform; the plain PIT F(y) (no randomisation) is not."""
    rng = np.random.default_rng(8)
    lam = rng.uniform(0.5, 4, 3000)
    y = rng.poisson(lam)
    w = S.level_weights(LEVELS)
    rand, plain = [], []
    for m, v in zip(lam, y, strict=True):
        q = stats.poisson.ppf(LEVELS, m)  # a calibrated quantile grid with many ties
        rand.append(S.pit(q, float(v), levels=LEVELS, rng=rng))
        plain.append(float(w[q <= v].sum()))
    assert _chi2_uniform(np.array(rand)) > 1e-3
    assert _chi2_uniform(np.array(plain)) < 1e-12


def test_pit_of_interval_observations_is_uniform_for_partition_cells():
    """Counts known only to a cell [3k, 3k+2] of a fixed partition: PIT uniform on [F(a-), F(b)]."""
    rng = np.random.default_rng(9)
    lam = rng.uniform(2, 12, 3000)
    y = rng.poisson(lam)
    u = []
    for m, v in zip(lam, y, strict=True):
        a = 3.0 * (v // 3)
        u.append(S.pit(stats.poisson.ppf(LEVELS, m), a, a + 2, levels=LEVELS, rng=rng))
    assert _chi2_uniform(np.array(u)) > 1e-3
    # the point at a bound (the lower end of each cell) instead is biased: its PIT piles low
    low_end = [S.pit(stats.poisson.ppf(LEVELS, m), 3.0 * (v // 3), levels=LEVELS, rng=rng)
               for m, v in zip(lam, y, strict=True)]
    assert _chi2_uniform(np.array(low_end)) < 1e-6


def test_coverage_of_calibrated_intervals():
    rng = np.random.default_rng(10)
    n = 4000
    mu = rng.normal(0, 3, n)
    y = rng.normal(mu, 1.0)
    c90 = np.mean([S.covered(_normal_grid(m), LEVELS, v, v, 0.9) for m, v in zip(mu, y, strict=True)])
    c50 = np.mean([S.covered(_normal_grid(m), LEVELS, v, v, 0.5) for m, v in zip(mu, y, strict=True)])
    narrow = np.mean([S.covered(_normal_grid(m, 0.5), LEVELS, v, v, 0.9) for m, v in zip(mu, y, strict=True)])
    # binomial sd at n = 4000: 0.005 (90%), 0.008 (50%); 4 sd bands
    assert abs(c90 - 0.9) < 0.02 and abs(c50 - 0.5) < 0.032
    assert narrow < 0.7  # an over-confident forecast is caught (theory: 0.59)
    # samples as well as grids
    cs = np.mean([S.covered(rng.normal(m, 1, 500), None, v, v, 0.9) for m, v in zip(mu[:1000], y[:1000],
                                                                                     strict=True)])
    assert abs(cs - 0.9) < 0.04


def test_coverage_of_bounds_is_overlap():
    q = _normal_grid(100, 10)  # 90% interval about [83.6, 116.4]
    assert S.covered(q, LEVELS, 120, np.inf, 0.9) is False  # at least 120: interval below
    assert S.covered(q, LEVELS, 110, np.inf, 0.9) is True
    assert S.covered(q, LEVELS, 60, 85, 0.9) is True  # bounds reach into the interval
    assert S.covered(q, LEVELS, 60, 80, 0.9) is False
    assert S.central_interval(q, 0.9, LEVELS) == pytest.approx(stats.norm.interval(0.9, 100, 10), rel=1e-9)


# ------------------------------------------------------------------ tables
def _table(rows: list[dict]) -> pd.DataFrame:
    out = []
    for row in rows:
        r = dict(row)
        q = r.pop("q")
        out.append({"origin": "2024-01", "quantity": "attacks", "channel": "tracker", "country": "iraq",
                    "start": "2024-01", "end": "2024-01", "lead": 1, **r,
                    **{f"q{lv:.3f}": v for lv, v in zip(LEVELS, q, strict=True)}})
    return pd.DataFrame(out)


def test_score_table_rows_skills_and_self_skill_zero():
    rng = np.random.default_rng(11)
    rows = []
    for i in range(30):
        y = float(rng.normal(50, 5))
        for name, sd, bias in (("abm", 5, 0), ("no_change", 5, 15), ("trend", 20, 0)):
            rows.append({"id": f"o{i}", "forecaster": name, "low": y, "high": y, "lead": 1 + i % 12,
                         "q": _normal_grid(50 + bias, sd)})
    sc = S.score_table(_table(rows))
    assert len(sc) == 90 and set(sc["horizon"]) == {1, 3, 6, 12}
    assert {"crps", "crps_log", "pit", "pit_mid", "in50", "in90", "group", "skill_no_change",
            "skill_log_trend"} <= set(sc.columns)
    assert "skill_nb_ar1" not in sc.columns  # no such forecaster in the table
    own = sc[sc["forecaster"] == "no_change"]
    assert (own["skill_no_change"] == 0).all() and (own["skill_log_no_change"] == 0).all()
    abm = sc[sc["forecaster"] == "abm"]
    assert (abm["skill_no_change"] > 0).mean() > 0.8  # unbiased beats biased most of the time
    r = sc[(sc["id"] == "o1") & (sc["forecaster"] == "no_change")].iloc[0]
    assert r["crps"] == pytest.approx(S.crps_quantiles(_normal_grid(65, 5), LEVELS, r["low"]))
    base = sc[(sc["id"] == r["id"]) & (sc["forecaster"] == "abm")].iloc[0]
    assert base["skill_no_change"] == pytest.approx(1 - base["crps"] / r["crps"])
    assert (sc["group"] == "attacks").all()
    again = S.score_table(_table(rows))
    assert np.array_equal(again["pit"], sc["pit"])  # seeded


def test_skill_zero_baseline_rule():
    assert S.skill(0.0, 0.0) == 0.0
    assert S.skill(1.0, 0.0) == -np.inf
    assert S.skill(1.0, 2.0) == pytest.approx(0.5)
    assert np.isnan(S.skill(1.0, np.nan))


def test_horizons():
    assert [S.horizon(k) for k in range(1, 13)] == [1, 3, 3, 6, 6, 6, 12, 12, 12, 12, 12, 12]
    with pytest.raises(ValueError):
        S.horizon(0)


def test_ensemble_of_identical_forecasts_equals_each_and_averages_quantiles():
    q = _normal_grid(20, 3)
    rows = [{"id": "a", "forecaster": f, "low": 20.0, "high": 20.0, "q": q}
            for f in ("abm", "trend", "no_change")]
    t = S.ensemble(_table(rows))
    e = t[t["forecaster"] == "ensemble"]
    cols, _ = S.quantile_levels(t)
    assert len(e) == 1 and np.allclose(e[cols].to_numpy()[0], q, rtol=0, atol=1e-12)
    two = S.ensemble(_table([
        {"id": "a", "forecaster": "abm", "low": 1.0, "high": 1.0, "q": _normal_grid(0, 1)},
        {"id": "a", "forecaster": "trend", "low": 1.0, "high": 1.0, "q": _normal_grid(10, 3)}]))
    got = two.loc[two["forecaster"] == "ensemble", cols].to_numpy()[0]
    assert np.allclose(got, stats.norm.ppf(LEVELS, 5, 2))  # the mean of quantiles: location 5, scale 2
    single = S.ensemble(_table([{"id": "b", "forecaster": "abm", "low": 1.0, "high": 1.0, "q": q}]))
    assert (single["forecaster"] != "ensemble").all()  # one member is not an ensemble
    again = S.ensemble(t)
    assert (again["forecaster"] == "ensemble").sum() == 1  # not averaged into itself


def _scores(rows: list[dict]) -> pd.DataFrame:
    base = {"origin": "2024-01", "in50": True, "in90": True, "censored": False}
    return pd.DataFrame([base | r for r in rows])


def test_aggregate_never_pools_groups_and_reports_medians():
    rows = []
    for i, (g, h, s) in enumerate([("attacks", 1, 0.5), ("attacks", 1, -0.2), ("attacks", 3, 0.1),
                                   ("strength", 1, -0.4), ("strength", 12, -0.1)]):
        rows.append({"id": f"o{i}", "forecaster": "abm", "group": g, "horizon": h, "skill_no_change": s,
                     "skill_log_no_change": s / 2, "in90": i != 0})
    agg = S.aggregate(_scores(rows))
    by_group = agg[(agg["horizon"] == "all") & (agg["group"] != "all")]
    assert sorted(by_group["group"]) == ["attacks", "strength"]  # two groups: two rows
    att = by_group[by_group["group"] == "attacks"].iloc[0]
    assert att["median_skill"] == pytest.approx(0.1) and att["share_won"] == pytest.approx(2 / 3)
    assert att["n"] == 3 and att["coverage90"] == pytest.approx(2 / 3)
    st = by_group[by_group["group"] == "strength"].iloc[0]
    assert st["median_skill"] == pytest.approx(-0.25) and st["share_won"] == 0
    h1 = agg[(agg["horizon"] == "1") & (agg["group"] == "all")].iloc[0]
    assert h1["median_skill"] == pytest.approx(-0.2) and h1["n"] == 3
    assert set(agg["horizon"]) == {"all", "1", "3", "12"}


def test_aggregate_skips_self_and_counts_missing_baselines():
    rows = [{"id": "a", "forecaster": "abm", "group": "attacks", "horizon": 1, "skill_trend": np.nan,
             "skill_log_trend": np.nan},
            {"id": "b", "forecaster": "abm", "group": "attacks", "horizon": 1, "skill_trend": 0.3,
             "skill_log_trend": 0.3},
            {"id": "b", "forecaster": "trend", "group": "attacks", "horizon": 1, "skill_trend": 0.0,
             "skill_log_trend": 0.0}]
    agg = S.aggregate(_scores(rows))
    assert set(agg["forecaster"]) == {"abm"}  # trend against itself is not a row
    top = agg[(agg["horizon"] == "all") & (agg["group"] == "all")].iloc[0]
    assert top["n"] == 1 and top["n_scored"] == 2


def test_verdict_dict_keys_and_holdouts_scored_once():
    rows = []
    for o, lead, s, inside in (("2024-01", 1, 0.2, True), ("2024-04", 3, -0.1, False),
                               ("2025-01", 6, 0.4, True), ("2025-04", 3, -0.9, False)):
        rows.append({"origin": o, "id": "h1", "forecaster": "abm", "horizon": S.horizon(lead),
                     "skill_no_change": s, "skill_trend": s, "in90": inside, "in50": False})
    rows.append({"origin": "2024-01", "id": "t1", "forecaster": "abm", "horizon": 1, "skill_no_change": 0.6,
                 "skill_trend": -np.inf, "in90": True, "in50": True})
    v = S.verdict_dict(pd.DataFrame(rows), holdout_ids=["h1"])
    assert v["backtest"]["coverage90"] == pytest.approx(3 / 5)
    assert v["backtest"]["origins"] == ["2024-01", "2024-04", "2025-01", "2025-04"]
    assert v["backtest"]["skill"]["1"]["no_change"] == pytest.approx(0.4)  # median of 0.2, 0.6
    assert v["backtest"]["skill"]["3"]["no_change"] == pytest.approx(-0.5)
    assert v["backtest"]["skill"]["6"]["trend"] == pytest.approx(0.4)
    assert v["holdout"] == {"n": 1, "inside90": 1, "median_skill": {"no_change": 0.4, "trend": 0.4},
                            "ids": ["h1"], "origin_first": "2025-01"}  # the 2025-01 row only
    inf = S.verdict_dict(pd.DataFrame(rows[-1:]), holdout_ids=[])
    assert inf["backtest"]["skill"]["1"]["trend"] is None  # -inf written as null
    with pytest.raises(ValueError, match="forecaster 'x'"):
        S.verdict_dict(pd.DataFrame(rows), forecaster="x", holdout_ids=[])


def test_pit_histogram_counts():
    sc = pd.DataFrame({"pit": [0.05, 0.15, 0.95, 0.951, 1.0]})
    assert S.pit_histogram(sc).tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 3]


def test_score_table_scores_bounds_as_censored():
    q = _normal_grid(100, 5)
    t = _table([{"id": "atleast", "forecaster": "abm", "low": 50.0, "high": np.inf, "q": q},
                {"id": "atleast", "forecaster": "no_change", "low": 50.0, "high": np.inf,
                 "q": _normal_grid(40, 5)},
                {"id": "range", "forecaster": "abm", "low": 90.0, "high": 130.0, "q": q},
                {"id": "range", "forecaster": "no_change", "low": 90.0, "high": 130.0, "q": q + 30}])
    sc = S.score_table(t).set_index(["id", "forecaster"])
    assert sc.loc[("atleast", "abm"), "crps"] == 0.0  # all mass above the bound: nothing ruled out
    assert sc.loc[("atleast", "abm"), "in90"] and not sc.loc[("atleast", "no_change"), "in90"]
    assert sc.loc[("atleast", "abm"), "skill_no_change"] == 1.0
    assert sc.loc[("atleast", "abm"), "pit_mid"] == pytest.approx(0.5)  # uniform on [F(50-), 1] = [0, 1]
    assert 0 < sc.loc[("range", "abm"), "crps"] < sc.loc[("range", "no_change"), "crps"]
    assert sc["censored"].all()
    # scoring the "at least" figure as an exact 50 (the old rule) would punish the right forecast
    assert S.crps_quantiles(q, LEVELS, 50.0) > 40


def test_unknown_quantity_is_refused():
    t = _table([{"id": "a", "forecaster": "abm", "low": 1.0, "high": 1.0, "q": _normal_grid()}])
    t["quantity"] = "camps"
    with pytest.raises(ValueError, match="quantity 'camps' has no channel group; known"):
        S.score_table(t)
