"""Issue 14: sweeps split by design point, levers and policies, scenario discovery, robustness,
the EMA Workbench client, the builder and given-data sensitivity. Tiny experiments throughout."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from borderscen.errors import ConfigError
from borderscen.experiments import run_experiment
from borderscen.experiments.config import parse_config
from borderscen.inputs.scenarios import preset_names

OTHER = next(p for p in preset_names() if p != "baseline")

GRID = textwrap.dedent(f"""
    [experiment]
    name = "grid"
    replications = 4
    horizon_months = 4
    seed = 3
    executor = "serial"
    [[scenarios]]
    preset = "baseline"
    [[scenarios]]
    preset = "{OTHER}"
    [sweep]
    method = "grid"
    [sweep.parameters]
    iran_pressure = [0.25, 0.5]
""")

POLICIES = textwrap.dedent("""
    [experiment]
    name = "policies"
    replications = 3
    horizon_months = 56
    seed = 11
    executor = "serial"
    [[scenarios]]
    preset = "baseline"
    [sweep]
    method = "lhs"
    samples = 12
    [sweep.parameters]
    tehran_camp_initial = { min = 0.25, max = 0.55 }
    iran_pressure = { min = 0.1, max = 0.9 }
    [sweep.policies.status_quo]
    [sweep.policies.surge]
    iraq_ct_ops_per_month = 90
    repatriation_per_month = 800
    [sweep.policies.withdraw]
    iraq_ct_ops_per_month = 10
    channel_floor = 0.0
""")


def _toml(text: str) -> dict:
    import tomllib
    return tomllib.loads(text)


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid") / "results"
    return run_experiment(parse_config(_toml(GRID)), out=out, progress=False)


@pytest.fixture(scope="module")
def policy_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("policies") / "results"
    return run_experiment(parse_config(_toml(POLICIES)), out=out, progress=False)


# ------------------------------------------------------------------ 1. sweeps
def test_design_has_readable_labels(grid):
    d = grid.design
    assert list(d["label"]) == ["iran_pressure = 0.25", "iran_pressure = 0.5"]
    assert list(d["iran_pressure"]) == [0.25, 0.5]


def test_summaries_split_by_point_not_pooled(grid):
    reps = grid.manifest["counts"]["replications"]
    q = grid.quantiles("cooperation")
    assert set(q["point"]) == {0, 1}
    assert (q["n"] == reps).all()  # one value per replication, never two points pooled
    probs = grid.regime_probabilities()
    regimes = [c for c in probs.columns if c not in ("scenario", "point", "label", "date")]
    assert np.allclose(probs[regimes].sum(axis=1), 1.0)
    table = grid.end_state(metrics=["cum_attacks", "mean_cooperation"], wide=None)
    assert len(table.columns) == 2 * 2
    assert "baseline | iran_pressure = 0.25" in table.columns
    long = grid.end_state(metrics=["cum_attacks"], wide=False)
    assert len(long) == 4 and (long["n"] == reps).all()


def test_point_differences_are_paired_by_seed(grid):
    runs = grid.runs
    # common random numbers: replication r has the same seed at every point and scenario
    assert (runs.groupby("replication")["seed"].nunique() == 1).all()
    diff = grid.point_differences("cum_attacks", reference="iran_pressure = 0.25")
    assert len(diff) == 2 and (diff["n_pairs"] == 4).all() and diff["lo"].notna().all()
    for _, row in diff.iterrows():
        sc = runs[runs["scenario"] == row["scenario"]]
        a = sc[sc["point"] == 1].set_index("seed")["cum_attacks"]
        b = sc[sc["point"] == 0].set_index("seed")["cum_attacks"]
        assert row["mean_diff"] == pytest.approx((a - b.loc[a.index]).mean())
        assert row["lo"] <= row["mean_diff"] <= row["hi"]
    with pytest.raises(ValueError, match="no design point"):
        grid.point_differences("cum_attacks", reference="nope = 1")


def test_response_curve_one_line_per_scenario(grid, tmp_path):
    from borderscen.plots.exploration import response_curve
    from borderscen.plots.style import save
    curve = grid.response_curve("cum_attacks", "iran_pressure")
    assert len(curve) == 2 * 2 and curve["q0.5"].notna().all()
    runs = grid.runs
    expect = runs[(runs["scenario"] == "baseline") & (runs["point"] == 1)]["cum_attacks"].median()
    got = curve[(curve["scenario"] == "baseline") & (curve["iran_pressure"] == 0.5)]["q0.5"]
    assert got.item() == pytest.approx(expect)
    files = save(*response_curve(curve, "cum_attacks", "iran_pressure"),
                 tmp_path / "curve", grid.id)
    assert all(f.stat().st_size > 0 for f in files)


# ------------------------------------------------------------------ 2. levers and policies
def test_lever_roles_fall_back_to_default_list():
    from borderscen.inputs import levers
    assert levers.role("iraq_ct_ops_per_month") == "lever"
    assert levers.role("tehran_camp_initial") == "uncertainty"
    assert set(levers.DEFAULT_LEVERS) <= set(levers.levers())
    assert not set(levers.levers()) & set(levers.uncertainties())


def test_policy_design_crosses_futures_with_policies(policy_results):
    d = policy_results.design
    assert len(d) == 3 * 12
    assert list(d["policy"].unique()) == ["status_quo", "surge", "withdraw"]
    # every policy meets the same futures: identical uncertainty values per future
    per_future = d.groupby("future")[["tehran_camp_initial", "iran_pressure"]].nunique()
    assert (per_future == 1).all().all()
    surge = d[d["policy"] == "surge"]
    assert (surge["iraq_ct_ops_per_month"] == 90).all()
    assert surge["label"].str.startswith("policy = surge, ").all()


@pytest.mark.parametrize("extra, key", [
    ("[sweep.policies.a]\nirak_ct_ops_per_month = 3\n", "sweep.policies.a.irak_ct_ops_per_month"),
    ("[sweep.policies.a]\niran_pressure = 0.3\n", "sweep.policies.a.iran_pressure"),
    ("[sweep.policies.a]\niraq_ct_ops_per_month = -4\n", "sweep.policies.a.iraq_ct_ops_per_month"),
])
def test_bad_policies_are_named(extra, key):
    text = POLICIES.split("[sweep.policies.status_quo]")[0] + extra
    with pytest.raises(ConfigError) as err:
        parse_config(_toml(text), where="p.toml")
    assert key in str(err.value) and "p.toml" in str(err.value)


# ------------------------------------------------------------------ 3. scenario discovery
def test_where_is_parsed_not_evaluated():
    from borderscen.analysis.discovery import WhereError, where_mask
    df = pd.DataFrame({"a": [1, 2, 3, 4], "r": ["x", "y", "x", "z"]})
    assert list(where_mask(df, "a > 1 and r == 'x'")) == [False, False, True, False]
    assert list(where_mask(df, "r in ['y', 'z'] or not a < 4")) == [False, True, False, True]
    assert list(where_mask(df, "1 < a <= 3")) == [False, True, True, False]
    for bad in ("__import__('os').system('true')", "a.real > 1", "a >", "b > 1"):
        with pytest.raises(WhereError):
            where_mask(df, bad)


def _synthetic(n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"x1": rng.uniform(0, 1, n), "x2": rng.uniform(0, 1, n),
                      "x3": rng.uniform(0, 1, n)})
    return x, ((x["x1"] > 0.7) & (x["x2"] < 0.3)).to_numpy()


def test_prim_recovers_a_known_box_and_says_it_plainly():
    from borderscen.analysis.discovery import prim
    x, y = _synthetic()
    found = prim(x, y, case="collapse", box="last")
    lim = found.limits.set_index("dimension")
    assert set(lim.index) == {"x1", "x2"}  # x3 is irrelevant and left free
    assert lim.loc["x1", "min"] == pytest.approx(0.7, abs=0.05)
    assert lim.loc["x2", "max"] == pytest.approx(0.3, abs=0.05)
    assert (lim["qp"] < 0.05).all()
    assert found.density > 0.9 and found.coverage > 0.8
    assert found.rule.startswith(f"collapse in {found.density:.0%} of runs when x1 above")
    assert "x2 below" in found.rule and f"holds {found.coverage:.0%} of all collapse" in found.rule
    traj = found.trajectory
    assert traj["coverage"].iloc[0] == 1.0 and traj["density"].iloc[0] == pytest.approx(y.mean())


def test_cart_finds_the_same_region():
    from borderscen.analysis.discovery import cart
    x, y = _synthetic(seed=1)
    found = cart(x, y, case="collapse")
    lim = found.limits.set_index("dimension")
    assert {"x1", "x2"} <= set(lim.index)
    assert found.density > 0.9
    assert lim.loc["x1", "min"] == pytest.approx(0.7, abs=0.05)


def test_discover_on_results_is_consistent_with_the_runs(policy_results):
    runs = policy_results.runs.merge(policy_results.design[["point", "policy"]], on="point")
    cut = float(runs["cum_attacks"].quantile(0.7))
    found = policy_results.discover(f"cum_attacks > {cut}")
    assert found.n_runs == len(runs) and found.n_cases == int((runs["cum_attacks"] > cut).sum())
    inside = pd.Series(True, index=runs.index)
    for _, r in found.limits.iterrows():  # recount the box from its limits
        col = runs[r["dimension"]]
        inside &= (col.astype(str).isin(r["values"]) if r["kind"] == "categorical"
                   else col.between(r["min"], r["max"]))
    cases = runs["cum_attacks"] > cut
    assert found.density == pytest.approx(cases[inside].mean())
    assert found.coverage == pytest.approx(cases[inside].sum() / cases.sum())
    assert found.density >= found.base_rate


def test_cli_discover(policy_results, capsys, tmp_path):
    from borderscen.interfaces.cli import main
    cut = float(policy_results.runs["cum_attacks"].median())
    assert main(["discover", str(policy_results.root), "--where", f"cum_attacks > {cut}",
                 "--figures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"cum_attacks > {cut} in " in out and (tmp_path / "discovery_prim_tradeoff.png").exists()
    assert main(["discover", str(policy_results.root), "--where", "nonsense >"]) == 2
    assert "not a readable condition" in capsys.readouterr().err


# ------------------------------------------------------------------ 4. robustness
def test_robustness_and_regret(policy_results):
    from borderscen.analysis.robustness import regret_table
    table = policy_results.robustness(criteria="mean_cooperation > 0.3", regret_metric="cum_attacks")
    assert list(table["rank"]) == [1, 2, 3] and set(table["policy"]) == {"status_quo", "surge",
                                                                          "withdraw"}
    assert (table["n_futures"] == 12 * 3).all()
    runs = policy_results.runs.merge(policy_results.design[["point", "policy"]], on="point")
    for _, r in table.iterrows():
        mine = runs[runs["policy"] == r["policy"]]
        assert r["robustness"] == pytest.approx((mine["mean_cooperation"] > 0.3).mean())
        assert r["lo"] <= r["robustness"] <= r["hi"]
    assert table["robustness"].is_monotonic_decreasing
    regret = regret_table(policy_results, "cum_attacks")
    assert len(regret) == 12 * 3 and (regret >= 0).all().all()
    assert (regret.min(axis=1) == 0).all()  # some policy is the best in every future
    assert table.set_index("policy")["max_regret"].to_dict() == pytest.approx(
        regret.max().to_dict())


def test_robustness_needs_policies(grid):
    with pytest.raises(ValueError, match="no policies"):
        grid.robustness()


def test_cli_robustness(policy_results, capsys, tmp_path):
    from borderscen.interfaces.cli import main
    cfg = tmp_path / "p.toml"
    cfg.write_text(POLICIES)
    assert main(["robustness", str(cfg), "--out", str(policy_results.root), "--quiet",
                 "--figures", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "criteria: " in out and "surge" in out and (tmp_path / "robustness.png").exists()


# ------------------------------------------------------------------ 5. EMA Workbench client
def _ema_model(**kw):
    import borderscen.interfaces.ema as bsema
    return bsema.model(uncertainties=["tehran_camp_initial", "iran_pressure"],
                       levers=["iraq_ct_ops_per_month"], presets=["baseline", OTHER],
                       outcomes=["cum_attacks", "mean_cooperation"], replications=2,
                       horizon_months=3, root_seed=5, **kw)


def _check_against_runner(ex, out):
    """Each EMA experiment x replication equals the batch runner's run with the CRN seed."""
    from borderscen.experiments.runner import run_one
    from borderscen.inputs.scenarios import build_scenario
    from borderscen.model import DEFAULT_START
    from borderscen.randomness import run_seed
    for i in (0, len(ex) - 1):
        row = ex.iloc[i]
        params = {k: float(row[k]) for k in ("tehran_camp_initial", "iran_pressure",
                                             "iraq_ct_ops_per_month")}
        for r in range(2):
            try:
                summary = run_one(build_scenario(str(row["preset"]), params), run_seed(5, r), 3,
                                  DEFAULT_START).summary
            except ConfigError:
                assert out["valid"][i, r] == 0 and np.isnan(out["cum_attacks"][i, r])
                continue
            assert out["valid"][i, r] == 1
            assert out["cum_attacks"][i, r] == summary["cum_attacks"]


def test_ema_model_sequential_uses_registry_and_crn_seeds():
    import ema_workbench as ema
    m = _ema_model(series=["cooperation"])
    assert {u.name for u in m.uncertainties} == {"tehran_camp_initial", "iran_pressure", "preset"}
    assert {lv.name for lv in m.levers} == {"iraq_ct_ops_per_month"}
    unc = {u.name: u for u in m.uncertainties}
    assert (unc["iran_pressure"].lower_bound, unc["iran_pressure"].upper_bound) == (0, 1)
    with ema.SequentialEvaluator(m) as ev:
        ex, out = ev.perform_experiments(scenarios=3, policies=2)
    assert len(ex) == 6 and out["cum_attacks"].shape == (6, 2)
    assert out["cooperation"].shape == (6, 2, 3)  # experiments x replications x months
    assert np.allclose(out["cooperation"].mean(axis=2)[out["valid"] == 1],
                       out["mean_cooperation"][out["valid"] == 1], equal_nan=True)
    _check_against_runner(ex, out)


@pytest.mark.slow
def test_ema_model_multiprocessing():
    import ema_workbench as ema
    m = _ema_model()
    with ema.MultiprocessingEvaluator(m, n_processes=2) as ev:
        ex, out = ev.perform_experiments(scenarios=2, policies=1)
    assert out["cum_attacks"].shape == (2, 2)
    _check_against_runner(ex, out)


def test_ema_invalid_combination_does_not_abort():
    from borderscen.interfaces.ema import run_model
    bad = run_model(1, preset="baseline", horizon_months=2, outputs=("cum_attacks",),
                    tehran_camp_initial=0.9, pragmatic_camp_initial=0.5)
    assert bad["valid"] == 0 and np.isnan(bad["cum_attacks"])


def test_results_to_ema_feeds_ema_analysis(policy_results):
    from ema_workbench.analysis import prim as ema_prim
    ex, out = policy_results.to_ema()
    n = policy_results.manifest["counts"]["succeeded"]
    assert len(ex) == n and all(len(v) == n for v in out.values())
    assert {"tehran_camp_initial", "iran_pressure", "policy", "seed"} <= set(ex.columns)
    y = out["cum_attacks"] > np.median(out["cum_attacks"])
    box = ema_prim.Prim(ex[["tehran_camp_initial", "iran_pressure", "policy"]], y).find_box()
    assert box.peeling_trajectory["coverage"].iloc[0] == 1.0


# ------------------------------------------------------------------ 6. builder and xarray
def test_builder_gives_the_same_config_as_toml(tmp_path):
    import borderscen as bs
    from borderscen.experiments import load_config
    exp = bs.Experiment("built", scenarios=["baseline", {"name": "alt", "preset": OTHER,
                                                         "overrides": {"coalition_isr": 0.3}}],
                        sweep=bs.lhs({"iran_pressure": (0.1, 0.9)}, samples=4),
                        policies={"quo": {}, "surge": {"iraq_ct_ops_per_month": 60}},
                        replications=3, horizon_months=4, seed=9, executor="serial")
    path = exp.save(tmp_path / "built.toml")
    again = load_config(path)
    assert again.content_hash() == exp.config.content_hash()
    assert bs.Experiment.from_dict(exp.to_dict()).config.content_hash() == exp.config.content_hash()
    assert "4 scenarios" not in repr(exp) and "8 points" in repr(exp)
    grid_cfg = bs.Experiment("g", sweep=bs.grid({"iran_pressure": [0.2, 0.4]}), replications=2).config
    assert grid_cfg.sweep.parameters["iran_pressure"] == [0.2, 0.4]


def test_builder_validates_like_toml():
    import borderscen as bs
    with pytest.raises(ConfigError, match="sweep.parameters.iran_presure"):
        bs.Experiment("bad", sweep=bs.lhs({"iran_presure": (0.1, 0.9)}), replications=2)
    with pytest.raises(ValueError, match="crossed with a sweep"):
        bs.Experiment("bad", policies={"a": {}}, replications=2)


def test_to_xarray_is_labelled(grid):
    ds = grid.to_xarray(zones=True)
    assert dict(ds.sizes) == {"scenario": 2, "point": 2, "replication": 4, "month": 4,
                              "zone": ds.sizes["zone"]}
    assert list(ds["iran_pressure"].values) == [0.25, 0.5]
    assert list(ds["label"].values) == list(grid.design["label"])
    ts = grid.timeseries
    row = ts[(ts["scenario"] == OTHER) & (ts["point"] == 1) & (ts["replication"] == 2)
             & (ts["step"] == 3)].iloc[0]
    cell = ds.sel(scenario=OTHER, point=1, replication=2, month=3)
    assert float(cell["isis_members"]) == pytest.approx(row["isis_members"])
    assert int(ds["seed"].sel(replication=2)) == row["seed"]
    assert ds["zone_attacks"].sum() == pytest.approx(grid.zones["attacks"].sum())


def test_to_xarray_zones_are_nan_where_a_filtered_start_has_no_zone_months(grid, smoke_results):
    """The zone rows of a filtered start begin at the branch: the cube is NaN before it and the
    stored values after; a batch with no zone months at all (``grid`` ends before the branch)
    still has every zone, all NaN."""
    from borderscen.runs import branch_index
    T0 = branch_index()
    ds = smoke_results.to_xarray(zones=True)
    z = smoke_results.zones
    assert int(z["step"].min()) == T0 + 1
    assert ds["zone_attacks"].sel(month=slice(1, T0)).isnull().all()
    after = ds["zone_attacks"].sel(month=slice(T0 + 1, None))
    assert after.notnull().all() and float(after.sum()) == pytest.approx(z["attacks"].sum())
    empty = grid.to_xarray(zones=True)
    from borderscen.inputs.space import border_map
    assert grid.zones.empty and empty.sizes["zone"] == len(border_map().ids)
    assert empty["zone_attacks"].isnull().all()


# ------------------------------------------------------------------ 7. given-data sensitivity
def test_given_data_indices_rank_the_driver_first():
    from borderscen.analysis.given_data import given_data_indices
    for seed in range(3):  # several independent ensembles, not one lucky draw
        rng = np.random.default_rng(seed)
        n = 1000
        runs = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 1, n)})
        # zero-inflated output driven by a only (like months in partnership)
        runs["y"] = np.where(runs["a"] > 0.4, rng.poisson(20 * runs["a"]), 0)
        for method, index in (("pawn", "PAWN_median"), ("delta", "delta")):
            t = given_data_indices(runs, ["a", "b"], ["y"], method=method, resamples=10)
            v = t[t["index"] == index].set_index("parameter")["value"]
            assert v["a"] > 2 * v["b"], (seed, method, v.to_dict())


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no 0/0 warning from SALib's unused CV
def test_given_data_on_results(policy_results):
    t = policy_results.given_data_sensitivity(["cum_attacks", "mean_cooperation"])
    assert set(t["parameter"]) == {"tehran_camp_initial", "iran_pressure"}
    assert t["value"].between(0, 1).all()


# ------------------------------------------------------------------ 8. the notebook
@pytest.mark.slow
def test_exploration_notebook_executes(repo_root, executed_notebooks):
    import nbformat
    committed = nbformat.read(repo_root / "notebooks" / "04_exploration.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in committed.cells if c.cell_type == "code"), \
        "commit notebooks without outputs"
    nb = executed_notebooks["04_exploration"]  # on small settings (BORDERSCEN_SMALL=1)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "of runs when" in text or "no region of the inputs" in text  # the plain-language rule


def test_sweep_figures_and_shipped_policy_config(grid, tmp_path, repo_root):
    from borderscen.experiments import load_config
    from borderscen.experiments.design import expand
    from borderscen.plots.exploration import sweep_figures
    files = sweep_figures(grid, tmp_path, ["cum_attacks", "no_such_metric"])
    assert [f.name for f in files] == ["response_cum_attacks_vs_iran_pressure.png",
                                       "response_cum_attacks_vs_iran_pressure.csv"]
    cfg = load_config(repo_root / "experiments" / "explore" / "robust_policies.toml")
    points, runs = expand(cfg)
    assert len(points) == len(cfg.sweep.policies) * cfg.sweep.samples


def test_prim_drops_restrictions_with_weak_quasi_p():
    from borderscen.analysis.discovery import box_stats, prim
    x, y = _synthetic(n=400, seed=4)
    raw = prim(x, y, case="c", box="last", mass_min=0.02, max_qp=None)
    kept = prim(x, y, case="c", box="last", mass_min=0.02)
    assert (kept.limits[["qp_lower", "qp_upper"]].fillna(0) <= 0.05).all().all()
    assert raw.extra["dropped"] == [] and kept.extra["dropped"]  # this box has a weak side
    # x1 keeps its significant lower limit (the true rule x1 > 0.7), only the weak side goes
    lim = kept.limits.set_index("dimension")
    assert lim.loc["x1", "min"] == pytest.approx(0.7, abs=0.05)
    assert lim.loc["x1", "max"] == lim.loc["x1", "range_max"]
    assert (kept.coverage, kept.density, kept.mass) == pytest.approx(box_stats(x, y, kept.limits))
    assert kept.coverage >= raw.coverage  # fewer restrictions, a larger box


def test_response_curve_per_policy(policy_results, tmp_path):
    from borderscen.plots.exploration import sweep_figures
    curve = policy_results.response_curve("cum_attacks", "iran_pressure", by="policy",
                                          max_levels=4)
    assert set(curve["policy"]) == {"status_quo", "surge", "withdraw"}
    assert curve.groupby("policy")["n"].sum().eq(12 * 3).all()  # every run once per policy
    files = sweep_figures(policy_results, tmp_path, ["cum_attacks"])
    assert len(files) == 4  # two swept parameters, png + csv each
