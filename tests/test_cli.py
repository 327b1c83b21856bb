"""Issue 12 items 3-5 and issue 15 item 4: one CLI whose exit codes mean something, where every
bad input is one clear line (exit 2, no traceback, nothing written), and whose reference page
is generated from the parser."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from borderscen.errors import ConfigError
from borderscen.interfaces import cli

TINY = textwrap.dedent("""
    [experiment]
    name = "tiny_cli"
    replications = 2
    horizon_months = 3
    seed = 11
    executor = "serial"
    [[scenarios]]
    preset = "baseline"
""")


def call(argv, capsys) -> tuple[int, str, str]:
    """Run the CLI in this process (fast); argparse's own usage errors exit via SystemExit."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*")}


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _bad_cases(tmp: Path, tiny: Path, repo_root: Path) -> dict[str, tuple[list, str]]:
    (tmp / "latin1.toml").write_bytes(TINY.encode().replace(b'"tiny_cli"', b'"caf\xe9"'))
    (tmp / "dotdot.toml").write_text(TINY.replace('"tiny_cli"', '".."'))
    (tmp / "slash.toml").write_text(TINY.replace('"tiny_cli"', '"a/b"'))
    (tmp / "long.toml").write_text(TINY.replace('"tiny_cli"', '"' + "x" * 300 + '"'))
    (tmp / "empty_grid.toml").write_text(TINY + "[sweep]\nmethod='grid'\n[sweep.parameters]\n"
                                                "coalition_isr = []\n")
    (tmp / "huge.toml").write_text(TINY + "[sweep]\nmethod='grid'\n[sweep.parameters]\n" + "".join(
        f"{p} = [{', '.join(['0.1'] * 40)}]\n" for p in
        ("coalition_isr", "fortification", "attack_rate", "recruitment_rate")))
    (tmp / "string.toml").write_text(TINY.replace("replications = 2", 'replications = "2"'))
    (tmp / "bool.toml").write_text(TINY.replace("replications = 2", "replications = true"))
    (tmp / "late_event.toml").write_text(TINY + "events = [{ date = '2031-01', "
                                                "set = { coalition_isr = 0.2 } }]\n")
    (tmp / "source.toml").write_text('source = "elsewhere"\n' + TINY)
    (tmp / "year.toml").write_text(TINY.replace("seed = 11", "seed = 11\nstart = '9999-01'"))
    (tmp / "dup.toml").write_text(TINY.replace("seed = 11", "seed = 11\noutputs = ['cooperation', "
                                                            "'cooperation']"))
    (tmp / "bad_cal.toml").write_text("parameters = 5\n")
    (tmp / "with_cal.toml").write_text(TINY.replace("seed = 11", "seed = 11\ncalibration = "
                                                                 "'bad_cal.toml'"))
    (tmp / "notmine").mkdir()
    (tmp / "notmine" / "keep.txt").write_text("x")
    smoke = repo_root / "experiments" / "smoke.toml"
    return {
        "summarize missing folder": (["summarize", tmp / "nowhere"], "no such results folder"),
        "summarize interval 95": (["summarize", tmp, "--interval", "95"], "write 0.95"),
        "run a directory": (["run", tmp], "is a directory"),
        "validate negative replications": (["validate", "--replications", "-1"], ">= 1"),
        "workers 0": (["run", tiny, "--workers", "0"], ">= 1"),
        "negative particles": (["run", tiny, "--particles", "-3"],
                               "experiment.particles = -3: Input should be greater than or equal to 0"),
        "workers -1": (["run", tiny, "--workers", "-1"], ">= 1"),
        "reproduce misspelt only": (["reproduce", "--experiments", repo_root / "experiments",
                                     "--out", tmp / "r", "--only", "smok"], "did you mean 'smoke'"),
        "params unknown group": (["params", "--group", "coalitoin"], "did you mean 'coalition'"),
        "params unknown name": (["params", "coalition_irs"], "did you mean 'coalition_isr'"),
        "evidence unknown source": (["evidence", "--source", "999"], "not a known source id"),
        "sensitivity of a grid config": (["sensitivity", smoke, "--out", tmp / "r"],
                                         "needs [sweep.parameters] given as"),
        "non-UTF-8 config": (["run", tmp / "latin1.toml"], "must be UTF-8"),
        "experiment named ..": (["run", tmp / "dotdot.toml"], "no path separators"),
        "experiment name with a slash": (["run", tmp / "slash.toml"], "no path separators"),
        "very long name": (["run", tmp / "long.toml"], "1-64"),
        "empty grid": (["run", tmp / "empty_grid.toml"], "zero points"),
        "huge grid": (["run", tmp / "huge.toml"], "at most 100,000 design points"),
        "string for a number": (["run", tmp / "string.toml"], "experiment.replications"),
        "boolean for a number": (["run", tmp / "bool.toml"], "experiment.replications"),
        "event outside horizon": (["run", tmp / "late_event.toml"], "outside the run's months"),
        "internal source key": (["run", tmp / "source.toml"], "source = 'elsewhere': unknown key"),
        "start year 9999": (["run", tmp / "year.toml"], "clock starts at 2022-01"),
        "duplicate outputs": (["run", tmp / "dup.toml"], "listed twice"),
        "malformed calibration file": (["run", tmp / "with_cal.toml"], "experiment.calibration"),
        "unknown preset": (["run", "--preset", "basline"], "did you mean 'baseline'"),
        "set without =": (["run", "--preset", "baseline", "--set", "coalition_isr"], "key=value"),
        "set a word": (["run", "--preset", "baseline", "--set", "coalition_isr=high"],
                       "number or true/false"),
        "set a boolean": (["run", "--preset", "baseline", "--set", "coalition_isr=true"],
                          "a boolean where a number belongs"),
        "config and preset": (["run", tiny, "--preset", "baseline"], "not both"),
        "neither config nor preset": (["run"], "--preset NAME"),
        "folder not ours": (["run", tiny, "--out", tmp / "notmine"], "not created by borderscen"),
    }


CASES = ["summarize missing folder", "summarize interval 95", "run a directory",
         "validate negative replications", "workers 0", "negative particles", "workers -1",
         "reproduce misspelt only",
         "params unknown group", "params unknown name", "evidence unknown source",
         "sensitivity of a grid config", "non-UTF-8 config", "experiment named ..",
         "experiment name with a slash", "very long name", "empty grid", "huge grid",
         "string for a number", "boolean for a number", "event outside horizon",
         "internal source key", "start year 9999", "duplicate outputs",
         "malformed calibration file", "unknown preset", "set without =", "set a word",
         "set a boolean", "config and preset", "neither config nor preset", "folder not ours"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_clear_error_exit_2_and_nothing_written(case, tmp_path, tiny, repo_root,
                                                                 capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, expected = _bad_cases(tmp_path, tiny, repo_root)[case]
    before = files_under(tmp_path)
    code, out, err = call(argv, capsys)
    assert code == 2, (out, err)
    assert expected in err, err
    assert "Traceback" not in err and "pydantic" not in err and "validation error" not in err
    assert files_under(tmp_path) == before, "a rejected command wrote files"


def test_the_case_list_covers_every_case(tmp_path, tiny, repo_root):
    assert sorted(CASES) == sorted(_bad_cases(tmp_path, tiny, repo_root))


def test_bad_config_in_a_real_process_exits_2(tmp_path):
    path = tmp_path / "x.toml"
    path.write_text(TINY.replace("replications = 2", "replications = 'two'"))
    out = subprocess.run([sys.executable, "-m", "borderscen.interfaces.cli", "run", str(path)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 2 and "experiment.replications" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "results").exists()


def test_failed_runs_exit_3_listing_seeds_unless_allowed(tiny, tmp_path, capsys, monkeypatch):
    from borderscen.experiments import runner
    real = runner.run_batch
    failing = []

    def flaky(batch, *a, **k):  # a batch holding the bad seed fails; the runner retries run by run
        if not failing:
            failing.append(batch.seeds[0])
        if failing[0] in batch.seeds:
            raise RuntimeError("boom")
        return real(batch, *a, **k)

    monkeypatch.setattr(runner, "run_batch", flaky)
    out = tmp_path / "r"
    code, stdout, err = call(["run", tiny, "--out", out, "--no-figures", "--quiet"], capsys)
    assert code == 3
    assert f"seed {failing[0]}: RuntimeError: boom" in err and "1 of 2 runs failed" in err
    code, _, err = call(["run", tiny, "--out", out, "--no-figures", "--allow-failures"], capsys)
    assert code == 0 and f"seed {failing[0]}" in err


def test_every_run_failing_is_not_success(tiny, tmp_path, capsys, monkeypatch):
    from borderscen.experiments import runner

    def broken(*a, **k):
        raise ValueError("model broke")

    monkeypatch.setattr(runner, "run_batch", broken)
    code, _, err = call(["run", tiny, "--out", tmp_path / "r", "--quiet"], capsys)
    assert code == 3 and "2 of 2 runs failed" in err


def test_run_a_preset_with_overrides_without_a_config_file(tmp_path, capsys):
    out = tmp_path / "r"
    code, stdout, err = call(["run", "--preset", "baseline", "--set", "coalition_isr=0.3",
                              "--replications", "2", "--horizon-months", "3", "--executor",
                              "serial", "--out", out, "--no-figures", "--quiet"], capsys)
    assert code == 0, err
    from borderscen.experiments import load_results
    res = load_results(out)
    assert res.manifest["config"]["scenarios"][0]["overrides"] == {"coalition_isr": 0.3}
    assert len(res.runs) == 2 and (res.runs["status"] == "ok").all()
    assert res.scenarios == ["baseline"] and res.manifest["counts"]["replications"] == 2


def test_run_particles_sets_the_filters_cloud_and_the_runs_continue_a_subset(tmp_path, capsys):
    out = tmp_path / "r"
    code, stdout, err = call(["run", "--preset", "baseline", "--replications", "3", "--particles", "7",
                              "--horizon-months", "50", "--executor", "serial", "--out", out,
                              "--no-figures"], capsys)
    assert code == 0, err
    from borderscen.experiments import load_results
    res = load_results(out)
    assert res.manifest["config"]["experiment"]["particles"] == 7
    assert res.manifest["start"]["particles"] == 7 and res.manifest["start"]["kept"] == 3
    said = stdout + err
    assert "with 7 particles" in said and "--particles 2500" in said  # the small cloud's hint


def test_version_and_help_text_on_every_option(capsys):
    code, out, _ = call(["--version"], capsys)
    assert code == 0 and out.startswith("borderscen ")
    parser = cli.build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    missing = [f"{name} {'/'.join(a.option_strings) or a.dest}"
               for name, p in {"": parser, **subs}.items() for a in p._actions
               if not a.help or a.help == argparse.SUPPRESS]
    assert not missing, f"options without help text: {missing}"
    for p in subs.values():  # the same names everywhere
        opts = {o for a in p._actions for o in a.option_strings}
        assert "--results" not in opts or "--out" in opts
    code, out, _ = call(["run", "--help"], capsys)
    assert "exit status" in out and "--allow-failures" in out


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_every_subcommand_help_has_the_same_shape():
    """Description, options, an example that parses, the exit status: in that order, through the
    same formatter, for every subcommand (explore, discover and robustness included)."""
    subs = _subcommands()
    assert {"run", "calibrate", "validate", "explore", "discover", "robustness"} <= set(subs)
    for name, p in subs.items():
        text = p.format_help()
        assert p.description and p.description[0].isupper() and p.description.endswith("."), name
        heads = [text.find(h) for h in (f"usage: borderscen {name}", p.description[:20], "options:",
                                        "example", "exit status:")]
        assert -1 not in heads and heads == sorted(heads), (name, heads)
        assert p.formatter_class is cli._formatter, name
        assert max(len(line) for line in text.splitlines()) <= cli.HELP_WIDTH, name
        examples = text.split("exit status:")[0].split("example")[-1].splitlines()[1:]
        examples = [e.strip() for e in examples if e.strip()]
        assert examples and all(e.startswith(f"borderscen {name}") for e in examples), name
        for e in examples:  # every example is a valid command line
            words = shlex.split(e)[1:]
            words = words[:words.index(">")] if ">" in words else words
            assert cli.build_parser().parse_args(words).func is p.get_default("func"), e
        codes = text.split("exit status:")[1]
        for code in (cli.EXIT_OK, cli.EXIT_BAD_INPUT, cli.EXIT_INTERRUPTED):
            assert f"\n  {code} " in codes, (name, code)


def test_shared_options_have_one_meaning_everywhere():
    subs = _subcommands()
    for flag, _ in cli.COMMON_OPTIONS.values():
        meanings = {name: a.help.split(" (default")[0] for name, p in subs.items()
                    for a in p._actions if flag in a.option_strings}
        assert len(meanings) >= 1 and len(set(meanings.values())) == 1, (flag, meanings)
    for name, p in subs.items():
        opts = {o for a in p._actions for o in a.option_strings}
        if "--executor" in opts:  # every command that runs the model at length
            assert {"--workers", "--scheduler", "--quiet", "--out"} <= opts, name
    for name in ("validate", "backtest", "calibrate"):
        assert "--quiet" in {o for a in subs[name]._actions for o in a.option_strings}, name


def test_the_executor_help_names_the_real_default():
    from borderscen.experiments.config import ExperimentSection
    default = ExperimentSection.model_fields["executor"].default
    run = _subcommands()["run"]
    help_text = next(a.help for a in run._actions if "--executor" in a.option_strings)
    assert f"{default} unless set" in help_text and "the config's" in help_text


def test_cli_reference_is_generated_from_the_parser(repo_root):
    out = subprocess.run([sys.executable, str(repo_root / "scripts" / "gen_cli_reference.py"),
                          "--check"], capture_output=True)
    assert out.returncode == 0, "run: python scripts/gen_cli_reference.py"
    text = (repo_root / "docs" / "cli.md").read_text()
    assert "## borderscen run" in text and "--allow-failures" in text


def test_params_name_shows_one_parameter_with_its_evidence(capsys):
    from borderscen.inputs.params import registry
    name, spec = next((n, s) for n, s in registry().items() if s.evidence)
    code, out, _ = call(["params", name], capsys)
    assert code == 0 and out.startswith(name) and spec.evidence[0] in out
    assert f"[{spec.min:g}, {spec.max:g}]" in out


def test_numpy_integers_are_accepted_where_whole_numbers_belong(tmp_path):
    import tomllib

    from borderscen.experiments.config import parse_config
    data = tomllib.loads(TINY)
    data["experiment"]["seed"] = np.int64(11)
    data["experiment"]["replications"] = np.int32(2)
    cfg = parse_config(data)
    assert cfg.experiment.seed == 11 and type(cfg.experiment.seed) is int
    assert cfg.with_changes(seed=np.uint16(5)).experiment.seed == 5
    from borderscen.experiments.runner import check_workers
    assert check_workers(np.int64(2)) == 2
    with pytest.raises(ConfigError, match="whole number >= 1"):
        check_workers(-1)


def test_git_commit_only_from_the_projects_own_repository(tmp_path):
    from borderscen.experiments.runner import PACKAGE_DIR, _git_commit
    other = tmp_path / "other"
    pkg = other / "src" / "borderscen"
    pkg.mkdir(parents=True)
    (other / "pyproject.toml").write_text('[project]\nname = "someone-else"\n')
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    subprocess.run(["git", "-C", str(other), "-c", "user.email=a@b", "-c", "user.name=a",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    assert _git_commit(pkg) is None          # an enclosing repository that is not borderscen
    assert _git_commit(tmp_path) is None     # no repository at all
    own = _git_commit(PACKAGE_DIR)
    inside_repo = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PACKAGE_DIR,
                                 capture_output=True, text=True).returncode == 0
    if inside_repo:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PACKAGE_DIR, capture_output=True,
                              text=True).stdout.strip()
        assert own is not None and own.startswith(head)


SCRIPT_WITHOUT_GUARD = """
from borderscen.experiments import run_experiment
run_experiment({config!r}, out={out!r}, executor="process", workers=1, progress=False)
"""


def test_a_script_without_the_main_guard_gets_a_hint(tiny, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT_WITHOUT_GUARD.format(config=str(tiny), out=str(tmp_path / "r")))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)
    assert out.returncode != 0
    assert 'if __name__ == "__main__":' in out.stderr and "ExecutorError" in out.stderr


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    psutil = pytest.importorskip("psutil")
    path = tmp_path / "long.toml"
    path.write_text(TINY.replace("replications = 2", "replications = 400")
                    .replace("horizon_months = 3", "horizon_months = 24")
                    .replace('executor = "serial"', 'executor = "process"\nworkers = 2'))
    proc = subprocess.Popen([sys.executable, "-m", "borderscen.interfaces.cli", "run", str(path), "--out",
                             str(tmp_path / "r"), "--no-figures", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    deadline, children = time.time() + 120, []
    while time.time() < deadline and len(children) < 3:  # fork server + 2 workers
        children = parent.children(recursive=True)
        time.sleep(0.1)
    assert children, "the pool did not start"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    gone, alive = psutil.wait_procs(children, timeout=30)
    for p in alive:
        p.kill()
    assert not alive, f"workers outlived their parent: {[p.pid for p in alive]}"


def test_a_full_disk_is_one_clear_error_not_a_traceback(tiny, tmp_path, capsys, monkeypatch):
    from borderscen.experiments.store import ResultsStore

    def full(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "r" / "timeseries.parquet"))

    monkeypatch.setattr(ResultsStore, "_merge", full)
    code, _, err = call(["run", tiny, "--out", tmp_path / "r", "--quiet"], capsys)
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "manifest.json").exists()


def test_a_sweep_corner_that_breaks_a_cross_parameter_rule_is_refused(tmp_path):
    from borderscen.experiments import load_config
    a, b = "tehran_camp_initial", "pragmatic_camp_initial"  # TODO(lead): rule from the registry
    if a not in registry_names() or b not in registry_names():
        pytest.skip("the camp-weight rule moved with the registry rewrite")
    path = tmp_path / "corner.toml"
    path.write_text(TINY + f"[sweep]\nmethod = 'lhs'\nsamples = 2\n[sweep.parameters]\n"
                           f"{a} = {{ min = 0.1, max = 0.6 }}\n{b} = {{ min = 0.1, max = 0.6 }}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and a in msg and b in msg and "corner" in msg


def registry_names():
    from borderscen.inputs.params import registry
    return set(registry())


def test_a_local_dask_cluster_opens_no_dashboard():
    import socket

    pytest.importorskip("distributed")
    from borderscen.experiments.runner import make_executor

    def listening(port: int) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    before = listening(8787)
    with make_executor("dask", 1) as ex:
        assert ex.submit(sum, [1, 2]).result() == 3
        assert listening(8787) == before


def _worker_environment():
    import os
    return {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "OMP_NUM_THREADS")}


def test_a_local_dask_cluster_leaves_the_environment_alone(monkeypatch):
    """Dask's nanny exports MALLOC_TRIM_THRESHOLD_=65536 (and more) into the process that starts
    the cluster, and so into forked workers, where the trim threshold slows the kernel ~1.5x:
    workers must not get it from us, and the user's environment must come back unchanged."""
    import os

    pytest.importorskip("distributed")
    from borderscen.experiments.runner import make_executor

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    before = dict(os.environ)
    with make_executor("dask", 1) as ex:
        assert ex.submit(_worker_environment).result()["MALLOC_TRIM_THRESHOLD_"] is None
    assert dict(os.environ) == before


LOCAL_DASK_WORKERS = """
import json
from borderscen.experiments.runner import make_executor

def ready_and_quiet():  # defined here, so it reaches the workers by value, importing nothing
    import sys, dask
    return {"runner_loaded": "borderscen.experiments.runner" in sys.modules,
            "profiler": dask.config.get("distributed.worker.profile.enabled")}

if __name__ == "__main__":
    with make_executor("dask", 2) as ex:
        print(json.dumps(ex.submit(ready_and_quiet).result()))
"""


def test_local_dask_workers_start_with_the_runner_and_without_the_profiler():
    """In a fresh process (its own fork server), a local cluster's workers have the runner
    imported before their first task, as the process pool's do, and no stack-sampling profiler
    (there is no dashboard to show it). Run with -c: a script file would be re-imported in every
    worker (multiprocessing does so for __main__), and would import the runner itself."""
    import json

    pytest.importorskip("distributed")
    out = subprocess.run([sys.executable, "-c", LOCAL_DASK_WORKERS], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"runner_loaded": True,
                                                               "profiler": False}


def test_the_failure_mode_table_names_tests_that_exist(repo_root):
    import re
    text = (repo_root / "docs" / "failures.md").read_text()
    files = {p.name: p.read_text() for p in (repo_root / "tests").glob("test_*.py")}
    named = re.findall(r"(test_\w+\.py)::(test_\w+)", text)
    assert len(named) >= 20
    missing = [f"{f}::{n}" for f, n in named if f"def {n}(" not in files.get(f, "")]
    # Ids in rows naming a test_faults.py test are that test's parameters, not bad-input cases.
    case_rows = "\n".join(line for line in text.splitlines() if "test_faults.py::" not in line)
    cases = set(re.findall(r"\[([^\]`]+)\]`", case_rows)) - {"..."}
    missing += [c for c in cases if c not in CASES]
    assert not missing, f"docs/failures.md names tests that do not exist: {missing}"
    assert set(CASES) <= cases, f"bad-input cases not in docs/failures.md: {set(CASES) - cases}"


def test_config_errors_name_the_toml_line(tmp_path):
    from borderscen.experiments import load_config
    path = tmp_path / "lines.toml"
    path.write_text(TINY + "[[scenarios]]\nname = 'b'\npreset = 'partnershp'\n"
                           "overrides = { fortification = 0.2, coalition_isr = 3 }\n")
    lines = path.read_text().splitlines()
    preset_line = next(i for i, t in enumerate(lines, 1) if "partnershp" in t)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert f"{path}:{preset_line}: scenarios[1].preset" in msg
    assert f"{path}:{preset_line + 1}: scenarios[1].overrides.coalition_isr" in msg


def test_a_parameter_rule_error_names_both_keys_and_exits_2(tiny, tmp_path, capsys, monkeypatch):
    """The generic path for rules across parameters (the registry will declare them)."""
    from borderscen.errors import ParameterRuleError
    from borderscen.experiments import config as config_module
    real = config_module.build_scenario

    def ruled(preset, overrides, *a, **k):
        a_, b_ = overrides.get("coalition_isr", 0), overrides.get("fortification", 0)
        if a_ + b_ > 1:
            raise ParameterRuleError(k.get("where", "?"), ("coalition_isr", "fortification"),
                                     (a_, b_), "allowed: a sum of at most 1")
        return real(preset, overrides, *a, **k)

    monkeypatch.setattr(config_module, "build_scenario", ruled)
    path = tmp_path / "rule.toml"
    path.write_text(TINY + "[sweep]\nmethod = 'lhs'\nsamples = 2\n[sweep.parameters]\n"
                           "coalition_isr = { min = 0.1, max = 0.7 }\n"
                           "fortification = { min = 0.1, max = 0.6 }\n")
    code, _, err = call(["run", path, "--out", tmp_path / "r"], capsys)
    assert code == 2 and "Traceback" not in err
    assert "coalition_isr = 0.7, fortification = 0.6: allowed: a sum of at most 1" in err
    assert str(path) in err and "sweep corner" in err and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_validate_json_alone_on_stdout_tables_in_out_and_progress_lines_in_a_pipe(tmp_path, capsys,
                                                                                   monkeypatch):
    monkeypatch.delenv("CI", raising=False)  # what a user sees in a pipe (CI silences progress)
    out = tmp_path / "validate"
    code, stdout, err = call(["validate", "--facts-only", "--replications", "30", "--no-switch-off",
                              "--seed", "2", "--json", "--out", out], capsys)
    assert code in (cli.EXIT_OK, cli.EXIT_FACTS_FAILED)
    verdict = json.loads(stdout)  # nothing else on standard output
    assert verdict == json.loads((out / "verdict.json").read_text())
    assert verdict["facts"]["n"] >= 1 and (out / "facts.csv").exists()
    assert "validate: stylized facts (30 replications per arm)" in err  # a plain line, no bar
    assert "Stylized facts against the 2022-24 record" in err  # the tables moved to stderr
    code, _, err = call(["validate", "--facts-only", "--replications", "30", "--no-switch-off",
                         "--seed", "2", "--quiet"], capsys)
    assert "validate:" not in err


@pytest.mark.slow
def test_calibrate_shows_progress_lines_in_a_pipe_and_reports_its_speed(tmp_path, capsys, monkeypatch):
    pytest.importorskip("pyabc")
    monkeypatch.delenv("CI", raising=False)  # what a user sees in a pipe (CI silences progress)
    out = tmp_path / "cal"
    code, stdout, err = call(["calibrate", "--quick", "--out", out, "--executor", "serial",
                              "--workers", "1"], capsys)
    assert code == 0
    lines = [x for x in err.splitlines() if x.startswith("calibrate: ")]
    counts = [x for x in lines if " particles (" in x]  # the progress lines
    assert counts[0].startswith("calibrate: 0/240 particles (0%)")  # prior sample + 3 generations
    assert counts[-1].startswith("calibrate: 240/240 particles (100%)")
    assert any(x.startswith("calibrate: prior sample: 60/60 particles") for x in lines)
    assert any(x.startswith("calibrate: generation 3, epsilon") for x in lines)
    assert "ABC INFO" not in err  # pyabc's own log lines give way to the progress
    assert any(x.startswith("calibrate: observation-model dispersions on the same window: "
                            "obs_size_attacks ") for x in lines)
    report = json.loads((out / "report.json").read_text())
    assert report["simulated_this_session"] >= report["simulations"] > 0
    assert f"{report['simulated_this_session']:,} runs" in stdout
    # a degenerate last generation (60 particles can be) is said, on standard error
    said = "warning: the last generation's effective sample size is" in err
    assert said == report["degenerate"]


def test_run_in_a_pipe_shows_plain_progress_lines_and_quiet_or_ci_none(tmp_path, repo_root):
    """No terminal, no bar: `borderscen run ... 2>log` still says how far it is, as plain lines
    (issue 24: `make run` in a pipe showed no progress at all); --quiet and CI silence them."""
    config = repo_root / "experiments" / "smoke.toml"
    env = {k: v for k, v in os.environ.items() if k != "CI"}

    def run(*extra, ci=False):
        cmd = [sys.executable, "-m", "borderscen.interfaces.cli", "run", str(config), "--out",
               str(tmp_path / f"r{len(list(tmp_path.iterdir()))}"), "--no-figures", *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                              env={**env, **({"CI": "true"} if ci else {})})
        assert proc.returncode == 0, proc.stderr
        return proc.stderr

    err = run()
    lines = [ln for ln in err.splitlines() if ln.startswith("smoke: ") and " runs (" in ln]
    assert lines and lines[-1].split()[1].split("/")[0] == lines[-1].split()[1].split("/")[1]
    assert lines[-1].split()[3] == "(100%),"
    assert "\r" not in err  # no bar redrawn into the log
    assert not [ln for ln in run("--quiet").splitlines() if " runs (" in ln]
    assert not [ln for ln in run(ci=True).splitlines() if " runs (" in ln]


def test_a_reused_batch_says_it_was_reused_not_that_it_just_ran(tiny, tmp_path, capsys):
    out = tmp_path / "r"
    args = ["run", str(tiny), "--out", str(out), "--no-figures", "--quiet", "--executor", "serial"]
    assert cli.main(args) == 0
    first = capsys.readouterr().out
    assert "runs ok" in first and "reused (" not in first
    time.sleep(1.1)  # the manifest's time has whole seconds
    assert cli.main(args) == 0
    second = capsys.readouterr().out
    assert "reused (stored " in second and "where they ran in" in second


PRELOAD_PROBE = """
import json, sys
from concurrent.futures import ProcessPoolExecutor
from borderscen.experiments import run_experiment
from borderscen.experiments.runner import forkserver_context
from worker_probe import imported

if __name__ == "__main__":
    run_experiment(sys.argv[1], out=sys.argv[2], executor="process", workers=1, progress=False,
                   preload=json.loads(sys.argv[3]))
    with ProcessPoolExecutor(1, mp_context=forkserver_context()) as pool:  # the run's fork server
        print(json.dumps(pool.submit(imported, "matplotlib.pyplot").result()))
"""


def test_run_experiment_preload_reaches_the_workers_fork_server_and_must_be_module_names(tmp_path):
    """What `borderscen run` passes when figures follow: processes forked later from the run's
    fork server (the figure workers) start with the plots imported; without it they do not. In a
    fresh process each, since a fork server already running is used as it is."""
    from borderscen.experiments import run_experiment

    cfg = tmp_path / "tiny.toml"
    cfg.write_text('[experiment]\nname = "tiny"\nreplications = 2\nhorizon_months = 3\nseed = 1\n'
                   'start = "open_loop"\nparameters = "median"\n[[scenarios]]\npreset = "baseline"\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                                        os.environ.get("PYTHONPATH", "")])}
    seen = {}
    for modules in ([], ["borderscen.plots"]):
        out = subprocess.run([sys.executable, "-c", PRELOAD_PROBE, str(cfg),
                              str(tmp_path / f"out{len(modules)}"), json.dumps(modules)],
                             capture_output=True, text=True, timeout=180, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        seen[len(modules)] = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {0: False, 1: True}
    with pytest.raises(ConfigError, match="preload"):
        run_experiment(cfg, out=tmp_path / "bad", executor="serial", progress=False,
                       preload="borderscen.plots")
