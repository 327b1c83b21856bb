"""Issue 24 item 2, one way to run: every command that simulates reports its progress through one
callback, ``progress(done, total)``, which the CLI shows with one renderer (a bar on a terminal,
plain lines in a pipe)."""

from __future__ import annotations

import textwrap

import pandas as pd

from borderscen.experiments import run_experiment
from borderscen.progress import ProgressView, Tally, progress_mode

TINY = textwrap.dedent("""
    [experiment]
    name = "tiny_progress"
    replications = 5
    horizon_months = 4
    seed = 7
    chunk_size = 2
    executor = "serial"
    [[scenarios]]
    preset = "baseline"
""")


class Calls(list):
    """A progress callback that keeps its calls."""

    def __call__(self, done: int, total: int) -> None:
        self.append((done, total))


def assert_counts_up(calls: list[tuple[int, int]], total: int | None = None) -> None:
    """Called at least once, done never down, one total, and the last call reports it whole."""
    assert calls, "the progress callback was never called"
    totals = {t for _, t in calls}
    assert len(totals) == 1, f"the total changed: {sorted(totals)}"
    dones = [d for d, _ in calls]
    assert dones == sorted(dones), f"done went down: {dones}"
    assert dones[-1] == calls[-1][1], f"finished at {dones[-1]} of {calls[-1][1]}"
    if total is not None:
        assert calls[-1][1] == total


def test_the_runner_calls_a_progress_callback_with_the_runs_done(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    calls = Calls()
    res = run_experiment(path, out=tmp_path / "r", progress=calls)
    assert_counts_up(calls, total=len(res.runs))
    assert calls[0] == (0, 5)  # the total is known before the first run
    assert [d for d, _ in calls] == [0, 2, 4, 5]  # one call per chunk


def test_plain_lines_in_a_pipe_at_the_start_now_and_then_and_at_the_end(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    lines: list[str] = []
    view = ProgressView("job", "thing", show=None, every=3600, say=lines.append)
    assert view.mode == "lines"  # pytest's standard error is not a terminal
    for done in range(0, 11):
        view(done, 10)
    view(10, 10)
    assert lines[0].startswith("job: 0/10 things (0%),")
    assert lines[-1].startswith("job: 10/10 things (100%),") and len(lines) == 2


def test_quiet_and_ci_show_nothing(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert progress_mode(False) == "off" and progress_mode(True) == "bar"
    monkeypatch.setenv("CI", "true")
    assert progress_mode(None) == progress_mode(True) == "off"


def test_a_tally_counts_several_steps_as_one():
    calls = Calls()
    tally = Tally(calls, 10)
    first = tally.step(4)
    first(1, 2)
    first(2, 2)
    second = tally.step(6)
    second(3, 3)
    assert calls == [(0, 10), (2, 10), (4, 10), (10, 10)]
    assert_counts_up(calls, 10)


def test_a_tally_finishes_a_step_that_ended_early():
    calls = Calls()
    tally = Tally(calls, 5)
    tally.step(5)(1, 5)
    tally.finish()
    assert calls[-1] == (5, 5)


def test_validate_facts_is_the_same_table_with_one_or_two_workers_and_counts_its_runs():
    from borderscen.analysis.facts import FACTS, validate_facts

    facts = FACTS[:2]
    calls = Calls()
    one = validate_facts(12, seed=3, facts=facts, executor="serial", progress=calls)
    two = validate_facts(12, seed=3, facts=facts, executor="process", workers=2)
    pd.testing.assert_frame_equal(one, two)
    assert_counts_up(calls, total=12 * (1 + len(facts)))


def test_in_sample_scores_and_the_variance_split_are_the_same_with_one_or_two_workers():
    from borderscen.analysis.uncertainty import variance_decomposition
    from borderscen.analysis.validation import insample_scores

    calls = Calls()
    one = insample_scores(16, seed=2, progress=calls)
    assert_counts_up(calls, total=16)
    pd.testing.assert_frame_equal(one, insample_scores(16, seed=2, executor="process", workers=2))
    calls = Calls()
    split = variance_decomposition(draws=3, seeds=4, horizon_months=12, progress=calls)
    assert_counts_up(calls, total=12)
    pd.testing.assert_frame_equal(split, variance_decomposition(draws=3, seeds=4, horizon_months=12,
                                                                workers=2))


def test_backtest_counts_origins_and_is_the_same_with_one_or_two_workers(tmp_path):
    from borderscen.analysis import backtest

    kw = {"particles": 30, "seed": 5, "first": "2025-04", "every": 6}
    calls = Calls()
    said: list[str] = []
    one = backtest.run_backtest(tmp_path / "one", progress=calls, log=said.append, **kw)
    assert_counts_up(calls, total=len(backtest.origins("2025-04", every=6)))
    assert len(said) == calls[-1][1] and all(line.startswith("origin 20") for line in said)
    two = backtest.run_backtest(tmp_path / "two", executor="process", workers=2, **kw)
    pd.testing.assert_frame_equal(one, two)
    calls = Calls()
    backtest.run_backtest(tmp_path / "one", progress=calls, **kw)  # resumed: all stored
    assert calls == [(calls[0][1], calls[0][1])]


def test_validate_and_backtest_in_a_pipe_print_plain_progress_lines(tmp_path, capsys, monkeypatch):
    from borderscen.interfaces.cli import main

    monkeypatch.delenv("CI", raising=False)
    assert main(["validate", "--facts-only", "--replications", "10", "--no-switch-off", "--seed", "2",
                 "--workers", "1", "--executor", "serial", "--out", str(tmp_path / "v")]) in (0, 1)
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("validate: stylized facts")]
    assert lines[0].startswith("validate: stylized facts (10 replications per arm): 0/10 runs (0%)")
    assert lines[-1].startswith("validate: stylized facts (10 replications per arm): 10/10 runs (100%)")
    assert main(["backtest", "--particles", "30", "--first", "2025-10", "--every", "6",
                 "--executor", "serial", "--no-figures", "--out", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("backtest (30 particles): ")]
    assert lines[0].startswith("backtest (30 particles): 0/1 origins (0%)")
    assert lines[-1].startswith("backtest (30 particles): 1/1 origins (100%)")
    assert "\r" not in err  # no bar redrawn into a pipe


def test_sensitivity_counts_the_runs_of_every_method_as_one(tmp_path):
    from borderscen.analysis.sensitivity import run_sensitivity

    path = tmp_path / "sens.toml"
    path.write_text(TINY.replace("replications = 5", "replications = 1").replace(
        'name = "tiny_progress"', 'name = "tiny_sens"\nstart = "open_loop"\nparameters = "median"')
        + '[sweep]\nmethod = "morris"\nsamples = 2\n[sweep.parameters]\n'
          'iran_pressure = { min = 0.2, max = 0.8 }\nturkey_opposition = { min = 0.2, max = 0.8 }\n')
    calls = Calls()
    tables = run_sensitivity(path, out_dir=tmp_path / "out", methods=["morris"],
                             outputs=["cum_attacks"], progress=calls)
    assert set(tables) == {"morris"}
    assert_counts_up(calls, total=2 * 3)  # Morris: (parameters + 1) points per trajectory


def test_the_explorer_counts_its_runs_from_the_runner_callback(tmp_path):
    from borderscen.interfaces.explorer import core

    job = core.EnsembleJob(core.Settings(preset="baseline", replications=3, horizon_months=6, seed=2),
                           workdir=tmp_path)
    assert not job.config.experiment.chunk_size  # automatic: the runner's own batches, not one run each
    seen: list[int] = []
    real = job._progress
    job._progress = lambda done, total: (seen.append(done), real(done, total))  # type: ignore[method-assign]
    job.start().wait(timeout=300)
    assert seen[0] == 0 and seen[-1] == job.total == job.done == 6 and seen == sorted(seen)
