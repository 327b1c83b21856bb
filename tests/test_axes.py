"""The 2026-30 assumptions as axes (issue 22, item 4; ODD 7.1b): the US exit timetable (a delay),
residual forces in Syria and Iraq, and Damascus's capacity path.

Defaults keep today's schedule bit for bit; a residual force keeps troops (and partnered
operations) after the exit and lowers Syria's attacks, statistically over paired replications;
a delay moves the month troops fall. Each claim is also checked to fail with the mechanism off.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from borderscen.inputs.scenarios import build_scenario
from borderscen.kernel import stages
from borderscen.kernel.core import make_context, month_dates, run_batch
from borderscen.mechanisms import coalition
from borderscen.randomness import run_seed
from borderscen.runs import branch_index, make_batch

HORIZON = 108  # December 2030
SYRIA_EXIT = dt.date(2026, 4, 1)  # baseline's dated exits (presets/baseline.toml)
IRAQ_EXIT = dt.date(2026, 9, 1)


def run(preset: str = "baseline", reps: int = 40, seed: int = 5, horizon: int = HORIZON,
        compiled: bool | None = None, **overrides):
    batch, _ = make_batch(build_scenario(preset, overrides), [run_seed(seed, r) for r in range(reps)],
                          horizon)
    return run_batch(batch, make_context(compiled=compiled))


def schedule_as_written(scheduled, previous, months_out, delay, residual):
    """The kernel before the axes: the dated troops act as they are (the mechanism switched off)."""
    scheduled = np.asarray(scheduled, float)
    return scheduled, np.zeros_like(scheduled)


def switch_off(monkeypatch) -> None:
    """The mechanism switched off: its numpy function patched, and the coalition stage run as
    numpy (the compiled stage, if numba is installed, has the function's arithmetic inlined)."""
    monkeypatch.setattr(coalition, "troops_after_exit", schedule_as_written)
    try:
        from borderscen.kernel import compiled
    except ImportError:
        return
    monkeypatch.delitem(compiled.COMPILED, stages.coalition.run)


@pytest.fixture
def axes_off(monkeypatch):
    switch_off(monkeypatch)


def same(a, b) -> bool:
    return all(np.array_equal(a.monthly[k], b.monthly[k], equal_nan=True) for k in a.monthly) and \
        all(np.array_equal(a.zones[k], b.zones[k]) for k in a.zones)


def first_month_at_zero(troops: np.ndarray) -> dt.date:
    """The first month a run has no US troops in a country (troops never reach 0 in the history)."""
    return next(d for d, v in zip(month_dates(troops.shape[-1]), troops, strict=True) if v == 0)


# ---------------------------------------------------------------------------- the mechanism
def test_troops_after_exit_holds_the_last_level_for_the_delay_then_leaves_the_residual():
    sched = [1000.0, 1000.0, 0.0, 0.0, 0.0, 0.0, 800.0]
    for delay, residual, want in ((0, 0, [1000, 1000, 0, 0, 0, 0, 800]),
                                  (2, 0, [1000, 1000, 1000, 1000, 0, 0, 800]),
                                  (0, 300, [1000, 1000, 300, 300, 300, 300, 800]),
                                  (1, 300, [1000, 1000, 1000, 300, 300, 300, 800])):
        prev, out, got = np.array([[500.0]]), np.zeros((1, 1)), []
        for s in sched:
            prev, out = coalition.troops_after_exit(np.array([[s]]), prev, out, np.array([[delay]]),
                                                    np.array([[residual]]))
            got.append(float(prev[0, 0]))
        assert got == want, (delay, residual)


# ---------------------------------------------------------------------------- defaults
@pytest.mark.parametrize("preset", ["baseline", "tehran_ascendant"])
def test_defaults_are_todays_behaviour_bit_for_bit(preset, monkeypatch):
    """Leaving the axes unset, or setting them to their defaults, gives exactly the outputs of the
    kernel that applies the dated troops as written (the model before the axes). All in the
    numpy month: switched off, the coalition stage runs as numpy, and bit for bit means the same
    arithmetic."""
    default = run(preset, reps=12, compiled=False)
    explicit = run(preset, reps=12, compiled=False, us_exit_delay_months=0, residual_troops_syria=0,
                   residual_troops_iraq=0)
    assert same(default, explicit)
    switch_off(monkeypatch)
    assert same(default, run(preset, reps=12, compiled=False))
    # the comparison can fail: the mechanism switched off ignores a residual force the axes honour
    monkeypatch.undo()
    assert not same(default, run(preset, reps=12, compiled=False, residual_troops_syria=500))


# ---------------------------------------------------------------------------- residual force
REPS = 120


def syria_effect(**overrides):
    """Per-replication paired change in Syria's cumulative attacks (branch to Dec 2030) and the
    one-sided paired t-test p-value that it is negative."""
    b = branch_index()
    base = run(reps=REPS, seed=9)
    alt = run(reps=REPS, seed=9, **overrides)
    d = alt.monthly["attacks_syria"][:, b:].sum(1) - base.monthly["attacks_syria"][:, b:].sum(1)
    p = stats.ttest_1samp(d, 0.0, alternative="less").pvalue if np.ptp(d) > 0 else 1.0
    return base, alt, d, p


def test_a_residual_force_keeps_presence_after_the_exit_and_lowers_syrias_attacks():
    base, alt, d, p = syria_effect(residual_troops_syria=500)
    dates = month_dates(HORIZON)
    after = slice(dates.index(SYRIA_EXIT), None)
    assert np.all(base.monthly["us_troops_syria"][:, after] == 0)
    assert np.all(alt.monthly["us_troops_syria"][:, after] == 500)
    # presence above zero: the coalition keeps partnering in Syria after the exit
    assert base.monthly["partnered_operations_syria"][:, after].sum() == 0
    assert alt.monthly["partnered_operations_syria"][:, after].mean() > 1.0
    assert d.mean() < 0 and p < 1e-3, (d.mean(), p)
    # most futures, not just the mean: fewer attacks in at least two runs in three
    assert (d < 0).mean() > 2 / 3


def test_the_residual_effect_vanishes_with_the_mechanism_off(axes_off):
    base, alt, d, p = syria_effect(residual_troops_syria=500)
    assert np.all(alt.monthly["us_troops_syria"][:, branch_index() + 3:] == 0)
    assert not (d.mean() < 0 and p < 1e-3)


def test_a_residual_force_in_iraq_stays_at_harir_after_september_2026():
    r = run(reps=10, residual_troops_iraq=500)
    dates = month_dates(HORIZON)
    assert np.all(r.monthly["us_troops_iraq"][:, dates.index(IRAQ_EXIT):] == 500)
    assert np.all(r.monthly["us_troops_iraq"][:, dates.index(IRAQ_EXIT) - 1] == 1500)


# ---------------------------------------------------------------------------- delay
@pytest.mark.parametrize("delay", [3, 6, 12])
def test_a_delay_moves_the_month_troops_fall(delay):
    on_time, late = run(reps=20), run(reps=20, us_exit_delay_months=delay)
    for country, exit_month in (("syria", SYRIA_EXIT), ("iraq", IRAQ_EXIT)):
        m_on = on_time.monthly[f"us_troops_{country}"]
        m_late = late.monthly[f"us_troops_{country}"]
        months = exit_month.year * 12 + exit_month.month - 1 + delay
        want = dt.date(months // 12, months % 12 + 1, 1)
        assert {first_month_at_zero(row) for row in m_on} == {exit_month}
        assert {first_month_at_zero(row) for row in m_late} == {want}
    # while the exit is late the coalition still runs operations in Syria; on time it runs none
    dates = month_dates(HORIZON)
    window = slice(dates.index(SYRIA_EXIT), dates.index(SYRIA_EXIT) + delay)
    assert on_time.monthly["partnered_operations_syria"][:, window].sum() == 0
    assert late.monthly["partnered_operations_syria"][:, window].mean() > 1.0


def test_a_delay_does_nothing_with_the_mechanism_off(axes_off):
    late = run(reps=5, us_exit_delay_months=6)
    assert {first_month_at_zero(row) for row in late.monthly["us_troops_syria"]} == {SYRIA_EXIT}


def test_the_mesa_face_reports_the_troops_present():
    from borderscen import BorderModel
    m = BorderModel(seed=3, horizon_months=60, residual_troops_syria=400, us_exit_delay_months=2)
    seen = {}
    for _ in range(60):
        m.step()
        seen[m.date] = (m.coalition.troops_syria, m.last("us_troops_syria"))
    assert seen[dt.date(2026, 5, 1)] == (1000.0, 1000.0)
    assert seen[dt.date(2026, 6, 1)] == (400.0, 400.0)


def test_axis_values_outside_their_range_are_refused_naming_the_range():
    with pytest.raises(Exception, match=r"residual_troops_syria.*\[0, 1000\]"):
        build_scenario("baseline", {"residual_troops_syria": 5000})
    with pytest.raises(Exception, match=r"us_exit_delay_months.*whole number"):
        build_scenario("baseline", {"us_exit_delay_months": 2.5})


# ---------------------------------------------------------------------------- the experiment
def test_the_axes_experiment_crosses_the_presets_with_every_axis_including_its_default(repo_root):
    from borderscen.experiments.config import design_size, load_config
    from borderscen.inputs.params import registry
    from borderscen.plots import axes as axes_plot

    cfg = load_config(repo_root / "experiments" / "axes.toml")
    assert cfg.name == "axes" and cfg.sweep.method == "grid"
    assert [s.preset for s in cfg.scenarios] == ["baseline", "cohesive_baghdad", "covert_channel",
                                                 "tehran_ascendant"]
    assert set(cfg.sweep.parameters) == set(axes_plot.AXES)
    reg = registry()
    for name, values in cfg.sweep.parameters.items():
        assert reg[name].default in values, name  # each effect is read against the defaults
        assert len(values) >= 2 and all(reg[name].min <= v <= reg[name].max for v in values), name
    points, runs = design_size(cfg)
    assert points == 36 and runs <= 5000  # a couple of minutes on two cores


# ---------------------------------------------------------------------------- the figure
AXES_TOML = """
[experiment]
name = "axes_small"
replications = {reps}
horizon_months = 108
seed = 31
executor = "serial"
[[scenarios]]
preset = "baseline"
[[scenarios]]
preset = "tehran_ascendant"
[sweep]
method = "grid"
[sweep.parameters]
residual_troops_syria = [0, 500]
damascus_capacity_growth = [0.02, 0.05]
"""


def small_axes(tmp_path, name: str = "r", reps: int = 16, text: str = AXES_TOML):
    from borderscen.experiments import run_experiment
    path = tmp_path / f"{name}.toml"
    path.write_text(text.format(reps=reps))
    return run_experiment(path, out=tmp_path / name, progress=False)


@pytest.fixture(scope="module")
def axes_results(tmp_path_factory):
    return small_axes(tmp_path_factory.mktemp("axes"))


def effect(table, what: str, scenario: str, metric: str):
    row = table[(table["effect"] == what) & (table["scenario"] == scenario) & (table["metric"] == metric)]
    assert len(row) == 1, (what, scenario, metric)
    return row.iloc[0]


RESIDUAL_ROW = "500 US troops stay in NE Syria"


def test_axis_effects_pair_each_axis_with_the_defaults_and_each_preset_with_baseline(axes_results):
    from borderscen.plots import axes as axes_plot
    runs = axes_results.runs
    t = axes_plot.axis_effects(runs, swept=axes_results.manifest["swept"])
    assert set(t["effect"]) == {RESIDUAL_ROW, "Damascus capacity growth 0.05/month (default 0.02)",
                                "preset tehran_ascendant (vs baseline)"}
    assert set(t["metric"]) == set(axes_plot.HEADLINE) and (t["n_pairs"] == 16).all()
    # the residual force lowers Syria's attacks in both scenarios, clear of zero
    for sc in ("baseline", "tehran_ascendant"):
        r = effect(t, RESIDUAL_ROW, sc, "cum_attacks_syria")
        assert r["hi"] < 0 and r["q05"] <= r["mean_diff"] <= r["q95"], r.to_dict()
    # the pairing is by replication within the scenario: the reference mean is the defaults' run
    base = runs[(runs["scenario"] == "baseline") & (runs["residual_troops_syria"] == 0)
                & (runs["damascus_capacity_growth"] == 0.02)]
    assert effect(t, RESIDUAL_ROW, "baseline", "cum_attacks_syria")["reference_mean"] == \
        pytest.approx(base["cum_attacks_syria"].mean())
    # a preset's own effect is read with the axes at their defaults: Tehran ascendant, fewer
    # months in partnership
    assert effect(t, "preset tehran_ascendant (vs baseline)", "tehran_ascendant",
                  "months_partnership")["hi"] < 0


def test_the_residual_row_is_zero_with_the_mechanism_off(tmp_path, axes_off):
    from borderscen.plots import axes as axes_plot
    res = small_axes(tmp_path, reps=6)
    t = axes_plot.axis_effects(res.runs, swept=res.manifest["swept"])
    rows = t[t["effect"] == RESIDUAL_ROW]
    assert len(rows) == 8 and (rows["mean_diff"] == 0).all() and (rows["q95"] == 0).all()
    # the Damascus axis does not go through the exit: it still moves Syria's attacks
    assert effect(t, "Damascus capacity growth 0.05/month (default 0.02)", "baseline",
                  "cum_attacks_syria")["mean_diff"] != 0


def test_the_axes_chart_is_titled_labelled_with_units_and_one_colour_per_scenario(axes_results):
    from borderscen.plots import axes as axes_plot
    from borderscen.plots.style import SCENARIO_COLOURS
    fig, table = axes_plot.axes_chart(axes_results.runs, swept=axes_results.manifest["swept"],
                                      period="Feb 2026 - Dec 2030", horizon="Dec 2030")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert "each assumption's effect" in fig._suptitle.get_text()
    titles = [ax.get_title() for ax in visible]
    assert titles == ["Attacks in Syria, Feb 2026 - Dec 2030", "Attacks in Iraq, Feb 2026 - Dec 2030",
                      "ISIS members, Dec 2030", "Months in partnership after the branch"]
    units = [ax.get_xlabel().rsplit(", ", 1)[-1] for ax in visible]
    assert units == ["attacks", "attacks", "members", "months"]
    ticks = [t.get_text() for t in visible[0].get_yticklabels()]
    assert ticks[0] == RESIDUAL_ROW  # the largest effect on Syria's attacks on top
    assert set(ticks) == set(table["effect"])
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["baseline", "tehran_ascendant"]
    assert [h.get_color() for h in legend.legend_handles] == [SCENARIO_COLOURS["baseline"],
                                                              SCENARIO_COLOURS["tehran_ascendant"]]
    # every dot drawn is a table row, in its scenario's colour
    dots = [line for ax in visible for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(dots) == len(table)
    assert {d.get_color() for d in dots} == {SCENARIO_COLOURS["baseline"],
                                             SCENARIO_COLOURS["tehran_ascendant"]}
    caption = " ".join(t.get_text() for t in fig.texts)
    assert "16 replications" in caption and "95% confidence interval" in caption
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_the_standard_figures_of_an_axes_design_are_the_axes_figure_and_the_presets_at_defaults(
        axes_results, tmp_path):
    from borderscen.plots import draw_standard_figures
    files = draw_standard_figures(axes_results, tmp_path)
    names = sorted(f.name for f in files if f.suffix == ".png")
    assert "axes.png" in names
    # one zone map per preset, not one per (preset, design point)
    assert [n for n in names if n.startswith("zone_map")] == ["zone_map_0_baseline.png",
                                                              "zone_map_1_tehran_ascendant.png"]
    fan = pd.read_csv(tmp_path / "fan_chart.csv")
    assert sorted(set(fan["scenario"]) - {"record"}) == ["baseline", "tehran_ascendant"]
    axes_csv = pd.read_csv(tmp_path / "axes.csv")
    assert set(axes_csv["effect"]) >= {RESIDUAL_ROW}


def test_an_axes_grid_without_the_default_is_refused_naming_the_axis(tmp_path):
    from borderscen.plots import axes as axes_plot
    res = small_axes(tmp_path, reps=2, text=AXES_TOML.replace("[0.02, 0.05]", "[0.01, 0.05]"))
    assert not axes_plot.is_axes_design(res)  # drawn as an ordinary sweep
    with pytest.raises(ValueError, match=r"damascus_capacity_growth=0.02.*include its registry default"):
        axes_plot.axis_effects(res.runs, swept=res.manifest["swept"])


def test_a_sweep_of_other_parameters_is_not_an_axes_design(smoke_results):
    from borderscen.plots import axes as axes_plot
    assert not axes_plot.is_axes_design(smoke_results)
