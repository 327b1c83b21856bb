"""Issues 5 and 15: each figure has its panels and series, is saved with the CSV that drew it, and
the standard figures compare honestly: no overlapping text, one colour per scenario in every
figure of an experiment, one colour scale for all zone maps, the horizon in end-state titles."""

from __future__ import annotations

import itertools
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt
from matplotlib.colors import to_hex

import borderscen as bs
from borderscen.interfaces.reproduce import reproduce
from borderscen.plots import distributions, draw_standard_figures, fans, maps, regimes, style
from borderscen.plots.style import save

SCENARIOS = ["baseline", "cohesive_baghdad"]


def line_labels(ax):
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_importing_the_library_leaves_matplotlib_alone():
    code = ("import matplotlib as mpl; before = (mpl.rcParams['backend'], dict(mpl.rcParams)); "
            "import borderscen, borderscen.plots; "
            "after = (mpl.rcParams['backend'], dict(mpl.rcParams)); "
            "print(before == after, mpl.rcParams['axes.grid'])")
    env = {k: v for k, v in __import__("os").environ.items() if k != "MPLBACKEND"}
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr  # -W error: no warning on import either
    assert out.stdout.split() == ["True", "False"]


def test_style_applies_only_while_drawing(smoke_results):
    grid_before = matplotlib.rcParams["axes.grid"]
    fig, _ = fans.fan_chart(smoke_results.timeseries, outputs=("cooperation",))
    assert fig.axes[0].xaxis._major_tick_kw.get("gridOn", False) or fig.axes[0].get_xgridlines()
    assert matplotlib.rcParams["axes.grid"] == grid_before
    plt.close(fig)


def test_fan_chart_has_a_panel_per_output_and_a_median_per_scenario(smoke_results):
    fig, data = fans.fan_chart(smoke_results.timeseries, outputs=("attacks_tracked_syria", "cooperation"))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [style.label("attacks_tracked_syria")[0],
                                               "Baghdad-Damascus cooperation"]
    assert line_labels(axes[0]) == SCENARIOS
    assert len(axes[0].collections) == 2 * len(SCENARIOS)  # 50% and 80% bands each
    assert set(data["output"]) == {"attacks_tracked_syria", "cooperation"}
    assert {"q0.025", "q0.5", "q0.975"} <= set(data.columns)
    plt.close(fig)


def test_the_tempo_state_is_drawn_as_shares_of_runs_not_quantiles(smoke_results):
    """A categorical state has no meaningful quantiles: its row shows the share of runs in each
    state with a Wilson band, the same shares the stored batch gives streamed."""
    from borderscen.analysis.results import state_shares
    from borderscen.analysis.summaries import state_shares as in_memory
    ts = smoke_results.timeseries
    states = fans.STATE_OUTPUTS["isis_tempo"]
    fig, data = fans.fan_chart(ts, outputs=("isis_tempo", "cooperation"))
    tempo = data[data["output"] == "isis_tempo"]
    assert set(tempo["state"]) == set(states) and tempo["p"].between(0, 1).all()
    assert (tempo["lo"] <= tempo["p"]).all() and (tempo["p"] <= tempo["hi"]).all()
    one = tempo[(tempo["scenario"] == "baseline") & (tempo["state"] == "lull")].set_index("date")["p"]
    base = ts[ts["scenario"] == "baseline"]
    expected = (base["isis_tempo"] == states["lull"]).groupby(base["date"]).mean()
    assert np.allclose(one.to_numpy(), expected.loc[one.index].to_numpy())
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert axes[0].get_ylim() == (0, 1)
    assert {t.get_text() for t in axes[0].get_legend().get_texts()} == set(states)
    streamed = state_shares(smoke_results, "isis_tempo", states, by=("scenario", "date"))
    keys = ["scenario", "date", "state"]
    both = (streamed.astype({"scenario": str}).merge(
        in_memory(ts, "isis_tempo", states).astype({"scenario": str}), on=keys, suffixes=("", "_mem")))
    assert len(both) == len(streamed) == len(tempo) > 0
    assert np.allclose(both["p"], both["p_mem"]) and (both["n"] == both["n_mem"]).all()
    plt.close(fig)


def test_regime_chart_has_one_stacked_panel_per_scenario(smoke_results):
    fig, data = regimes.regime_chart(smoke_results.timeseries)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [f"Scenario: {s}" for s in SCENARIOS]
    assert all(len(ax.collections) == 3 for ax in axes)  # three regimes stacked
    assert (data[["deterioration", "limited", "partnership"]].sum(axis=1).round(9) == 1).all()
    plt.close(fig)


def test_end_state_and_differences(smoke_results):
    runs = smoke_results.runs
    fig, data = distributions.end_state(runs, horizon="Dec 2025")
    metrics = [m for m in style.present(runs, distributions.END_METRICS)
               if style.informative(runs[m])]
    assert set(data["metric"]) - {"pipeline_operating"} == set(metrics)
    assert "Dec 2025" in fig._suptitle.get_text()
    plt.close(fig)
    fig, data = distributions.differences(runs)
    assert set(data["scenario"]) == {"cohesive_baghdad"}
    assert set(data["metric"]) == set(style.present(runs, distributions.DIFF_METRICS))
    plt.close(fig)


def test_uninformative_panels_are_left_out(smoke_results):
    runs = smoke_results.runs.assign(constant=3.0, final_pipeline_stage=0)
    fig, data = distributions.end_state(runs, metrics=["cum_attacks", "constant"])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [style.label("cum_attacks")[0]]  # no 'constant', no all-grey pipeline panel
    plt.close(fig)


def test_threshold_risk_is_a_probability_with_intervals_and_a_caption(smoke_results):
    fig, data = fans.threshold_risk(smoke_results.timeseries, threshold=3000,
                                    explanation="Twenty is a test threshold.")
    assert line_labels(fig.axes[0]) == SCENARIOS
    assert data["p"].between(0, 1).all() and (data["lo"] <= data["p"]).all()
    assert (data["p"] <= data["hi"] + 1e-12).all()
    assert any("Twenty is a test threshold." in t.get_text().replace("\n", " ") for t in fig.texts)
    plt.close(fig)


def test_zone_map_shades_every_zone_and_keys_marker_size(smoke_results):
    fig, data = maps.zone_map(smoke_results.zones, "baseline")
    assert len(data) == 13 and data["attacks"].ge(0).all()
    ax = fig.axes[0]
    assert "scenario 'baseline'" in ax.get_title()
    key = ax.get_legend()
    assert "marker size" in key.get_title().get_text()
    assert len(key.legend_handles) >= 2 and all(h.get_sizes()[0] > 0 for h in key.legend_handles)
    assert all(h.get_facecolor()[0][3] > 0 for h in key.legend_handles)  # filled, not empty
    plt.close(fig)


def test_zone_labels_never_sit_on_their_own_marker(smoke_results):
    fig, _ = maps.zone_map(smoke_results.zones, "baseline")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    points = ax.collections[0]
    centres = ax.transData.transform(points.get_offsets())
    radii = (points.get_sizes() ** 0.5) / 2 * fig.dpi / 72
    for text, (cx, cy), rad in zip(ax.texts, centres, radii, strict=True):
        bb = text.get_window_extent(r)
        nx, ny = min(max(cx, bb.x0), bb.x1), min(max(cy, bb.y0), bb.y1)
        assert (nx - cx) ** 2 + (ny - cy) ** 2 >= (rad * 0.95) ** 2, text.get_text()
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
                           "differences", "zone_map_0_baseline", "zone_map_1_cohesive_baghdad"])
    assert all((tmp_path / f"{stem}.csv").exists() for stem in pngs)


# ----------------------------------------------------------------- honest comparison (issue 15)
def tiny(tmp_path_factory, name: str, scenarios: list[str], sweep: dict | None = None):
    text = (f'[experiment]\nname = "{name}"\nreplications = 3\nhorizon_months = 56\nseed = 5\n'
            'executor = "serial"\n')
    text += "".join(f'\n[[scenarios]]\npreset = "{s}"\n' for s in scenarios)
    if sweep:
        text += '\n[sweep]\nmethod = "grid"\n[sweep.parameters]\n'
        text += "".join(f"{k} = {v!r}\n" for k, v in sweep.items())
    d = tmp_path_factory.mktemp(name)
    (d / f"{name}.toml").write_text(text)
    return bs.run_experiment(d / f"{name}.toml", out=d / "results", progress=False)


@pytest.fixture(scope="module")
def experiments(tmp_path_factory):
    presets = bs.preset_names()
    return {
        "sweep": tiny(tmp_path_factory, "sweep", [presets[0]],
                      {"branch_faction_shift": [-0.2, -0.1, 0.0, 0.1, 0.2]}),
        "presets": tiny(tmp_path_factory, "presets", presets[:3]),
        "single": tiny(tmp_path_factory, "single", [presets[0]]),
    }


def _texts(fig):
    """Every drawn, non-empty text of a figure, with its window extent (tick labels only for
    the ticks matplotlib actually draws)."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ticklabels, drawn = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticklabels.update((tick.label1, tick.label2))
            if ax.get_visible():
                for tick in axis._update_ticks():  # the ticks inside the view: the drawn ones
                    drawn += [lab for lab in (tick.label1, tick.label2) if lab.get_visible()]
    out = []
    for t in [*drawn, *(t for t in fig.findobj(matplotlib.text.Text) if t not in ticklabels)]:
        if not t.get_visible() or not t.get_text().strip():
            continue
        if t.axes is not None and not t.axes.get_visible():
            continue
        bb = t.get_window_extent(r)
        if bb.width > 0 and bb.height > 0:
            out.append((t, bb))
    return out


def overlapping_text(fig, tolerance: float = 1.0):
    texts = _texts(fig)
    clashes = []
    for (a, ba), (b, bb) in itertools.combinations(texts, 2):
        if a is b:
            continue
        w = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        h = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if w > tolerance and h > tolerance:
            clashes.append((a.get_text()[:40], b.get_text()[:40], getattr(a.axes, 'get_title', str)(), ))
    return clashes


def _figures(results):
    """The standard figures of a batch, drawn as draw_standard_figures draws them."""
    from borderscen.plots import THRESHOLD_NOTE, series_view
    ts, runs, zones, names = series_view(results)
    colours = style.scenario_colours(names)
    horizon = style.horizon_text(ts["date"])
    figs = {"fan_chart": fans.fan_chart(ts, colours=colours)[0],
            "regimes": regimes.regime_chart(ts, colours=colours)[0],
            "end_state": distributions.end_state(runs, colours=colours, horizon=horizon)[0],
            "threshold": fans.threshold_risk(ts, threshold=50, colours=colours,
                                             explanation=THRESHOLD_NOTE)[0]}
    if len(names) > 1:
        ref = "baseline" if "baseline" in names else names[0]
        figs["differences"] = distributions.differences(runs, baseline=ref, colours=colours,
                                                        horizon=horizon)[0]
    for p in results.manifest.get("swept", []):
        figs[f"response_{p}"] = fans.response_curves(results.runs, p, ["cum_attacks", "mean_cooperation"],
                                                     colours=colours, horizon=horizon)[0]
    vmax, size_max = maps.shared_scale(zones, names)
    for sc in names:
        figs[f"map {sc}"] = maps.zone_map(zones, sc, vmax=vmax, size_max=size_max)[0]
    for fig in figs.values():
        style.stamp(fig, results.id)
    return names, colours, horizon, figs


@pytest.mark.parametrize("kind", ["sweep", "presets", "single"])
def test_standard_figures_have_no_overlapping_text(experiments, kind):
    _, _, _, figs = _figures(experiments[kind])
    try:
        for name, fig in figs.items():
            assert overlapping_text(fig) == [], name
    finally:
        plt.close("all")


@pytest.mark.parametrize("kind", ["sweep", "presets"])
def test_one_colour_per_scenario_in_every_figure(experiments, kind):
    names, colours, _, figs = _figures(experiments[kind])
    seen: dict[str, set[str]] = {n: set() for n in names}
    try:
        for fig in figs.values():
            for ax in fig.axes:
                for line in ax.get_lines():
                    if line.get_label() in seen:
                        seen[line.get_label()].add(to_hex(line.get_color()))
                for t in ax.texts + [ax.title]:
                    sc = t.get_text().removeprefix("Scenario: ").replace("\n", " | ")
                    if sc in seen and to_hex(t.get_color()) != "#000000":
                        seen[sc].add(to_hex(t.get_color()))
        assert all(len(c) == 1 for c in seen.values()), seen
        assert {n: c.pop() for n, c in seen.items()} == {n: to_hex(colours[n]) for n in names}
        assert len(set(colours.values())) == len(names)  # distinct series, distinct colours
    finally:
        plt.close("all")


def test_palette_is_stable_for_presets_and_keyed_by_label():
    a = style.scenario_colours(["baseline", "my_case", "covert_channel"])
    b = style.scenario_colours(["covert_channel", "baseline", "my_case"])
    assert a["baseline"] == b["baseline"] and a["covert_channel"] == b["covert_channel"]
    assert a["my_case"] not in {a["baseline"], a["covert_channel"]}


def test_zone_maps_of_one_experiment_share_one_scale(experiments):
    names, _, _, figs = _figures(experiments["presets"])
    try:
        maps_ = [fig for key, fig in figs.items() if key.startswith("map ")]
        assert len(maps_) == len(names) > 1
        climits = {fig.axes[0].collections[0].get_clim() for fig in maps_}
        assert len(climits) == 1
        vmax, size_max = maps.shared_scale(experiments["presets"].zones, names)
        assert climits.pop() == (0, vmax)
        keys = {tuple(h.get_label() for h in fig.axes[0].get_legend().legend_handles)
                for fig in maps_}
        assert len(keys) == 1  # same size key on every map
    finally:
        plt.close("all")


def test_sweeps_use_small_multiples_or_response_curves(experiments):
    res = experiments["sweep"]
    _, _, horizon, figs = _figures(res)
    try:
        fan = figs["fan_chart"]
        visible = [ax for ax in fan.axes if ax.get_visible()]
        assert all(len(line_labels(ax)) == 1 for ax in visible)  # one series per panel
        curves = figs["response_branch_faction_shift"]
        assert curves.axes[0].get_xlabel() == "branch_faction_shift"
        xs = curves.axes[0].get_lines()[0].get_xdata()
        assert list(xs) == [-0.2, -0.1, 0.0, 0.1, 0.2]
        assert horizon in curves._suptitle.get_text()
    finally:
        plt.close("all")


@pytest.mark.parametrize("kind", ["presets", "single"])
def test_end_state_titles_name_the_horizon_and_stamp_is_print_size(experiments, kind):
    res = experiments[kind]
    _, _, horizon, figs = _figures(res)
    try:
        assert horizon == f"{pd.Timestamp(res.timeseries['date'].max()):%b %Y}"
        assert horizon in figs["end_state"]._suptitle.get_text()
        stamps = [t for t in figs["end_state"].texts if t.get_gid() == "borderscen-stamp"]
        assert len(stamps) == 1 and stamps[0].get_fontsize() >= 8.5
    finally:
        plt.close("all")


def test_standard_figures_include_response_curves_of_a_sweep(tmp_path, experiments):
    files = draw_standard_figures(experiments["sweep"], tmp_path)
    assert (tmp_path / "response_branch_faction_shift.png") in files


# ----------------------------------------------------------------- end to end
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
    out = subprocess.run([sys.executable, "-m", "borderscen.interfaces.cli", "run",
                          str(repo_root / "experiments" / "smoke.toml"), "--out", str(tmp_path / "r"),
                          "--executor", "serial", "--quiet", "--formats", "png", "svg"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    figs = tmp_path / "r" / "figures"
    assert (figs / "fan_chart.svg").exists() and (figs / "fan_chart.png").exists()
    assert "8 runs ok, 0 failed" in out.stdout


def test_style_context_restores_only_its_own_keys():
    """Jupyter's inline backend switches 'interactive' on while the first figure is made; a
    plotting function must not switch it back off (later figures would not show)."""
    before = matplotlib.rcParams["interactive"]
    try:
        with style.style_context():
            assert matplotlib.rcParams["axes.grid"] is True
            matplotlib.rcParams["interactive"] = not before
        assert matplotlib.rcParams["interactive"] is (not before)
    finally:
        matplotlib.rcParams["interactive"] = before


def test_calibration_fit_draws_each_observations_published_interval():
    """With the observation model's draws, every observation gets one box spanning its window,
    from the 5th to the 95th percentile of the published figure (per month for flows)."""
    import numpy as np

    from borderscen.analysis.calibration import posterior_predictive
    from borderscen.assimilation.observe import FLOWS, comparable, month_index_between
    from borderscen.inputs.record import holdouts, targets
    from borderscen.plots.calibration import calibration_fit

    fit, _ = comparable(targets())
    held, _ = comparable(holdouts())
    from borderscen.inputs.posterior import posterior_sample

    monthly, dates = posterior_predictive(posterior_sample(), n=12)
    predictive = np.random.default_rng(0).gamma(5.0, 20.0, size=(400, len(fit) + len(held)))
    before, _ = calibration_fit(monthly, dates, fit, held)
    fig, _ = calibration_fit(monthly, dates, fit, held, predictive=predictive)
    boxes = [p for ax in fig.axes for p in ax.patches if isinstance(p, plt.Rectangle)]
    plain = [p for ax in before.axes for p in ax.patches if isinstance(p, plt.Rectangle)]
    assert len(boxes) - len(plain) == len(fit) + len(held)
    for j in (0, len(fit)):  # a target and a hold-out
        c = (*fit, *held)[j]
        per = month_index_between(c.start, c.end) if c.quantity in FLOWS else 1
        p5, p95 = np.percentile(predictive[:, j], [5, 95]) / per
        assert min(abs(p.get_height() - (p95 - p5)) for p in boxes) < 1e-9 * max(1.0, p95)
    plt.close(fig)
    plt.close(before)


def test_figures_from_the_api_carry_the_caveat_and_saving_stamps_it_once(smoke_results, tmp_path):
    fig, table = fans.fan_chart(smoke_results.timeseries, outputs=("isis_members",))
    notes = [t.get_text() for t in fig.texts if t.get_gid() == "borderscen-stamp"]
    assert notes == [f"borderscen · {style.CAVEAT}"]  # drawn in a notebook: the caveat, no id
    save(fig, table, tmp_path / "fan", "smoke@abc")
    notes = [t.get_text() for t in fig.texts if t.get_gid() == "borderscen-stamp"]
    assert notes == [f"borderscen · smoke@abc · {style.CAVEAT}"]  # saved: replaced, not doubled
    regime_fig, _ = regimes.regime_chart(smoke_results.timeseries)
    assert any(t.get_gid() == "borderscen-stamp" for t in regime_fig.texts)
    plt.close("all")


def test_the_fan_chart_marks_the_branch_month_when_its_months_cross_it(smoke_results):
    from borderscen.inputs.scenarios import history

    ts = smoke_results.timeseries
    branch = pd.Timestamp(history().branch)
    fig, _ = fans.fan_chart(ts, outputs=("isis_members",))
    lines = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "branch"]
    crosses = ts["date"].min() < branch <= ts["date"].max()
    assert len(lines) == (1 if crosses else 0)
    if crosses:
        x = lines[0].get_xdata()[0]
        x = matplotlib.dates.num2date(x).replace(tzinfo=None) if isinstance(x, float) else x
        assert pd.Timestamp(x) == branch
        assert f"{branch:%Y-%m}" in fig._suptitle.get_text()
    before, _ = fans.fan_chart(ts[ts["date"] < branch], outputs=("isis_members",))
    assert not [ln for ax in before.axes for ln in ax.get_lines() if ln.get_gid() == "branch"]
    plt.close("all")


def test_one_long_bar_does_not_squash_the_differences_figure():
    rows = [("a", "m1", 5.0), ("b", "m1", -4.0), ("a", "m2", 180.0), ("b", "m2", 2.0)]
    table = pd.DataFrame([{"scenario": sc, "metric": m, "mean_diff": v, "lo": v - 1, "hi": v + 1,
                           "baseline_mean": 100.0, "n_pairs": 50} for sc, m, v in rows])
    fig, out = distributions.differences(None, baseline="base", table=table)
    ax = fig.axes[0]
    limit = distributions.off_scale_limit(out)
    assert limit is not None and ax.get_xlim() == (-limit, limit) and limit < 180
    off = [ln for ln in ax.get_lines() if ln.get_gid() == "off-scale"]
    assert len(off) == 1 and "+180%" in " ".join(t.get_text() for t in ax.texts)
    even = table.assign(mean_diff=table["mean_diff"].clip(upper=8))  # no outlier: no clipping
    even = even.assign(lo=even["mean_diff"] - 1, hi=even["mean_diff"] + 1)
    _, even_out = distributions.differences(None, baseline="base", table=even)
    assert distributions.off_scale_limit(even_out) is None
    plt.close("all")
