"""Issue 25: faults you can see. Ambiguous input refused alike by the config and the Python API;
interrupts; changed inputs; and fault injection for the results store (disk full at every write,
a worker killed mid-chunk, readers during writes). Experiments are tiny (a few runs, a few
months) so the whole file stays quick."""

from __future__ import annotations

import textwrap

import pytest

import borderscen as bs
from borderscen.errors import ConfigError
from borderscen.experiments.config import parse_config

LATE = {"date": "2023-06", "set": {"attack_rate_syria": 0.0005}}


def errors_of(exc: ConfigError) -> list[ConfigError]:
    return list(getattr(exc, "errors", [exc]))


def config(horizon=12, scenario=None, sweep=None) -> dict:
    data = {"experiment": {"name": "amb", "replications": 1, "horizon_months": horizon, "seed": 1,
                           "executor": "serial"},
            "scenarios": [scenario or {"preset": "baseline"}]}
    if sweep:
        data["sweep"] = sweep
    return data


# ---------------------------------------------------------------------------- ambiguous input
def test_an_event_after_the_horizon_is_refused_by_simulate_the_model_and_the_config_alike():
    with pytest.raises(ConfigError) as api:
        bs.simulate("baseline", seed=1, horizon_months=12, events=[LATE])
    with pytest.raises(ConfigError) as model:
        bs.BorderModel("baseline", seed=1, horizon_months=12, events=[bs.Event(**LATE)])
    with pytest.raises(ConfigError) as cfg:
        parse_config(config(12, {"preset": "baseline", "events": [LATE]}), where="x.toml")
    (a,), (m,), (c,) = errors_of(api.value), errors_of(model.value), errors_of(cfg.value)
    assert a.allowed == m.allowed == c.allowed
    assert "outside the run's months 2022-01 .. 2022-12" in a.allowed and "never fire" in a.allowed
    assert a.key == "events[0].date" and c.key == "scenarios[0].events[0].date"
    before = {"date": "2021-06", "set": {"attack_rate_syria": 0.0005}}
    with pytest.raises(ConfigError, match="outside the run's months"):
        bs.simulate("baseline", seed=1, horizon_months=12, events=[before])
    # inside the horizon it runs; and the presets' own later events do not count against a
    # short horizon (they are the preset's, not the user's)
    assert len(bs.simulate("baseline", seed=1, horizon_months=18, events=[LATE])) == 18
    assert len(bs.simulate("cohesive_baghdad", seed=1, horizon_months=6)) == 6


def test_a_scenario_with_an_extra_late_event_is_refused_when_run():
    sc = bs.build_scenario("baseline").with_changes(events=[LATE])
    with pytest.raises(ConfigError, match="outside the run's months"):
        bs.simulate(sc, seed=1, horizon_months=12)


def test_two_events_setting_one_parameter_differently_in_one_month_are_refused_alike():
    clash = [{"date": "2022-06", "set": {"attack_rate_syria": 0.0005}},
             {"date": "2022-06-15", "set": {"attack_rate_syria": 0.001}}]
    with pytest.raises(ConfigError) as api:
        bs.simulate("baseline", seed=1, horizon_months=12, events=clash)
    with pytest.raises(ConfigError) as cfg:
        parse_config(config(12, {"preset": "baseline", "events": clash}), where="x.toml")
    (a,), (c,) = errors_of(api.value), errors_of(cfg.value)
    assert a.allowed.replace("scenarios[0].", "") == c.allowed.replace("scenarios[0].", "")
    assert "same month" in a.allowed and "would silently win" in a.allowed
    same = [clash[0], {**clash[0], "date": "2022-06-20"}]   # the same value twice: no ambiguity
    assert len(bs.simulate("baseline", seed=1, horizon_months=12, events=same)) == 12


def test_a_parameter_both_swept_and_overridden_is_refused_by_toml_and_builder_alike(tmp_path):
    sc = {"preset": "baseline", "overrides": {"coalition_isr": 0.3}}
    sweep = {"method": "grid", "parameters": {"coalition_isr": [0.2, 0.4]}}
    toml = tmp_path / "both.toml"
    toml.write_text(textwrap.dedent("""
        [experiment]
        name = "amb"
        replications = 1
        horizon_months = 12
        seed = 1
        [[scenarios]]
        preset = "baseline"
        overrides = { coalition_isr = 0.3 }
        [sweep]
        method = "grid"
        [sweep.parameters]
        coalition_isr = [0.2, 0.4]
    """))
    with pytest.raises(ConfigError) as from_toml:
        bs.load_config(toml)
    with pytest.raises(ConfigError) as from_builder:
        bs.Experiment("amb", scenarios=[sc], sweep=bs.grid({"coalition_isr": [0.2, 0.4]}),
                      replications=1, horizon_months=12)
    (t,), (b,) = errors_of(from_toml.value), errors_of(from_builder.value)
    assert t.allowed == b.allowed and t.key == b.key == "scenarios[0].overrides.coalition_isr"
    assert "also swept" in t.allowed and "would silently win" in t.allowed
    assert f"{toml}:9:" in str(from_toml.value)     # names the line of the override
    with pytest.raises(ConfigError, match="also swept"):
        parse_config(config(12, sc, sweep))


def test_run_experiment_judges_a_config_that_bypassed_the_loader(tmp_path):
    """An ExperimentConfig built directly, or shortened with with_changes, gets the same checks."""
    from borderscen.experiments.config import ExperimentConfig
    good = parse_config(config(24, {"preset": "baseline", "events": [LATE]}))
    with pytest.raises(ConfigError, match="outside the run's months"):
        good.with_changes(horizon_months=12)
    raw = ExperimentConfig.model_validate(config(12, {"preset": "baseline", "events": [LATE]}))
    with pytest.raises(ConfigError, match="outside the run's months"):
        bs.run_experiment(raw, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_the_builder_no_longer_coerces_what_toml_refuses():
    for bad in ({"replications": 2.7}, {"replications": "3"}, {"seed": True}):
        with pytest.raises(ConfigError):
            bs.Experiment("amb", **{"replications": 1, **bad}, horizon_months=3)
    with pytest.raises(ConfigError, match="no quotes|number"):
        bs.Experiment("amb", sweep=bs.grid({"coalition_isr": ["0.5"]}), replications=1,
                      horizon_months=3)
    import numpy as np
    exp = bs.Experiment("amb", sweep=bs.grid({"coalition_isr": np.array([0.2, 0.4])}),
                        replications=np.int64(1), horizon_months=3)
    assert exp.config.experiment.replications == 1 and exp.to_dict()["sweep"]["parameters"] == {
        "coalition_isr": [0.2, 0.4]}
    with pytest.raises(ConfigError, match="policies are crossed with a sweep"):
        bs.Experiment("amb", policies={"p": {"coalition_isr": 0.2}})


def test_one_parameter_given_twice_with_different_values_is_refused():
    with pytest.raises(ConfigError, match="also given in overrides="):
        bs.BorderModel("baseline", seed=1, horizon_months=3, overrides={"coalition_isr": 0.2},
                       coalition_isr=0.4)
    from borderscen.cli import main
    assert main(["run", "--preset", "baseline", "--set", "coalition_isr=0.2",
                 "--set", "coalition_isr=0.4", "--replications", "1"]) == 2


def test_reproduce_refuses_two_experiments_with_one_name_before_running_anything(tmp_path, capsys):
    from borderscen.cli import main
    exps = tmp_path / "experiments"
    exps.mkdir()
    body = config(3)
    import tomli_w
    (exps / "a.toml").write_text(tomli_w.dumps(body))
    body["scenarios"][0]["overrides"] = {"coalition_isr": 0.2}
    (exps / "b.toml").write_text(tomli_w.dumps(body))
    code = main(["reproduce", "--experiments", str(exps), "--out", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2 and "a.toml" in err and "b.toml" in err and "own name" in err
    assert not (tmp_path / "results").exists()
