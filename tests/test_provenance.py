"""Issue 2: the evidence catalogue, the parameter registry and the presets hold together, and
typos give one clear error naming the file, the key and what is allowed."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from borderscen.errors import ConfigError
from borderscen.inputs.evidence import catalogue, load_catalogue
from borderscen.inputs.params import load_registry, make_params, registry, registry_path
from borderscen.inputs.scenarios import BASELINE, build_scenario, load_preset_file, presets

SOURCE_SCENARIOS = ("cohesive_baghdad", "covert_channel", "tehran_ascendant")


def test_catalogue_has_the_five_sources_and_their_evidence():
    cat = catalogue()
    # the five Arabic articles (ids = original file names); further sources*.toml files add
    # the public record, in other languages
    articles = {sid: s for sid, s in cat.sources.items() if re.fullmatch(r"\d{3}_[0-9a-f]{16}", sid)}
    assert len(articles) == 5
    assert all(s.language == "ar" for s in articles.values())
    assert all(s.summary.strip() for s in cat.sources.values())
    cited = {sid for e in cat.evidence.values() for sid in e.sources}
    assert cited == set(cat.sources), "every source should contribute evidence"


def test_every_parameter_has_provenance_and_cites_existing_evidence():
    cat = catalogue()
    for spec in registry().values():
        assert spec.evidence or spec.assumption, spec.name
        assert all(e in cat.evidence for e in spec.evidence), spec.name
        assert spec.min <= spec.default <= spec.max, spec.name


def test_registry_rejects_a_parameter_without_provenance(tmp_path):
    bad = tmp_path / "parameters.toml"
    bad.write_text('[orphan]\ndefault = 1\nmin = 0\nmax = 2\nunit = "x"\ngroup = "g"\n'
                   'meaning = "no source, no assumption"\n')
    with pytest.raises(ConfigError, match=r"orphan.*evidence ids or an assumption"):
        load_registry(bad)


def test_registry_rejects_an_unknown_evidence_id(tmp_path):
    text = registry_path().read_text().replace('evidence = ["us-troops-syria"]',
                                               'evidence = ["us-troops-syira"]', 1)
    bad = tmp_path / "parameters.toml"
    bad.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_registry(bad)
    assert "us_troops_syria.evidence" in str(err.value)
    assert "did you mean 'us-troops-syria'" in str(err.value)


def test_evidence_citing_a_missing_source_is_an_error(seeds_copy):
    path = seeds_copy / "evidence.toml"
    path.write_text(path.read_text().replace('sources = ["000_d6bf34d32db109d1"]',
                                             'sources = ["009_nowhere"]', 1))
    with pytest.raises(ConfigError, match=r"evidence\.toml.*009_nowhere.*not a known source id"):
        load_catalogue(seeds_copy)


def test_evidence_typo_in_a_field_names_file_and_key(seeds_copy):
    path = seeds_copy / "evidence.toml"
    path.write_text(path.read_text().replace("claim =", "clam =", 1))
    with pytest.raises(ConfigError) as err:
        load_catalogue(seeds_copy)
    msg = str(err.value)
    assert "evidence.toml" in msg and "evidence[0].clam" in msg and "unknown key" in msg


def test_presets_are_the_source_scenarios_plus_baseline():
    names = list(presets())
    assert names[0] == BASELINE
    assert set(names) == {BASELINE, *SOURCE_SCENARIOS}


@pytest.mark.parametrize("name", SOURCE_SCENARIOS)
def test_each_preset_change_is_valid_and_cites_evidence(name):
    preset, reg, cat = presets()[name], registry(), catalogue()
    assert preset.set, "a scenario preset must differ from baseline"
    for param, setting in preset.set.items():
        spec = reg[param]
        assert spec.min <= setting.value <= spec.max
        assert setting.value != spec.default, f"{name}.{param} restates the baseline"
        assert setting.evidence and all(e in cat.evidence for e in setting.evidence)


def _preset_with(tmp_path, body: str):
    path = tmp_path / "mine.toml"
    path.write_text('name = "mine"\ntitle = "t"\ndescription = "d"\nevidence = ["scenario-limited"]\n'
                    + body)
    return path


def test_preset_with_unknown_parameter_suggests_the_right_one(tmp_path):
    path = _preset_with(tmp_path, '[set.turkey_oposition]\nvalue = 0.4\nevidence = ["turkey-opposes"]\n'
                                  'why = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_preset_file(path)
    msg = str(err.value)
    assert "mine.toml" in msg and msg.count("set.turkey_oposition") == 1
    assert "did you mean 'turkey_opposition'" in msg


def test_preset_value_out_of_range_says_what_is_allowed(tmp_path):
    path = _preset_with(tmp_path, '[set.turkey_opposition]\nvalue = 1.7\nevidence = ["turkey-opposes"]\n'
                                  'why = "x"\n')
    with pytest.raises(ConfigError, match=r"set\.turkey_opposition = 1\.7: allowed: a number in \[0, 1\]"):
        load_preset_file(path)


def test_preset_event_cannot_change_an_initial_condition(tmp_path):
    path = _preset_with(tmp_path, '[[events]]\ndate = "2026-01"\nset = { cooperation_initial = 0.9 }\n')
    with pytest.raises(ConfigError, match="initial-condition parameters cannot change mid-run"):
        load_preset_file(path)


def test_overrides_are_validated_and_applied():
    sc = build_scenario("covert_channel", {"coalition_isr": 0.2})
    assert sc.params.coalition_isr == 0.2
    assert sc.branch_settings["channel_floor"] == presets()["covert_channel"].set["channel_floor"].value
    with pytest.raises(ConfigError, match="did you mean 'coalition_isr'"):
        build_scenario("covert_channel", {"coalition_irs": 0.2})
    with pytest.raises(ConfigError, match="0 or 1"):
        make_params({"coordination_centres": 0.5})
    with pytest.raises(ConfigError, match="Kurdish and Sunni blocs"):
        make_params({"tehran_camp_initial": 0.6, "pragmatic_camp_initial": 0.5})


def test_levers_apply_from_the_branch_and_uncertainties_from_the_start():
    sc = build_scenario("baseline", {"fortification": 0.7, "iran_pressure": 0.8})
    assert sc.branch_settings == {"fortification": 0.7}  # a lever: a choice from the branch on
    assert sc.params.iran_pressure == 0.8 and sc.params.fortification == registry()["fortification"].default


@pytest.mark.parametrize("body", [
    '[set.partnership_threshold]\nvalue = 0.7\nevidence = ["scenario-limited"]\nwhy = "x"\n',
    '[set.attack_rate_syria]\nvalue = 0.05\nevidence = ["scenario-limited"]\nwhy = "x"\n',
    '[set.tehran_camp_initial]\nvalue = 0.3\nevidence = ["scenario-limited"]\nwhy = "x"\n',
])
def test_presets_change_drivers_never_regime_thresholds_or_calibrated_values(tmp_path, body):
    with pytest.raises(ConfigError, match="presets change drivers only"):
        load_preset_file(_preset_with(tmp_path, body))


def test_preset_events_cannot_rewrite_the_history(tmp_path):
    path = _preset_with(tmp_path, '[[events]]\ndate = "2025-06"\nset = { fortification = 0.5 }\n')
    with pytest.raises(ConfigError, match="on or after the branch month"):
        load_preset_file(path)


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "borderscen.interfaces.cli", *args], capture_output=True,
                          text=True, timeout=120, **kw)


def test_cli_params_evidence_and_scenarios():
    out = _cli("params", "--json")
    assert out.returncode == 0
    rows = json.loads(out.stdout)
    assert {r["name"] for r in rows} == set(registry())
    assert all(r["provenance"] in ("evidence", "assumption", "evidence+assumption") for r in rows)
    calibrated = {n for n, s in registry().items() if s.calibrate}
    assert {r["name"] for r in rows if r.get("calibrated")} == calibrated
    cal = next(r for r in rows if r["name"] == "yield_per_operation_iraq")
    assert cal["posterior_q05"] < cal["default"] < cal["posterior_q95"]
    assert "attacks-2024h1" in _cli("evidence").stdout
    diff = _cli("scenarios", "--diff", "cohesive_baghdad")
    assert diff.returncode == 0 and "branch_faction_shift" in diff.stdout


def test_cli_bad_preset_name_exits_2_without_traceback():
    out = _cli("scenarios", "--diff", "covert_chanel")
    assert out.returncode == 2
    assert "did you mean 'covert_channel'" in out.stderr
    assert "Traceback" not in out.stderr


_DATE = r"\d{4}(-\d{2}(-\d{2})?)?"


def test_history_entries_are_dated_and_cite_addressed_public_sources():
    """The replayed history (evidence ids "hist-...") is usable as a timeline: every entry has a
    well-formed period, figures carry a value and a unit, and every cited source has an address
    and a date."""
    cat = catalogue()
    history = [e for e in cat.evidence.values() if e.id.startswith("hist-")]
    assert history, "seeds/evidence-history.toml should contribute entries"
    for ev in history:
        assert ev.period and re.fullmatch(rf"{_DATE}(/{_DATE})?", ev.period), ev.id
        if ev.kind == "figure":
            assert ev.value is not None and ev.unit, ev.id
        for sid in ev.sources:
            src = cat.sources[sid]
            assert src.url and src.url.startswith("http"), sid
            assert re.fullmatch(_DATE, src.date), sid
