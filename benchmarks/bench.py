"""borderscen benchmark: speed against mesa.batch_run on the same model, memory, executors.

Run:  python benchmarks/bench.py [--quick] [--full] [--json FILE] [--fresh-clone]

Reports, in one run on this machine (all with the default 2022-2030 clock, baseline preset):
  0. the headline: `borderscen run experiments/three_scenarios.toml` as a user types it (filtered
     start, runs, store, summary and every figure) at 1,000 and 10,000 runs (and 100,000 with
     --full): wall time, runs/s against mesa.batch_run, the parent's peak RSS, and the
     command's own phases timed where it calls them (filtered start, runs, merge, figures: the
     figures' share of the wall is the tail's), and a floor under its CPU-seconds (the figures as
     measured plus the model's months at the kernel's rate, all else free) against the 50x budget
  1. runs per second: the batched kernel (one process; the compiled month, its stages and draws,
     when numba is installed, and the numpy/scipy reference month for the ratio; the time inside
     the month's stages, `core.step`, is reported beside the whole batch's), the Mesa face
     (BorderModel.run, one process), and mesa.batch_run on BorderModel with the same cores: the ratio of
     `borderscen run` end to end (store and all) to mesa.batch_run is the headline
  2. parallel efficiency of `borderscen run`: 1 worker against all cores
  3. the parent's peak memory for 1,000 and 10,000 runs (the store streams parts to disk)
  4. Dask's LocalCluster against the process pool on the same experiment (median ratio over
     alternating pairs)
  5. the default scenario experiment (4 presets x 500 replications) end to end
  6. the tail of `borderscen run` on experiments/three_scenarios.toml (summary and every figure)
     at 1,000 and 10,000 runs: wall time and peak RSS of that stage alone, and its share of the
     command's wall time (--tail-only: just this; --kernel-only PAIRS: just the kernel rows)
  7. optionally, `make run` from a fresh clone to its first figure (--fresh-clone)
Targets (issues 13 and 23; reported, never asserted in tests): `borderscen run` with figures at
least 50x mesa.batch_run at 10,000 runs; its parent's peak RSS at 100,000 runs within 1.25x of
that at 1,000 and under 1.5 GB; summary and figures under 10% of the wall at 10,000 runs;
memory at 10,000 runs within 1.25x of that at 1,000; the default experiment under a minute on
2 cores; the full ABC-SMC under 2 minutes; the backtest under 15 minutes; `make run` to its
first figure no later than 63 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def kernel_rate(n: int, compiled: bool | None = None) -> dict:
    """One process: the compiled month (compiled stages and draws, the fast extra; ``compiled``)
    or the numpy/scipy reference month (False); None: compiled when numba is installed."""
    from borderscen.inputs.scenarios import build_scenario
    from borderscen.kernel import core
    from borderscen.kernel.stages import STAGES
    from borderscen.runs import make_batch
    ctx = core.make_context(compiled=compiled)
    horizon = 108
    batch, _ = make_batch(build_scenario("baseline"), list(range(n)), horizon)
    core.run_batch(make_batch(build_scenario("baseline"), [0], 12)[0], ctx)
    in_step = [0.0]
    step = core.step

    def timed_step(*args, **kwargs):  # the month's stages alone, in the same run
        t = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            in_step[0] += time.perf_counter() - t

    core.step = timed_step  # this process only: it exits after the measurement
    try:
        t0 = time.perf_counter()
        core.run_batch(batch, ctx)
        dt = time.perf_counter() - t0
    finally:
        core.step = step
    compiled_stages = sum(s.run is not r.run for s, r in zip(ctx.stages, STAGES, strict=True))
    return {"runs": n, "wall_s": dt, "runs_per_s": n / dt, "draws": ctx.draws.__name__.rsplit(".", 1)[-1],
            "compiled_stages": compiled_stages, "stages": len(STAGES),
            "months": core.SPINUP_MONTHS + horizon,  # each replication's, the spin-up's included
            # the months' stages (core.step, spin-up included), without the uniforms, the
            # outputs' recording and the state's set-up around them, which both months share
            "stages_s": in_step[0], "outside_stages_s": dt - in_step[0]}


def kernel_section(n: int, pairs: int = 1) -> dict:
    """The compiled month against the numpy reference month, each in a fresh process, alternated
    ``pairs`` times (the medians are reported: the machine may be shared)."""
    code = ("import json, sys; sys.path.insert(0, {bench!r}); import bench; "
            "print(json.dumps(bench.kernel_rate({n}, {compiled})))")
    runs: dict[str, list[dict]] = {"kernel": [], "kernel_reference": []}
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for _ in range(pairs):
        for key, compiled in (("kernel", None), ("kernel_reference", False)):
            out = subprocess.run([sys.executable, "-c", code.format(bench=str(ROOT / "benchmarks"), n=n,
                                                                     compiled=compiled)],
                                 capture_output=True, text=True, check=True, cwd=ROOT)
            runs[key].append(json.loads(out.stdout.splitlines()[-1]))
    res = {key: sorted(rows, key=lambda r: r["runs_per_s"])[len(rows) // 2] for key, rows in runs.items()}
    for key, rows in runs.items():
        res[key]["runs_per_s_each"] = [r["runs_per_s"] for r in rows]
    res["kernel_speedup_vs_reference"] = res["kernel"]["runs_per_s"] / res["kernel_reference"]["runs_per_s"]
    # the stages alone, each the median over its runs
    stages = {key: statistics.median(r["stages_s"] for r in rows) for key, rows in runs.items()}
    res["stages_speedup_vs_reference"] = stages["kernel_reference"] / stages["kernel"]
    res["kernel_measured"] = {"date": time.strftime("%Y-%m-%d %H:%M"), "pairs": pairs,
                              "load_1min_before": load_before,
                              "load_1min_after": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    return res


def _print_kernel(res: dict) -> None:
    k, r = res["kernel"], res["kernel_reference"]
    print(f"  batched kernel          {k['runs_per_s']:8.1f} runs/s "
          f"({k['draws']}, {k['compiled_stages']} of {k['stages']} stages compiled)", flush=True)
    print(f"  numpy reference month   {r['runs_per_s']:8.1f} runs/s "
          f"(kernel x{res['kernel_speedup_vs_reference']:.2f})", flush=True)
    if "stages_speedup_vs_reference" in res:
        print(f"  the stages alone        {k['stages_s']:8.2f} s / {r['stages_s']:.2f} s "
              f"(x{res['stages_speedup_vs_reference']:.2f}; around them {k['outside_stages_s']:.2f} s / "
              f"{r['outside_stages_s']:.2f} s: uniforms, recording, set-up)", flush=True)
    m = res.get("kernel_measured", {})
    print(f"  (medians of {m.get('pairs')} alternated pairs; 1-min load {m.get('load_1min_before')} before, "
          f"{m.get('load_1min_after')} after)", flush=True)


def mesa_face_rate(n: int) -> dict:
    from borderscen.model import BorderModel
    BorderModel("baseline", seed=0, horizon_months=12).run()
    t0 = time.perf_counter()
    for seed in range(n):
        BorderModel("baseline", seed=seed).run()
    dt = time.perf_counter() - t0
    return {"runs": n, "wall_s": dt, "runs_per_s": n / dt}


#: mesa.batch_run is timed this many times and its median rate is the ratios' denominator: one
#: timing of 100 runs moved 22.4-24.9 runs/s between benchmark runs of the same code.
MESA_REPEATS = 3


def mesa_batch_run_median(n: int, processes: int, repeats: int = MESA_REPEATS) -> dict:
    """:func:`mesa_batch_run_rate` ``repeats`` times: the median run's figures, and every rate."""
    runs = [mesa_batch_run_rate(n, processes) for _ in range(repeats)]
    rates = [r["runs_per_s"] for r in runs]
    median = sorted(runs, key=lambda r: r["runs_per_s"])[len(runs) // 2]
    return {**median, "repeats": repeats, "rates": rates}


def mesa_batch_run_rate(n: int, processes: int) -> dict:
    """What a Mesa user writes: mesa.batch_run over seeds, same model, same cores."""
    code = textwrap.dedent(f"""
        import time, mesa
        from borderscen.model import BorderModel
        if __name__ == "__main__":
            t0 = time.perf_counter()
            out = mesa.batch_run(BorderModel, {{"scenario": ["baseline"]}}, rng=list(range({n})),
                                 number_processes={processes}, data_collection_period=-1,
                                 display_progress=False)
            print(time.perf_counter() - t0, len(out))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    wall, rows = out.stdout.split()
    return {"runs": n, "processes": processes, "wall_s": float(wall), "runs_per_s": n / float(wall)}


def borderscen_run(replications: int, workers: int, executor: str = "process",
                   scenarios: tuple[str, ...] = ("baseline",), running: bool = False) -> dict:
    """`run_experiment` end to end in a fresh process; returns wall time and the parent's peak RSS.

    ``running``: start the executor and all its workers first and time only the experiment (what
    a user with a cluster already up sees); otherwise start-up and shutdown are in the time."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.toml"
        cfg.write_text(f"[experiment]\nname = 'bench'\nreplications = {replications}\nseed = 1\n"
                       f"executor = '{executor}'\n"
                       + "".join(f"[[scenarios]]\npreset = '{s}'\n" for s in scenarios))
        code = textwrap.dedent(f"""
            import contextlib, resource, time
            from borderscen.experiments.runner import make_executor, run_experiment
            if __name__ == "__main__":
                starting = make_executor({executor!r}, {workers}) if {running} else contextlib.nullcontext()
                with starting as pool:
                    if pool is not None:
                        list(pool.map(abs, range({4 * workers})))  # every worker is up
                    t0 = time.perf_counter()
                    res = run_experiment({str(cfg)!r}, out={str(Path(tmp) / 'out')!r},
                                         workers={workers}, executor=pool, progress=False)
                    wall = time.perf_counter() - t0
                print(wall, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      res.manifest["counts"]["succeeded"])
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        wall, rss, ok = out.stdout.split()[-3:]
    runs = replications * len(scenarios)
    return {"runs": runs, "workers": workers, "executor": executor, "running": running,
            "wall_s": float(wall),
            "runs_per_s": runs / float(wall), "parent_peak_rss_mb": float(rss), "succeeded": int(ok)}


DASK_PAIRS = 7


def paired_ratio(pairs: int, replications: int, workers: int,
                 scenarios: tuple[str, ...] = ("baseline",), running: bool = False) -> dict:
    """Dask's time over the process pool's on the same experiment, alternating the two
    ``pairs`` times; the median ratio is the figure reported."""
    walls: dict[str, list[float]] = {"process": [], "dask": []}
    for _ in range(pairs):
        for executor in walls:
            walls[executor].append(borderscen_run(replications, workers, executor=executor,
                                                  scenarios=scenarios, running=running)["wall_s"])
    ratios = [d / p for p, d in zip(walls["process"], walls["dask"], strict=True)]
    return {"runs": replications * len(scenarios), "workers": workers, "running": running,
            "process_wall_s": walls["process"], "dask_wall_s": walls["dask"], "ratios": ratios,
            "median_ratio": statistics.median(ratios)}


def fresh_clone_make_run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["git", "clone", "-q", str(ROOT), f"{tmp}/clone"], check=True)
        if (ROOT.parent / "shared").exists():
            os.symlink(ROOT.parent / "shared", f"{tmp}/shared")
        t0 = time.perf_counter()
        proc = subprocess.Popen(["make", "run"], cwd=f"{tmp}/clone", stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        first = None
        assert proc.stdout is not None  # stdout=PIPE
        for line in proc.stdout:
            if first is None and " figures -> " in line:  # `reproduce` reports each experiment's figures
                first = time.perf_counter() - t0
        proc.wait()
        return {"first_figure_s": first, "total_s": time.perf_counter() - t0, "exit": proc.returncode}


def filter_and_backtest(particles: int, quick: bool) -> dict:
    """Wall time of the particle filter over the whole record and of `borderscen backtest` as a
    user types it (fresh folder, figures and JSON included), each in its own process."""
    import tempfile
    code = ("import time, json, borderscen as bs; t = time.perf_counter(); "
            f"f = bs.assimilate('2026-02', particles={particles}, seed=1); "
            "from borderscen.assimilation.filter import summary; s = dict(summary(f)); "
            "s['wall_s'] = time.perf_counter() - t; print(json.dumps(s))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    res = {"filter": json.loads(out.stdout.strip().splitlines()[-1])}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(Path(sys.executable).with_name("borderscen")), "backtest", "--out", f"{tmp}/bt",
               "--quiet"]
        cmd += ["--particles", "200", "--every", "6"] if quick else []
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, text=True, check=True)
        verdict = json.loads(Path(f"{tmp}/bt/verdict.json").read_text())
        res["backtest"] = {"wall_s": time.perf_counter() - t, "origins": len(verdict["backtest"]["origins"]),
                           "particles": verdict["filter"]["particles"]}
    return res


#: What `borderscen run` does after the runs (its tail): the end-state summary and every figure.
TAIL = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    t0 = time.perf_counter()
    import borderscen as bs
    from borderscen.plots import draw_standard_figures
    res = bs.load_results(sys.argv[1])
    table = res.end_state()
    t1 = time.perf_counter()
    files = draw_standard_figures(res, Path(sys.argv[2]))
    t2 = time.perf_counter()
    peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps({"summary_s": t1 - t0, "figures_s": t2 - t1, "wall_s": t2 - t0,
                      "peak_rss_mb": peak, "figures": len(files)}))
""")


CLI = textwrap.dedent("""
    import json, os, sys, time
    from borderscen.interfaces import reproduce
    from borderscen.interfaces.cli import main
    phases = {}
    TICK = os.sysconf("SC_CLK_TCK")

    def busy():  # CPU-seconds the machine has spent (every core, every process): /proc/stat
        v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
        return (sum(v) - v[3] - v[4]) / TICK  # all but idle and iowait

    def timed(name, fn):  # the command's own phases, timed where it calls them
        def call(*args, **kwargs):
            t, c = time.perf_counter(), busy()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - t
                cpu = name.replace("_s", "_cpu_s")
                phases[cpu] = phases.get(cpu, 0.0) + busy() - c
        return call

    if __name__ == "__main__":
        from borderscen.experiments import runner
        runner.prepare_start = timed("start_s", runner.prepare_start)
        reproduce.draw_or_explain = timed("figures_s", reproduce.draw_or_explain)
        t0, c0 = time.perf_counter(), busy()
        code = main(sys.argv[1:])
        wall, cpu = time.perf_counter() - t0, busy() - c0
        peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
        print(json.dumps({"exit": code, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak, **phases}))
""")


def cli_run(runs: int, workers: int) -> dict:
    """`borderscen run experiments/three_scenarios.toml` as a user types it (filtered start,
    the runs, the store, the summary and every figure), scaled to ``runs`` runs, in a fresh
    process: wall time from the command's start to its exit, and that process's peak RSS (the
    parent's VmHWM; the workers are other processes). Import time is outside the wall.

    ``cpu_s``: the CPU-seconds the machine spent over that wall (every core and process, from
    /proc/stat: run it on an otherwise idle machine), and ``cpu_busy`` that over the wall times
    the cores: how much of the machine the command kept busy. A wall time W on C cores can hold
    at most C x W CPU-seconds, so a target wall time sets a budget of work, whatever the
    parallelism. ``start_cpu_s`` and ``figures_cpu_s`` are those phases' shares of it."""
    from borderscen.experiments import load_config
    cfg = load_config(ROOT / "experiments" / "three_scenarios.toml")
    reps = max(1, runs // len(cfg.scenarios))
    with tempfile.TemporaryDirectory() as tmp:
        src = (ROOT / "experiments" / "three_scenarios.toml").read_text()
        toml = Path(tmp) / "three_scenarios.toml"
        toml.write_text(src.replace("replications = 500", f"replications = {reps}"))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CLI, "run", str(toml), "--out", str(Path(tmp) / "out"),
                               "--figures", str(Path(tmp) / "figs"), "--workers", str(workers),
                               "--quiet"], capture_output=True, text=True, check=True, cwd=ROOT)
        process_wall = time.perf_counter() - t0
        got = json.loads(proc.stdout.strip().splitlines()[-1])
        manifest = json.loads((Path(tmp) / "out" / "manifest.json").read_text())
        figures = len(list((Path(tmp) / "figs").glob("*.png")))
    n = reps * len(cfg.scenarios)
    t = manifest["timings"]
    start = manifest.get("start") or {}
    filtered = int(start.get("months_filtered", 0)) if start.get("kind") == "filtered" else 0
    return {"runs": n, "workers": workers, "wall_s": got["wall_s"], "process_wall_s": process_wall,
            "runs_per_s": n / got["wall_s"], "parent_peak_rss_mb": got["peak_rss_mb"],
            # the command's phases: filtered start, runs (stored as parts), merge, figures
            "start_s": got.get("start_s"), "run_wall_s": t["run_wall_s"],
            "finalize_s": t.get("finalize_s"), "figures_s": got.get("figures_s"),
            "figures_share": got.get("figures_s", 0.0) / got["wall_s"], "figures": figures,
            "cpu_s": got.get("cpu_s"), "cpu_busy": got.get("cpu_s", 0.0) / (got["wall_s"] * cores()),
            "start_cpu_s": got.get("start_cpu_s"), "figures_cpu_s": got.get("figures_cpu_s"),
            # what the model simulated: each run's months after the filtered start, and the
            # filter's particles over the months it assimilated (spin-up included)
            "months_per_run": cfg.experiment.horizon_months - filtered,
            "filter_particles": int(start.get("particles", 0)), "months_filtered": filtered}


def cpu_budget(runs: int, mesa_rate: float, n_cores: int, target: float = 50.0) -> float:
    """The CPU-seconds a target ratio allows: at ``target`` x ``mesa.batch_run`` the command has
    runs / (target x mesa's rate) seconds, so at most that times the cores in CPU-seconds,
    however well it is spread over them."""
    return runs / (target * mesa_rate) * n_cores


def _print_cpu(r: dict, mesa_rate: float, n_cores: int, target: float = 50.0) -> None:
    """The command's CPU-seconds against the budget a target ratio sets (:func:`cpu_budget`)."""
    if r.get("cpu_s") is None:
        return
    budget = cpu_budget(r["runs"], mesa_rate, n_cores, target)
    print(f"    CPU: {r['cpu_s']:.1f} CPU-s over the wall ({r['cpu_busy']:.0%} of {n_cores} cores busy; "
          f"start {r['start_cpu_s'] or 0:.1f}, figures {r['figures_cpu_s'] or 0:.1f}); {target:g}x "
          f"mesa.batch_run allows {budget:.1f} CPU-s on {n_cores} cores", flush=True)


def cpu_floor(r: dict, kernel: dict, mesa_rate: float, n_cores: int, target: float = 50.0) -> dict:
    """A lower bound on the CPU-seconds of one `borderscen run` row (:func:`cli_run`), against
    the budget ``target`` x ``mesa.batch_run`` sets on ``n_cores`` cores: its figures as
    measured, plus the model's months alone at the compiled batch's rate per replication-month
    (``kernel``: :func:`kernel_rate`, uniforms and recording included, as a run needs them), for
    the runs and for the filter's particles. Everything else the command does (imports, the
    fork server, the filter's weighting and resampling, the tables, the store, the merge) is
    counted as free: whatever is done to the rest, the command cannot use less while its
    months cost what the kernel measures and its figures what they measured. A floor above the
    budget means the target needs the figures (fewer, smaller, or drawn more cheaply) or the
    month cheaper, not anything around them."""
    from borderscen.kernel.core import SPINUP_MONTHS
    per_month = kernel["wall_s"] / (kernel["runs"] * kernel["months"])
    months = r["runs"] * r["months_per_run"]
    filter_months = r["filter_particles"] * (SPINUP_MONTHS + r["months_filtered"])
    out = {"us_per_replication_month": per_month * 1e6, "runs_cpu_s": months * per_month,
           "filter_cpu_s": filter_months * per_month, "figures_cpu_s": r.get("figures_cpu_s") or 0.0,
           "budget_cpu_s": cpu_budget(r["runs"], mesa_rate, n_cores, target), "target": target}
    out["floor_cpu_s"] = out["runs_cpu_s"] + out["filter_cpu_s"] + out["figures_cpu_s"]
    return out


def _print_floor(f: dict) -> None:
    verdict = "above" if f["floor_cpu_s"] > f["budget_cpu_s"] else "within"
    print(f"    floor: {f['floor_cpu_s']:.1f} CPU-s, {verdict} the {f['budget_cpu_s']:.1f} CPU-s of "
          f"{f['target']:g}x (the figures {f['figures_cpu_s']:.1f} as measured; the months alone at "
          f"{f['us_per_replication_month']:.1f} us each: runs {f['runs_cpu_s']:.1f}, filter "
          f"{f['filter_cpu_s']:.1f}; all else counted free)", flush=True)


def tail_stage(sizes: tuple[int, ...], folder: Path | None = None) -> list[dict]:
    """The tail of `borderscen run experiments/three_scenarios.toml` (summary and figures) at
    each total number of runs, in a fresh process each (wall time and that process's peak RSS,
    VmHWM: ru_maxrss would carry the forking parent's over exec). The runs are made first, once,
    in ``folder`` (reused when a finished folder is there, so one set of results can be timed
    with two versions of the code: PYTHONPATH=<other tree>/src python benchmarks/bench.py
    --tail-only --tail-dir DIR)."""
    from borderscen.experiments import load_config, run_experiment
    folder = Path(folder or tempfile.mkdtemp(prefix="bench-tail-"))
    cfg = load_config(ROOT / "experiments" / "three_scenarios.toml")
    out = []
    for n in sizes:
        root = folder / f"three_scenarios_{n}"
        if not (root / "manifest.json").exists():
            run_experiment(cfg.with_changes(replications=n // len(cfg.scenarios)), out=root,
                           progress=False)
        with tempfile.TemporaryDirectory() as figs:
            proc = subprocess.run([sys.executable, "-c", TAIL, str(root), figs], capture_output=True,
                                  text=True, check=True, cwd=ROOT)
        out.append({"runs": n, **json.loads(proc.stdout.strip().splitlines()[-1])})
    return out


def _print_tail(rows: list[dict]) -> None:
    for r in rows:
        print(f"  tail of borderscen run (summary + {r['figures']} figure files), {r['runs']} runs: "
              f"{r['wall_s']:.1f} s (summary {r['summary_s']:.1f} s, figures {r['figures_s']:.1f} s), "
              f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (for a smoke check)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    ap.add_argument("--fresh-clone", action="store_true", help="also time `make run` on a fresh clone")
    ap.add_argument("--tail-only", action="store_true",
                    help="only the tail stage (summary and figures of `borderscen run`)")
    ap.add_argument("--kernel-only", type=int, metavar="PAIRS",
                    help="only the kernel rows (compiled and reference month, 1,000 runs each, "
                         "alternated PAIRS times), written into the JSON's kernel entries")
    ap.add_argument("--tail-dir", type=Path, help="where the tail stage keeps (and reuses) its results")
    ap.add_argument("--cli-only", type=int, nargs="+", metavar="RUNS",
                    help="only `borderscen run` at these sizes and mesa.batch_run (printed, not saved)")
    ap.add_argument("--full", action="store_true",
                    help="also `borderscen run` at 100,000 runs (several minutes, ~GBs of disk)")
    args = ap.parse_args(argv)
    if args.kernel_only:
        kernel = kernel_section(1000, args.kernel_only)
        _print_kernel(kernel)
        saved = json.loads(args.json.read_text()) if args.json.exists() else {}
        saved.update(kernel)
        args.json.write_text(json.dumps(saved, indent=2))
        return 0
    if args.cli_only:  # just the headline rows, against mesa.batch_run on this machine now
        rate = mesa_batch_run_median(100, cores())["runs_per_s"]
        kernel = kernel_section(1000)["kernel"]  # for the floor: the month's cost alone
        for n in args.cli_only:
            r = cli_run(n, cores())
            r["vs_mesa_batch_run"] = r["runs_per_s"] / rate
            r["floor"] = cpu_floor(r, kernel, rate, cores())
            print(json.dumps(r))
            _print_cpu(r, rate, cores())
            _print_floor(r["floor"])
        return 0
    if args.tail_only:
        rows = tail_stage((1000, 10_000), args.tail_dir)
        _print_tail(rows)
        print(json.dumps(rows, indent=2))
        return 0
    q = args.quick
    n_cores = cores()
    res: dict = {"machine": {"python": platform.python_version(), "cores": n_cores,
                             "processor": platform.processor() or platform.machine(),
                             "date": time.strftime("%Y-%m-%d")}}
    print(f"borderscen benchmark on {n_cores} cores (python {platform.python_version()})", flush=True)
    res.update(kernel_section(200 if q else 1000))
    _print_kernel(res)
    res["mesa_face"] = mesa_face_rate(5 if q else 20)
    print(f"  Mesa face (one process) {res['mesa_face']['runs_per_s']:8.1f} runs/s", flush=True)
    res["mesa_batch_run"] = mesa_batch_run_median(20 if q else 100, n_cores, 1 if q else MESA_REPEATS)
    m = res["mesa_batch_run"]
    print(f"  mesa.batch_run, {n_cores} procs {m['runs_per_s']:8.1f} runs/s (median of "
          f"{m['repeats']}: {', '.join(f'{r:.1f}' for r in m['rates'])})", flush=True)
    # the headline: the command users type, figures included, against mesa.batch_run
    sizes = (250, 1000) if q else (1000, 10_000, 100_000) if args.full else (1000, 10_000)
    res["cli"] = [cli_run(n, n_cores) for n in sizes]
    for r in res["cli"]:
        r["vs_mesa_batch_run"] = r["runs_per_s"] / res["mesa_batch_run"]["runs_per_s"]
        print(f"  borderscen run three_scenarios, {r['runs']:,} runs, figures included: "
              f"{r['wall_s']:.1f} s ({r['runs_per_s']:.0f} runs/s, x{r['vs_mesa_batch_run']:.1f} "
              f"mesa.batch_run), parent peak RSS {r['parent_peak_rss_mb']:.0f} MB; filtered start "
              f"{r['start_s'] or 0:.1f} s, runs {r['run_wall_s']:.1f} s, merge {r['finalize_s'] or 0:.1f} s, "
              f"figures {r['figures_s'] or 0:.1f} s ({r['figures_share']:.0%} of the wall)", flush=True)
        _print_cpu(r, res["mesa_batch_run"]["runs_per_s"], n_cores)
        r["floor"] = cpu_floor(r, res["kernel"], res["mesa_batch_run"]["runs_per_s"], n_cores)
        _print_floor(r["floor"])
    res["cli_memory_ratio"] = res["cli"][-1]["parent_peak_rss_mb"] / res["cli"][0]["parent_peak_rss_mb"]
    n = 250 if q else 1000
    res["run_all_cores"] = borderscen_run(n, n_cores)
    res["run_one_worker"] = borderscen_run(n, 1)
    print(f"  borderscen run, {n} runs: {res['run_all_cores']['runs_per_s']:.1f} runs/s "
          f"({res['run_one_worker']['runs_per_s']:.1f} on one worker)", flush=True)
    res["speedup_vs_mesa_batch_run"] = (res["run_all_cores"]["runs_per_s"]
                                        / res["mesa_batch_run"]["runs_per_s"])
    res["parallel_efficiency"] = (res["run_all_cores"]["runs_per_s"]
                                  / (n_cores * res["run_one_worker"]["runs_per_s"]))
    big = 2500 if q else 10_000
    res["run_memory_large"] = borderscen_run(big, n_cores)
    res["memory_ratio"] = (res["run_memory_large"]["parent_peak_rss_mb"]
                           / res["run_all_cores"]["parent_peak_rss_mb"])
    print(f"  parent peak memory: {res['run_all_cores']['parent_peak_rss_mb']:.0f} MB at {n} runs, "
          f"{res['run_memory_large']['parent_peak_rss_mb']:.0f} MB at {big} (x{res['memory_ratio']:.2f})",
          flush=True)
    presets = ("baseline", "cohesive_baghdad", "covert_channel", "tehran_ascendant")
    res["default_experiment"] = borderscen_run(125 if q else 500, n_cores, scenarios=presets)
    print(f"  4 presets x {125 if q else 500} replications: {res['default_experiment']['wall_s']:.1f} s",
          flush=True)
    try:
        # Dask against the process pool: end to end (cluster start-up and shutdown included), on
        # the default experiment, and with both executors already running (throughput alone).
        # Each comparison alternates the two executors over several pairs and reports the
        # median ratio: on a shared 2-core machine one pair can be off by 20% either way.
        pairs = 1 if q else DASK_PAIRS
        res["dask"] = paired_ratio(pairs, n, n_cores)
        res["dask_default_experiment"] = paired_ratio(pairs, 125 if q else 500, n_cores,
                                                      scenarios=presets)
        res["dask_running"] = paired_ratio(pairs, n, n_cores, running=True)
        for key, suffix in (("dask", ""), ("dask_default_experiment", "_default_experiment"),
                            ("dask_running", "_running")):
            res[f"dask_vs_process{suffix}"] = res[key]["median_ratio"]
        print(f"  Dask LocalCluster / process pool time (median of {pairs} pairs): "
              f"{res['dask_vs_process']:.2f}x end to end at {n} runs, "
              f"{res['dask_vs_process_default_experiment']:.2f}x on the default experiment, "
              f"{res['dask_vs_process_running']:.2f}x with both already running", flush=True)
    except subprocess.CalledProcessError as exc:
        res["dask"] = {"error": exc.stderr[-500:]}
    try:
        res.update(filter_and_backtest(500 if q else 2000, q))
        f, b = res["filter"], res["backtest"]
        print(f"  particle filter 2022-01 -> 2026-02, {f['particles']} particles: {f['wall_s']:.1f} s "
              f"(lowest ESS share {f['min_ess_share']:.1%}, {f['degenerate_months']} degenerate months)",
              flush=True)
        print(f"  borderscen backtest ({b['origins']} origins x {b['particles']} particles, figures and "
              f"JSON): {b['wall_s']:.1f} s", flush=True)
    except subprocess.CalledProcessError as exc:  # the backtest needs the [scoring] extra
        res["backtest"] = {"error": exc.stderr[-500:]}
    res["tail"] = tail_stage((250, 1000) if q else (1000, 10_000))
    _print_tail(res["tail"])
    for t in res["tail"]:  # the stage alone (its own process, import included) against the command
        whole = next((r for r in res["cli"] if r["runs"] == t["runs"]), None)
        if whole is not None:
            t["share_of_cli_wall"] = t["wall_s"] / whole["wall_s"]
            print(f"  summary and figures alone at {t['runs']:,} runs: {t['share_of_cli_wall']:.0%} of the "
                  f"command's wall time (inside the command: {whole['figures_share']:.0%})", flush=True)
    if args.fresh_clone:
        res["fresh_clone"] = fresh_clone_make_run()
        print(f"  make run on a fresh clone: first figure after {res['fresh_clone']['first_figure_s']} s")
    print(f"\nheadline: borderscen run is {res['speedup_vs_mesa_batch_run']:.1f}x mesa.batch_run "
          f"on the same model and cores; parallel efficiency {res['parallel_efficiency']:.0%}")
    args.json.write_text(json.dumps(res, indent=2))
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
