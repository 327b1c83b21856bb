"""Issue 2: the evidence catalogue, the parameter registry and the presets hold together, and
typos give one clear error naming the file, the key and what is allowed."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from borderscen.errors import ConfigError
from borderscen.evidence import catalogue, load_catalogue
from borderscen.params import load_registry, make_params, registry, registry_path
from borderscen.scenarios import BASELINE, build_scenario, load_preset_file, presets

SOURCE_SCENARIOS = ("partnership", "limited", "deterioration")


def test_catalogue_has_the_five_sources_and_their_evidence():
    cat = catalogue()
    articles = [s for s in cat.sources.values() if s.language == "ar"]
    assert len(articles) == 5, "the five Arabic articles (public-record sources are in English)"
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
    assert "us_troops_syria_initial.evidence" in str(err.value)
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
    sc = build_scenario("limited", {"coalition_isr": 0.2})
    assert sc.params.coalition_isr == 0.2
    assert sc.params.partnership_threshold == presets()["limited"].set["partnership_threshold"].value
    with pytest.raises(ConfigError, match="did you mean 'coalition_isr'"):
        build_scenario("limited", {"coalition_irs": 0.2})
    with pytest.raises(ConfigError, match="whole number"):
        make_params({"transition_delay_months": 2.5})
    with pytest.raises(ConfigError, match="Kurdish and Sunni blocs"):
        make_params({"tehran_camp_initial": 0.6, "pragmatic_camp_initial": 0.5})


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "borderscen.cli", *args], capture_output=True,
                          text=True, timeout=120, **kw)


def test_cli_params_evidence_and_scenarios():
    out = _cli("params", "--json")
    assert out.returncode == 0
    rows = json.loads(out.stdout)
    assert {r["name"] for r in rows} == set(registry())
    assert all(r["provenance"] in ("evidence", "assumption", "evidence+assumption") for r in rows)
    assert "attacks-2024h1" in _cli("evidence").stdout
    diff = _cli("scenarios", "--diff", "partnership")
    assert diff.returncode == 0 and "tehran_camp_initial" in diff.stdout


def test_cli_bad_preset_name_exits_2_without_traceback():
    out = _cli("scenarios", "--diff", "partnershp")
    assert out.returncode == 2
    assert "did you mean 'partnership'" in out.stderr
    assert "Traceback" not in out.stderr
