"""Print the README's validation tables from a stored backtest and validate verdict (never typed
by hand).

    borderscen backtest --out results/backtest      # writes results/backtest/verdict.json
    borderscen validate --out results/validate      # writes results/validate/verdict.json
    python scripts/validation_tables.py [--backtest DIR] [--validate results/validate/verdict.json]

Prints Markdown: in-sample coverage per channel group, the backtest's coverage and median skill by
horizon and by group against every baseline (the ABM and the ensemble), the hold-outs scored once
under docs/scoring.md, and each pre-registered target as met or missed.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

BASELINES = ("no_change", "trend", "nb_ar1")


def pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def num(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:+.2f}"


def bounds(low: float, high: float) -> str:
    if math.isinf(high):
        return f">= {low:,.0f}"
    return f"{low:,.0f}" if high == low else f"{low:,.0f}-{high:,.0f}"


def insample(v: dict) -> str:
    ins = v["insample"]
    lines = ["| channel group | targets | in 50% | in 90% |", "|---|---|---|---|"]
    for g, n in ins["n"].items():
        lines.append(f"| {g} | {n} | {pct(ins['coverage50'][g])} | {pct(ins['coverage90'][g])} |")
    return "\n".join(lines) + f"\n\nPIT histogram (10 bins, {sum(ins['pit_histogram'])} targets): " \
        f"{ins['pit_histogram']}."


def by(agg: pd.DataFrame, forecaster: str, key: str) -> str:
    d = agg[agg["forecaster"] == forecaster]
    if key == "horizon":
        d = d[d["group"] == "all"]
        cells = [h for h in ("1", "3", "6", "12", "all") if (d["horizon"] == h).any()]
    else:
        d = d[(d["horizon"] == "all") & (d["group"] != "all")]
        cells = sorted(d["group"].unique())
    head = f"| {key} | n | in 50% | in 90% | " + " | ".join(f"skill vs `{b}` [won] (n)" for b in BASELINES)
    lines = [head + " |", "|---" * (4 + len(BASELINES)) + "|"]
    for c in cells:
        r = d[d[key] == c]
        row = [c, str(int(r["n_scored"].iloc[0])), pct(r["coverage50"].iloc[0]), pct(r["coverage90"].iloc[0])]
        for b in BASELINES:
            x = r[r["baseline"] == b]
            row.append("n/a" if x.empty or not x["n"].iloc[0] else
                       f"{num(x['median_skill'].iloc[0])} [{pct(x['share_won'].iloc[0])}] "
                       f"({int(x['n'].iloc[0])})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def holdouts(bt: Path) -> str:
    from borderscen.analysis.backtest import load_forecasts

    held = pd.read_parquet(bt / "holdout.parquet")
    held = held[held["forecaster"] == "abm"].sort_values("id")
    fc = load_forecasts(bt)
    fc = fc[fc["forecaster"] == "abm"]
    lines = ["| hold-out | period | from | observed | ABM median [90%] | in 90% | "
             + " | ".join(f"skill vs `{b}`" for b in BASELINES) + " |", "|---" * (6 + len(BASELINES)) + "|"]
    for r in held.to_dict("records"):
        q = fc[(fc["id"] == r["id"]) & (fc["origin"] == r["origin"])].iloc[0]
        band = f"{q['q0.500']:,.0f} [{q['q0.050']:,.0f}, {q['q0.950']:,.0f}]"
        lines.append(f"| `{r['id']}` | {r['start']}/{r['end']} | {pd.Timestamp(r['origin']):%Y-%m} | "
                     f"{bounds(r['low'], r['high'])} | {band} | "
                     f"{'yes' if r['in90'] else '**no**'} | "
                     + " | ".join(num(r.get(f"skill_{b}")) for b in BASELINES) + " |")
    return "\n".join(lines)


def targets(v: dict, agg: pd.DataFrame) -> str:
    out = []
    if "insample" in v:
        cov = v["insample"]["coverage90"]
        ok = all(0.80 <= x <= 0.97 for x in cov.values())
        pit = v["insample"]["pit_histogram"]
        share = sum(pit) / len(pit)
        out.append(f"- in sample, 90% coverage 80-97% in every group: **{'met' if ok else 'missed'}** "
                   f"({', '.join(f'{g} {pct(x)}' for g, x in cov.items())})")
        out.append(f"- in sample, no PIT bin above twice its share ({2 * share:.1f}): "
                   f"**{'met' if max(pit) <= 2 * share else 'missed'}** (largest {max(pit)})")
    b = v["backtest"]
    c90 = b["coverage90"]
    out.append(f"- backtest, pooled 90% coverage 80-97%: **{'met' if 0.8 <= c90 <= 0.97 else 'missed'}** "
               f"({pct(c90)} of {b['n']})")
    s = b["skill"]
    pos = all((s[h]["no_change"] or -1) > 0 for h in s)
    short = all((s[h]["no_change"] or -1) >= 0.15 for h in ("1", "3") if h in s)
    out.append(f"- backtest, median skill against `no_change` above 0 at every horizon: "
               f"**{'met' if pos else 'missed'}**; at least 0.15 at 1-3 months: "
               f"**{'met' if short else 'missed'}** "
               f"({', '.join(f'{h}: {num(s[h]['no_change'])}' for h in s)})")
    beats = all((s[h].get("nb_ar1") or -1) > 0 for h in ("6", "12") if h in s)
    nb = ", ".join(f"{h}: {num(s[h].get('nb_ar1'))}" for h in ("6", "12") if h in s)
    out.append(f"- backtest, the ABM beats `nb_ar1` at 6 and 12 months: "
               f"**{'met' if beats else 'missed'}** ({nb})")
    h = v["holdout"]
    out.append(f"- hold-outs, at least 6 of 9 inside their 90% intervals: "
               f"**{'met' if h['inside90'] >= 6 else 'missed'}** ({h['inside90']} of {h['n']})")
    m = h["median_skill"]["no_change"]
    out.append(f"- hold-outs, median skill against persistence (`no_change`) above 0: "
               f"**{'met' if (m or -1) > 0 else 'missed'}** ({num(m)})")
    f = v.get("filter", {})
    if f.get("min_ess_share") is not None:
        out.append(f"- filter, effective sample size never below 10% after rejuvenation: "
                   f"**{'met' if f['min_ess_share'] >= 0.1 else 'missed'}** (lowest {f['min_ess_share']:.1%} "
                   f"of {f.get('particles')} particles, {f.get('degenerate_months')} degenerate months over "
                   f"{f.get('origins')} origins)")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backtest", type=Path, default=Path("results/backtest"))
    ap.add_argument("--validate", type=Path, default=Path("results/validate/verdict.json"))
    args = ap.parse_args(argv)
    v = json.loads((args.backtest / "verdict.json").read_text())
    if args.validate.exists():
        v["insample"] = json.loads(args.validate.read_text())["insample"]
    agg = pd.read_parquet(args.backtest / "aggregate.parquet")
    if "insample" in v:
        print("### In sample\n\n" + insample(v) + "\n")
    print("### Backtest: the ABM by horizon\n\n" + by(agg, "abm", "horizon") + "\n")
    print("### Backtest: the ensemble by horizon\n\n" + by(agg, "ensemble", "horizon") + "\n")
    print("### Backtest: the ABM by channel group\n\n" + by(agg, "abm", "group") + "\n")
    print("### Hold-outs\n\n" + holdouts(args.backtest) + "\n")
    print("### Targets\n\n" + targets(v, agg))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
