"""Issue 5: each figure has its panels and series, is saved with the CSV that drew it, and
`reproduce` writes the whole set (and reuses finished results on a second call)."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib import pyplot as plt

from borderscen.plots import distributions, draw_standard_figures, fans, maps, regimes
from borderscen.plots.style import save
from borderscen.reproduce import reproduce

SCENARIOS = ["baseline", "partnership"]


def line_labels(ax):
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_fan_chart_has_a_panel_per_output_and_a_median_per_scenario(smoke_results):
    fig, data = fans.fan_chart(smoke_results.timeseries, outputs=("attacks_reported", "cooperation"))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == ["Reported ISIS attacks", "Baghdad-Damascus cooperation"]
    assert line_labels(axes[0]) == SCENARIOS
    assert len(axes[0].collections) == 2 * len(SCENARIOS)  # 50% and 80% bands each
    assert set(data["output"]) == {"attacks_reported", "cooperation"}
    assert {"q0.025", "q0.5", "q0.975"} <= set(data.columns)
    plt.close(fig)


def test_regime_chart_has_one_stacked_panel_per_scenario(smoke_results):
    fig, data = regimes.regime_chart(smoke_results.timeseries)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [f"Scenario: {s}" for s in SCENARIOS]
    assert all(len(ax.collections) == 3 for ax in axes)  # three regimes stacked
    assert (data[["deterioration", "limited", "partnership"]].sum(axis=1).round(9) == 1).all()
    plt.close(fig)


def test_end_state_and_differences(smoke_results):
    fig, data = distributions.end_state(smoke_results.runs)
    assert len(fig.axes) == 4
    assert set(data["metric"]) == {"cum_attacks", "final_isis_fighters", "cum_smuggling",
                                   "pipeline_operating"}
    plt.close(fig)
    fig, data = distributions.differences(smoke_results.runs)
    assert set(data["scenario"]) == {"partnership"} and len(data) == len(distributions.DIFF_METRICS)
    plt.close(fig)


def test_threshold_risk_is_a_probability_with_intervals(smoke_results):
    fig, data = fans.threshold_risk(smoke_results.timeseries, threshold=20)
    assert line_labels(fig.axes[0]) == SCENARIOS
    assert data["p"].between(0, 1).all() and (data["lo"] <= data["p"]).all()
    assert (data["p"] <= data["hi"] + 1e-12).all()
    plt.close(fig)


def test_zone_map_shades_every_zone(smoke_results):
    fig, data = maps.zone_map(smoke_results.zones, "baseline")
    assert len(data) == 13 and data["attacks"].ge(0).all()
    assert "scenario 'baseline'" in fig.axes[0].get_title()
    plt.close(fig)


def test_save_writes_each_format_and_the_csv(tmp_path, smoke_results):
    fig, data = fans.fan_chart(smoke_results.timeseries, outputs=("cooperation",))
    files = save(fig, data, tmp_path / "fan", smoke_results.id, formats=("png", "svg", "pdf"))
    assert sorted(f.name for f in files) == ["fan.csv", "fan.pdf", "fan.png", "fan.svg"]
    csv = pd.read_csv(tmp_path / "fan.csv")
    assert (csv["results_id"] == smoke_results.id).all()
    assert smoke_results.id in (tmp_path / "fan.svg").read_text()


def test_standard_figures_of_a_batch(tmp_path, smoke_results):
    files = draw_standard_figures(smoke_results, tmp_path)
    pngs = sorted(f.stem for f in files if f.suffix == ".png")
    assert pngs == sorted(["fan_chart", "regime_probabilities", "end_state", "threshold_risk",
                           "differences", "zone_map_0_baseline", "zone_map_1_partnership"])
    assert all((tmp_path / f"{stem}.csv").exists() for stem in pngs)


@pytest.mark.slow
def test_reproduce_smoke_writes_every_figure_then_reuses(tmp_path, repo_root):
    log: list[str] = []
    kw = dict(experiments_dir=repo_root / "experiments", results_dir=tmp_path / "results",
              figures_dir=tmp_path / "figures", only=["smoke"], executor="serial", log=log.append)
    written = reproduce(**kw)
    files = written["smoke"]
    pngs = [f for f in files if f.suffix == ".png"]
    assert len(pngs) == 7 and all(f.with_suffix(".csv").exists() for f in pngs)
    mtime = (tmp_path / "results" / "smoke" / "timeseries.parquet").stat().st_mtime_ns
    log.clear()
    reproduce(**kw)
    assert any("reusing finished results" in line for line in log)
    assert (tmp_path / "results" / "smoke" / "timeseries.parquet").stat().st_mtime_ns == mtime


def test_reproduce_replaces_results_of_another_model_version(tmp_path, repo_root, monkeypatch):
    from borderscen.experiments import config as config_module
    log: list[str] = []
    kw = dict(experiments_dir=repo_root / "experiments", results_dir=tmp_path / "results",
              figures_dir=tmp_path / "figures", only=["smoke"], executor="serial", log=log.append)
    reproduce(**kw)
    monkeypatch.setattr(config_module, "code_fingerprint", lambda: "a-newer-model")
    log.clear()
    reproduce(**kw)
    assert any("came from another config or model version" in line for line in log)


def test_cli_run_draws_figures_in_requested_formats(tmp_path, repo_root):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "borderscen.cli", "run",
                          str(repo_root / "experiments" / "smoke.toml"), "--out", str(tmp_path / "r"),
                          "--executor", "serial", "--quiet", "--formats", "png", "svg"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    figs = tmp_path / "r" / "figures"
    assert (figs / "fan_chart.svg").exists() and (figs / "fan_chart.png").exists()
    assert "8 runs ok, 0 failed" in out.stdout
