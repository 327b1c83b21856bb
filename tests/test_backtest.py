"""The rolling-origin backtest as a user runs it: `borderscen backtest` writes its tables, figures
and JSON verdict, resumes without redoing origins, and never lets a forecast see data after its
origin."""

from __future__ import annotations

import contextlib
import io
import json

import pandas as pd
import pytest

from borderscen.analysis import backtest
from borderscen.interfaces.cli import main

ARGS = ["--particles", "60", "--first", "2024-10", "--every", "6", "--seed", "5"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bt") / "backtest"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):  # --json: the verdict alone on standard output
        assert main(["backtest", *ARGS, "--out", str(out), "--json", "--quiet"]) == 0
    printed = json.loads(stdout.getvalue())
    assert printed == json.loads((out / "verdict.json").read_text())
    return out, printed


def test_backtest_writes_the_verdict_keys_the_issue_names(run):
    out, v = run
    assert v["backtest"]["origins"] == ["2024-10", "2025-04", "2025-10"]
    assert 0 <= v["backtest"]["coverage90"] <= 1
    assert set(v["backtest"]["skill"]) <= {"1", "3", "6", "12"} and v["backtest"]["skill"]
    for by_baseline in v["backtest"]["skill"].values():
        assert set(by_baseline) == {"no_change", "trend", "nb_ar1"}
    assert v["holdout"]["n"] >= 1 and 0 <= v["holdout"]["inside90"] <= v["holdout"]["n"]
    assert set(v["holdout"]["median_skill"]) == {"no_change", "trend", "nb_ar1"}
    assert 0 <= v["filter"]["min_ess_share"] <= 1 and v["filter"]["particles"] == 60


def test_backtest_writes_tables_and_figures(run):
    out, v = run
    scores = pd.read_parquet(out / "scores.parquet")
    assert {"abm", "no_change", "ensemble"} <= set(scores["forecaster"])
    assert len(scores[scores["forecaster"] == "abm"]) == v["backtest"]["n"]
    agg = pd.read_parquet(out / "aggregate.parquet")
    assert {"median_skill", "share_won", "coverage90"} <= set(agg.columns)
    for name in ("backtest_skill", "backtest_coverage", "backtest_pit", "backtest_fans"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 10_000
        assert len(pd.read_csv(out / "figures" / f"{name}.csv")) > 0


def test_a_second_run_resumes_every_origin(run, capsys):
    out, _ = run
    before = backtest.load_forecasts(out)
    assert main(["backtest", *ARGS, "--out", str(out), "--no-figures"]) == 0
    err = capsys.readouterr().err
    assert err.count("already done") == 3
    pd.testing.assert_frame_equal(backtest.load_forecasts(out), before)


def test_no_forecast_sees_an_observation_after_its_origin(monkeypatch):
    seen = []
    real = backtest.assimilate

    def spy(origin, **kw):
        seen.append((origin, list(kw["observations"])))
        return real(origin, **kw)

    monkeypatch.setattr(backtest, "assimilate", spy)
    import datetime as dt
    origin = dt.date(2024, 1, 1)
    df = backtest.forecast_origin(origin, particles=30, seed=1, baselines=False).forecasts
    (o, known), = seen
    assert known and all(pd.Timestamp(c.end + "-01") < pd.Timestamp(origin) for c in known)
    later = {c.id for c in backtest.record_observations() if c.end >= "2024-01"}
    assert not later & {c.id for c in known}
    assert set(df["id"]) <= later and all(df["start"] >= "2024-01")
