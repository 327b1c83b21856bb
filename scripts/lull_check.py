"""The pre-registered 2025 lull check (docs/scoring.md section 7) on a results folder.

    python scripts/lull_check.py results/three_scenarios [--json]

Prints, for every 2025 attack figure of the record the model can reproduce, the baseline runs'
median channel value over the figure's window, their 90% band and the range of values the figure
is consistent with under the observation model; exit code 1 if any figure is missed.
"""

from __future__ import annotations

import argparse
import json
import sys

import borderscen as bs
from borderscen.analysis.validation import lull_check


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results",
                    help="a results folder written by `borderscen run` (e.g. results/three_scenarios)")
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--json", action="store_true", help="print the table as JSON records")
    args = ap.parse_args(argv)
    res = bs.load_results(args.results)
    table = lull_check(res.timeseries, scenario=args.scenario)
    if args.json:
        print(json.dumps(table.to_dict(orient="records"), indent=1))
    else:
        for r in table.itertuples():
            verdict = "inside" if r.inside else "MISSED"
            print(f"{r.id}: {r.window} figure {r.figure_low:g}; record's range [{r.range_low:.1f}, "
                  f"{r.range_high:.1f}]; model median {r.median:.1f} (90% of runs {r.q05:.0f}-{r.q95:.0f},"
                  f" {r.runs} runs): {verdict}")
    return 0 if bool(table["inside"].all()) else 1


if __name__ == "__main__":
    sys.exit(main())
