"""Naive baselines (analysis.baselines, docs/scoring.md section 4) on synthetic series."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest

from borderscen.analysis import baselines as B
from borderscen.analysis import scoring as S
from borderscen.assimilation.observe import Comparable

CHANNEL = {"attacks": "tracker", "operations": "partnered_ops", "neutralised": "partnered_ops",
           "members": "un_estimate"}


def _month(k: int) -> str:
    """Month k counted from 2020-01 as 'YYYY-MM'."""
    return f"{2020 + k // 12}-{k % 12 + 1:02d}"


def obs(k0: int, k1: int, value: float, quantity: str = "attacks", high: float | None = None,
        country: str = "iraq", ident: str | None = None, fractions: tuple[float, ...] = ()) -> Comparable:
    return Comparable(ident or f"{quantity}-{k0}-{k1}-{value}", quantity, country, CHANNEL[quantity],
                      _month(k0), _month(k1), float(value), float(value if high is None else high),
                      f"{quantity}/{CHANNEL[quantity]}/{country}", fractions)


def origin(k: int) -> dt.date:
    y, m = map(int, _month(k).split("-"))
    return dt.date(y, m, 1)


def test_no_change_on_a_constant_series_predicts_it():
    rng = np.random.default_rng(1)
    stock = [obs(k, k, 3000, "members") for k in range(0, 24, 3)]
    f = B.forecast_all(obs(30, 30, 1, "members"), stock, origin(25), rng)
    assert np.allclose(f["no_change"], 3000, rtol=1e-12)  # past changes 0: no spread
    flows = [obs(k, k, 20) for k in range(12)]
    f = B.forecast_all(obs(14, 16, 1), flows, origin(13), rng)["no_change"]
    assert f.shape == (2000,) and abs(f.mean() - 60) < 4 * math.sqrt(60 / 2000)  # Poisson(20 x 3 months)
    assert f.var() == pytest.approx(60, rel=0.15)


def test_no_change_takes_the_last_rate_pro_rated_by_days():
    rng = np.random.default_rng(2)
    series = [obs(0, 11, 1200), obs(12, 12, 10, fractions=(10 / 31,))]  # 10 of 31 days: 31 a month
    assert B.rate(series[1]) == pytest.approx(31.0)
    f = B.forecast_all(obs(14, 14, 1), series, origin(13), rng)["no_change"]
    assert np.median(f) == pytest.approx(31, abs=3)
    # the new window's span scales the count: 10 days of a month -> about a third
    short = B.forecast_all(obs(14, 14, 1, fractions=(10 / 31,)), series, origin(13), rng)["no_change"]
    assert np.median(short) == pytest.approx(10, abs=2)


def test_no_change_spread_is_the_default_random_walk_without_history():
    rng = np.random.default_rng(3)
    f = B.forecast_all(obs(20, 20, 1, "members"), [obs(8, 8, 1000, "members")], origin(12), rng, n=20000)
    gap = B.midpoint(obs(20, 20, 1, "members")) - B.midpoint(obs(8, 8, 1, "members"))
    assert np.median(np.log(f["no_change"])) == pytest.approx(math.log(1000), abs=0.02)
    assert np.log(f["no_change"]).std() == pytest.approx(B.DEFAULT_SIGMA * math.sqrt(gap), rel=0.03)


def test_no_change_spread_from_the_series_own_changes():
    """A log random walk with sd 0.1 a month: the fitted spread recovers it (many steps)."""
    rng = np.random.default_rng(4)
    walk = 7 + np.cumsum(rng.normal(0, 0.1, 120))
    series = [obs(k, k, math.exp(v), "members") for k, v in enumerate(walk)]
    f = B.forecast_all(obs(124, 124, 1, "members"), series, origin(120), rng, n=20000)["no_change"]
    assert np.median(np.log(f)) == pytest.approx(walk[-1], abs=0.02)
    assert np.log(f).std() == pytest.approx(0.1 * math.sqrt(5), rel=0.15)


def test_trend_recovers_a_known_slope():
    rng = np.random.default_rng(5)
    a, b = 8.0, -0.03  # log level at month 0 (2020-01) and slope per month
    t = lambda k: B.midpoint(obs(k, k, 1)) - B.midpoint(obs(0, 0, 1))  # noqa: E731
    exact = [obs(k, k, math.exp(a + b * t(k)), "members") for k in range(0, 36, 2)]
    t0 = t(40)
    f = B.forecast_all(obs(40, 40, 1, "members"), exact, origin(37), rng)["trend"]
    assert np.allclose(f, math.exp(a + b * t0), rtol=1e-9)  # exact line, no residual
    noisy = [obs(k, k, math.exp(a + b * t(k) + rng.normal(0, 0.1)), "members")
             for k in range(60)]
    meds = []
    for k in (62, 72):
        s = B.forecast_all(obs(k, k, 1, "members"), noisy, origin(61), rng, n=20000)["trend"]
        meds.append(np.median(np.log(s)))
        assert np.log(s).std() == pytest.approx(0.1, rel=0.3)
    assert (meds[1] - meds[0]) / 10 == pytest.approx(b, abs=0.006)
    # flows: a rate halving every year, forecast as counts over the window
    flows = [obs(k, k, 64 * 0.5 ** (k / 12)) for k in range(24)]
    f = B.forecast_all(obs(36, 38, 1), flows, origin(25), rng, n=20000)["trend"]
    expected = sum(64 * 0.5 ** (k / 12) for k in (36, 37, 38))
    assert np.mean(f) == pytest.approx(expected, rel=0.05)


def test_trend_and_no_change_need_history():
    rng = np.random.default_rng(6)
    target = obs(20, 20, 1)
    assert B.forecast_all(target, [], origin(12), rng) == {"no_change": None, "trend": None, "nb_ar1": None}
    two = [obs(0, 0, 5), obs(3, 3, 6)]
    f = B.forecast_all(target, two, origin(12), rng)
    assert f["no_change"] is not None and f["trend"] is None  # trend needs 3 observations
    same_time = [obs(0, 11, 60), obs(0, 11, 70), obs(0, 11, 65)]
    assert B.forecast_all(target, same_time, origin(12), rng)["trend"] is None  # one distinct time
    other = [obs(k, k, 9, country="syria") for k in range(12)]
    assert all(v is None for v in B.forecast_all(target, other, origin(12), rng).values())  # other series


def test_baselines_refuse_observations_after_the_origin():
    rng = np.random.default_rng(7)
    series = [obs(k, k, 10) for k in range(12)] + [obs(12, 12, 500)]  # the origin's own month
    with pytest.raises(ValueError, match=r"ending before the origin 2021-01-01; 1 end at or after it"):
        B.forecast_all(obs(13, 15, 1), series, origin(12), rng)
    straddle = [obs(6, 12, 70)]  # starts before, ends in the origin's month
    with pytest.raises(ValueError, match="ends? at or after"):
        B.forecast_all(obs(13, 13, 1), straddle, origin(12), rng)


def test_the_origin_guard_is_what_keeps_the_future_out(monkeypatch):
    """With the guard switched off a leaked future figure moves the forecast: the guard matters."""
    series = [obs(k, k, 10) for k in range(12)]
    leak = series + [obs(12, 12, 500)]
    target = obs(13, 13, 1)
    honest = B.forecast_all(target, series, origin(12), np.random.default_rng(8))["no_change"]
    monkeypatch.setattr(B, "check_before", lambda known, o: None)
    leaked = B.forecast_all(target, leak, origin(12), np.random.default_rng(8))["no_change"]
    assert np.median(honest) == pytest.approx(10, abs=2) and np.median(leaked) > 300


def _nb_series(n: int, b0: float, b1: float, alpha: float, rng: np.random.Generator) -> list[float]:
    y, x = [], math.log(20.5)
    for _ in range(n):
        mu = math.exp(b0 + b1 * x)
        v = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))
        y.append(float(v))
        x = math.log(v + 0.5)
    return y


def test_nb_ar1_fits_a_known_process():
    rng = np.random.default_rng(9)
    b0, b1, alpha = 1.2, 0.6, 0.05
    y = _nb_series(150, b0, b1, alpha, rng)
    series = [obs(k, k, v, "operations") for k, v in enumerate(y)]
    fit = B.nb_ar1_fit(series)
    assert fit is not None
    beta, cov, a, last = fit
    se = np.sqrt(np.diag(cov))
    assert 0 < a < 0.2  # overdispersed: the NB2 fit, not its Poisson limit
    assert abs(beta[0] - b0) < 4 * se[0] and abs(beta[1] - b1) < 4 * se[1]
    f = B.forecast_all(obs(150, 150, 1, "operations"), series, origin(150), rng, n=20000)["nb_ar1"]
    mu1 = math.exp(b0 + b1 * math.log(y[-1] + 0.5))  # the true one-step mean
    assert np.mean(f) == pytest.approx(mu1, rel=0.15)
    # a 12-month window: compare with the true process simulated from the same last figure
    win = B.forecast_all(obs(155, 166, 1, "operations"), series, origin(150), rng, n=4000)["nb_ar1"]
    truth = []
    for _ in range(4000):
        x, tot = math.log(y[-1] + 0.5), 0.0
        for m in range(150, 167):
            v = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * math.exp(b0 + b1 * x)))
            tot += v if m >= 155 else 0
            x = math.log(v + 0.5)
        truth.append(tot)
    assert np.mean(win) == pytest.approx(np.mean(truth), rel=0.15)
    assert np.std(win) == pytest.approx(np.std(truth), rel=0.5)


def test_nb_ar1_rule_enough_monthly_pairs_flows_only():
    rng = np.random.default_rng(10)
    target = obs(40, 40, 1, "operations")
    # six monthly figures two months apart: five pairs (overdispersed enough for an NB2 fit)
    five_pairs = [obs(k, k, v, "operations") for k, v in zip(range(0, 12, 2), (9, 7, 4, 17, 19, 18),
                                                              strict=True)]
    four_pairs = five_pairs[:5]
    gaps = [obs(k, k, 20, "operations") for k in range(0, 48, 7)]  # every gap 7 > 6 months: no pair
    yearly = [obs(k, k + 11, 240, "operations") for k in range(0, 36, 12)]  # not monthly
    assert B.forecast_all(target, four_pairs, origin(30), rng)["nb_ar1"] is None
    assert B.forecast_all(target, gaps, origin(49), rng)["nb_ar1"] is None
    assert B.forecast_all(target, yearly, origin(36), rng)["nb_ar1"] is None
    stock = [obs(k, k, 3000 + 10 * k, "members") for k in range(30)]
    assert B.forecast_all(obs(40, 40, 1, "members"), stock, origin(30), rng)["nb_ar1"] is None
    got = B.forecast_all(target, five_pairs, origin(30), rng)["nb_ar1"]
    assert got.shape == (2000,) and (got >= 0).all() and np.array_equal(got, np.round(got))
    # an underdispersed series puts NB2 at its boundary (alpha -> 0): the Poisson AR(1) instead
    flat = [obs(k, k, 15 + (k % 3), "operations") for k in range(24)]
    assert B.nb_ar1_fit(flat)[2] == 0.0
    f = B.forecast_all(obs(24, 24, 1, "operations"), flat, origin(24), rng, n=20000)["nb_ar1"]
    assert np.mean(f) == pytest.approx(16, rel=0.1)
    # a constant series identifies neither (the lag carries no information): None, never an error
    assert B.forecast_all(target, [obs(k, k, 20, "operations") for k in range(12)], origin(30),
                          rng)["nb_ar1"] is None


def test_forecasts_are_reproducible_and_shaped():
    series = [obs(k, k, v, "operations") for k, v in enumerate(_nb_series(24, 1.2, 0.6, 0.05,
                                                                          np.random.default_rng(1)))]
    target = obs(27, 29, 1, "operations")
    a = B.forecast_all(target, series, origin(25), np.random.default_rng(11), n=500)
    b = B.forecast_all(target, series, origin(25), np.random.default_rng(11), n=500)
    assert set(a) == {"no_change", "trend", "nb_ar1"}
    for k in a:
        assert a[k] is not None and a[k].shape == (500,) and np.array_equal(a[k], b[k])
    with pytest.raises(ValueError, match="n must be a positive"):
        B.forecast_all(target, series, origin(25), np.random.default_rng(0), n=0)


def test_bounds_enter_at_their_point():
    at_least = obs(0, 0, 40, "operations", high=math.inf)
    interval = obs(1, 1, 10, "operations", high=30)
    assert B.rate(at_least) == 40 and B.rate(interval) == 20
    f = B.forecast_all(obs(3, 3, 1, "operations"), [at_least, interval], origin(2),
                       np.random.default_rng(12))["no_change"]
    assert np.median(f) == pytest.approx(20, abs=3)


def test_rolling_origin_pipeline_on_a_synthetic_world():
    """Baseline samples -> quantiles -> ensemble -> scores -> aggregates -> JSON verdict, with a
    forecaster that knows the true process: it is calibrated and beats no_change at every horizon."""

    levels = np.round(np.linspace(0.005, 0.995, 199), 3)
    world = np.random.default_rng(13)
    truth = 20.0
    series = [obs(k, k, float(v), "operations") for k, v in enumerate(world.poisson(truth, 96))]
    rows = []
    for o in range(24, 96, 3):
        known = [c for c in series if B._month_number(c.end) < B._month_number(_month(o))]
        for c in series[o:o + 12]:
            lead = B._month_number(c.end) - B._month_number(_month(o)) + 1
            fc = {"abm": world.poisson(truth, 2000).astype(float)}
            fc |= B.forecast_all(c, known, origin(o), world)
            for name, sample in fc.items():
                if sample is None:
                    continue
                q = np.quantile(sample, levels)
                rows.append({"origin": origin(o), "id": c.id, "quantity": c.quantity, "channel": c.channel,
                             "country": c.country, "start": c.start, "end": c.end, "low": c.low,
                             "high": c.high, "lead": lead, "forecaster": name,
                             **{f"q{lv:.3f}": v for lv, v in zip(levels, q, strict=True)}})
    sc = S.score_table(S.ensemble(pd.DataFrame(rows)))
    assert set(sc["forecaster"]) == {"abm", "no_change", "trend", "nb_ar1", "ensemble"}
    v = S.verdict_dict(sc, holdout_ids=[])
    json.dumps(v, allow_nan=False)  # strict JSON: no NaN or infinity
    assert 0.8 <= v["backtest"]["coverage90"] <= 0.99  # 72 distinct months, each scored up to 4 times
    assert len(v["backtest"]["origins"]) == 24
    for h in ("1", "3", "6", "12"):
        assert v["backtest"]["skill"][h]["no_change"] > 0
    agg = S.aggregate(sc)
    top = agg[(agg["horizon"] == "all") & (agg["group"] == "all") & (agg["forecaster"] == "abm")]
    assert set(top["baseline"]) == {"no_change", "trend", "nb_ar1"}  # the ensemble is not a baseline
    scored = sum(min(12, 96 - o) for o in range(24, 96, 3))  # the series ends at month 95
    assert (top["n_scored"] == scored).all() and (top["n"] == scored).all()  # every baseline fitted
