"""Calibration, hold-out validation, stylized facts and sensitivity."""

from __future__ import annotations

import math

import numpy as np
import pytest

from borderscen.analysis import validation
from borderscen.analysis.calibration import Problem, free_parameters, simulate_fit_period
from borderscen.assimilation import observe
from borderscen.errors import ConfigErrors
from borderscen.inputs.params import calibration_priors, load_registry, registry, registry_path
from borderscen.inputs.record import holdouts
from borderscen.mechanisms import observation


# ----------------------------------------------------------------------------- observation
def test_every_free_parameter_has_its_prior_in_the_registry():
    reg = registry()
    priors = calibration_priors()
    assert free_parameters() == list(priors) == [n for n, s in reg.items() if s.calibrate]
    assert len(priors) >= 10
    for name, p in priors.items():
        assert reg[name].min <= p.min < p.max <= reg[name].max, name
        assert p.kind in ("uniform", "log") and (p.kind == "uniform" or p.min > 0)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace('prior = { kind = "log", min = 0.01, max = 1.0 }\n', "", 1),
     "needs a prior"),
    (lambda t: t.replace('prior = { kind = "log", min = 0.01, max = 1.0 }',
                         'prior = { kind = "log", min = 0.001, max = 1.0 }', 1), "outside the range"),
    (lambda t: t.replace('prior = { kind = "log", min = 0.01, max = 1.0 }',
                         'prior = { kind = "log", min = 0.0, max = 1.0 }', 1), "log prior needs min > 0"),
    (lambda t: t.replace('prior = { kind = "log", min = 0.01, max = 1.0 }',
                         'prior = { kind = "normal", min = 0.01, max = 1.0 }', 1), "uniform"),
])
def test_a_registry_prior_that_is_missing_or_outside_the_range_is_refused(tmp_path, edit, message):
    text = registry_path().read_text()
    assert 'prior = { kind = "log", min = 0.01, max = 1.0 }' in text  # recruitment_contact_rate
    path = tmp_path / "parameters.toml"
    path.write_text(edit(text))
    with pytest.raises(ConfigErrors) as err:
        load_registry(path)
    assert "recruitment_contact_rate" in str(err.value) and message in str(err.value)


def test_targets_are_compared_through_their_own_channel():
    problem = Problem.from_record()
    channels = {(c.quantity, c.channel) for c in problem.targets}
    assert ("attacks", "tracker") in channels and ("attacks", "claimed") in channels
    assert ("neutralised", "partnered_ops") in channels and ("members", "un_estimate") in channels
    assert all(c.end <= "2024-12" for c in problem.targets)
    assert problem.weights.sum() == pytest.approx(1.0)
    skipped = dict(problem.skipped)
    assert "killed-syria-2022" in skipped  # the prison-battle outlier, with its reason


def test_calibration_never_sees_a_hold_out():
    ids = {c.id for c in Problem.from_record().targets}
    held = {h.id for h in holdouts()}
    assert not any(part in held for i in ids for part in i.split("+"))
    assert min(h.start for h in holdouts()) >= "2025-01"


def test_log_error_is_zero_inside_an_interval_and_grows_outside():
    e = observe.log_error(np.array([50.0, 100.0, 150.0, 400.0]), 100.0, 200.0)
    assert e[1] == e[2] == 0 and e[0] > 0 and e[3] > 0
    lower = observe.log_error(np.array([50.0, 5000.0]), 100.0, math.inf)
    assert lower[0] > 0 and lower[1] == 0


def test_the_model_reports_claimed_attacks_below_tracked_ones():
    values = [{k: registry()[k].default for k in free_parameters()}] * 8
    monthly, dates = simulate_fit_period(values, list(range(8)))
    problem = Problem.from_record()
    claimed = next(c for c in problem.targets if c.id == "claimed-2024")
    tracked = observe.Comparable("t", "attacks", "both", "tracker", "2024-01", "2024-12", 0, 1, "g")
    assert (observe.model_value(monthly, dates, claimed)
            <= observe.model_value(monthly, dates, tracked)).all()
    assert problem.errors(monthly, dates).shape == (8, len(problem.targets))


# ----------------------------------------------------------------------------- in sample, hold-outs
NOISE_OFF = {"obs_size_attacks": 1e6, "obs_size_operations": 1e6, "obs_size_neutralised": 1e6,
             "obs_sd_strength": 1e-3, "coalition_tempo_sd": 0.0}


def test_insample_coverage_per_group_and_its_switch_off():
    """Coverage per channel group, from the posterior predictive through the observation model;
    with the observation model's noise and the coalition's tempo noise switched off the intervals
    narrow and the central 50% intervals of the CENTCOM figures hold fewer of them."""
    on = validation.insample_scores(150, seed=4)
    off = validation.insample_scores(150, seed=4, overrides=NOISE_OFF)
    v = validation.insample_verdict(on)
    assert set(v["coverage90"]) == {"attacks", "operations", "neutralised", "strength"}
    assert all(0 <= x <= 1 for x in v["coverage90"].values())
    assert sum(v["pit_histogram"]) == len(on) == sum(v["n"].values())
    width = lambda d: ((d["q95"] - d["q05"]) / d["median"].clip(lower=1)).median()  # noqa: E731
    assert width(off) < 0.8 * width(on)
    centcom = lambda d: d[d["group"].isin(["operations", "neutralised"])]["in50"].mean()  # noqa: E731
    assert centcom(off) < centcom(on)


@pytest.mark.slow
def test_holdouts_are_scored_once_with_the_backtests_rows():
    """validate's hold-out rows are the backtest's forecasts at the same origin, particles and seed."""
    import pandas as pd

    from borderscen.analysis import backtest

    df = validation.holdout_scores(particles=60, seed=7)
    abm = df[df["forecaster"] == "abm"]
    assert abm["id"].is_unique and len(abm) >= 5
    assert {"skill_no_change", "skill_trend", "in90", "crps"} <= set(df.columns)
    assert (abm["origin"].astype(str).str[:7] >= "2025-01").all()
    first = min(abm["origin"])
    i = [f"{o:%Y-%m}" for o in backtest.origins()].index(str(first)[:7])
    again = backtest.forecast_origin(pd.Timestamp(first).date(), 60, 7 + i).forecasts
    mine = abm[abm["origin"] == first].sort_values("id")
    theirs = again[(again["forecaster"] == "abm") & again["id"].isin(mine["id"])].sort_values("id")
    assert len(mine) == len(theirs) >= 1
    np.testing.assert_allclose(mine["crps"].to_numpy(), backtest.scores(again).query(
        "forecaster == 'abm'").set_index("id").loc[mine["id"], "crps"].to_numpy())
    assert 0 <= df.attrs["filter"]["min_ess_share"] <= 1
    text = validation.holdout_verdict(df)
    assert "90% interval" in text and ("beats" in text or "LOSES TO" in text)


# ----------------------------------------------------------------------------- stylized facts
#: Facts the model is known to miss, with the reason; strict, so the test says when one starts
#: to hold. Reported in the README.
KNOWN_MISSES: dict[str, str] = {}


@pytest.mark.slow
@pytest.mark.parametrize("fact", [
    pytest.param(f, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[f.mechanism]))
    if f.mechanism in KNOWN_MISSES else f for f in validation.SCENARIO_FACTS],
    ids=lambda f: f.mechanism.split(" (")[0])
def test_each_fact_holds_and_fails_when_its_mechanism_is_switched_off(fact):
    off = validation.evaluate(fact, replications=40, seed=3, switched_off=True)
    assert not off["holds"], off
    on = validation.evaluate(fact, replications=40, seed=3)
    assert on["holds"], on


def test_facts_measure_outputs_their_inputs_do_not_set():
    for f in validation.SCENARIO_FACTS:
        assert f.off, f.name
        assert f.source and f.mechanism
        name = f.metric.__name__
        for param in {**f.b, **{k: v for e in f.b_events for k, v in e["set"].items()}}:
            assert param not in name, (f.name, param)


# ----------------------------------------------------------------------------- uncertainty split
def test_variance_split_recovers_known_components():
    from borderscen.analysis.uncertainty import split_variance
    rng = np.random.default_rng(1)
    draws = rng.normal(0, 2.0, size=(2000, 1))           # parametric sd 2 -> var 4
    values = draws + rng.normal(0, 1.0, size=(2000, 25))  # stochastic sd 1 -> var 1
    out = split_variance(values)
    assert out["parametric_var"] == pytest.approx(4.0, rel=0.15)
    assert out["stochastic_var"] == pytest.approx(1.0, rel=0.05)
    assert out["parametric_share"] == pytest.approx(0.8, abs=0.04)
    noise_only = split_variance(rng.normal(size=(200, 20)))
    assert noise_only["parametric_share"] < 0.05


# ----------------------------------------------------------------------------- calibration run
@pytest.mark.slow
def test_quick_calibration_runs_resumes_and_reports(tmp_path):
    pytest.importorskip("pyabc")
    from borderscen.analysis.calibration import calibrate
    report = calibrate(tmp_path, population=40, generations=2, seed=5)
    eps = report["epsilons"]
    assert report["generations"] == 2 and eps[-1] < eps[1]
    assert 0 < report["acceptance_rate"] <= 1 and report["effective_sample_size"] > 1
    assert set(report["parameters"]) == set(free_parameters())
    for name, p in report["parameters"].items():
        assert p["prior"][0] <= p["q05"] <= p["median"] <= p["q95"] <= p["prior"][1], name
    assert len(report["effective_sample_sizes"]) == 2
    assert report["effective_sample_sizes"][-1] == pytest.approx(report["effective_sample_size"])
    draws = __import__("pandas").read_csv(tmp_path / "posterior.csv")
    dispersions = list(observation.DISPERSION.values())
    assert list(draws.columns) == free_parameters() + dispersions and len(draws) == 1000
    # the dispersions fitted after the ABC on the same window, one value each, as shipped
    assert (draws[dispersions].nunique() == 1).all()
    assert draws[dispersions].iloc[0].to_dict() == report["dispersions"]
    again = calibrate(tmp_path, population=40, generations=1, seed=5)  # resumes the database
    assert again["generations"] == 3


@pytest.mark.slow
def test_the_wave_sampler_accepts_and_weighs_as_pyabc_does(tmp_path):
    """Each accepted particle of generation t lies in the prior, is within eps(t), and carries
    the weight prior density / pyabc's perturbation-kernel density fitted on generation t-1."""
    pyabc = pytest.importorskip("pyabc")
    import pandas as pd

    from borderscen.analysis.calibration import calibrate, coordinates, prior
    calibrate(tmp_path, population=40, generations=3, seed=7, workers=1)
    history = pyabc.History(f"sqlite:///{tmp_path / 'history.db'}")
    eps = history.get_all_populations().set_index("t")["epsilon"]
    for t in (1, 2):
        before, w_before = history.get_distribution(t=t - 1)
        kernel = pyabc.MultivariateNormalTransition()
        kernel.fit(before, w_before)
        now, w_now = history.get_distribution(t=t)
        for k, (_, lo, hi) in coordinates().items():
            assert now[k].between(lo, hi).all(), k
        distances = history.get_weighted_distances(t=t)["distance"]
        assert (distances <= eps[t] + 1e-12).all() and len(now) == 40
        dens = np.array([prior().pdf(pyabc.Parameter(r)) for r in now.to_dict("records")])
        expected = dens / kernel.pdf(pd.DataFrame(now))
        np.testing.assert_allclose(w_now, expected / expected.sum(), rtol=1e-9)


class _History:
    """What ``calibration.summarise`` reads of a pyabc History: two generations of particles
    (in pyabc's coordinates) with the given final weights."""

    def __init__(self, final_weights: np.ndarray):
        from borderscen.analysis.calibration import sample_prior
        self.particles = sample_prior(len(final_weights), np.random.default_rng(0))
        self.weights = [np.ones(len(final_weights)), np.asarray(final_weights, float)]
        self.max_t, self.total_nr_simulations = 1, 10 * len(final_weights)

    def get_all_populations(self):
        import pandas as pd
        return pd.DataFrame({"t": [-1, 0, 1], "epsilon": [math.inf, 3.0, 2.0]})

    def get_distribution(self, t=None):
        return self.particles, self.weights[self.max_t if t is None else t]


def test_a_final_generation_of_few_effective_particles_is_reported_degenerate():
    """Kish's effective sample size of each generation is reported, and the calibration is
    degenerate when the last one's is under MIN_ESS_SHARE of the population: not so with even
    weights or at the threshold, so with one particle carrying nearly all the weight."""
    from borderscen.analysis.calibration import MIN_ESS_SHARE, Problem, summarise
    n = 200
    problem = Problem.from_record()
    even = summarise(_History(np.ones(n)), problem, 1.0, n, 1)
    assert even["effective_sample_sizes"] == pytest.approx([n, n]) and not even["degenerate"]
    k = int(MIN_ESS_SHARE * n)  # k equal weights, the rest none: an ESS of exactly k
    edge = summarise(_History(np.r_[np.ones(k), np.zeros(n - k)]), problem, 1.0, n, 1)
    assert edge["effective_sample_size"] == pytest.approx(k) and not edge["degenerate"]
    below = summarise(_History(np.r_[np.ones(k - 1), np.zeros(n - k + 1)]), problem, 1.0, n, 1)
    assert below["degenerate"]
    one = summarise(_History(np.r_[1.0, np.full(n - 1, 1e-4)]), problem, 1.0, n, 1)
    assert one["effective_sample_size"] < 2 and one["degenerate"]
    assert one["effective_sample_sizes"][0] == pytest.approx(n)
    import argparse

    from borderscen.interfaces.cli import build_parser  # its --install help states the threshold
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    install = next(a for a in commands.choices["calibrate"]._actions if "--install" in a.option_strings)
    assert f"under {MIN_ESS_SHARE:.0%} of the particles" in install.help.replace("%%", "%")


def test_install_ships_the_windows_dispersions_and_refuses_a_degenerate_or_other_windows_fit(
        tmp_path, monkeypatch):
    """``install`` copies a calibration's posterior with the observation model's dispersions fitted
    on that calibration's own window (a 2022-12 posterior does not take the 2022-24 ones), sets
    the registry's defaults only for the whole period, and ships nothing for a degenerate
    calibration or one fitted to another window than it is asked to install."""
    import json

    import pandas as pd

    from borderscen.analysis import calibration
    from borderscen.inputs import posterior
    from borderscen.inputs.posterior import posterior_path
    shipped = {}
    monkeypatch.setattr(posterior, "posterior_path", lambda window=None: shipped.setdefault(
        window, tmp_path / f"shipped-{window}.csv"))
    registry_file = tmp_path / "parameters.toml"
    registry_file.write_text(registry_path().read_text())
    early = pd.read_csv(posterior_path("2022-12"))[free_parameters()].head(200)
    out = tmp_path / "cal"
    out.mkdir()
    early.to_csv(out / "posterior.csv", index=False)
    report = {"fit_end": "2022-12", "degenerate": False, "population": 1000,
              "effective_sample_size": 120.0}
    (out / "report.json").write_text(json.dumps(report))

    with pytest.raises(calibration.CalibrationNotShipped, match="targets ending by 2022-12"):
        calibration.install(out, registry_file)  # the whole period asked: another window's fit
    assert not shipped
    path = calibration.install(out, registry_file, fit_end="2022-12")
    assert path == shipped["2022-12"]
    got = pd.read_csv(path)
    names = list(observation.DISPERSION.values())
    own = calibration.fit_dispersions(early, fit_end="2022-12")
    assert got[names].iloc[0].to_dict() == own and (got[names].nunique() == 1).all()
    whole = calibration.fit_dispersions(early)  # what the 2022-24 targets would give
    assert any(own[k] != whole[k] for k in names)
    assert registry_file.read_text() == registry_path().read_text()  # defaults untouched

    (out / "report.json").write_text(json.dumps(report | {"degenerate": True,
                                                           "effective_sample_size": 1.3}))
    shipped.clear()
    with pytest.raises(calibration.CalibrationNotShipped, match="effective sample size is 1.3"):
        calibration.install(out, registry_file, fit_end="2022-12")
    assert not shipped


def test_calibration_stops_at_pyabcs_evaluation_budget(tmp_path):
    """min_acceptance_rate sets pyabc's max_eval (here 20 / 0.4 = 50 evaluations a generation):
    a generation that cannot reach 20 acceptances within it stops there, and the run ends on the
    last complete generation; when not even the first completes, the error says what to change."""
    pytest.importorskip("pyabc")
    from borderscen.analysis.calibration import calibrate
    report = calibrate(tmp_path / "a", population=20, generations=4, seed=1, workers=1,
                       min_acceptance_rate=0.4)
    assert 1 <= report["generations"] < 4
    assert report["simulations"] <= 20 + 50 * report["generations"]  # prior sample + budgets
    with pytest.raises(ValueError, match="lower min_acceptance_rate"):
        calibrate(tmp_path / "b", population=20, generations=4, seed=1, workers=1,
                  min_acceptance_rate=0.95)


@pytest.mark.slow
def test_calibration_is_reproducible_whatever_the_workers_and_leaves_numpys_global_state(tmp_path):
    pytest.importorskip("pyabc")
    import pandas as pd

    from borderscen.analysis.calibration import calibrate
    np.random.seed(123)  # noqa: NPY002 - the caller's global state, which calibration must keep
    state = np.random.get_state()  # noqa: NPY002
    calibrate(tmp_path / "a", population=30, generations=2, seed=3, workers=1)
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(x, y) for x, y in zip(state, after, strict=True))
    calibrate(tmp_path / "b", population=30, generations=2, seed=3, workers=2, executor="process")
    a, b = (pd.read_csv(tmp_path / d / "posterior.csv") for d in "ab")
    pd.testing.assert_frame_equal(a, b)
    calibrate(tmp_path / "c", population=30, generations=2, seed=4, workers=1)
    assert not pd.read_csv(tmp_path / "c" / "posterior.csv").equals(a)


def test_t_quantile_is_scipy_stats_t_ppf_without_importing_scipy_stats():
    """The paired differences' Student-t quantile equals ``scipy.stats.t.ppf`` to the bit, and
    computing one does not import ``scipy.stats`` (about 0.9 s in each figure worker)."""
    import subprocess
    import sys

    from scipy import stats

    from borderscen.analysis.summaries import t_quantile
    for dof in (1, 2, 5, 29, 30, 499, 2_499, 99_999):
        for p in (0.005, 0.05, 0.5, 0.95, 0.975, 0.995):
            assert t_quantile(p, dof) == float(stats.t.ppf(p, dof))
    code = ("import sys, numpy as np, pandas as pd\n"
            "from borderscen.analysis.summaries import paired_differences\n"
            "runs = pd.DataFrame({'scenario': ['a'] * 5 + ['b'] * 5, 'replication': list(range(5)) * 2,\n"
            "                     'x': np.arange(10.0)})\n"
            "d = paired_differences(runs, 'x', baseline='a')\n"
            "assert len(d) == 1 and np.isfinite(d['hi'].iloc[0]), d\n"
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
