"""Issue 22 item 1: the pre-2022 tempo training set (data/tempo_record.toml) and the fit of ISIS's
tempo regimes (scripts/fit_tempo.py, docs/tempo-evidence.md).

The fitter is checked on synthetic series simulated by mechanisms.tempo with known parameters:
it recovers them (intervals cover the truth in most replications), finds no regime difference
where the synthetic data have none and a clear one where they have one, and reads the
leadership-loss shock from the months that follow it."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from borderscen.errors import ConfigErrors
from borderscen.inputs.record import (
    HOLDOUT_START,
    TEMPO_FIT_END,
    TEMPO_START,
    load_tempo_record,
    tempo_record,
)

ROOT = Path(__file__).resolve().parents[1]
T = 96                       # months in each synthetic series (8 years)
REPS = 6                     # synthetic series per statistical check
TRUE = dict(p_sc=0.08, p_sl=0.08, p_cs=0.3, p_ls=0.3, m_c=2.0, m_l=0.4, q_lead=0.8, q_campaign=0.7,
            size=30.0)


@pytest.fixture(scope="module")
def ft():
    spec = importlib.util.spec_from_file_location("fit_tempo", ROOT / "scripts" / "fit_tempo.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fit_tempo"] = mod
    spec.loader.exec_module(mod)
    return mod


def _synthetic(ft, par, seed, lead_every=12, campaign_every=12):
    """Two series (a declining tracker around 150 a month, a curved one around 50) that share one
    tempo state simulated by mechanisms.tempo, with dated shocks every ``*_every`` months."""
    tau = np.linspace(-1, 1, T)
    log_levels = np.stack([np.log(150) - 0.6 * tau, np.log(50) - 0.3 * tau + 0.2 * tau ** 2])
    lead, camp = np.zeros(T, bool), np.zeros(T, bool)
    if lead_every:
        lead[8::lead_every] = True
    if campaign_every:
        camp[3::campaign_every] = True
    states, y = ft.simulate(par, T, log_levels, np.random.default_rng(seed), lead=lead, campaign=camp)
    months = [ft._month(ft._mi("2010-01") + i) for i in range(T)]
    return states, ft.Data(months, ["a", "b"], y, lead, np.zeros(T, bool), camp)


@pytest.fixture(scope="module")
def recovered(ft):
    out = []
    for k in range(REPS):
        states, data = _synthetic(ft, TRUE, seed=100 + k)
        out.append((states, ft.fit(data, starts=2, seed=k)))
    return out


# ---------------------------------------------------------------------- the record
def test_tempo_record_rows_cite_tempo_evidence_and_stop_before_the_holdout():
    rec = tempo_record()
    evidence = {e["id"]: e for e in
                tomllib.loads((ROOT / "seeds" / "evidence-tempo.toml").read_text())["evidence"]}
    assert len(rec.row) >= 30 and len(rec.shock) >= 3
    for r in rec.row:
        assert r.evidence in evidence, (r.series, r.period, r.evidence)
        assert r.start >= TEMPO_START and r.end < HOLDOUT_START, (r.series, r.period)
        assert not r.end.startswith(("2025", "2026", "2027")), (r.series, r.period)
        # the figure carries over from its evidence entry unchanged
        value = evidence[r.evidence]["value"]
        assert r.value in (value if isinstance(value, list) else [value]), (r.series, r.period, r.value)
    for s in rec.shock:
        assert s.evidence in evidence and evidence[s.evidence]["kind"] == "event", s
        assert TEMPO_START <= s.month < HOLDOUT_START, s
    # no orphan evidence: every tempo evidence entry is used by the record
    assert {r.evidence for r in rec.row} | {s.evidence for s in rec.shock} == set(evidence)


def test_the_fit_window_has_both_countries_and_the_dated_shocks(ft):
    data = ft.load_data(ft.FIT_START)
    rec = tempo_record()
    countries = {r.country for r in rec.row if r.series in data.series}
    assert {"iraq", "syria"} <= countries
    assert data.months[0] == ft.FIT_START and data.months[-1] == TEMPO_FIT_END
    assert data.lead.sum() >= 1 and data.state.sum() >= 1 and data.campaign.sum() >= 1
    # missing months stay missing: the observed cells are exactly the single-month rows in the window
    rows = [r for r in rec.row if r.series in data.series and r.start == r.end
            and ft.FIT_START <= r.start <= TEMPO_FIT_END]
    assert np.isfinite(data.y).sum() == len(rows)
    assert np.isnan(data.y).any()


def test_the_fit_refuses_months_after_2021_and_the_loader_refuses_the_holdout(ft, tmp_path):
    with pytest.raises(ValueError, match=r"2022-06.*2021-12"):
        ft.load_data("2018-01", "2022-06")
    bad = tmp_path / "tempo_record.toml"
    bad.write_text('[[row]]\nseries = "x"\ncountry = "syria"\nchannel = "tracker"\n'
                   'period = "2025-01/2025-01"\nvalue = 5\nunit = "attacks per month"\n'
                   'evidence = "tev-ric-2019-06"\n')
    with pytest.raises(ConfigErrors, match=r"2025-01/2025-01.*hold-out"):
        load_tempo_record(bad)
    bad.write_text(bad.read_text().replace("2025-01/2025-01", "2019-06/2019-06")
                   .replace("tev-ric-2019-06", "tev-no-such-figure"))
    with pytest.raises(ConfigErrors, match="tev-no-such-figure"):
        load_tempo_record(bad)


# ---------------------------------------------------------------------- the likelihood
def test_batched_likelihood_equals_the_forward_algorithm(ft):
    _, data = _synthetic(ft, TRUE, seed=1)
    rng = np.random.default_rng(0)
    b0 = ft._start_betas(data)
    for _ in range(3):
        par = {n: float(rng.uniform(*ft.BOUNDS[n])) for n in ft.NAMES}
        theta = ft.pack(par, b0)
        p, betas = ft.unpack(theta, data)
        single = ft.forward(p, betas, data, 0.7)
        assert ft.loglik_batch(theta, data, 0.7)[0] == pytest.approx(single, rel=1e-9)


# ---------------------------------------------------------------------- recovery on synthetic series
@pytest.mark.parametrize("name", ["p_sc", "p_sl", "p_cs", "p_ls", "m_c", "m_l", "q_campaign", "size"])
def test_intervals_cover_the_true_parameter_in_most_synthetic_series(ft, recovered, name):
    covered = [lo <= TRUE[name] <= hi for _, f in recovered for lo, hi in [f.interval[name]]]
    widths = [hi - lo for _, f in recovered for lo, hi in [f.interval[name]]]
    # nominal 95%: 4 or more of 6 (fewer happens with probability < 0.003 at 95% coverage)
    assert sum(covered) >= 4, (name, covered, [f.estimate[name] for _, f in recovered])
    # and the interval says something: narrower than the registry's whole range in most series
    lo, hi = ft.BOUNDS[name]
    assert np.median(widths) < 0.9 * (hi - lo), (name, widths)


def test_multipliers_are_recovered_without_bias_and_the_state_is_decoded(recovered):
    for name in ("m_c", "m_l"):
        est = np.log([f.estimate[name] for _, f in recovered])
        assert abs(est.mean() - np.log(TRUE[name])) < 0.1, (name, np.exp(est))
    # the decoded state (most probable) matches the simulated one in most months
    agree = [np.mean(f.posterior.argmax(1) == states) for states, f in recovered]
    assert min(agree) > 0.75, agree


def test_no_switching_in_the_data_gives_no_regime_difference_and_switching_does(ft, recovered):
    flat = dict(TRUE, m_c=1.0, m_l=1.0)          # the states still move, but change nothing
    null = [ft.fit(_synthetic(ft, flat, seed=200 + k)[1], starts=2, seed=k) for k in range(3)]
    effect_null = [f.regime_effect for f in null]
    effect_on = [f.regime_effect for _, f in recovered]
    # regime_effect: spread over months of the posterior mean log multiplier (0 = no regime differs)
    assert max(effect_null) < 0.1, effect_null
    # the same check fails when the synthetic data switch (m_c = 2, m_l = 0.4)
    assert min(effect_on) > 0.3, effect_on
    assert max(f.lr for f in null) < min(f.lr for _, f in recovered)


def test_the_leadership_shock_is_read_from_the_months_after_it(ft):
    """With a leadership loss every 6 months, the fitted q_lead follows the true one."""
    est = {}
    for q in (0.0, 0.9):
        par = dict(TRUE, q_lead=q)
        est[q] = [ft.fit(_synthetic(ft, par, seed=300 + k, lead_every=6, campaign_every=0)[1],
                         starts=2, seed=k).estimate["q_lead"] for k in range(2)]
    assert np.mean(est[0.9]) > 0.6 and np.mean(est[0.0]) < 0.3, est
