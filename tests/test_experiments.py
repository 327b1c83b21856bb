"""Issue 4: configs, the runner (serial, process pool, Dask give identical tables), resuming an
interrupted batch, failed runs, the results store and its summaries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from borderscen.errors import ConfigError
from borderscen.experiments import load_config, run_experiment
from borderscen.experiments.config import parse_config
from borderscen.experiments.design import expand
from same_tables import assert_same, tables  # tests/ is on sys.path (pytest prepend import mode)

SMALL = textwrap.dedent("""
    [experiment]
    name = "tiny"
    replications = 3
    horizon_months = 8
    seed = 99
    chunk_size = 2
    [[scenarios]]
    preset = "baseline"
    [[scenarios]]
    preset = "tehran_ascendant"
    overrides = { coalition_isr = 0.3 }
    [sweep]
    method = "grid"
    [sweep.parameters]
    fortification = [0.1, 0.5]
""")


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("shipped", ["three_scenarios", "coalition_withdrawal", "election_shock",
                                     "smoke", "sensitivity"])
def test_shipped_configs_are_valid(repo_root, shipped):
    cfg = load_config(repo_root / "experiments" / f"{shipped}.toml")
    assert cfg.name == shipped


BAD = {
    "unknown key": ("[experiment]\nname='x'\nreplications=2\nseed=1\nreplicatoins=3\n"
                    "[[scenarios]]\npreset='baseline'\n", "experiment.replicatoins", "unknown key"),
    "unknown preset": ("[experiment]\nname='x'\nreplications=2\nseed=1\n[[scenarios]]\n"
                       "preset='covert_chanel'\n", "scenarios[0].preset", "did you mean 'covert_channel'"),
    "unknown parameter": ("[experiment]\nname='x'\nreplications=2\nseed=1\n[[scenarios]]\n"
                          "preset='baseline'\noverrides={coalition_irs=0.2}\n",
                          "scenarios[0].overrides.coalition_irs", "did you mean 'coalition_isr'"),
    "out of range": ("[experiment]\nname='x'\nreplications=2\nseed=1\n[[scenarios]]\n"
                     "preset='baseline'\noverrides={coalition_isr=3}\n",
                     "scenarios[0].overrides.coalition_isr", "allowed: a number in [0, 1]"),
    "bad replications": ("[experiment]\nname='x'\nreplications=0\nseed=1\n[[scenarios]]\n"
                         "preset='baseline'\n", "experiment.replications", "greater than or equal to 1"),
    "malformed": ("[experiment\nname='x'\n", "(syntax)", "must be valid TOML"),
    "unknown output": ("[experiment]\nname='x'\nreplications=2\nseed=1\noutputs=['atacks_iraq']\n"
                       "[[scenarios]]\npreset='baseline'\n", "experiment.outputs[0]",
                       "did you mean 'attacks_iraq'"),
    "grid needs list": ("[experiment]\nname='x'\nreplications=2\nseed=1\n[[scenarios]]\n"
                        "preset='baseline'\n[sweep]\nmethod='grid'\n[sweep.parameters]\n"
                        "coalition_isr={min=0.1,max=0.5}\n", "sweep.parameters.coalition_isr",
                        "a grid sweep takes a list"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_configs_name_file_key_and_what_is_allowed(tmp_path, case):
    text, key, allowed = BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and key in msg and allowed in msg


@pytest.mark.parametrize("case", ["unknown preset", "malformed", "out of range"])
def test_cli_bad_config_exits_2_without_traceback(tmp_path, case):
    path = write(tmp_path, BAD[case][0])
    out = subprocess.run([sys.executable, "-m", "borderscen.interfaces.cli", "run", str(path), "--out",
                          str(tmp_path / "r")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert BAD[case][1] in out.stderr and "Traceback" not in out.stderr


def test_design_expands_scenarios_points_and_replications_with_paired_seeds(tmp_path):
    cfg = parse_config(__import__("tomllib").loads(SMALL))
    points, runs = expand(cfg)
    assert points == [{"fortification": 0.1}, {"fortification": 0.5}]
    assert len(runs) == 2 * 2 * 3
    seeds = {(r.scenario, r.point, r.replication): r.seed for r in runs}
    assert seeds[(0, 0, 1)] == seeds[(1, 1, 1)] != seeds[(0, 0, 2)]


def test_lhs_design_covers_ranges():
    data = __import__("tomllib").loads(SMALL.replace('method = "grid"', 'method = "lhs"\nsamples = 8')
                                       .replace("fortification = [0.1, 0.5]",
                                                "fortification = {min = 0.1, max = 0.5}"))
    points, _ = expand(parse_config(data))
    values = sorted(p["fortification"] for p in points)
    assert len(values) == 8 and 0.1 <= values[0] < 0.15 and 0.45 < values[-1] <= 0.5


def test_serial_process_and_dask_give_identical_tables(tmp_path):
    path = write(tmp_path, SMALL)
    serial = run_experiment(path, out=tmp_path / "serial", executor="serial", progress=False)
    pool = run_experiment(path, out=tmp_path / "pool", executor="process", workers=2, progress=False)
    dask = run_experiment(path, out=tmp_path / "dask", executor="dask", workers=2, progress=False)
    ref = tables(serial)
    assert len(ref["runs"]) == 12 and (ref["runs"]["status"] == "ok").all()
    assert_same(ref, tables(pool))
    assert_same(ref, tables(dask))
    assert dask.manifest["executor"] == "dask" and pool.manifest["workers"] == 2


def test_results_folder_has_tables_and_a_complete_manifest(smoke_results):
    root = smoke_results.root
    assert {p.name for p in root.iterdir()} >= {"timeseries.parquet", "runs.parquet",
                                                "zones.parquet", "manifest.json"}
    assert not (root / "parts").exists()
    man = json.loads((root / "manifest.json").read_text())
    for key in ("config", "config_hash", "versions", "git_commit", "seeds", "counts", "timings",
                "failures", "root_seed"):
        assert key in man
    assert man["versions"]["mesa"].startswith("3.")
    ts = smoke_results.timeseries
    assert ({"experiment", "scenario", "replication", "seed", "date", "attacks_tracked_iraq"}
            <= set(ts.columns))
    assert len(ts) == man["counts"]["runs"] * 54  # smoke: January 2022 to June 2026
    assert set(ts["seed"]) == set(man["seeds"])


def test_summaries_quantiles_regimes_and_paired_differences(smoke_results):
    q = smoke_results.quantiles("attacks_tracked_iraq", q=(0.05, 0.5, 0.95))
    assert (q["q0.05"] <= q["q0.5"]).all() and (q["q0.5"] <= q["q0.95"]).all()
    reg = smoke_results.regime_probabilities()
    assert reg[["deterioration", "limited", "partnership"]].sum(axis=1).round(9).eq(1).all()
    d = smoke_results.paired_differences("mean_cooperation")
    assert d.loc[0, "scenario"] == "cohesive_baghdad" and d.loc[0, "lo"] <= d.loc[0, "mean_diff"]
    assert d.loc[0, "mean_diff"] > 0   # the partnership preset starts and stays more cooperative


def test_a_failing_run_is_recorded_and_the_batch_goes_on(tmp_path, monkeypatch):
    from borderscen.experiments import runner
    real = runner.run_batch
    cfg = load_config(write(tmp_path, SMALL))
    bad_seed = expand(cfg)[1][4].seed

    def flaky(batch, *a, **k):  # a batch holding the bad seed fails; the runner retries run by run
        if bad_seed in batch.seeds:
            raise RuntimeError("boom")
        return real(batch, *a, **k)

    monkeypatch.setattr(runner, "run_batch", flaky)
    res = run_experiment(cfg, out=tmp_path / "r", executor="serial", progress=False)
    runs = res.runs
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 4  # the seed of replication 1 fails in every scenario and point
    assert (failed["seed"] == bad_seed).all() and failed["error"].str.contains("boom").all()
    assert res.manifest["counts"]["failed"] == 4 and res.manifest["counts"]["succeeded"] == 8
    assert not (res.timeseries["seed"] == bad_seed).any()


CHUNK_TABLES = textwrap.dedent("""
    [experiment]
    name = "arrow_tables"
    replications = 3
    horizon_months = 60
    seed = 5
    [[scenarios]]
    preset = "baseline"
    [sweep]
    method = "grid"
    parameters = { iran_pressure = [0.3] }
    policies = { status_quo = {}, surge = { iraq_ct_ops_per_month = 90 } }
""")


def test_a_chunks_arrow_tables_are_those_pandas_would_make():
    """Workers build a chunk's long tables as Arrow from the batch's arrays, without pandas: the
    same tables ``pa.Table.from_pandas`` makes of the chunk's DataFrames (the columns, their
    order and types, every value, NaN as null), for a filtered start (zone rows from it on)
    and a design point's values beside each row."""
    import tomllib
    from dataclasses import replace

    import pyarrow as pa

    from borderscen.experiments import runner
    cfg = parse_config(tomllib.loads(CHUNK_TABLES))
    points, runs = expand(cfg)
    start, _ = runner.assimilate_start(cfg)
    chunk = runner.make_chunks(cfg, points, runs, 6)[-1]
    chunk = replace(chunk, start=runner._chunk_start(start, [r.replication for r in chunk.runs]))
    arrow = runner._run_batch(chunk, chunk.members, runner.ARROW)
    frames = runner._run_batch(chunk, chunk.members, runner.FRAMES)
    for name in ("timeseries", "zones"):
        want = pa.Table.from_pandas(frames[name], preserve_index=False)
        got = arrow[name]
        assert got.schema.equals(want.schema.remove_metadata()), name
        assert got.equals(want), name
    zones = arrow["zones"]
    assert arrow["timeseries"].column("cooperation").null_count > 0  # NaN became null
    assert min(zones.column("step").to_pylist()) == chunk.start.months + 1  # no zone rows before the start
    assert zones.schema.field("scenario").type == pa.large_string()
    assert set(zones.column("iraq_ct_ops_per_month").to_pylist()) == {90.0}  # the policy's lever


def test_rerun_of_a_finished_batch_reuses_it_and_a_changed_config_is_refused(tmp_path):
    path = write(tmp_path, SMALL)
    first = run_experiment(path, out=tmp_path / "r", executor="serial", progress=False)
    again = run_experiment(path, out=tmp_path / "r", executor="serial", progress=False)
    assert_same(tables(first), tables(again))
    path.write_text(SMALL.replace("seed = 99", "seed = 100"))
    with pytest.raises(RuntimeError, match="different config"):
        run_experiment(path, out=tmp_path / "r", executor="serial", progress=False)
    fresh = run_experiment(path, out=tmp_path / "r", executor="serial", progress=False, fresh=True)
    assert fresh.manifest["root_seed"] == 100


KILLABLE = textwrap.dedent("""
    [experiment]
    name = "killable"
    replications = 40
    horizon_months = 36
    seed = 3
    chunk_size = 2
    executor = "serial"
    [[scenarios]]
    preset = "baseline"
    [[scenarios]]
    preset = "covert_channel"
""")


def test_killed_batch_resumes_to_the_same_result(tmp_path):
    path = write(tmp_path, KILLABLE)
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "borderscen.interfaces.cli", "run", str(path), "--out",
                             str(out), "--no-figures", "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    parts, deadline = out / "parts", time.time() + 120
    while time.time() < deadline and len(list((parts / "done").glob("chunk-*.json"))) < 4:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    saved = len(list((out / "parts" / "done").glob("chunk-*.json")))
    assert 4 <= saved < 40, "the batch should have been killed part way"
    assert not (out / "manifest.json").exists()
    resumed = run_experiment(path, out=out, progress=False)
    assert resumed.manifest["timings"]["resumed_chunks"] >= 4
    whole = run_experiment(path, out=tmp_path / "whole", progress=False)
    assert_same(tables(resumed), tables(whole))


def test_a_calibration_file_applies_to_every_scenario_and_enters_the_hash(tmp_path):
    (tmp_path / "calibrated.toml").write_text("[parameters]\nattack_rate_iraq = 0.05\n")
    with_cal = SMALL.replace('chunk_size = 2', 'chunk_size = 2\ncalibration = "calibrated.toml"')
    cfg = load_config(write(tmp_path, with_cal))
    plain = load_config(write(tmp_path, SMALL, "plain.toml"))
    assert cfg.calibration_values == {"attack_rate_iraq": 0.05}
    assert cfg.content_hash() != plain.content_hash()
    from borderscen.experiments.config import scenario_of
    assert scenario_of(cfg.scenarios[1], {}, cfg.calibration_values).params.attack_rate_iraq == 0.05
    (tmp_path / "calibrated.toml").write_text("[parameters]\nattack_rate_iraq = 50\n")
    with pytest.raises(ConfigError, match="parameters.attack_rate_iraq"):
        load_config(tmp_path / "exp.toml")


def test_config_hash_tracks_resolved_parameters_and_code(tmp_path, monkeypatch):
    from borderscen.experiments import config as config_module
    cfg = load_config(write(tmp_path, SMALL))
    before = cfg.content_hash()
    assert cfg.with_changes(workers=7).content_hash() == before  # how it runs does not matter
    monkeypatch.setattr(config_module, "code_fingerprint", lambda: "other-model-code")
    assert cfg.content_hash() != before


def test_every_problem_in_a_config_is_reported_at_once(tmp_path):
    path = write(tmp_path, "[experiment]\nname='x'\nreplications=2\nseed=1\n[[scenarios]]\n"
                           "preset='covert_chanel'\noverrides={coalition_isr=1.4, turky_opposition=0.5}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    for key in ("scenarios[0].preset", "scenarios[0].overrides.coalition_isr",
                "scenarios[0].overrides.turky_opposition"):
        assert key in msg
    assert "did you mean 'turkey_opposition'" in msg and "run `borderscen params`" in msg


def test_unknown_key_lists_the_allowed_keys(tmp_path):
    path = write(tmp_path, "[experiment]\nname='x'\nreplications=2\nseed=1\nhorizon=24\n"
                           "[[scenarios]]\npreset='baseline'\n")
    with pytest.raises(ConfigError, match=r"allowed: name, description, replications, horizon_months"
                                          r".*did you mean 'horizon_months'"):
        load_config(path)


def test_a_running_dask_scheduler_can_be_named_by_address(tmp_path):
    from distributed import LocalCluster
    path = write(tmp_path, SMALL)
    serial = run_experiment(path, out=tmp_path / "serial", executor="serial", progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      host="127.0.0.1") as cluster:
        remote = run_experiment(path, out=tmp_path / "remote", scheduler=cluster.scheduler_address,
                                progress=False)
    assert remote.manifest["executor"] == "dask"
    assert_same(tables(serial), tables(remote))



WARM = """
from borderscen.experiments.runner import _worker_context, make_executor

def built():
    return _worker_context.cache_info().currsize

if __name__ == "__main__":
    with make_executor("process", workers=1) as pool:
        print(pool.submit(built).result())
"""


def test_the_fork_server_keeps_quiet_only_a_child_whose_pools_lock_is_gone(monkeypatch):
    """A child the fork server forks for a pool already torn down (Ctrl-C while workers start)
    fails to rebuild the pool's lock, whose name is unlinked: the hook that
    ``borderscen.experiments.warm`` installs there drops that traceback, and passes on any other
    error, a FileNotFoundError from elsewhere included."""
    from multiprocessing import synchronize

    from borderscen.experiments.runner import quiet_orphan_starts
    reported: list[BaseException] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, exc, tb: reported.append(exc))
    quiet_orphan_starts()
    lock = synchronize.Lock.__new__(synchronize.Lock)
    errors: list[BaseException] = []
    for fail in (lambda: lock.__setstate__((0, 1, 1, "/borderscen-test-no-such-lock")),
                 lambda: Path("/borderscen-test-no-such-file").read_text(), lambda: 1 / 0):
        try:
            fail()
        except (FileNotFoundError, ZeroDivisionError) as exc:
            errors.append(exc)
            sys.excepthook(type(exc), exc, exc.__traceback__)
    assert [type(e) for e in errors] == [FileNotFoundError, FileNotFoundError, ZeroDivisionError]
    assert reported == errors[1:]  # the lock's rebuild alone is dropped


def test_local_pool_workers_start_with_the_kernel_loaded(tmp_path):
    """The fork server imports borderscen.experiments.warm: a worker's first task finds the
    kernel context built (and the compiled stages loaded) instead of making it itself."""
    import subprocess
    import sys
    script = tmp_path / "warm_check.py"
    script.write_text(WARM)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                         check=True)
    assert out.stdout.split() == ["1"], out.stderr
