"""Issue 25: faults you can see. Ambiguous input refused alike by the config and the Python API;
interrupts; changed inputs; and fault injection for the results store (disk full at every write,
a worker killed mid-chunk, readers during writes). Experiments are tiny (a few runs, a few
months) so the whole file stays quick."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

import borderscen as bs
from borderscen.errors import ConfigError
from borderscen.experiments import run_experiment
from borderscen.experiments.config import parse_config
from same_tables import assert_same, tables  # tests/ is on sys.path (pytest prepend import mode)

LATE = {"date": "2023-06", "set": {"attack_rate_syria": 0.0005}}


def errors_of(exc: ConfigError) -> list[ConfigError]:
    return list(getattr(exc, "errors", [exc]))


def config(horizon=12, scenario=None, sweep=None) -> dict:
    data = {"experiment": {"name": "amb", "replications": 1, "horizon_months": horizon, "seed": 1,
                           "executor": "serial", "start": "open_loop"},  # events before the branch
            "scenarios": [scenario or {"preset": "baseline"}]}
    if sweep:
        data["sweep"] = sweep
    return data


# ---------------------------------------------------------------------------- ambiguous input
def test_an_event_after_the_horizon_is_refused_by_simulate_the_model_and_the_config_alike():
    with pytest.raises(ConfigError) as api:
        bs.simulate("baseline", seed=1, horizon_months=12, events=[LATE])
    with pytest.raises(ConfigError) as model:
        bs.BorderModel("baseline", seed=1, horizon_months=12, events=[bs.Event(**LATE)])
    with pytest.raises(ConfigError) as cfg:
        parse_config(config(12, {"preset": "baseline", "events": [LATE]}), where="x.toml")
    (a,), (m,), (c,) = errors_of(api.value), errors_of(model.value), errors_of(cfg.value)
    assert a.allowed == m.allowed == c.allowed
    assert "outside the run's months 2022-01 .. 2022-12" in a.allowed and "never fire" in a.allowed
    assert a.key == "events[0].date" and c.key == "scenarios[0].events[0].date"
    before = {"date": "2021-06", "set": {"attack_rate_syria": 0.0005}}
    with pytest.raises(ConfigError, match="outside the run's months"):
        bs.simulate("baseline", seed=1, horizon_months=12, events=[before])
    # inside the horizon it runs; and the presets' own later events do not count against a
    # short horizon (they are the preset's, not the user's)
    assert len(bs.simulate("baseline", seed=1, horizon_months=18, events=[LATE])) == 18
    assert len(bs.simulate("cohesive_baghdad", seed=1, horizon_months=6)) == 6


def test_a_scenario_with_an_extra_late_event_is_refused_when_run():
    sc = bs.build_scenario("baseline").with_changes(events=[LATE])
    with pytest.raises(ConfigError, match="outside the run's months"):
        bs.simulate(sc, seed=1, horizon_months=12)


def test_two_events_setting_one_parameter_differently_in_one_month_are_refused_alike():
    clash = [{"date": "2022-06", "set": {"attack_rate_syria": 0.0005}},
             {"date": "2022-06-15", "set": {"attack_rate_syria": 0.001}}]
    with pytest.raises(ConfigError) as api:
        bs.simulate("baseline", seed=1, horizon_months=12, events=clash)
    with pytest.raises(ConfigError) as cfg:
        parse_config(config(12, {"preset": "baseline", "events": clash}), where="x.toml")
    (a,), (c,) = errors_of(api.value), errors_of(cfg.value)
    assert a.allowed.replace("scenarios[0].", "") == c.allowed.replace("scenarios[0].", "")
    assert "same month" in a.allowed and "would silently win" in a.allowed
    same = [clash[0], {**clash[0], "date": "2022-06-20"}]   # the same value twice: no ambiguity
    assert len(bs.simulate("baseline", seed=1, horizon_months=12, events=same)) == 12


def test_a_parameter_both_swept_and_overridden_is_refused_by_toml_and_builder_alike(tmp_path):
    sc = {"preset": "baseline", "overrides": {"coalition_isr": 0.3}}
    sweep = {"method": "grid", "parameters": {"coalition_isr": [0.2, 0.4]}}
    toml = tmp_path / "both.toml"
    toml.write_text(textwrap.dedent("""
        [experiment]
        name = "amb"
        replications = 1
        horizon_months = 12
        seed = 1
        [[scenarios]]
        preset = "baseline"
        overrides = { coalition_isr = 0.3 }
        [sweep]
        method = "grid"
        [sweep.parameters]
        coalition_isr = [0.2, 0.4]
    """))
    with pytest.raises(ConfigError) as from_toml:
        bs.load_config(toml)
    with pytest.raises(ConfigError) as from_builder:
        bs.Experiment("amb", scenarios=[sc], sweep=bs.grid({"coalition_isr": [0.2, 0.4]}),
                      replications=1, horizon_months=12)
    (t,), (b,) = errors_of(from_toml.value), errors_of(from_builder.value)
    assert t.allowed == b.allowed and t.key == b.key == "scenarios[0].overrides.coalition_isr"
    assert "also swept" in t.allowed and "would silently win" in t.allowed
    assert f"{toml}:9:" in str(from_toml.value)     # names the line of the override
    with pytest.raises(ConfigError, match="also swept"):
        parse_config(config(12, sc, sweep))


def test_run_experiment_judges_a_config_that_bypassed_the_loader(tmp_path):
    """An ExperimentConfig built directly, or shortened with with_changes, gets the same checks."""
    from borderscen.experiments.config import ExperimentConfig
    good = parse_config(config(24, {"preset": "baseline", "events": [LATE]}))
    with pytest.raises(ConfigError, match="outside the run's months"):
        good.with_changes(horizon_months=12)
    raw = ExperimentConfig.model_validate(config(12, {"preset": "baseline", "events": [LATE]}))
    with pytest.raises(ConfigError, match="outside the run's months"):
        bs.run_experiment(raw, out=tmp_path / "r", progress=False)
    assert not (tmp_path / "r").exists()


def test_the_builder_no_longer_coerces_what_toml_refuses():
    for bad in ({"replications": 2.7}, {"replications": "3"}, {"seed": True}):
        with pytest.raises(ConfigError):
            bs.Experiment("amb", **{"replications": 1, **bad}, horizon_months=3)
    with pytest.raises(ConfigError, match="no quotes|number"):
        bs.Experiment("amb", sweep=bs.grid({"coalition_isr": ["0.5"]}), replications=1,
                      horizon_months=3)
    import numpy as np
    exp = bs.Experiment("amb", sweep=bs.grid({"coalition_isr": np.array([0.2, 0.4])}),
                        replications=np.int64(1), horizon_months=3)
    assert exp.config.experiment.replications == 1 and exp.to_dict()["sweep"]["parameters"] == {
        "coalition_isr": [0.2, 0.4]}
    with pytest.raises(ConfigError, match="policies are crossed with a sweep"):
        bs.Experiment("amb", policies={"p": {"coalition_isr": 0.2}})


def test_one_parameter_given_twice_with_different_values_is_refused():
    with pytest.raises(ConfigError, match="also given in overrides="):
        bs.BorderModel("baseline", seed=1, horizon_months=3, overrides={"coalition_isr": 0.2},
                       coalition_isr=0.4)
    from borderscen.interfaces.cli import main
    assert main(["run", "--preset", "baseline", "--set", "coalition_isr=0.2",
                 "--set", "coalition_isr=0.4", "--replications", "1"]) == 2


def test_reproduce_refuses_two_experiments_with_one_name_before_running_anything(tmp_path, capsys):
    from borderscen.interfaces.cli import main
    exps = tmp_path / "experiments"
    exps.mkdir()
    body = config(3)
    import tomli_w
    (exps / "a.toml").write_text(tomli_w.dumps(body))
    body["scenarios"][0]["overrides"] = {"coalition_isr": 0.2}
    (exps / "b.toml").write_text(tomli_w.dumps(body))
    code = main(["reproduce", "--experiments", str(exps), "--out", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2 and "a.toml" in err and "b.toml" in err and "own name" in err
    assert not (tmp_path / "results").exists()


# ---------------------------------------------------------------------------- shared batches

TINY = textwrap.dedent("""
    [experiment]
    name = "tiny_faults"
    replications = 2
    horizon_months = 3
    seed = 11
    chunk_size = 1
    executor = "serial"
    [[scenarios]]
    preset = "baseline"
    [[scenarios]]
    name = "low_isr"
    preset = "baseline"
    overrides = { coalition_isr = 0.2 }
""")
#: Long enough (about 8 s on two workers, 20 chunks) that a stop which waited for the queue
#: would be seen; short enough for CI.
POOLED = textwrap.dedent("""
    [experiment]
    name = "pooled"
    replications = 40
    horizon_months = 60
    seed = 3
    chunk_size = 4
    executor = "process"
    workers = 2
    [[scenarios]]
    preset = "baseline"
    [[scenarios]]
    name = "low_isr"
    preset = "baseline"
    overrides = { coalition_isr = 0.2 }
""")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("tiny_faults")
    path = base / "tiny.toml"
    path.write_text(TINY)
    return path, tables(run_experiment(path, out=base / "reference", progress=False))


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    base = tmp_path_factory.mktemp("pooled")
    path = base / "pooled.toml"
    path.write_text(POOLED)
    return path, tables(run_experiment(path, out=base / "reference", progress=False))


def cli(config, out, *extra) -> list[str]:
    return [sys.executable, "-m", "borderscen.interfaces.cli", "run", str(config), "--out", str(out),
            "--no-figures", "--quiet", *map(str, extra)]


def start(config, out, *extra) -> subprocess.Popen:
    """`borderscen run` in its own process group (as a terminal runs it), once its first chunk
    is stored."""
    proc = subprocess.Popen(cli(config, out, *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and len(marks(out)) < 1:
        time.sleep(0.005)
    assert proc.poll() is None, proc.communicate()
    return proc


def marks(out: Path) -> dict[str, bytes]:
    """Every stored chunk's mark and parts, by path (what must never be lost)."""
    done = out / "parts" / "done"
    if not done.exists():
        return {}
    found = {}
    for mark in done.glob("chunk-*.json"):
        found[str(mark.relative_to(out))] = mark.read_bytes()
        for part in (out / "parts").glob(f"*/scenario=*/{mark.stem}.arrow"):
            found[str(part.relative_to(out))] = part.read_bytes()
    return found


def kept(before: dict[str, bytes], out: Path) -> None:
    now = marks(out)
    lost = [k for k in before if now.get(k) != before[k]]
    assert not lost, f"stored chunks lost or changed: {lost}"


# ---------------------------------------------------------------------------- interrupts
def test_ctrl_c_stops_a_pooled_batch_within_about_a_second_and_resumes_equal(pooled, tmp_path):
    path, ref = pooled
    out = tmp_path / "r"
    proc = start(path, out)
    before = marks(out)
    t0 = time.perf_counter()
    os.killpg(proc.pid, signal.SIGINT)            # Ctrl-C reaches the whole process group
    _, err = proc.communicate(timeout=60)
    stopped = time.perf_counter() - t0
    assert proc.returncode == 130, err
    assert stopped < 2.5, f"took {stopped:.1f} s to stop"
    assert "interrupted" in err and "Traceback" not in err
    kept(before, out)
    assert not (out / "manifest.json").exists()
    assert_same(ref, tables(run_experiment(path, out=out, progress=False)))


def test_a_second_ctrl_c_during_the_stop_loses_nothing_already_written(pooled, tmp_path):
    path, ref = pooled
    out = tmp_path / "r"
    proc = start(path, out)
    before = marks(out)
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.02)
    with pytest.raises(ProcessLookupError) if proc.poll() is not None else _nothing():
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    # 130; or, when the second signal lands after the stop, in the interpreter's teardown,
    # killed by SIGINT (which a shell also shows as 130)
    assert proc.returncode in (130, -signal.SIGINT), err
    assert "Traceback" not in err
    kept(before, out)
    assert_same(ref, tables(run_experiment(path, out=out, progress=False)))


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_ctrl_c_in_a_serial_batch_stops_it_at_once(tiny, tmp_path, monkeypatch):
    """Serial used to run every chunk at submission, catching the KeyboardInterrupt into a
    future: a Ctrl-C was held until the whole batch had run, and nothing was stored before."""
    from borderscen.experiments import runner
    path, ref = tiny
    out = tmp_path / "r"
    real, calls = runner.run_chunk_for_store, []

    def interrupted_in_the_second(chunk):
        calls.append(chunk.index)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr(runner, "run_chunk_for_store", interrupted_in_the_second)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, out=out, progress=False, log=lambda m: None)
    monkeypatch.undo()
    assert len(calls) == 2, f"chunks run after the interrupt: {calls[2:]}"
    assert len(list((out / "parts" / "done").glob("*.json"))) == 1   # the first was stored
    assert_same(ref, tables(run_experiment(path, out=out, progress=False)))


STUCK_TEARDOWN = textwrap.dedent("""
    import atexit, sys, time
    from borderscen.interfaces import cli
    cli.TEARDOWN_LIMIT_S = float(sys.argv[1])
    atexit.register(time.sleep, 600)    # stands in for a pool thread that never joins
    cli.main = lambda argv=None: cli.EXIT_INTERRUPTED
    cli.console()
""")


@pytest.mark.parametrize("limit", [0.5, None])
def test_after_an_interrupt_a_stuck_teardown_cannot_keep_the_command_alive(limit):
    """CI once saw `borderscen run` print its interrupted message (everything written) and then
    not exit within 60 s: the interpreter's teardown joins the stopped pool's threads. The
    command now ends with 130 after TEARDOWN_LIMIT_S; with no limit (None: a day) it hangs."""
    arg = str(limit if limit is not None else 86_400)
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", STUCK_TEARDOWN, arg], capture_output=True,
                             text=True, timeout=10)
    except subprocess.TimeoutExpired:
        assert limit is None, "the teardown limit did not end the command"
        return
    assert limit is not None, "a stuck teardown ended by itself: this test shows nothing"
    assert out.returncode == 130, out.stderr
    assert time.perf_counter() - t0 < 9


def _half_sent(n):
    """In a worker: return ``n`` bytes, but die (as SIGKILL would) half way through sending
    them, leaving a half-written result in the pool's pipe."""
    from multiprocessing import connection
    real = connection.Connection._send

    def send(self, buf, write=os.write):
        if len(buf) > 1_000_000:
            real(self, buf[: len(buf) // 2])
            os.kill(os.getpid(), signal.SIGKILL)
        real(self, buf)

    connection.Connection._send = send
    return b"x" * n


def _pool():
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    return ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver"))


@pytest.mark.parametrize("unstick", [True, False])
def test_a_worker_killed_while_sending_its_result_cannot_hang_the_stop(monkeypatch, unstick):
    """CI saw `borderscen run` hang after a Ctrl-C and after a worker was killed: a worker
    killed while sending its chunk's bytes leaves the pool's manager thread waiting forever for
    the rest (the pool never reports the death, and the interpreter's exit joins that thread).
    The stop closes the last writer of that pipe so the manager ends; without it, it does not."""
    from concurrent.futures import wait

    from borderscen.experiments import runner
    if not unstick:
        monkeypatch.setattr(runner, "_unstick", lambda manager: None)
    pool = _pool()
    fut = pool.submit(_half_sent, 8_000_000)
    done, _ = wait([fut], timeout=5)
    assert not done and runner._dead_workers(pool) == [-signal.SIGKILL]  # stuck, as in CI
    manager = pool._executor_manager_thread
    runner._stop(pool, [fut])
    if unstick:
        assert not manager.is_alive(), "the pool's manager thread is still waiting"
    else:  # the mechanism switched off: the manager waits on (the process would not exit)
        assert manager.is_alive()
        monkeypatch.undo()
        runner._unstick(manager)
        manager.join(timeout=10)
        assert not manager.is_alive()


def test_a_worker_killed_while_sending_is_reported_as_a_dead_worker(monkeypatch):
    """The batch's loop notices a worker its pool does not report (see above) and stops as for
    any dead worker, instead of waiting for its chunk forever."""
    from borderscen.experiments import runner
    monkeypatch.setattr(runner, "run_chunk_for_store", _half_sent)
    monkeypatch.setattr(runner, "DEAD_WORKER_GRACE_S", 0.5)
    import threading
    pool, raised = _pool(), []

    def drive():  # in a thread, so that a loop that waits forever fails this test, not hangs it
        try:
            runner._drive(pool, [8_000_000], types.SimpleNamespace(), 1, lambda *a: None)
        except BaseException as exc:  # noqa: BLE001 - looked at below
            raised.append(exc)

    loop = threading.Thread(target=drive, daemon=True)
    loop.start()
    loop.join(30)
    assert not loop.is_alive(), "the batch's loop waits forever for the dead worker's chunk"
    assert len(raised) == 1 and isinstance(raised[0], runner._PoolBroke), raised
    assert raised[0].unfinished == [8_000_000]


# ---------------------------------------------------------------------------- a worker killed
def workers_of(proc: subprocess.Popen) -> list:
    """The pool's worker processes (children of the fork server, itself a child of the run)."""
    psutil = pytest.importorskip("psutil")
    deadline = time.time() + 60
    while time.time() < deadline:
        kids = psutil.Process(proc.pid).children(recursive=True)
        found = [k for k in kids if k.ppid() != proc.pid]
        if found:
            return found
        time.sleep(0.01)
    raise AssertionError("no worker processes found")


@pytest.mark.parametrize("retries", [0, 1])
def test_a_worker_killed_mid_chunk_is_reported_and_the_batch_stops_or_retries(pooled, tmp_path, retries):
    """SIGKILL to a worker stands in for the out-of-memory killer."""
    path, ref = pooled
    out = tmp_path / "r"
    proc = start(path, out, "--retries", retries)
    before = marks(out)
    workers_of(proc)[0].kill()
    _, err = proc.communicate(timeout=300)
    assert "a worker process died while chunks" in err and "out-of-memory" in err, err
    assert "Traceback" not in err
    if retries:
        assert proc.returncode == 0 and "retrying them (1 of 1)" in err, err
        res = bs.load_results(out)
    else:
        kept(before, out)
        assert proc.returncode == 2 and "run the same command again to resume" in err, err
        assert not (out / "manifest.json").exists()
        res = run_experiment(path, out=out, progress=False)
    assert_same(ref, tables(res))


def test_a_pool_that_breaks_at_submit_loses_no_chunk():
    """Once a worker has died, ``submit`` itself raises BrokenProcessPool. The chunk being
    submitted then was neither in flight nor pending, so a retry skipped it (CI: "runs.parquet
    holds 76 distinct runs of 80"). Every chunk not written must come back as unfinished."""
    from concurrent.futures import Executor, Future
    from concurrent.futures.process import BrokenProcessPool

    from borderscen.experiments import runner

    class BreaksOnThirdSubmit(Executor):
        def __init__(self):
            self.calls = 0

        def submit(self, fn, *args, **kwargs):
            self.calls += 1
            if self.calls >= 3:
                raise BrokenProcessPool("a worker died")
            fut: Future = Future()
            fut.set_result(types.SimpleNamespace(encoded=args[0], model_s=0.0))
            return fut

    class Store:
        written: list = []

        def write_encoded(self, encoded):
            self.written.append(encoded)

    chunks = list(range(6))  # _drive only passes chunks through
    store = Store()
    with pytest.raises(runner._PoolBroke) as broke:
        runner._drive(BreaksOnThirdSubmit(), chunks, store, 2, lambda result, s: None)
    assert sorted(store.written + broke.value.unfinished) == chunks, (store.written, broke.value.unfinished)


# ---------------------------------------------------------------------------- after the results
def test_figures_that_cannot_be_drawn_say_the_results_are_safe_and_how_to_redraw(tiny, tmp_path, capsys):
    from borderscen.interfaces.cli import main
    path, ref = tiny
    out = tmp_path / "r"
    code = main(["run", str(path), "--out", str(out), "--quiet", "--figures", "/proc/figs"])
    err = capsys.readouterr().err
    assert code == 4, err
    assert "/proc/figs" in err and f"results are stored and safe in {out}" in err
    assert "Traceback" not in err
    assert_same(ref, tables(bs.load_results(out)))
    created = json.loads((out / "manifest.json").read_text())["created"]
    redraw = err.split("Redraw the figures with: ")[1].split()
    assert redraw[:2] == ["borderscen", "run"] and redraw[-1] == "DIR"
    figs = tmp_path / "figs"
    assert main([*redraw[1:-1], str(figs)]) == 0
    assert list(figs.glob("*.png")), "the redraw drew nothing"
    assert json.loads((out / "manifest.json").read_text())["created"] == created  # not re-run


# ---------------------------------------------------------------------------- changed inputs
def stop_before_finalize(path, out, monkeypatch, **kw):
    """A partial batch: every chunk stored, stopped before the merge."""
    from borderscen.experiments.store import ResultsStore
    with monkeypatch.context() as m:
        m.setattr(ResultsStore, "finalize", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
        with pytest.raises(KeyboardInterrupt):
            run_experiment(path, out=out, progress=False, log=lambda m: None, **kw)


@pytest.fixture
def input_copies(tmp_path, monkeypatch):
    """The registry, history and posterior as copies the test may edit (the fingerprints read
    these; the model still reads the shipped files)."""
    from borderscen.experiments import config
    copies = {}
    for name, path in config._input_files().items():
        copies[name] = tmp_path / "inputs" / path.name
        copies[name].parent.mkdir(exist_ok=True)
        copies[name].write_bytes(path.read_bytes())
    monkeypatch.setattr(config, "_input_files", lambda: dict(copies))
    return copies


@pytest.mark.parametrize("what, label", [
    ("posterior", "the shipped posterior (src/borderscen/data/posterior.csv)"),
    ("registry", "the parameter registry (src/borderscen/data/parameters.toml)"),
    ("history", "the history file (src/borderscen/data/history.toml)")])
def test_an_input_edited_between_a_partial_run_and_its_resume_is_refused_or_logged(
        tiny, tmp_path, input_copies, what, label, capsys):
    from borderscen.experiments.store import StoreInputsChanged
    from borderscen.interfaces.cli import main
    path, ref = tiny
    out = tmp_path / "r"
    stop_before_finalize(path, out, pytest.MonkeyPatch())
    input_copies[what].write_bytes(input_copies[what].read_bytes() + b"\n# edited\n")
    with pytest.raises(StoreInputsChanged) as err:
        run_experiment(path, out=out, progress=False)
    assert label in str(err.value) and "--accept-changed-inputs" in str(err.value)
    assert main(["run", str(path), "--out", str(out), "--no-figures", "--quiet"]) == 2
    assert label in capsys.readouterr().err
    assert main(["run", str(path), "--out", str(out), "--no-figures", "--quiet",
                 "--accept-changed-inputs"]) == 0
    assert "inputs changed" in capsys.readouterr().err
    res = bs.load_results(out)
    (event,) = [e for e in res.manifest["events"] if e["kind"] == "inputs changed"]
    assert event["file"].endswith(Path(input_copies[what]).name) and label in event["problem"]
    import hashlib
    assert res.manifest["inputs"][what] == hashlib.sha256(input_copies[what].read_bytes()).hexdigest()[:16]
    assert_same(ref, tables(res))   # the model itself read the shipped files throughout


def test_a_python_or_numpy_version_change_is_refused_on_resume(tiny, tmp_path, monkeypatch):
    from borderscen.experiments import config
    from borderscen.experiments.store import StoreInputsChanged
    path, ref = tiny
    out = tmp_path / "r"
    stop_before_finalize(path, out, monkeypatch)
    real = config._versions()
    monkeypatch.setattr(config, "_versions", lambda: {**real, "numpy": "1.0.0", "python": "3.99.0"})
    with pytest.raises(StoreInputsChanged) as err:
        run_experiment(path, out=out, progress=False)
    msg = str(err.value)
    assert f"the numpy version: {real['numpy']} -> 1.0.0" in msg and "the Python version" in msg
    res = run_experiment(path, out=out, progress=False, accept_changed_inputs=True, log=lambda m: None)
    assert {e["problem"].split(" changed")[0] for e in res.manifest["events"]} == {
        "the numpy version", "the Python version"}
    assert_same(ref, tables(res))


def test_a_changed_config_is_refused_even_when_changed_inputs_are_accepted(tiny, tmp_path, monkeypatch):
    from borderscen.experiments.store import StoreInputsChanged, StoreMismatch
    path, _ = tiny
    out = tmp_path / "r"
    stop_before_finalize(path, out, monkeypatch)
    changed = tmp_path / "changed.toml"
    changed.write_text(path.read_text().replace("seed = 11", "seed = 12"))
    with pytest.raises(StoreMismatch) as err:
        run_experiment(changed, out=out, progress=False, accept_changed_inputs=True)
    assert not isinstance(err.value, StoreInputsChanged) and "different config" in str(err.value)


def test_an_edited_posterior_makes_finished_results_stale(tiny, tmp_path, input_copies):
    from borderscen.experiments.store import state
    path, _ = tiny
    out = tmp_path / "r"
    cfg = bs.load_config(path)
    run_experiment(cfg, out=out, progress=False)
    assert state(out, cfg.content_hash()) == "complete"
    input_copies["posterior"].write_bytes(input_copies["posterior"].read_bytes()[:-10])
    assert state(out, cfg.content_hash()) == "stale"


def test_a_copied_or_moved_partial_folder_resumes_to_the_same_result(tiny, tmp_path, monkeypatch):
    import shutil
    path, ref = tiny
    out = tmp_path / "r"
    stop_before_finalize(path, out, monkeypatch)
    (out / ".writer.json").write_text(json.dumps({"pid": 999999, "since": 0}))  # as a kill leaves it
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(out, copy, symlinks=True)
    moved = tmp_path / "moved"
    out.rename(moved)
    for folder in (copy, moved):
        assert_same(ref, tables(run_experiment(path, out=folder, progress=False)))
        assert not (folder / "parts").exists()
    done = tmp_path / "done"
    run_experiment(path, out=done, progress=False)
    shutil.copytree(done, tmp_path / "done-copy")          # a finished folder, copied: reused
    res = run_experiment(path, out=tmp_path / "done-copy", progress=False)
    assert res.manifest["created"] == bs.load_results(done).manifest["created"]


@pytest.mark.parametrize("link", ["parts", "runs.parquet", ".lock", "parts/runs/scenario=baseline",
                                  "parts/done/chunk-000000.json"])
def test_a_symlink_inside_out_is_never_followed_out_of_it(tiny, tmp_path, monkeypatch, link):
    from borderscen.experiments.store import StoreNotOwned
    path, _ = tiny
    out = tmp_path / "r"
    stop_before_finalize(path, out, monkeypatch)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    target = outside if link in ("parts", "parts/runs/scenario=baseline") else outside / "precious.txt"
    where = out / link
    if where.is_dir():
        import shutil
        shutil.rmtree(where)
    else:
        where.unlink(missing_ok=True)
    where.symlink_to(target)
    for fresh in (False, True):
        with pytest.raises(StoreNotOwned) as err:
            run_experiment(path, out=out, progress=False, fresh=fresh)
        assert "symbolic link" in str(err.value) and str(where) in str(err.value)
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert (outside / "precious.txt").read_text() == "keep me"


# ---------------------------------------------------------------------------- disk full
class DiskFull:
    """Replaces the store's one write primitive: the k-th file it opens fails with ENOSPC,
    either at once ('open') or after half its first write reached the disk ('half'). Records
    what was stored at the moment of the failure."""

    def __init__(self, k: int, mode: str, out: Path):
        from borderscen.experiments import store
        self.k, self.mode, self.out, self.calls, self.real = k, mode, out, 0, store.open_for_write
        self.stored_then: dict[str, bytes] | None = None

    def __call__(self, path):
        import errno
        self.calls += 1
        if self.calls != self.k:
            return self.real(path)
        self.stored_then = marks(self.out)
        full = OSError(errno.ENOSPC, "No space left on device")
        if self.mode == "open":
            raise full
        fh = self.real(path)
        real_write = fh.write

        def write(data):
            real_write(bytes(data)[: max(len(data) // 2, 1)])
            fh.flush()
            raise full
        fh.write = write
        return fh


def count_writes(path, out, monkeypatch) -> int:
    from borderscen.experiments import store
    counter = DiskFull(0, "open", out)
    with monkeypatch.context() as m:
        m.setattr(store, "open_for_write", counter)
        run_experiment(path, out=out, progress=False)
    return counter.calls


@pytest.mark.parametrize("mode", ["open", "half"])
def test_a_full_disk_at_every_store_write_is_a_clear_error_loses_nothing_and_resumes(
        tiny, tmp_path, monkeypatch, capsys, mode):
    from borderscen.experiments import store
    from borderscen.interfaces.cli import main
    path, ref = tiny
    n = count_writes(path, tmp_path / "count", monkeypatch)
    assert n >= 20   # marker, pid file, progress, 4 chunks x (3 parts + mark), 3 tables, manifest
    for k in range(1, n + 1):
        out = tmp_path / f"{mode}-{k}"
        full = DiskFull(k, mode, out)
        with monkeypatch.context() as m:
            m.setattr(store, "open_for_write", full)
            code = main(["run", str(path), "--out", str(out), "--no-figures", "--quiet"])
        err = capsys.readouterr().err
        assert code == 2, (k, err)
        assert "No space left on device" in err and "run the same command again" in err, (k, err)
        assert "Traceback" not in err
        kept(full.stored_then, out)
        assert not (out / "manifest.json").exists() or k == n
        res = run_experiment(path, out=out, progress=False, log=lambda m: None)
        assert_same(ref, tables(res))
        assert not [e for e in res.manifest["events"] if e["kind"] == "repaired"], (k, res.manifest["events"])
        assert not [p for p in out.rglob("*") if ".tmp-" in p.name], k


FSIZE = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a too-large write fails (EFBIG) instead of killing
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from borderscen.interfaces.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_file_size_limit_fails_the_command_cleanly_and_the_same_command_resumes(tiny, tmp_path):
    """RLIMIT_FSIZE in a real process: the store's files larger than the limit cannot be written
    (the merged tables here), the smaller ones (chunk parts) can."""
    path, ref = tiny
    probe = tmp_path / "probe"
    stop_before_finalize(path, probe, pytest.MonkeyPatch())
    biggest_part = max(p.stat().st_size for p in (probe / "parts").rglob("*.arrow"))
    run_experiment(path, out=probe, progress=False)
    merged = max((probe / f"{t}.parquet").stat().st_size for t in ("timeseries", "zones", "runs"))
    assert biggest_part < merged
    limit = (biggest_part + merged) // 2
    out = tmp_path / "r"
    args = ["run", str(path), "--out", str(out), "--no-figures", "--quiet"]
    failed = subprocess.run([sys.executable, "-c", FSIZE, str(limit), *args],
                            capture_output=True, text=True, timeout=300)
    assert failed.returncode == 2, failed.stderr
    assert "File too large" in failed.stderr and "run the same command again" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert len(list((out / "parts" / "done").glob("*.json"))) == 4   # every chunk kept
    again = subprocess.run([sys.executable, "-m", "borderscen.interfaces.cli", *args],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert_same(ref, tables(bs.load_results(out)))


# ---------------------------------------------------------------------------- readers during writes
def reader_sees(out: Path, ref) -> str:
    """What a reader gets right now: the verified tables, or a clear 'in progress' error."""
    from borderscen.errors import StoreError
    try:
        res = bs.load_results(out)
    except StoreError as exc:
        assert "in progress" in str(exc), str(exc)
        return "in progress"
    assert_same(ref, tables(res))
    return "verified"


@pytest.mark.parametrize("fresh", [False, True])
def test_a_reader_at_every_write_and_delete_sees_the_verified_state_or_in_progress(
        tiny, tmp_path, monkeypatch, fresh):
    """A reader opens the folder before each file the writer writes or deletes: a first run,
    and a finished folder rewritten with --fresh."""
    import pathlib

    from borderscen.experiments import store
    path, ref = tiny
    out = tmp_path / "r"
    if fresh:
        run_experiment(path, out=out, progress=False)
    seen: list[str] = []
    real_open, real_unlink = store.open_for_write, pathlib.Path.unlink

    def opening(p):
        seen.append(reader_sees(out, ref))
        return real_open(p)

    def unlinking(self, missing_ok=False):
        if out in self.parents and self.name not in (".writer.json", ".lock"):
            seen.append(reader_sees(out, ref))
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(store, "open_for_write", opening)
    monkeypatch.setattr(pathlib.Path, "unlink", unlinking)
    run_experiment(path, out=out, progress=False, fresh=fresh)
    monkeypatch.undo()
    assert "in progress" in seen and len(seen) > 20
    if fresh:
        assert seen[0] == "verified"
    assert reader_sees(out, ref) == "verified"
