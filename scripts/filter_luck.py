"""How far a filtered experiment's numbers move with the particle filter's luck.

    python scripts/filter_luck.py [--replications 500 2500] [--seeds 1 2 3 4] [--particles N] [--json]

An experiment assimilates the record with as many particles as it has replications, and
replication r of every scenario continues particle r. Over 2022-26 the cloud rests on few
ancestors (the filter's lowest effective sample share is 2-4%), so a whole experiment's numbers
move with the seed its filter draws from, by more than its runs' sampling error says. This runs
baseline and cohesive_baghdad (108 months, the default clock) once per seed and replication
count, and prints per experiment: the median and 90% interval of Syria's attacks over the
scenario period and of ISIS's members in December 2030, the median of Iraq's attacks over the
scenario period, the standard error of the attacks' mean
within the experiment, and the median paired difference cohesive_baghdad - baseline. Across
seeds the medians spread by the filter's Monte Carlo error; the standard error within one
experiment does not include it. ``--particles N`` filters N particles for every experiment and
keeps a random ``replications`` of them (``[experiment] particles``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from borderscen.experiments import run_experiment
from borderscen.experiments.config import parse_config


def one(replications: int, seed: int, folder: Path, particles: int = 0) -> dict:
    cfg = parse_config({"experiment": {"name": f"luck_{replications}_{seed}", "replications": replications,
                                       "particles": particles, "seed": seed, "executor": "process"},
                        "scenarios": [{"preset": "baseline"}, {"preset": "cohesive_baghdad"}]})
    res = run_experiment(cfg, out=folder / cfg.name, progress=False)
    runs = res.runs
    wide = {m: runs.pivot(index="replication", columns="scenario", values=m)
            for m in ("cum_attacks_syria", "cum_attacks_iraq", "final_isis_members")}
    base = wide["cum_attacks_syria"]["baseline"]
    members = wide["final_isis_members"]["baseline"]
    diff = wide["cum_attacks_syria"]["cohesive_baghdad"] - base
    q = np.percentile
    return {"replications": replications, "particles": res.manifest["start"]["particles"], "seed": seed,
            "min_ess_share": res.manifest["start"]["min_ess_share"],
            "syria_attacks_median": float(base.median()), "syria_attacks_90": q(base, [5, 95]).tolist(),
            "syria_attacks_mean_se": float(base.std() / np.sqrt(len(base))),
            "iraq_attacks_median": float(wide["cum_attacks_iraq"]["baseline"].median()),
            "members_dec2030_median": float(members.median()),
            "members_dec2030_90": q(members, [5, 95]).tolist(),
            "cohesive_minus_baseline_median": float(diff.median())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replications", type=int, nargs="+", default=[500, 2500])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--particles", type=int, default=0,
                    help="particles the filter runs (0: as many as replications)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON records")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="borderscen-luck-") as tmp:
        rows = [one(n, s, Path(tmp), args.particles) for n in args.replications for s in args.seeds]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    table = pd.DataFrame(rows)
    for col in ("syria_attacks_90", "members_dec2030_90"):
        table[col] = [f"[{a:,.0f}, {b:,.0f}]" for a, b in table[col]]
    print(table.round(2).to_string(index=False))
    for (n, p), g in table.groupby(["replications", "particles"]):
        print(f"{n} runs of {p} particles: Syria's median attacks {g['syria_attacks_median'].min():,.0f}-"
              f"{g['syria_attacks_median'].max():,.0f} over {len(g)} seeds (their mean's standard "
              f"error within one experiment: about {g['syria_attacks_mean_se'].mean():.0f}); "
              f"Iraq's {g['iraq_attacks_median'].min():,.0f}-{g['iraq_attacks_median'].max():,.0f}; "
              f"members in Dec 2030 {g['members_dec2030_median'].min():,.0f}-"
              f"{g['members_dec2030_median'].max():,.0f}; "
              f"cohesive - baseline {g['cohesive_minus_baseline_median'].min():,.0f} to "
              f"{g['cohesive_minus_baseline_median'].max():,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
