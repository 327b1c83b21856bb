"""Issue 12 item 6: property-based fuzzing of configs. Random valid configs run or are rejected
cleanly; random invalid ones and random bytes are always a ConfigError, never a traceback.
Kept fast: few examples, tiny horizons. BORDERSCEN_FUZZ_SCALE=N multiplies every example count
for a longer hunt (the README's reliability figures come from such a run)."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from borderscen.errors import BorderscenError, ConfigError
from borderscen.experiments import run_experiment
from borderscen.experiments.config import parse_config
from borderscen.experiments.design import expand
from borderscen.inputs.params import registry
from borderscen.inputs.scenarios import preset_names

REG = registry()
NAMES = sorted(REG)
SAFE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)
SCALE = int(os.environ.get("BORDERSCEN_FUZZ_SCALE", "1"))


def scaled(n: int) -> int:
    return n * SCALE


FAST = settings(max_examples=scaled(12), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def value_of(name: str) -> st.SearchStrategy:
    spec = REG[name]
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "int":
        return st.integers(int(spec.min), int(spec.max))
    return st.floats(spec.min, spec.max, allow_nan=False)


@st.composite
def valid_configs(draw) -> dict:
    scenarios = []
    for label in draw(st.lists(SAFE, min_size=1, max_size=2, unique=True)):
        chosen = draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
        scenarios.append({"name": label, "preset": draw(st.sampled_from(preset_names())),
                          "overrides": {n: draw(value_of(n)) for n in chosen}})
    data = {"experiment": {"name": draw(SAFE), "replications": draw(st.integers(1, 2)),
                           "horizon_months": draw(st.integers(1, 3)),
                           "seed": draw(st.integers(0, 2**32)), "executor": "serial"},
            "scenarios": scenarios}
    if draw(st.booleans()):
        swept = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True))
        data["sweep"] = {"method": "grid", "parameters": {
            n: draw(st.lists(value_of(n), min_size=1, max_size=2)) for n in swept}}
    return data


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(),
                 st.text(max_size=30), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=8), st.integers(), max_size=2))


def _paths(obj, prefix=()):
    """Every (path) to a leaf or container in a nested config."""
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@st.composite
def broken_configs(draw) -> dict:
    data = copy.deepcopy(draw(valid_configs()))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=10))] = draw(JUNK)   # an unknown key
        else:
            parent[path[-1]] = draw(JUNK)                                  # a wrong value
    return data


@FAST
@given(valid_configs())
def test_random_valid_configs_run_or_are_rejected_cleanly(data):
    try:
        cfg = parse_config(data, where="fuzz.toml")
    except ConfigError as exc:
        assert "fuzz.toml" in str(exc)   # e.g. a cross-parameter rule at a corner
        return
    points, runs = expand(cfg)
    assert len(runs) == len(cfg.scenarios) * len(points) * cfg.experiment.replications
    with tempfile.TemporaryDirectory() as tmp:
        res = run_experiment(cfg, out=Path(tmp) / "r", progress=False)
        assert len(res.runs) == len(runs)
        assert sorted(res.runs["run"]) == list(range(len(runs)))


def test_a_swept_parameter_named_like_an_output_runs_and_keeps_both(tmp_path):
    """Found by the long fuzz: sweeping us_troops_syria (a parameter and a monthly output) wrote
    the name twice into the timeseries ('Duplicate column names found')."""
    cfg = parse_config({"experiment": {"name": "t", "replications": 2, "horizon_months": 3, "seed": 1,
                                       "executor": "serial", "start": "open_loop"},
                        "scenarios": [{"preset": "baseline"}],
                        "sweep": {"method": "grid", "parameters": {"us_troops_syria": [0, 2000]}}},
                       where="t.toml")
    res = run_experiment(cfg, out=tmp_path / "r", progress=False)
    assert sorted(res.runs["us_troops_syria"].unique()) == [0, 2000]      # the swept value
    ts = res.timeseries
    assert list(ts.columns).count("us_troops_syria") == 1                 # the monthly output
    first = ts[ts["step"] == ts["step"].min()]
    assert first.groupby("point")["us_troops_syria"].nunique().eq(1).all()


@settings(max_examples=scaled(80), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(broken_configs())
@example({"experiment": {"name": "0", "replications": 1, "seed": 0}, "scenarios": [{"preset": "baseline"}],
          "\r": None})  # found by the long fuzz: the key's carriage return split the message
def test_random_broken_configs_are_a_config_error_never_a_traceback(data):
    try:
        parse_config(data, where="fuzz.toml")
    except ConfigError as exc:
        text = str(exc)
        # one line per problem, each naming the file; no pydantic boilerplate (a key the fuzzer
        # names "pydantic" may of course be quoted back)
        assert all(line.startswith("fuzz.toml") for line in text.splitlines()), text
        assert "errors.pydantic.dev" not in text and "validation error for" not in text, text


@settings(max_examples=scaled(60), deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_as_a_config_file_are_a_config_error(blob):
    from borderscen.experiments import load_config
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.toml"
        path.write_bytes(blob)
        try:
            load_config(path)
        except ConfigError as exc:
            assert str(path) in str(exc)


# ------------------------------------------------------------------------- the Python API
def _junk_or(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(strategy, strategy, JUNK)


@st.composite
def api_calls(draw) -> dict:
    """Keyword arguments for bs.simulate / bs.BorderModel: mostly valid, some junk anywhere."""
    names = st.one_of(st.sampled_from(NAMES), SAFE)
    valid = st.lists(st.sampled_from(NAMES), max_size=2, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({n: value_of(n) for n in chosen}))
    junk = st.dictionaries(names, st.one_of(st.floats(-2, 2), st.integers(-3, 3), JUNK), max_size=3)
    overrides = draw(st.one_of(valid, valid, valid, junk))
    event = st.fixed_dictionaries(
        {"date": _junk_or(st.sampled_from(["2022-03", "2025-01", "2026-05", "2031-01", "1999-12",
                                           "2026-13", "March"]))},
        optional={"set": st.dictionaries(names, st.floats(-1, 2), max_size=2),
                  "trigger": st.sampled_from(["election", "state_change", "campaign_announced",
                                              "leadership_strike", "coup"])})
    return {"scenario": draw(_junk_or(st.sampled_from(preset_names()) | SAFE)),
            "seed": draw(_junk_or(st.integers(0, 2**63))),
            "horizon_months": draw(_junk_or(st.integers(1, 6) | st.integers(-2, 0))),
            "overrides": overrides, "events": draw(st.lists(event, max_size=2))}


@settings(max_examples=scaled(40), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(api_calls(), st.booleans())
def test_random_api_calls_run_or_raise_one_error_family_never_a_traceback(call, mesa_face):
    """The API refuses what a config refuses, with a BorderscenError (never pydantic's, numpy's or
    a bare KeyError/TypeError); what it accepts runs to the horizon."""
    import borderscen as bs
    try:
        events = [bs.Event(**e) for e in call.pop("events")]
        if mesa_face:
            model = bs.BorderModel(**call, events=events)
            model.run()
            assert len(model.datacollector.get_model_vars_dataframe()) >= 1
        else:
            frame = bs.simulate(**call, events=events)
            assert len(frame) == call["horizon_months"]
        event("ran")
    except BorderscenError as exc:
        assert str(exc)
        event(f"refused: {type(exc).__name__}")
