"""Issue 21 item 3: scenario experiments branch from the filtered state.

By default (``[experiment] start = "filtered"``) an experiment assimilates the record to the branch
month once (the particle filter, seeded from its own child of the experiment's SeedSequence), and
replication r of every scenario and design point continues particle r; ``start = "open_loop"``
keeps the earlier runs from January 2022, bit for bit.
"""

from __future__ import annotations

import io
import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import borderscen as bs
from borderscen.errors import ConfigError
from borderscen.experiments import load_config, run_experiment
from borderscen.experiments import runner as runner_module
from borderscen.experiments.config import parse_config
from borderscen.experiments.design import expand
from borderscen.experiments.runner import START_ARRAYS, START_META, filter_seed, load_start
from borderscen.experiments.store import StoreRepairRefused
from borderscen.inputs.record import holdouts
from borderscen.inputs.scenarios import history
from borderscen.runs import branch_index
from same_tables import assert_same, tables  # tests/ is on sys.path (pytest prepend import mode)

#: Two scenarios and a two-point sweep, a horizon past the branch (2026-02) by 7 months.
CONFIG = textwrap.dedent("""
    [experiment]
    name = "filtered"
    replications = 8
    horizon_months = 56
    seed = 7
    chunk_size = 3
    {start}
    [[scenarios]]
    preset = "baseline"
    [[scenarios]]
    preset = "tehran_ascendant"
    [sweep]
    method = "grid"
    [sweep.parameters]
    fortification = [0.1, 0.5]
""")


def write(tmp_path: Path, start: str = "", name: str = "exp.toml", text: str = CONFIG) -> Path:
    path = tmp_path / name
    path.write_text(text.format(start=start))
    return path


def wide(ts: pd.DataFrame, output: str, scenario: str, point: int = 0) -> np.ndarray:
    d = ts[(ts["scenario"] == scenario) & (ts["point"] == point)]
    return d.pivot(index="replication", columns="step", values=output).to_numpy()


@pytest.fixture(scope="module")
def filtered(tmp_path_factory):
    root = tmp_path_factory.mktemp("filtered")
    return run_experiment(write(root), out=root / "serial", executor="serial", progress=False)


# ---------------------------------------------------------------------------- the config key
def test_the_default_start_is_filtered_and_it_is_in_the_hash_and_the_manifest(tmp_path, filtered):
    cfg = load_config(write(tmp_path))
    assert cfg.experiment.start == "filtered"
    loop = cfg.with_changes(start="open_loop")
    assert loop.experiment.start == "open_loop" and loop.content_hash() != cfg.content_hash()
    man = filtered.manifest
    assert man["config"]["experiment"]["start"] == "filtered"
    start = man["start"]
    assert start["kind"] == "filtered" and start["origin"] == f"{history().branch:%Y-%m}"
    assert start["particles"] == 8 and start["months_filtered"] == branch_index()
    assert start["seed"] == filter_seed(7) and start["seed"] not in man["seeds"]
    # the filter's stream is its own: the runs keep the seeds an open-loop batch gives them
    assert man["seeds"] == [r.seed for r in expand(loop)[1][:8]]
    _, meta = load_start(filtered.root)
    assert meta["sha256"] == start["sha256"]


@pytest.mark.parametrize("value, says", [
    ("filterd", "allowed: 'filtered'"),
    ("2022-01", "not a month"),
    (1, "allowed: 'filtered'"),
])
def test_a_bad_start_names_file_key_value_and_what_is_allowed(tmp_path, value, says):
    text = CONFIG.replace("{start}", f"start = {json.dumps(value)}")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and "experiment.start" in msg and repr(value) in msg
    assert says in msg and "'open_loop'" in msg
    cfg = load_config(write(tmp_path))
    with pytest.raises(ConfigError, match=r"with_changes: start = 'closed_loop': allowed: 'filtered'"):
        cfg.with_changes(start="closed_loop")


def test_a_filtered_start_refuses_median_parameters_and_events_before_the_branch(tmp_path):
    base = {"experiment": {"name": "x", "replications": 2, "seed": 1, "horizon_months": 60},
            "scenarios": [{"preset": "baseline"}]}
    median = {**base, "experiment": {**base["experiment"], "parameters": "median"}}
    with pytest.raises(ConfigError, match=r"experiment\.start = 'filtered'.*'open_loop'"):
        parse_config(median, "median.toml")
    parse_config({**median, "experiment": {**median["experiment"], "start": "open_loop"}})
    early = {**base, "scenarios": [{"preset": "baseline", "events": [
        {"date": "2025-06", "set": {"fortification": 0.4}}]}]}
    with pytest.raises(ConfigError, match=r"scenarios\[0\]\.events\[0\]\.date = '2025-06'.*2026-02"):
        parse_config(early, "early.toml")
    parse_config({**early, "experiment": {**early["experiment"], "start": "open_loop"}})


def test_particles_is_the_fewest_the_filter_runs_and_needs_a_filtered_start(tmp_path):
    from borderscen.experiments.runner import assimilate_start
    base = {"experiment": {"name": "x", "replications": 20, "seed": 1, "horizon_months": 60},
            "scenarios": [{"preset": "baseline"}]}
    # fewer than the replications (e.g. --replications raised on a config that sets particles):
    # the filter runs one particle per replication, as without the key
    few = parse_config({**base, "experiment": {**base["experiment"], "particles": 10}}, "few.toml")
    start, meta = assimilate_start(few.with_changes(replications=12, horizon_months=50))
    assert len(start) == 12 and meta["particles"] == meta["kept"] == 12
    loop = {**base, "experiment": {**base["experiment"], "particles": 50, "start": "open_loop"}}
    with pytest.raises(ConfigError, match=r"experiment\.particles = 50.*start = 'filtered' only"):
        parse_config(loop, "loop.toml")
    # 0 (the default) is "as many as replications": the same config, the same hashes as without it
    plain = parse_config(base)
    zero = parse_config({**base, "experiment": {**base["experiment"], "particles": 0}})
    assert zero.content_hash() == plain.content_hash() and zero.spec_hash() == plain.spec_hash()
    more = parse_config({**base, "experiment": {**base["experiment"], "particles": 40}})
    assert more.content_hash() != plain.content_hash()


def test_a_larger_cloud_is_filtered_and_the_runs_continue_a_random_subset_of_it(tmp_path):
    """``particles`` > ``replications``: the filter runs the larger cloud (the same filter as a
    batch of that many replications would run) and replication r continues particle
    ``kept_particles(...)[r]``: its history and its parameters."""
    from borderscen.experiments.runner import assimilate_start, kept_particles
    text = CONFIG.split("[sweep]")[0].replace("replications = 8", "replications = 5\n    particles = 12")
    cfg = load_config(write(tmp_path, "", "more.toml", text))
    res = run_experiment(cfg, out=tmp_path / "more", executor="serial", progress=False)
    assert res.manifest["start"]["particles"] == 12 and res.manifest["start"]["kept"] == 5
    start, _ = load_start(res.root)
    whole, meta = assimilate_start(cfg.with_changes(replications=12, particles=0))
    assert len(start) == 5 and meta["particles"] == 12 and len(whole) == 12
    keep = kept_particles(7, 12, 5)
    np.testing.assert_array_equal(start.monthly["isis_members"], whole.monthly["isis_members"][keep])
    assert list(start.draws) == [whole.draws[i] for i in keep]
    x = wide(res.timeseries, "isis_members", "baseline")
    np.testing.assert_array_equal(x[:, :branch_index()], whole.monthly["isis_members"][keep])
    picked = kept_particles(7, 1000, 500)  # without replacement, in a random order
    assert len(set(picked.tolist())) == 500 and picked.min() >= 0 and picked.max() < 1000
    assert not np.array_equal(np.sort(picked), picked)


def test_the_filters_log_says_when_its_cloud_is_too_small_for_stable_levels(tmp_path, monkeypatch):
    """Under ``FEW_PARTICLES`` particles the filter's log line says the levels move with the
    filter's seed and names ``[experiment] particles``; a cloud of at least that many does not."""
    monkeypatch.setattr(runner_module, "FEW_PARTICLES", 10)
    text = CONFIG.split("[sweep]")[0].replace("horizon_months = 56", "horizon_months = 50")
    lines: dict[str, list[str]] = {}
    for name, more in (("few", ""), ("enough", "\n    particles = 12")):
        cfg = load_config(write(tmp_path, "", f"{name}.toml",
                                text.replace("replications = 8", "replications = 5" + more)))
        lines[name] = []
        run_experiment(cfg, out=tmp_path / name, executor="serial", progress=False,
                       log=lines[name].append)
    said = {name: [x for x in got if "assimilated the record" in x] for name, got in lines.items()}
    assert len(said["few"]) == len(said["enough"]) == 1
    assert "with 5 particles" in said["few"][0] and "[experiment] particles = 10" in said["few"][0]
    assert "with 12 particles" in said["enough"][0] and "[experiment] particles" not in said["enough"][0]


# ---------------------------------------------------------------------------- open loop as before
def test_open_loop_runs_are_the_runs_simulate_remakes_from_their_seeds(tmp_path):
    res = run_experiment(write(tmp_path, 'start = "open_loop"'), out=tmp_path / "r",
                         executor="serial", progress=False)
    assert res.manifest["start"] == {"kind": "open_loop"}
    assert not (res.root / START_META).exists() and not (res.root / START_ARRAYS).exists()
    ts = res.timeseries
    for scenario, point, rep in (("baseline", 0, 0), ("tehran_ascendant", 1, 5)):
        run = ts[(ts["scenario"] == scenario) & (ts["point"] == point) & (ts["replication"] == rep)]
        fort = res.manifest["design_points"][point]["fortification"]
        alone = bs.simulate(scenario, seed=int(run["seed"].iloc[0]), horizon_months=56,
                            overrides={"fortification": fort})
        for col in ("attacks_tracked_syria", "isis_members", "cooperation", "weapons_stock"):
            np.testing.assert_array_equal(run[col].to_numpy(), alone[col].to_numpy())


# ---------------------------------------------------------------------------- the filtered runs
def test_replication_r_of_every_scenario_and_point_continues_particle_r(filtered):
    start, meta = load_start(filtered.root)
    ts = filtered.timeseries
    T0 = branch_index()
    assert len(start) == 8 and start.months == T0
    assert meta["holdouts_assimilated"] and set(meta["observations"]) >= set(meta["holdouts_assimilated"])
    paths = start.monthly["attacks_tracked_syria"]
    for scenario in ("baseline", "tehran_ascendant"):
        for point in (0, 1):
            x = wide(ts, "attacks_tracked_syria", scenario, point)
            np.testing.assert_array_equal(x[:, :T0], paths)  # the months before the branch
    # from the branch on each run is its own: the presets and the sweep differ, pairs stay paired
    base, tehran = wide(ts, "cooperation", "baseline"), wide(ts, "cooperation", "tehran_ascendant")
    assert not np.array_equal(base[:, T0:], tehran[:, T0:])
    assert (ts[ts["step"] <= T0]["phase"] == "history").all()
    zones = filtered.zones  # the filter keeps no zone outputs: the zone rows start at the branch
    assert zones["step"].min() == T0 + 1
    assert zones["date"].min() == ts.loc[ts["step"] == T0 + 1, "date"].iloc[0]
    assert zones["attacks"].notna().all()
    assert len(zones) == len(ts[ts["step"] > T0]) * zones["zone"].nunique()  # every run, month, zone
    runs = filtered.runs
    assert (runs["status"] == "ok").all() and (runs["posterior_draw"] == -1).all()


def test_a_horizon_that_ends_before_the_branch_stores_no_zone_rows_and_draws_no_zone_maps(tmp_path):
    """The filter keeps no zone outputs, so a filtered batch whose horizon ends before the branch
    has an empty zones table, with its columns (what readers select), and no zone maps: not maps
    of zeros over an empty period."""
    from borderscen.plots import draw_standard_figures, standard_jobs
    text = CONFIG.split("[sweep]")[0].replace("horizon_months = 56", "horizon_months = 6")
    res = run_experiment(write(tmp_path, "", "short.toml", text), out=tmp_path / "short",
                         executor="process", workers=2, progress=False)
    assert res.manifest["rows"]["zones"] == 0 and len(res.timeseries) == 8 * 2 * 6
    assert {"run", "scenario", "zone", "date", "attacks", "members"} <= set(res.zones.columns)
    from borderscen.analysis.results import zone_means
    assert zone_means(res).empty
    stems = [job.stem for job in standard_jobs(res)]
    assert "fan_chart" in stems and not [s for s in stems if s.startswith("zone_map")]
    files = draw_standard_figures(res, tmp_path / "figures", workers=1)
    assert any(f.name == "fan_chart.png" for f in files)


def test_a_filtered_run_starts_from_its_particle_state_not_from_january_2022(filtered):
    """Switch the start off inside the same batch machinery: the same seeds from January 2022
    give other months after the branch, so the continuation really reads the particle state."""
    loop = run_experiment(load_config(filtered.root.parent / "exp.toml").with_changes(start="open_loop"),
                          out=filtered.root.parent / "loop", executor="serial", progress=False)
    T0 = branch_index()
    a = wide(filtered.timeseries, "isis_members", "baseline")
    b = wide(loop.timeseries, "isis_members", "baseline")
    assert not np.array_equal(a[:, T0:], b[:, T0:])


def test_identical_tables_across_executors_workers_and_chunk_sizes(tmp_path, filtered, monkeypatch):
    path = write(tmp_path)
    cfg = load_config(path)
    children: list = []  # the filtered starts made in a child process
    in_child = runner_module._in_child
    monkeypatch.setattr(runner_module, "_in_child", lambda fn, *a: children.append(fn) or in_child(fn, *a))
    pool = run_experiment(cfg.with_changes(chunk_size=5), out=tmp_path / "pool", executor="process",
                          workers=2, progress=False)
    assert children == []  # a small cloud (8 particles) is filtered in this process
    # a cloud larger than IN_PROCESS_PARTICLES is filtered in a child: the same cloud and runs
    monkeypatch.setattr(runner_module, "IN_PROCESS_PARTICLES", 7)
    pool_child = run_experiment(cfg.with_changes(chunk_size=5), out=tmp_path / "pool_child",
                                executor="process", workers=2, progress=False)
    assert len(children) == 1
    serial_one = run_experiment(cfg.with_changes(chunk_size=1), out=tmp_path / "one",
                                executor="serial", progress=False)
    ref = tables(filtered)
    assert_same(ref, tables(pool))
    assert_same(ref, tables(pool_child))
    assert_same(ref, tables(serial_one))
    assert (pool.manifest["start"]["sha256"] == pool_child.manifest["start"]["sha256"]
            == filtered.manifest["start"]["sha256"])


def test_the_cloud_is_stored_without_pickle_and_a_resumed_batch_reuses_it(tmp_path, monkeypatch,
                                                                           filtered):
    path = write(tmp_path)
    out = tmp_path / "resumed"
    real = runner_module.run_chunk_for_store
    calls = {"n": 0}

    def dies_after_two(chunk):
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr(runner_module, "run_chunk_for_store", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, out=out, executor="serial", progress=False)
    assert not (out / "manifest.json").exists() and (out / START_META).exists()
    with np.load(io.BytesIO((out / START_ARRAYS).read_bytes()), allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)
    assert json.loads((out / START_META).read_text())["particles"] == 8
    monkeypatch.setattr(runner_module, "run_chunk_for_store", real)

    def no_filter(*a, **k):
        raise AssertionError("a resumed batch must reuse the stored cloud")

    monkeypatch.setattr(runner_module, "assimilate_start", no_filter)
    said = []
    resumed = run_experiment(path, out=out, executor="serial", progress=False, log=said.append)
    assert resumed.manifest["timings"]["resumed_chunks"] == 2
    assert resumed.manifest["start"]["reused"] is True
    assert any("reusing the filtered start" in s for s in said)
    assert_same(tables(resumed), tables(filtered))


def test_a_damaged_cloud_is_assimilated_again_and_strict_refuses(tmp_path, monkeypatch):
    path = write(tmp_path)
    out = tmp_path / "damaged"
    real = runner_module.run_chunk_for_store
    calls = {"n": 0}

    def dies_after_one(chunk):
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr(runner_module, "run_chunk_for_store", dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, out=out, executor="serial", progress=False)
    monkeypatch.setattr(runner_module, "run_chunk_for_store", real)
    data = bytearray((out / START_ARRAYS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (out / START_ARRAYS).write_bytes(bytes(data))
    with pytest.raises(StoreRepairRefused, match=START_META):
        run_experiment(path, out=out, executor="serial", progress=False, strict=True)
    said = []
    res = run_experiment(path, out=out, executor="serial", progress=False, log=said.append)
    assert any("filtered start cannot be used" in s for s in said)
    assert any(e["kind"] == "repaired" and e["file"] == START_META for e in res.manifest["events"])
    assert res.manifest["start"]["reused"] is False
    load_start(out)  # whole again


# ---------------------------------------------------------------------------- tracks the record
def _q1_2025(ts: pd.DataFrame) -> pd.Series:
    d = ts[(ts["date"] >= "2025-01-01") & (ts["date"] <= "2025-03-01")]
    return d.groupby("replication")["attacks_tracked_syria"].sum()


def tracks(ts: pd.DataFrame, observed: float) -> bool:
    """The runs' median of tracked attacks in Syria, January-March 2025, within a factor 1.5 of
    the record's figure."""
    return abs(math.log(float(_q1_2025(ts).median()) / observed)) < math.log(1.5)


def test_the_months_before_the_branch_track_the_record_and_open_loop_does_not(tmp_path):
    record = next(o for o in holdouts() if o.id == "syria-attacks-tracker-2025q1")
    text = CONFIG.replace("replications = 8", "replications = 200").replace("horizon_months = 56",
                                                                             "horizon_months = 39")
    text = text.split("[sweep]")[0].replace("chunk_size = 3", "chunk_size = 100")
    medians = {}
    for start in ("filtered", "open_loop"):
        res = run_experiment(write(tmp_path, f'start = "{start}"', f"{start}.toml", text),
                             out=tmp_path / start, executor="serial", progress=False)
        ts = res.timeseries[res.timeseries["scenario"] == "baseline"]
        medians[start] = (float(_q1_2025(ts).median()), tracks(ts, record.value))
    (filt, _), (loop, off) = medians["filtered"], medians["open_loop"]
    # Under the refitted posterior (2026-12-04) the filtered median is about 59 against the
    # record's 30 and open loop's about 95: the filter pulls the 2025 months most of the way in
    # log terms but not inside a factor 1.5 (reported in the README as a miss of the attack channel).
    gap = {k: abs(math.log(v / record.value)) for k, v in (("filtered", filt), ("open_loop", loop))}
    assert not off, f"open-loop median {loop} should miss the record's {record.value}"
    assert gap["filtered"] < 0.8 * gap["open_loop"], (medians, record.value)


# ---------------------------------------------------------------------------- the fan chart
def test_the_fan_chart_draws_the_record_with_a_legend_entry(filtered):
    from borderscen.plots import fans
    from borderscen.plots.style import colours_for
    fig, data = fans.fan_chart(filtered.timeseries, outputs=("attacks_tracked_syria", "isis_members"))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    marks = [ln for ax in axes for ln in ax.get_lines() if ln.get_gid() == "record"]
    dots = [ln for ln in marks if ln.get_marker() == "o"]
    rec = data[data["scenario"] == "record"]
    assert len(dots) == len(rec) > 0
    held = rec["role"] == "hold-out"
    assert held.any() and (~held).any()
    fills = {ln.get_markerfacecolor() for ln in dots}
    assert "white" in fills and len(fills) == 2  # targets filled, hold-outs open
    texts = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert fans.RECORD_LABEL in texts
    colour = fans.record_colour(colours_for(["baseline", "tehran_ascendant"], None))
    assert all(ln.get_color() == colour for ln in marks)
    scen_colours = {ln.get_color() for ax in axes for ln in ax.get_lines() if ln.get_gid() != "record"}
    assert colour not in scen_colours
    syria = rec[rec["output"] == "attacks_tracked_syria"]
    q1 = syria[syria["id"] == "syria-attacks-tracker-2025q1"]
    assert q1["observed_per_month"].iloc[0] == pytest.approx(
        next(o.value for o in holdouts() if o.id == "syria-attacks-tracker-2025q1") / 3)
    off, data_off = fans.fan_chart(filtered.timeseries, outputs=("attacks_tracked_syria",), record=False)
    assert not [ln for ax in off.axes for ln in ax.get_lines() if ln.get_gid() == "record"]
    assert "record" not in set(data_off["scenario"])


def test_particle_values_table_reads_as_the_dicts_it_was_made_from():
    """The filter keeps particles' parameters as one table: taking rows, setting a column and
    reading dispersions give what the list of dicts gave."""
    import datetime as dt

    from borderscen.assimilation.filter import default_observations
    from borderscen.assimilation.observe import ParticleValues, dispersions
    rng = np.random.default_rng(3)
    dicts = [{"a": float(x), "b": float(y)} for x, y in rng.random((6, 2))]
    table = ParticleValues.of(dicts)
    idx = np.array([5, 0, 0, 3])
    assert table.take(idx).dicts() == [dicts[i] for i in idx]
    changed = table.take(idx)
    changed.set("a", np.arange(4.0))
    assert [d["a"] for d in changed.dicts()] == [0.0, 1.0, 2.0, 3.0]
    assert table.dicts() == dicts  # taking copies: the original is unchanged
    obs = default_observations(dt.date(2025, 1, 1), True)[:5]
    np.testing.assert_array_equal(dispersions(table, obs), dispersions(dicts, obs))


def test_the_filter_luck_script_runs_one_experiment_per_seed_and_size():
    """``scripts/filter_luck.py`` (the README's evidence that levels move with the filter's seed):
    one row per replication count and seed, each its own filtered cloud."""
    import subprocess
    import sys
    script = Path(__file__).resolve().parents[1] / "scripts" / "filter_luck.py"
    out = subprocess.run([sys.executable, str(script), "--replications", "6", "--seeds", "1", "2", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [(r["replications"], r["seed"]) for r in rows] == [(6, 1), (6, 2)]
    for r in rows:
        lo, hi = r["syria_attacks_90"]
        assert lo <= r["syria_attacks_median"] <= hi and r["syria_attacks_mean_se"] > 0
        assert 0 < r["min_ess_share"] <= 1
    assert rows[0]["syria_attacks_median"] != rows[1]["syria_attacks_median"]  # two clouds, two seeds
