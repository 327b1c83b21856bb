"""The analysis tail (issue 23 item 1, issue 24 "one summary API", "data path runs both ways",
"stale names"): Results' summaries are streamed from the stored tables and equal the in-memory
functions; on a sweep they split by design point; the store never imports analysis; a
misspelled or renamed output is a ConfigError that says what to write; the tail's memory does
not grow with the number of runs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from borderscen.analysis import summaries
from borderscen.errors import ConfigError, StoreError
from borderscen.experiments import run_experiment
from borderscen.experiments.config import parse_config

SRC = Path(__file__).resolve().parents[1] / "src" / "borderscen"
REPS = 6
SWEEP = {"experiment": {"name": "tail_sweep", "replications": REPS, "horizon_months": 52, "seed": 5,
                        "executor": "serial"},
         "scenarios": [{"preset": "baseline"}, {"preset": "tehran_ascendant"}],
         "sweep": {"method": "grid", "parameters": {"iran_pressure": [0.2, 0.8]}}}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return run_experiment(parse_config(SWEEP), out=tmp_path_factory.mktemp("sweep") / "r",
                          progress=False)


# ------------------------------------------------------------------ streamed = in memory
def test_streamed_summaries_equal_the_in_memory_functions(smoke_results):
    res = smoke_results
    ts, runs = res.timeseries, res.runs
    for output in ("attacks_tracked_iraq", "isis_members", "cooperation"):
        pd.testing.assert_frame_equal(res.quantiles(output), summaries.quantiles(ts, output))
    pd.testing.assert_frame_equal(res.quantiles("cooperation", q=(0.05, 0.95)),
                                  summaries.quantiles(ts, "cooperation", (0.05, 0.95)))
    pd.testing.assert_frame_equal(res.regime_probabilities(), summaries.regime_probabilities(ts))
    pd.testing.assert_frame_equal(res.end_state(), summaries.end_state_table(runs))
    pd.testing.assert_frame_equal(res.end_state(wide=True), summaries.end_state_table(runs).T)
    for metric in ("cum_attacks", "mean_cooperation"):
        pd.testing.assert_frame_equal(res.paired_differences(metric),
                                      summaries.paired_differences(runs, metric))


def test_read_arrow_reads_one_scenario_and_only_the_columns_asked(smoke_results):
    res = smoke_results
    whole = res.timeseries
    for sc in res.scenarios:
        part = res.read_arrow("timeseries", ["run", "cooperation"], scenario=sc)
        assert part.column_names == ["run", "cooperation"]
        expected = whole[whole["scenario"] == sc]
        assert sorted(part["run"].to_pylist()) == sorted(expected["run"])
    assert res.read_arrow("timeseries", ["run"], scenario="no_such_scenario").num_rows == 0


def _reads(monkeypatch) -> list[list[str]]:
    """The columns of every row group read from now on."""
    import pyarrow.parquet as pq
    seen: list[list[str]] = []
    read = pq.ParquetFile.read_row_group

    def spy(self, i, columns=None, **kw):
        seen.append(list(columns or []))
        return read(self, i, columns=columns, **kw)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy)
    return seen


@pytest.mark.parametrize("batch", ["smoke_results", "sweep"])
def test_a_constant_column_is_filled_from_the_footer_and_gives_the_same_table(batch, request,
                                                                              monkeypatch):
    """``iter_arrow(constant=...)``: a column that holds one value in a row group (the design
    point) is filled from the statistics, not read, and the tables are those read in full (on
    a sweep too, where the point differs between row groups)."""
    import pyarrow.parquet as pq
    res = request.getfixturevalue(batch)
    md = pq.ParquetFile(res.root / "zones.parquet").metadata
    at = md.schema.to_arrow_schema().names.index("point")
    mixed = sum(md.row_group(i).column(at).statistics.min != md.row_group(i).column(at).statistics.max
                for i in range(md.num_row_groups))
    cols = ["point", "zone", "attacks"]
    read_point = 0
    for sc in res.scenarios:
        plain = list(res.iter_arrow("zones", cols, scenario=sc, dictionary=["zone"]))
        seen = _reads(monkeypatch)
        filled = list(res.iter_arrow("zones", cols, scenario=sc, dictionary=["zone"],
                                     constant=["point"]))
        monkeypatch.undo()
        assert len(filled) == len(plain) > 0
        for a, b in zip(plain, filled, strict=True):
            assert a.equals(b), sc
        read_point += sum("point" in c for c in seen)
    # read only where a row group holds several points (a sweep's chunk may); never without one
    assert read_point == mixed, (read_point, mixed)
    assert batch == "sweep" or mixed == 0


def test_column_range_comes_from_the_footer_and_equals_the_column(smoke_results, monkeypatch):
    """The first and last month of a scenario's zones from the footer's statistics (no row
    read), equal to the column's own; the read fallback gives the same."""
    from borderscen.experiments.store import Results
    res = smoke_results
    zones = res.zones
    for sc in [*res.scenarios, None]:
        rows = zones if sc is None else zones[zones["scenario"] == sc]
        want = [rows["date"].min(), rows["date"].max()]
        seen = _reads(monkeypatch)
        got = res.column_range("zones", "date", scenario=sc)
        monkeypatch.undo()
        assert not seen, seen
        assert list(got.to_pandas()) == want, sc
        monkeypatch.setattr(Results, "_stats_range", staticmethod(lambda *a: False))
        assert list(res.column_range("zones", "date", scenario=sc).to_pandas()) == want, sc
        monkeypatch.undo()
    assert res.column_range("zones", "date", scenario="no_such_scenario") is None


def test_reading_a_table_leaves_no_reference_cycles(smoke_results):
    """A Parquet footer read for a scenario's row groups is freed when the reader goes, not when
    the cycle collector next runs (a FileMetaData and its ParquetSchema refer to each other:
    at 100,000 runs each footer held tens of MB, and the tail's memory grew with every read)."""
    import gc

    from borderscen.experiments.store import Results
    gc.collect()
    gc.disable()
    try:
        res = Results(smoke_results.root)
        assert "run" in res.columns("timeseries")
        for sc in res.scenarios:
            assert sum(t.num_rows for t in res.iter_arrow("timeseries", ["run"], scenario=sc))
        assert not res.read_arrow("timeseries", ["run"], scenario="no_such_scenario").num_rows
        del res
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_run_by_month_matrices_serve_stored_batches_and_grouping_serves_the_rest(smoke_results):
    """Per-month statistics of a stored batch come from a (months, runs) matrix (each run a
    block of rows); keys that vary within a run fall back to grouping rows: the same tables."""
    from borderscen.analysis.results import run_months
    res = smoke_results
    sc = res.scenarios[0]
    months = run_months(res, sc, ["date"], "isis_members")
    runs = int((res.runs["scenario"] == sc).sum())
    assert months is not None and months.matrices[0].shape == (res.timeseries["date"].nunique(), runs)
    assert run_months(res, sc, ["phase", "date"], "isis_members") is None  # a string key
    ts = res.timeseries
    by = ("scenario", "phase", "date")
    pd.testing.assert_frame_equal(res.quantiles("isis_members", by=by),
                                  summaries.quantiles(ts, "isis_members", by=by), check_categorical=False)
    from borderscen.analysis.results import threshold_probability
    pd.testing.assert_frame_equal(threshold_probability(res, "isis_members", 3000.0),
                                  summaries.threshold_probability(ts, "isis_members", 3000.0))


# ------------------------------------------------------------------ one summary API
def test_quantiles_and_regimes_split_a_sweep_by_point(sweep):
    ts = sweep.timeseries
    q = sweep.quantiles("isis_members")
    assert set(q["point"]) == {0, 1} and (q["n"] == REPS).all()
    assert set(q["label"]) == {"iran_pressure = 0.2", "iran_pressure = 0.8"}
    for p in (0, 1):
        own = summaries.quantiles(ts[ts["point"] == p], "isis_members")
        got = q[q["point"] == p].reset_index(drop=True)
        pd.testing.assert_frame_equal(got[own.columns], own, check_categorical=False)
    pooled = sweep.quantiles("isis_members", by=("scenario", "date"))
    assert (pooled["n"] == 2 * REPS).all()  # what splitting prevents: two points in one band
    reg = sweep.regime_probabilities()
    assert len(reg) and set(reg["point"]) == {0, 1}
    assert reg[["deterioration", "limited", "partnership"]].sum(axis=1).round(9).eq(1).all()
    for p in (0, 1):
        own = summaries.regime_probabilities(ts[ts["point"] == p])
        got = reg[reg["point"] == p].reset_index(drop=True)[own.columns]
        pd.testing.assert_frame_equal(got, own, check_categorical=False, check_names=False)


def test_end_state_and_summarize_split_a_sweep_by_point(sweep, capsys):
    long = sweep.end_state(metrics=["cum_attacks", "mean_cooperation"])
    assert len(long) == 2 * 2 and (long["n"] == REPS).all()
    assert {"scenario", "point", "label"} <= set(long.columns)
    wide = sweep.end_state(metrics=["cum_attacks"], wide=None)
    assert list(wide.index) == ["n", "cum_attacks"]  # runs per series, then the metrics
    assert "baseline | iran_pressure = 0.8" in wide.columns and len(wide.columns) == 4
    from borderscen.interfaces.cli import main
    assert main(["summarize", str(sweep.root)]) in (0, None)
    out = capsys.readouterr().out
    assert "per scenario and design point" in out
    assert "tehran_ascendant | iran_pressure = 0.2" in out


def test_paired_differences_on_a_sweep_pair_within_each_point(sweep):
    runs = sweep.runs
    d = sweep.paired_differences("cum_attacks")
    assert list(d["point"]) == [0, 1] and (d["n_pairs"] == REPS).all()
    assert list(d["label"]) == ["iran_pressure = 0.2", "iran_pressure = 0.8"]
    for _, row in d.iterrows():
        at = runs[runs["point"] == row["point"]]
        a = at[at["scenario"] == "tehran_ascendant"].set_index("replication")["cum_attacks"]
        b = at[at["scenario"] == "baseline"].set_index("replication")["cum_attacks"]
        assert row["mean_diff"] == pytest.approx((a - b.loc[a.index]).mean())
    pooled = sweep.paired_differences("cum_attacks", by_point=False)
    assert len(pooled) == 1 and pooled.loc[0, "n_pairs"] == 2 * REPS  # the switch-off pools


def test_the_sweep_twins_are_gone_and_name_what_replaced_them(sweep):
    with pytest.raises(AttributeError, match=r"sweep_quantiles was removed: use quantiles\(\)"):
        sweep.sweep_quantiles("cooperation")
    with pytest.raises(AttributeError, match=r"use end_state\(metrics=\.\.\., wide=None\)"):
        sweep.sweep_summary(["cum_attacks"])
    with pytest.raises(AttributeError, match="no attribute 'quantile'$"):
        sweep.quantile  # noqa: B018 - any other missing name: the usual message


# ------------------------------------------------------------------ stale and misspelled names
@pytest.mark.parametrize("call, text", [
    (lambda r: r.quantiles("cooperatoin"), "did you mean 'cooperation'"),
    (lambda r: r.quantiles("attacks_reported"), "attacks_tracked_iraq"),
    (lambda r: r.quantiles("isis_fighters"), "use isis_members"),
    (lambda r: r.end_state(metrics=["final_isis_fighters"]), "use final_isis_members"),
    (lambda r: r.paired_differences("cum_atacks"), "did you mean 'cum_attacks'"),
    (lambda r: r.read("timeseries", columns=["regim"]), "did you mean 'regime'"),
    (lambda r: summaries.quantiles(r.timeseries, "isis_fighters"), "use isis_members"),
])
def test_a_misspelled_or_renamed_output_says_what_to_write(smoke_results, call, text):
    with pytest.raises(ConfigError, match=text):
        call(smoke_results)


def test_the_quick_start_runs_as_written(smoke_results):
    import borderscen
    doc = borderscen.__doc__
    assert "res.quantiles(" in doc
    for line in doc.splitlines():
        if line.strip().startswith("res.quantiles("):
            for stmt in line.strip().split(";"):
                eval(stmt.strip(), {"res": smoke_results})  # noqa: S307 - our own docstring


# ------------------------------------------------------------------ one-way data path
def _borderscen_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("borderscen")}


def test_the_store_never_imports_analysis():
    # the detector finds an import where there is one (analysis imports the store) ...
    assert "borderscen.experiments.store" in _borderscen_imports(SRC / "analysis" / "results.py")
    # ... and the store (Results included) imports nothing above it
    ups = {m for m in _borderscen_imports(SRC / "experiments" / "store.py")
           if m.startswith(("borderscen.analysis", "borderscen.plots", "borderscen.interfaces.cli"))}
    assert not ups, f"experiments/store.py imports {ups}"


def test_results_without_the_analysis_layer_say_what_is_missing(smoke_results, monkeypatch):
    from borderscen.experiments import store
    monkeypatch.setattr(store, "ANALYSES", {})
    with pytest.raises(StoreError, match="import borderscen.analysis"):
        smoke_results.quantiles("cooperation")


# ------------------------------------------------------------------ memory flat in runs
MEASURE = textwrap.dedent("""
    import json, sys
    import borderscen as bs
    from borderscen.analysis import summaries
    res = bs.load_results(sys.argv[1])
    outputs = ("attacks_tracked_iraq", "attacks_tracked_syria", "isis_members", "cooperation")
    if sys.argv[2] == "streamed":
        for o in outputs:
            res.quantiles(o)
        res.regime_probabilities(); res.end_state(); res.paired_differences("cum_attacks")
    else:  # the switch-off: the whole tables in memory, as the tail read them before
        ts, runs = res.timeseries, res.runs
        for o in outputs:
            summaries.quantiles(ts, o)
        summaries.regime_probabilities(ts); summaries.end_state_table(runs)
        summaries.paired_differences(runs, "cum_attacks")
    # VmHWM: this process's own peak (ru_maxrss would carry the forking parent's over exec)
    status = open("/proc/self/status").read().split("VmHWM:")[1]
    print(json.dumps({"peak_kb": int(status.split()[0])}))
""")


def _peak(root: Path, mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", MEASURE, str(root), mode], check=True,
                         capture_output=True, text=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_kb"]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
def test_the_tails_memory_does_not_grow_with_runs(tmp_path):
    roots = {}
    for runs in (200, 2000):
        cfg = {"experiment": {"name": "tail_memory", "replications": runs // 2,
                              "horizon_months": 54, "seed": 3, "executor": "serial"},
               "scenarios": [{"preset": "baseline"}, {"preset": "cohesive_baghdad"}]}
        roots[runs] = run_experiment(parse_config(cfg), out=tmp_path / str(runs), progress=False).root
    peak = {(mode, runs): _peak(roots[runs], mode) for mode in ("streamed", "whole")
            for runs in roots}
    streamed = peak["streamed", 2000] / peak["streamed", 200]
    whole = peak["whole", 2000] / peak["whole", 200]
    assert streamed <= 1.25, f"streamed tail: peak RSS x{streamed:.2f} from 200 to 2,000 runs ({peak})"
    assert whole > 1.25, f"the in-memory tail grew only x{whole:.2f}: the check cannot fail ({peak})"


# ------------------------------------------------------------------ figures from few columns
def test_zone_maps_draw_from_streamed_zone_means(smoke_results):
    from borderscen.analysis.results import zone_means
    from borderscen.plots import maps
    means = zone_means(smoke_results)
    assert len(means) == len(smoke_results.scenarios) * smoke_results.zones["zone"].nunique()
    for sc in smoke_results.scenarios:
        whole = maps.zone_means(smoke_results.zones, sc)
        pd.testing.assert_frame_equal(maps.zone_means(means, sc), whole, rtol=1e-12)
    with pytest.raises(ValueError, match="need the zones table"):
        maps.zone_means(means, smoke_results.scenarios[0], start="2023-01")


def test_the_figures_read_only_the_columns_they_draw(smoke_results):
    from borderscen.plots import figure_columns, series_view
    cols = figure_columns(smoke_results)
    assert {"scenario", "date", "regime", "isis_members", "cooperation"} <= set(cols)
    assert len(cols) < len(smoke_results.columns("timeseries")) / 3
    ts, _, zones, names = series_view(smoke_results)
    assert list(ts.columns) == cols and "date" not in zones.columns
    assert names == smoke_results.scenarios


def test_standard_figures_never_load_a_whole_table(smoke_results, tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from borderscen.experiments.store import Results
    from borderscen.plots import draw_standard_figures, fans, monthly_tables, regimes
    ts = smoke_results.timeseries
    in_memory = {"fan": fans.fan_chart(ts)[1], "regimes": regimes.regime_chart(ts)[1]}
    plt.close("all")
    res = Results(smoke_results.root)

    def refuse(self):
        raise AssertionError("a figure read a whole table")
    for table in ("timeseries", "zones"):
        monkeypatch.setattr(Results, table, property(refuse))
    files = draw_standard_figures(res, tmp_path)
    assert {f.stem for f in files} >= {"fan_chart", "regime_probabilities", "threshold_risk",
                                       "end_state", "differences"}
    monthly = monthly_tables(res)
    fan = fans.fan_chart(None, tables=monthly["quantiles"])[1]
    pd.testing.assert_frame_equal(fan, in_memory["fan"], check_dtype=False, check_categorical=False)
    pd.testing.assert_frame_equal(regimes.regime_chart(data=monthly["regimes"])[1],
                                  in_memory["regimes"], check_categorical=False, check_names=False)
    plt.close("all")


@pytest.mark.parametrize("scenarios", [["baseline", "tehran_ascendant"], ["baseline"]])
def test_the_differences_figure_of_a_sweep_pairs_within_points(tmp_path, scenarios):
    import matplotlib.pyplot as plt

    from borderscen.plots import differences_figure, distributions, series_view
    from borderscen.plots.style import scenario_colours
    cfg = {**SWEEP, "scenarios": [{"preset": p} for p in scenarios]}
    res = run_experiment(parse_config(cfg), out=tmp_path / "r", progress=False)
    _, runs, _, names = series_view(res, monthly=False)
    _, table = differences_figure(res, runs, names, scenario_colours(names), "")
    assert len(table) and (table["n_pairs"] == REPS).all()
    # one series per (scenario, point) against another: the rows that were drawn empty before
    assert (table["scenario"].astype(str).str.contains(" | ")).all()
    _, pooled = distributions.differences(runs, baseline=names[0])
    assert (pooled["n_pairs"] == 0).any()  # pairing series across points: empty rows
    plt.close("all")


# ------------------------------------------------------------------ the figures in workers
def test_figures_drawn_in_worker_processes_equal_the_serial_ones(smoke_results, tmp_path):
    import matplotlib

    from borderscen.plots import draw_standard_figures
    backend, rc = matplotlib.get_backend(), dict(matplotlib.rcParams)
    serial = draw_standard_figures(smoke_results, tmp_path / "serial", workers=1)
    parallel = draw_standard_figures(smoke_results, tmp_path / "parallel", workers=2)
    assert [f.name for f in parallel] == [f.name for f in serial]  # same files, same order
    for a, b in zip(serial, parallel, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name  # titles, bands, record marks: all of it
    # the caller's matplotlib is left as it was (the workers set their own backend)
    assert matplotlib.get_backend() == backend
    assert {k: v for k, v in matplotlib.rcParams.items() if rc.get(k) != v} == {}


def test_figure_jobs_hold_aggregated_tables_only(smoke_results):
    from borderscen.plots import standard_jobs
    jobs = list(standard_jobs(smoke_results))
    assert [j.stem for j in jobs][:2] == ["fan_chart", "regime_probabilities"]  # longest first
    n_runs = smoke_results.manifest["counts"]["runs"]
    for job in jobs:
        for value in [*job.args, *job.kwargs.values(),
                      *(v for d in job.kwargs.values() if isinstance(d, dict) for v in d.values())]:
            if isinstance(value, pd.DataFrame) and "run" in value.columns:
                assert job.stem in ("end_state", "differences")  # the run-level violins and pairs
                assert len(value) == n_runs and len(value.columns) < len(smoke_results.columns("runs"))
            elif isinstance(value, pd.DataFrame):
                assert "replication" not in value.columns  # aggregated: no per-run rows


def test_merge_keeps_parts_sorted_by_the_workers_and_sorts_others():
    import numpy as np
    import pyarrow as pa

    from borderscen.experiments.store import ROW_ORDER, _sorted
    rng = np.random.default_rng(0)
    order = [(k, "ascending") for k in ROW_ORDER]
    for trial in range(200):
        n = int(rng.integers(0, 30))
        t = pa.table({"run": rng.integers(0, 3, n), "step": rng.integers(0, 3, n),
                      "zone": [str(z) for z in rng.choice(list("abc"), n)], "v": np.arange(n)})
        if trial % 2:
            t = t.sort_by(order)
        assert _sorted(t, ROW_ORDER).equals(t.sort_by(order))


def test_grouped_quantiles_equal_pandas_groupby_with_gaps_and_two_keys():
    import numpy as np
    import pyarrow as pa

    from borderscen.analysis.results import grouped_quantiles

    rng = np.random.default_rng(5)
    n = 4000
    df = pd.DataFrame({"point": rng.integers(0, 3, n),
                       "date": pd.to_datetime("2022-01-01") + pd.to_timedelta(rng.integers(0, 9, n), "D"),
                       "x": rng.gamma(2.0, 3.0, n)})
    df.loc[rng.random(n) < 0.1, "x"] = np.nan
    df.loc[(df["point"] == 2) & (df["date"] == df["date"].min()), "x"] = np.nan  # an all-NaN group
    ours = grouped_quantiles(pa.Table.from_pandas(df, preserve_index=False), ["point", "date"], "x")
    ref = summaries.quantiles(df.assign(scenario="s"), "x", by=("scenario", "point", "date")).drop(
        columns="scenario")
    assert list(ours.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(ours, ref, check_dtype=False, rtol=1e-12)
    assert ours["n"].sum() == n  # n counts missing values too, as pandas' size does
