"""Issue 6: stylized facts, calibration and sensitivity analysis."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from borderscen.analysis.calibration import (
    PRIORS,
    TARGETS,
    calibrate,
    distance,
    load_calibrated,
    write_calibrated,
)
from borderscen.analysis.sensitivity import run_sensitivity
from borderscen.analysis.validation import FACTS, evaluate
from borderscen.experiments.config import parse_config


@pytest.mark.slow
def test_validate_command_reproduces_every_stylized_fact():
    out = subprocess.run([sys.executable, "-m", "borderscen.cli", "validate", "--replications", "20",
                          "--workers", "2"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.count("PASS") == len(FACTS) and "FAIL" not in out.stdout
    assert f"{len(FACTS)} of {len(FACTS)} stylized facts reproduced" in out.stdout


def test_every_fact_states_its_sources():
    from borderscen.evidence import catalogue
    ev = catalogue().evidence
    assert len(FACTS) >= 6 and len({f.name for f in FACTS}) == len(FACTS)
    for f in FACTS:
        assert f.evidence and all(e in ev for e in f.evidence), f.name


def test_a_false_claim_fails():
    """The check can fail: claiming partnership brings MORE attacks than limited is rejected."""
    fact = next(f for f in FACTS if f.name == "partnership_fewer_attacks")
    wrong = replace(fact, name="partnership_more_attacks", expect="positive")
    result = evaluate(wrong, replications=12)
    assert not result.passed and result.hi < 0


def test_abc_distance_is_zero_inside_every_interval_and_grows_outside():
    inside = np.array([[t.low + 0.5 * (t.high - t.low) for t in TARGETS]])
    assert distance(inside)[0] == 0
    outside = inside.copy()
    outside[0, 0] = TARGETS[0].high + (TARGETS[0].high - TARGETS[0].low)
    assert distance(outside)[0] == pytest.approx(1.0)


def test_calibration_keeps_the_closest_draws_and_writes_a_usable_file(tmp_path):
    cal = calibrate(samples=12, replications=1, accept=0.25)
    assert len(cal.draws) == 12 and 3 <= len(cal.accepted) <= 12
    assert cal.accepted["distance"].max() <= cal.draws["distance"].quantile(0.25) + 1e-12
    post = cal.posterior()
    assert ((post["median"] >= post["prior_low"]) & (post["median"] <= post["prior_high"])).all()
    path = write_calibrated(cal, tmp_path / "calibrated.toml")
    values = load_calibrated(path)
    assert set(values) == set(PRIORS)


def test_sensitivity_separates_a_driver_from_an_irrelevant_parameter(tmp_path):
    cfg = parse_config(__import__("tomllib").loads(textwrap.dedent("""
        [experiment]
        name = "sa_test"
        replications = 1
        horizon_months = 12
        seed = 5
        executor = "serial"
        [[scenarios]]
        preset = "baseline"
        [sweep]
        method = "morris"
        samples = 6
        [sweep.parameters]
        recruitment_rate = { min = 0.0002, max = 0.0008 }
        pipeline_cost_drag = { min = 0.0, max = 1.0 }
    """)))
    tables = run_sensitivity(cfg, out_dir=tmp_path, methods=["morris"],
                             outputs=["final_isis_fighters"], progress=False)
    mu = tables["morris"].query("index == 'mu_star'").set_index("parameter")["value"]
    assert mu["pipeline_cost_drag"] == pytest.approx(0.0, abs=1e-9)  # baseline never builds it
    assert mu["recruitment_rate"] > 100
