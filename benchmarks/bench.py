"""borderscen benchmark: throughput, memory and the three-scenario experiment end to end.

Run:  python benchmarks/bench.py [--quick] [--json FILE]

Reports
  1. single runs: runs per second for the default scenario and horizon (serial, one process)
  2. memory: resident set size after many runs vs after the first hundred (should stay flat:
     finished Mesa models must be freed)
  3. experiments/three_scenarios.toml: total wall time (runs + results + figures), runs per
     second, time in the model vs in the runner and writing, and the parallel speed-up of all
     cores over one worker
Targets (from the issues): a run in tens of milliseconds; the whole three-scenario experiment in
under a minute on 2 cores; the runner's own overhead under 10% of the total.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def single_runs(n: int) -> dict:
    from borderscen.model import BorderModel
    BorderModel("baseline", seed=0).run()  # warm-up: imports, caches
    times = []
    for seed in range(n):
        t0 = time.perf_counter()
        m = BorderModel("baseline", seed=seed)
        m.run()
        m.release()
        times.append(time.perf_counter() - t0)
    return {"runs": n, "median_ms": 1000 * statistics.median(times),
            "p90_ms": 1000 * sorted(times)[int(0.9 * n)], "runs_per_s": n / sum(times)}


def memory(n: int) -> dict:
    from borderscen.model import simulate
    for seed in range(100):
        simulate("baseline", seed=seed)
    gc.collect()
    first = rss_mb()
    for seed in range(100, n):
        simulate("baseline", seed=seed)
    gc.collect()
    last = rss_mb()
    return {"runs": n, "rss_after_100_mb": first, f"rss_after_{n}_mb": last,
            "growth_ratio": last / first}


def experiment(workers: int | None) -> dict:
    from borderscen.experiments import run_experiment
    from borderscen.plots import draw_standard_figures
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = run_experiment(ROOT / "experiments" / "three_scenarios.toml", out=Path(tmp) / "r",
                             workers=workers, progress=False)
        t_runs = time.perf_counter() - t0
        draw_standard_figures(res, Path(tmp) / "figures")
        total = time.perf_counter() - t0
    t = res.manifest["timings"]
    used = res.manifest["workers"]
    model_per_worker = t["model_s"] / used
    return {"workers": used, "runs": res.manifest["counts"]["runs"], "total_s": total,
            "runs_and_store_s": t_runs, "figures_s": total - t_runs,
            "runs_per_s": res.manifest["counts"]["runs"] / t_runs,
            "model_s_per_worker": model_per_worker,
            "runner_overhead_s": t_runs - model_per_worker,
            "runner_overhead_share_of_total": (t_runs - model_per_worker) / total,
            "write_s": t["write_s"], "finalize_s": t.get("finalize_s", 0.0)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke check)")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args()
    n_single, n_mem = (50, 400) if args.quick else (300, 3000)
    report = {"python": sys.version.split()[0], "cores": os.cpu_count()}
    print(f"borderscen benchmark on {report['cores']} cores, Python {report['python']}")
    s = report["single_run"] = single_runs(n_single)
    print(f"1. single run (baseline, 36 months): median {s['median_ms']:.1f} ms, "
          f"p90 {s['p90_ms']:.1f} ms, {s['runs_per_s']:.1f} runs/s")
    m = report["memory"] = memory(n_mem)
    print(f"2. memory: RSS {m['rss_after_100_mb']:.0f} MB after 100 runs, "
          f"{m[f'rss_after_{n_mem}_mb']:.0f} MB after {n_mem} (x{m['growth_ratio']:.3f})")
    if not args.quick:
        one = report["three_scenarios_1_worker"] = experiment(1)
        full = report["three_scenarios_all_cores"] = experiment(None)
        report["parallel_speedup"] = one["runs_and_store_s"] / full["runs_and_store_s"]
        for label, e in (("1 worker", one), (f"{full['workers']} workers", full)):
            print(f"3. three_scenarios ({e['runs']} runs, {label}): total {e['total_s']:.1f} s "
                  f"(runs+store {e['runs_and_store_s']:.1f} s, figures {e['figures_s']:.1f} s), "
                  f"{e['runs_per_s']:.1f} runs/s; model {e['model_s_per_worker']:.1f} s per worker, "
                  f"runner overhead {e['runner_overhead_s']:.1f} s "
                  f"({100 * e['runner_overhead_share_of_total']:.1f}% of total), "
                  f"writes {e['write_s']:.2f} s")
        print(f"   parallel speed-up, all cores vs one worker: x{report['parallel_speedup']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
