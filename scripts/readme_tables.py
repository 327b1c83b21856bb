"""Print the README's result tables from stored results (never typed by hand).

    python scripts/readme_tables.py [--results results] [--calibration results/calibration]
                                    [--bench benchmarks/results.json]

Prints Markdown: the headline end-state table of the three-scenario experiment (median and 90%
interval over all runs, which include parametric and stochastic uncertainty), the numbers the
README's "Reading" bullets quote (paths, tempo, capacity, paired differences, axes), the
calibration summary and the benchmark.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = [
    ("cum_attacks_iraq", "attacks in Iraq, Mar 2026 - Dec 2030 (true)", 0),
    ("cum_attacks_syria", "attacks in Syria, Mar 2026 - Dec 2030 (true)", 0),
    ("cum_casualties", "people killed or wounded in attacks, Mar 2026 - Dec 2030", 0),
    ("final_isis_members_iraq", "ISIS members in Iraq, Dec 2030", 0),
    ("final_isis_members_syria", "ISIS members in Syria, Dec 2030", 0),
    ("isis_growth", "ISIS members Dec 2030 / Feb 2026", 2),
    ("mean_cooperation", "mean cooperation index after the branch", 2),
    ("months_partnership", "months in partnership (of 58)", 0),
    ("cum_smuggling", "smuggling flow after the branch (index)", 0),
    ("final_weapons_stock", "smuggled weapons held by ISIS, Dec 2030 (shipments, index)", 0),
]
SHARES = [("resurgence", "ISIS more than doubles by Dec 2030"),
          ("contained", "ISIS contained (neither doubled nor under 50)"),
          ("pipeline_operating", "pipeline operating by Dec 2030")]


def fmt(x: float, digits: int) -> str:
    return f"{x:,.{digits}f}"


def headline(results: Path) -> str:
    runs = pd.read_parquet(results / "three_scenarios" / "runs.parquet")
    runs = runs[runs["status"] == "ok"]
    order = list(dict.fromkeys(runs["scenario"]))
    lines = ["| | " + " | ".join(f"`{s}`" for s in order) + " |", "|---" * (len(order) + 1) + "|"]
    for col, name, d in ROWS:
        cells = []
        for s in order:
            v = runs.loc[runs["scenario"] == s, col].astype(float)
            lo, med, hi = np.percentile(v, [5, 50, 95])
            cells.append(f"{fmt(med, d)} [{fmt(lo, d)}, {fmt(hi, d)}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for col, name in SHARES:
        cells = [f"{runs.loc[runs['scenario'] == s, col].astype(float).mean():.0%}" for s in order]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for regime in ("limited", "partnership", "deterioration"):
        cells = [f"{(runs.loc[runs['scenario'] == s, 'final_regime'] == regime).mean():.0%}" for s in order]
        lines.append(f"| regime in Dec 2030: {regime} | " + " | ".join(cells) + " |")
    n = runs.groupby("scenario").size().iloc[0]
    return "\n".join(lines) + f"\n\n({n} runs per scenario; median [5%, 95%].)"


def reading(results: Path) -> str:
    """The numbers the README's "Reading" bullets quote, each from the stored results (through
    the library's own aggregates: ``res.quantiles``, ``state_shares``)."""
    from borderscen.analysis.results import state_shares
    from borderscen.experiments import load_results
    from borderscen.mechanisms.tempo import CAMPAIGN, LULL

    ts_dir = results / "three_scenarios"
    res = load_results(ts_dir)

    def baseline(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["scenario"] == "baseline"].set_index("date")

    def at(q: pd.DataFrame, month: str, col: str = "q0.5") -> float:
        return float(q.loc[pd.Timestamp(month + "-01"), col])

    out = []
    shares = baseline(state_shares(res, "isis_tempo", {"campaign": CAMPAIGN, "lull": LULL}))
    shares = shares.pivot(columns="state", values="p")
    out.append(f"- baseline runs in a lull in March 2025: {at(shares, '2025-03', 'lull'):.0%}")
    cap = baseline(res.quantiles("damascus_capacity"))
    out.append("- Damascus capacity, median Jan 2025 / Feb 2026 / Dec 2030: "
               + " / ".join(f"{at(cap, m):.2f}" for m in ("2025-01", "2026-02", "2030-12")))
    tracked = baseline(res.quantiles("attacks_tracked_syria"))
    for m in ("2026-02", "2028-01", "2030-12"):
        out.append(f"- tracked attacks in Syria {m}: median {at(tracked, m):.0f} (80% band "
                   f"{at(tracked, m, 'q0.1'):.0f}-{at(tracked, m, 'q0.9'):.0f})")
    members = baseline(res.quantiles("isis_members"))
    for m in ("2025-06", "2026-02", "2030-12"):
        out.append(f"- ISIS members {m}: median {at(members, m):,.0f}")
    after = shares[shares.index >= pd.Timestamp("2026-03-01")]
    out.append(f"- after the branch, share in a campaign {after['campaign'].min():.0%}-"
               f"{after['campaign'].max():.0%}, in a lull {after['lull'].min():.0%}-"
               f"{after['lull'].max():.0%} (range over months)")
    coal = baseline(res.quantiles("coalition_tempo_syria"))
    out.append("- coalition tempo factor in Syria, median Dec 2025 / Dec 2027 / Dec 2030: "
               + " / ".join(f"{at(coal, m):.2f}" for m in ("2025-12", "2027-12", "2030-12")))
    start = json.loads((ts_dir / "manifest.json").read_text()).get("start", {})
    if "min_ess_share" in start:
        out.append(f"- filter: {start['particles']} particles, lowest effective sample share "
                   f"{start['min_ess_share']:.2f}")
    diffs = pd.read_csv(ts_dir / "figures" / "differences.csv")
    out.append("- paired differences from baseline, mean % [95% CI]:")
    for (scenario, metric), row in diffs.set_index(["scenario", "metric"]).iterrows():
        out.append(f"  - {scenario} {metric}: {row['mean_diff_pct']:+.1f}% [{row['lo_pct']:+.1f}, "
                   f"{row['hi_pct']:+.1f}] (baseline mean {row['baseline_mean']:,.1f})")
    axes = results / "axes" / "figures" / "axes.csv"
    if axes.exists():
        frame = pd.read_csv(axes)
        ref = frame.loc[(frame["metric"] == "cum_attacks_syria") & (frame["scenario"] == "baseline"),
                        "reference_mean"]
        out.append(f"- the axes' baseline mean of attacks in Syria: {ref.iloc[0]:,.0f}; the headline's: "
                   f"{diffs.loc[diffs['metric'] == 'cum_attacks_syria', 'baseline_mean'].iloc[0]:,.0f}")
    return "\n".join(out)


def calibration(folder: Path) -> str:
    rep = json.loads((folder / "report.json").read_text())
    lines = [f"ABC-SMC (pyabc): {rep['generations']} generations of {rep['population']} particles, "
             f"{rep['simulations']:,} simulations in {rep['wall_s']:.0f} s, acceptance "
             f"{rep['acceptance_rate']:.0%}, final effective sample size "
             f"{rep['effective_sample_size']:.0f}; distance (weighted RMS of scaled log errors) "
             f"{rep['epsilons'][1]:.2f} -> {rep['epsilons'][-1]:.2f}; {len(rep['targets'])} targets, "
             f"{len(rep['targets_skipped'])} left out with reasons.", "",
             "| parameter | median | 90% interval | prior | width vs prior |", "|---|---|---|---|---|"]
    for k, v in rep["parameters"].items():
        lines.append(f"| `{k}` | {v['median']:.3g} | [{v['q05']:.3g}, {v['q95']:.3g}] | "
                     f"{v['kind']} [{v['prior'][0]:g}, {v['prior'][1]:g}] | {v['width_vs_prior']:.0%} |")
    return "\n".join(lines)


def bench(path: Path) -> str:
    b = json.loads(path.read_text())
    m = b["machine"]
    rows = [("batched kernel, one process", f"{b['kernel']['runs_per_s']:.0f} runs/s"),
            ("Mesa face (`BorderModel.run`), one process", f"{b['mesa_face']['runs_per_s']:.1f} runs/s"),
            (f"`mesa.batch_run` on `BorderModel`, {b['mesa_batch_run']['processes']} processes",
             f"{b['mesa_batch_run']['runs_per_s']:.1f} runs/s"),
            (f"`borderscen run`, {b['run_all_cores']['runs']} runs, end to end, {m['cores']} workers",
             f"{b['run_all_cores']['runs_per_s']:.0f} runs/s ({b['run_all_cores']['wall_s']:.1f} s)"),
            ("**speed-up over `mesa.batch_run`**", f"**{b['speedup_vs_mesa_batch_run']:.0f}x**"),
            ("parallel efficiency (all cores vs one worker)", f"{b['parallel_efficiency']:.0%}"),
            (f"parent peak memory, {b['run_all_cores']['runs']} / {b['run_memory_large']['runs']} runs",
             f"{b['run_all_cores']['parent_peak_rss_mb']:.0f} / "
             f"{b['run_memory_large']['parent_peak_rss_mb']:.0f} MB (x{b['memory_ratio']:.2f})"),
            ("4 presets x 500 replications, 2022-2030, end to end",
             f"{b['default_experiment']['wall_s']:.0f} s")]
    if isinstance(b.get("dask"), dict) and "median_ratio" in b["dask"]:
        rows.append((f"Dask LocalCluster / process pool, time (median of {len(b['dask']['ratios'])} "
                     f"alternating pairs): {b['dask']['runs']} runs end to end (cluster start-up "
                     "included); default experiment; both executors already running",
                     f"{b['dask_vs_process']:.2f}x; {b['dask_vs_process_default_experiment']:.2f}x; "
                     f"{b['dask_vs_process_running']:.2f}x"))
    if "fresh_clone" in b:
        rows.append(("`make run` on a fresh clone: first figure",
                     f"{b['fresh_clone']['first_figure_s']:.0f} s"))
    out = [f"Measured by `python benchmarks/bench.py` on {m['date']}: {m['cores']} cores, "
           f"{m['processor']}, Python {m['python']}.", "", "| | |", "|---|---|"]
    out += [f"| {a} | {b_} |" for a, b_ in rows]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", type=Path, default=Path("results"))
    ap.add_argument("--calibration", type=Path, default=Path("results/calibration"))
    ap.add_argument("--bench", type=Path, default=Path("benchmarks/results.json"))
    a = ap.parse_args()
    for title, fn, arg in (("Headline", headline, a.results), ("Reading", reading, a.results),
                           ("Calibration", calibration, a.calibration),
                           ("Benchmark", bench, a.bench)):
        try:
            print(f"## {title}\n\n{fn(arg)}\n")
        except FileNotFoundError as exc:
            print(f"## {title}\n\n(missing: {exc.filename or exc})\n")


if __name__ == "__main__":
    main()
