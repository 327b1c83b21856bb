"""Issue 22, item 5: stylized facts that meet data. Each fact is a pattern of the 2022-24 record
(targets only, never the 2025-26 hold-outs), checked against the model's posterior predictive
interval, and checked again with one parameter of its mechanism at its neutral value, when it
must fail against the same data. Facts the model misses are recorded, with the reason, and the
test then checks that their mechanism still moves the pattern the stated way, beyond its
interval."""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np
import pytest

from borderscen.analysis import facts, validation
from borderscen.inputs import record
from borderscen.inputs.params import registry
from borderscen.inputs.record import holdouts
from borderscen.interfaces import cli

#: Replications of each arm: the 5% and 95% quantiles of 600 draws move by about 0.01-0.02 in
#: probability between seeds, far less than the margins the verdicts below rest on.
R = 600

#: Facts the model misses against the record with its mechanism on, and why (strict: the test
#: says when one starts to hold). Reported in the README and in docs/odd.md.
KNOWN_MISSES = {
    "the Assad government's counter-terrorism effort thinning in 2024 (ODD 7.1)":
        "the model's Syria:Iraq ratio grows about 1.5-fold from 2023 to 2024, the record's 4-7-fold: "
        "Iraq's 2024 collapse and Syria's 2024 surge are both larger in the record",
    "ISIS's lulls (tempo regimes, ODD 7.3a)":
        "the model has no timing within a month, and its month-to-month swings in Iraq in 2024 leave "
        "far fewer empty weeks than the 29 of 48 reported",
}


def _key(f: facts.ObservedFact) -> str:
    return f.mechanism


@pytest.fixture(scope="module")
def table():
    return facts.validate_facts(replications=R, seed=5)


def _rows(table, fact):
    rows = table[table["fact"] == fact.name]
    assert len(rows) == len(fact.components), fact.name
    return rows


# ----------------------------------------------------------------------------- the record side
def _target_rows() -> dict[str, dict]:
    raw = tomllib.loads(record.data_path("targets.toml").read_text())
    return {t["id"]: t for t in raw["target"]}


def _bounds(t: dict) -> tuple[float, float]:
    if "value" in t:
        return float(t["value"]), float(t["value"])
    if "interval" in t:
        return tuple(map(float, t["interval"]))
    return float(t.get("lower", -math.inf)), float(t.get("upper", math.inf))


def test_observed_patterns_are_the_targets_arithmetic():
    """Recomputed here from the raw TOML, independently of the module's reading of it."""
    t = _target_rows()
    by = {f.mechanism.split(" (")[0]: f for f in facts.FACTS}
    s23, i23 = _bounds(t["syria-attacks-tracker-2023"]), _bounds(t["iraq-incidents-tracker-2023"])
    s24, i24 = _bounds(t["syria-attacks-tracker-2024-fp"]), _bounds(t["iraq-incidents-tracker-2024"])
    i22 = _bounds(t["iraq-incidents-tracker-2022"])
    low, high = by["Iraq's own counter-terrorism operations"].observed()
    np.testing.assert_allclose(low, [s23[0] / i23[1], s24[0] / i24[1]])
    np.testing.assert_allclose(high, [s23[1] / i23[0], s24[1] / i24[0]])
    low, high = by["attrition by intelligence-led operations in Iraq"].observed()
    np.testing.assert_allclose(low, [math.sqrt(i24[0] / i22[1])])  # a log-linear fit through 3 years
    low, high = by["the Assad government's counter-terrorism effort thinning in 2024"].observed()
    np.testing.assert_allclose([low[0], high[0]], [(s24[0] / i24[1]) / (s23[1] / i23[0]),
                                                   (s24[1] / i24[0]) / (s23[0] / i23[1])])


def test_the_weekly_figure_is_the_one_in_the_targets_note():
    note = _target_rows()["iraq-incidents-tracker-2024"]["note"]
    assert f"{facts.IRAQ_2024_EMPTY_WEEKS} of {facts.IRAQ_2024_WEEKLY_REPORTS} weekly reports" in note
    low, high = [f for f in facts.FACTS if "tempo" in f.mechanism][0].observed()
    total = _bounds(_target_rows()["iraq-incidents-tracker-2024"])[0]
    assert low[0] == high[0] == pytest.approx(29 / 48 - math.exp(-total * 7 / 366))


def test_facts_read_only_the_2022_24_targets_never_the_holdouts(monkeypatch):
    held = {h.id for h in holdouts()}
    real_path, real_cached = record.data_path, record._cached

    def refuse(name, *args):
        if "holdout" in str(name):
            raise AssertionError(f"the facts read {name}")
        return real_cached(name, *args) if args else real_path(name)
    monkeypatch.setattr(record, "data_path", refuse)
    monkeypatch.setattr(record, "_cached", refuse)
    assert not hasattr(facts, "holdouts")
    for f in facts.FACTS:
        assert f.ids and not set(f.ids) & held, f.name
        for i in f.ids:
            assert _target_rows()[i]["period"].split("/")[1] <= "2024-12", i
        f.observed()
    facts.replay(3, 1, None, "posterior", sorted({i for f in facts.FACTS for i in f.ids}))


# ----------------------------------------------------------------------------- the statistics
def test_predictive_p_is_decided_by_the_interval():
    v = np.arange(1000.0)
    assert facts.predictive_p(v, 499.5, 499.5) == pytest.approx(1.0)
    assert facts.predictive_p(v, 2000, 2000) == 0.0 and facts.predictive_p(v, -5, -5) == 0.0
    assert facts.predictive_p(v, 30, 30) == pytest.approx(0.062)  # outside the central 90%
    assert facts.predictive_p(v, 70, 70) == pytest.approx(0.142)  # inside it
    assert facts.predictive_p(v, -50, 70) == pytest.approx(0.142)  # an observed interval meeting it
    assert facts.predictive_p(v, -50, 30) == pytest.approx(0.062)


def test_empty_week_excess_is_zero_for_a_constant_rate_and_positive_for_bunched_attacks():
    rng = np.random.default_rng(3)
    n = 1000
    seeds = list(range(n))
    poisson = rng.poisson(65 / 12, size=(n, 12))
    flat = facts.empty_week_excess(poisson, seeds)[:, 0]
    # 0 up to the small bias of a fixed yearly total (about -0.004); sd of one year's share ~0.07
    assert abs(flat.mean()) < 0.01, flat.mean()
    bunched = np.zeros((n, 12), int)
    bunched[:, [2, 6, 9]] = rng.multinomial(65, [1 / 3] * 3, size=n)  # the year's attacks in 3 months
    excess = facts.empty_week_excess(bunched, seeds)[:, 0]
    lo = excess.mean() - 3 * excess.std(ddof=1) / math.sqrt(n)
    assert lo > 0.3, excess.mean()  # about 9 of 12 months empty: most weeks empty
    # the same seeds place the same attacks in the same weeks (the weekly stream is the seed's)
    np.testing.assert_array_equal(facts.empty_week_excess(bunched[:5], seeds[:5]), excess[:5, None])


def test_shift_reports_the_direction_and_an_interval():
    rng = np.random.default_rng(4)
    on = rng.normal(0, 1, size=(400, 1))
    down = facts.shift(on, on - 0.3 + rng.normal(0, 0.1, size=on.shape), direction=-1)[0]
    assert down["moved"] and down["ci_high"] < 0 and down["share_moved"] > 0.9 and down["p_sign"] < 1e-6
    assert not facts.shift(on, on - 0.3, direction=+1)[0]["moved"]
    noise = facts.shift(on, on + rng.normal(0, 1, size=on.shape), direction=-1)[0]
    assert noise["ci_low"] < 0 < noise["ci_high"] and not noise["moved"]


def test_a_fact_fails_when_the_record_lies_outside_the_models_interval():
    f = facts.FACTS[1]
    rec = facts.replay(200, 2, None, "posterior", f.ids)
    values = f.model(rec)
    q95 = np.percentile(values, 95)
    assert facts.verdict(f, values)["holds"]
    far = dataclasses.replace(f, observed=lambda: (np.array([2 * q95]), np.array([2 * q95])))
    assert not facts.verdict(far, values)["holds"]


# ----------------------------------------------------------------------------- switch-offs
def test_each_switch_off_is_one_parameter_at_a_neutral_value_that_changes_the_runs():
    reg = registry()
    mechanisms = [f.mechanism for f in facts.FACTS]
    assert len(set(mechanisms)) == len(mechanisms) >= 3
    for f in facts.FACTS:
        assert len(f.off) == 1, f.name
        (name, value), = f.off.items()
        assert name in reg, name
        assert value != reg[name].default, (name, value)
        assert f.direction in (-1, 1) and f.source


def test_a_switch_off_outside_the_mechanism_leaves_the_fact_holding():
    """The per-fact test below can fail: switching off something the pattern does not depend on
    (the Turkish drag on the pipeline, which is never built before 2025) leaves the decline
    holding and unmoved."""
    f = [f for f in facts.FACTS if "attrition" in f.mechanism][0]
    res = facts.check(dataclasses.replace(f, off={"pipeline_turkey_drag": 0.0}), replications=300, seed=5)
    assert res["on"]["holds"] and res["off"]["holds"]
    assert not res["shift"][0]["moved"]


def test_replay_is_reproducible_and_refuses_bad_switch_offs():
    ids = facts.FACTS[0].ids
    a, b = (facts.replay(4, 9, None, "posterior", ids) for _ in range(2))
    for i in ids:
        np.testing.assert_array_equal(a.figures[i], b.figures[i])
    with pytest.raises(ValueError, match="iraq_ct_ops_per_mnth.*allowed"):
        facts.replay(4, 9, {"iraq_ct_ops_per_mnth": 0.0})
    with pytest.raises(ValueError, match="replications = 1.*allowed: 2 or more"):
        facts.replay(1, 9)


# ----------------------------------------------------------------------------- each fact
@pytest.mark.parametrize("fact", facts.FACTS, ids=lambda f: f.mechanism.split(" (")[0])
def test_each_fact_against_the_record_with_its_mechanism_on_and_off(table, fact):
    rows = _rows(table, fact)
    # off: the switched-off model is run and fails against the same data
    assert not rows["holds_switched_off"].any(), rows.to_dict("records")
    # and the switch-off moves every component the stated way, beyond its 95% interval
    assert rows["shift_moved"].all() and (rows["shift_p"] < 0.001).all(), rows.to_dict("records")
    if _key(fact) in KNOWN_MISSES:
        # on: the model misses the record; its mechanism pushes toward it, not far enough
        assert not rows["holds"].any(), ("now holds", KNOWN_MISSES[_key(fact)])
        obs = (rows["observed_low"] + rows["observed_high"]) / 2
        assert ((obs - rows["model_median"]) * fact.direction < 0).all(), rows.to_dict("records")
    else:
        # on: every component's observed value lies inside the model's 90% interval
        assert rows["holds"].all() and (rows["p"] > facts.LEVEL).all(), rows.to_dict("records")
        # off: at least one component's observed value lies outside the switched-off interval
        assert (rows["off_p"] <= facts.LEVEL).any(), rows.to_dict("records")


def test_table_has_observed_value_model_interval_and_both_verdicts(table):
    need = {"fact", "mechanism", "component", "switch_off", "observed", "observed_low", "observed_high",
            "model_q05", "model_median", "model_q95", "p", "holds", "off_q05", "off_median", "off_q95",
            "off_p", "holds_switched_off", "shift_mean", "shift_ci_low", "shift_ci_high", "shift_moved"}
    assert need <= set(table.columns)
    assert (table["model_q05"] <= table["model_median"]).all()
    assert (table["model_median"] <= table["model_q95"]).all()
    assert (table["replications"] == R).all()
    assert validation.validate_facts is facts.validate_facts and validation.FACTS is facts.FACTS


def test_validate_command_prints_the_facts_and_exits_1_while_facts_are_missed(capsys):
    code = cli.main(["validate", "--facts-only", "--replications", "60", "--seed", "2"])
    out = capsys.readouterr().out
    assert code == cli.EXIT_FACTS_FAILED  # the model misses KNOWN_MISSES
    assert "10.9" in out and "iraq_ct_ops_per_month = 0" in out
    assert f"of {len(facts.FACTS)} fail with their mechanism switched off" in out
