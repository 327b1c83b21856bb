"""Issue 11: the observed record (calibration targets and hold-outs) parses, is well-formed,
cites the evidence catalogue, and keeps the fit period and the hold-out period apart."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

from borderscen.errors import ConfigError
from borderscen.inputs.evidence import catalogue
from borderscen.inputs.record import (
    CHANNELS,
    COUNTRIES,
    FIT_END,
    FIT_START,
    HOLDOUT_START,
    QUANTITIES,
    data_path,
    holdouts,
    load_observations,
    targets,
)

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])/\d{4}-(0[1-9]|1[0-2])$")


@pytest.fixture(scope="module")
def record():
    return {"targets": targets(), "holdouts": holdouts()}


def test_both_files_parse_and_are_not_empty(record):
    assert record["targets"] and record["holdouts"]


@pytest.mark.parametrize("name", ["targets", "holdouts"])
def test_every_row_is_well_formed(record, name):
    for obs in record[name]:
        assert obs.quantity in QUANTITIES, obs.id
        assert obs.channel in CHANNELS, obs.id
        assert obs.country in COUNTRIES, obs.id
        assert PERIOD.match(obs.period) and obs.start <= obs.end and obs.months >= 1, obs.id
        lo, hi = obs.bounds
        assert 0 <= lo <= hi and hi > 0, obs.id
        if obs.interval is not None:
            assert 0 < lo < hi and math.isfinite(hi), obs.id
        if obs.lower is not None:
            assert lo > 0 and hi == math.inf, obs.id
        if obs.upper is not None:
            assert lo == 0 and math.isfinite(hi), obs.id
        if obs.value is not None:
            assert lo == hi > 0, obs.id
        assert obs.unit.strip(), obs.id


@pytest.mark.parametrize("name", ["targets", "holdouts"])
def test_every_row_cites_a_catalogued_figure_with_the_same_number(record, name):
    cat = catalogue()
    for obs in record[name]:
        assert obs.evidence.startswith("rec-"), obs.id
        ev = cat.evidence[obs.evidence]
        assert ev.kind == "figure" and ev.sources, obs.id
        assert all(s in cat.sources and cat.sources[s].url for s in ev.sources), obs.id
        shown = obs.interval or obs.lower or obs.upper or obs.value
        expected = list(shown) if isinstance(shown, tuple) else shown
        got = list(ev.value) if isinstance(ev.value, list) else ev.value
        assert got == expected, f"{obs.id}: record says {expected}, evidence says {got}"
        assert ev.period == obs.period, obs.id


def test_fit_and_holdout_periods_do_not_overlap(record):
    assert all(o.start >= FIT_START and o.end <= FIT_END for o in record["targets"])
    assert all(o.start >= HOLDOUT_START for o in record["holdouts"])
    assert max(o.end for o in record["targets"]) < min(o.start for o in record["holdouts"])
    ids = [o.id for o in record["targets"] + record["holdouts"]]
    assert len(ids) == len(set(ids)), "ids must be unique across both files"
    evidence = [o.evidence for o in record["targets"] + record["holdouts"]]
    assert len(evidence) == len(set(evidence)), "one evidence entry per observation"


def test_the_fit_record_covers_each_required_kind_of_observation(record):
    keys = {(o.quantity, o.country, o.channel, o.period) for o in record["targets"]}
    required = [("attacks", "iraq", "tracker", f"{y}-01/{y}-12") for y in (2022, 2023, 2024)]
    required += [("attacks", "iraq", "official", "2024-01/2024-12"),
                 ("attacks", "both", "claimed", "2023-01/2023-12"),
                 ("attacks", "both", "claimed", "2024-01/2024-06"),
                 ("attacks", "both", "claimed", "2024-01/2024-12")]
    required += [(q, c, "partnered_ops", p) for q in ("operations", "killed", "detained")
                 for c in ("iraq", "syria") for p in ("2022-01/2022-12", "2024-01/2024-06")]
    missing = [k for k in required if k not in keys]
    assert not missing, missing
    have = {(o.quantity, o.channel) for o in record["targets"]}
    assert {("members", "un_estimate"), ("detainees", "official"),
            ("repatriated", "official")} <= have
    assert any(o.quantity == "camp_population" for o in record["targets"])
    assert any(o.quantity == "attacks" and o.country == "syria" and o.channel == "tracker"
               for o in record["targets"])


def _write(tmp_path, table, body):
    path = tmp_path / "obs.toml"
    path.write_text(f"[[{table}]]\n" + body)
    return path


GOOD = ('id = "x"\nquantity = "attacks"\ncountry = "iraq"\nperiod = "2024-01/2024-12"\n'
        'value = 65\nchannel = "tracker"\nunit = "incidents"\n'
        'evidence = "rec-iraq-incidents-tracker-2024"\n')


def test_a_good_row_loads_from_any_file(tmp_path):
    [obs] = load_observations(_write(tmp_path, "target", GOOD), "target")
    assert (obs.bounds, obs.months) == ((65, 65), 12)


@pytest.mark.parametrize("old, new, key, text", [
    ('quantity = "attacks"', 'quantity = "attaks"', "target[0].quantity", "attacks"),
    ('channel = "tracker"', 'channel = "rumour"', "target[0].channel", "partnered_ops"),
    ('country = "iraq"', 'country = "jordan"', "target[0].country", "syria"),
    ('period = "2024-01/2024-12"', 'period = "2024-13/2024-12"', "target[0].period", "YYYY-MM"),
    ('period = "2024-01/2024-12"', 'period = "2024-06/2024-01"', "target[0].period", "before it starts"),
    ("value = 65", "value = -3", "target[0]", "positive"),
    ("value = 65", "interval = [70, 60]", "target[0]", "low < high"),
    ("value = 65", "value = 65\nlower = 60", "target[0]", "exactly one of"),
    ("value = 65", "upper = 0", "target[0]", "positive"),
    ('evidence = "rec-iraq-incidents-tracker-2024"', 'evidence = "rec-iraq-incidents-tracker-2042"',
     "target[0].evidence", "did you mean 'rec-iraq-incidents-tracker-2024'"),
])
def test_a_bad_row_names_file_key_value_and_what_is_allowed(tmp_path, old, new, key, text):
    path = _write(tmp_path, "target", GOOD.replace(old, new))
    with pytest.raises(ConfigError) as err:
        load_observations(path, "target")
    msg = str(err.value)
    assert str(path) in msg and f"{key}" in msg and text in msg


def test_the_time_window_is_enforced(tmp_path):
    late = _write(tmp_path, "target", GOOD.replace("2024-01/2024-12", "2024-06/2025-02"))
    with pytest.raises(ConfigError, match=r"target\[0\]\.period.*must end by 2024-12"):
        load_observations(late, "target", start=FIT_START, end=FIT_END)
    with pytest.raises(ConfigError, match=r"must start in 2025-01 or later"):
        load_observations(_write(tmp_path, "holdout", GOOD), "holdout", start=HOLDOUT_START)


def test_duplicate_ids_and_unknown_tables_are_errors(tmp_path):
    path = tmp_path / "dup.toml"
    path.write_text(f"[[target]]\n{GOOD}\n[[target]]\n{GOOD}")
    with pytest.raises(ConfigError, match=r"target\[1\]\.id.*unique"):
        load_observations(path, "target")
    with pytest.raises(ConfigError, match="allowed: target"):
        load_observations(_write(tmp_path, "targets", GOOD), "target")


def test_the_packaged_files_are_the_ones_loaded():
    assert data_path("targets.toml").is_file() and data_path("holdout.toml").is_file()
    assert len(targets()) == len(load_observations(data_path("targets.toml"), "target"))


def test_the_record_tables_in_the_docs_are_current(repo_root):
    out = subprocess.run([sys.executable, str(repo_root / "scripts" / "gen_record_table.py"), "--check"],
                         capture_output=True)
    assert out.returncode == 0, "run: python scripts/gen_record_table.py"
