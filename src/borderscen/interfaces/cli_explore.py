"""CLI subcommands of exploration: ``borderscen discover`` (scenario discovery on a results
folder) and ``borderscen robustness`` (policies across an ensemble of futures). Registered by
:func:`register` from ``borderscen.interfaces.cli``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

EXIT_BAD_INPUT = 2


def _bad(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_discover(args) -> int:
    from borderscen.analysis.discovery import WhereError
    from borderscen.experiments import load_results
    from borderscen.plots.exploration import box_limits, prim_tradeoff
    from borderscen.plots.style import save
    res = load_results(args.results)
    box = int(args.box) if args.box.lstrip("-").isdigit() else args.box
    kw = {"mass_min": args.mass_min} | ({"box": box, "max_qp": None if args.max_qp >= 1
                                         else args.max_qp} if args.method == "prim" else {})
    try:
        found = res.discover(args.where, method=args.method, inputs=args.inputs, **kw)
    except (WhereError, ValueError) as exc:
        return _bad(exc)
    print(found.report())
    out = Path(args.figures) if args.figures else res.root / "figures"
    stem = f"discovery_{args.method}"
    files = []
    if args.method == "prim":
        pruned = (found.coverage, found.density) if found.extra.get("dropped") else None
        files += save(*prim_tradeoff(found.trajectory, found.chosen, pruned),
                      out / f"{stem}_tradeoff", res.id)
    if len(found.limits):
        files += save(*box_limits(found.limits), out / f"{stem}_box", res.id)
    print(f"\nfigures: {', '.join(str(f) for f in files if f.suffix != '.csv')}")
    return 0


def cmd_robustness(args) -> int:
    from borderscen.analysis.discovery import WhereError
    from borderscen.experiments import run_experiment
    from borderscen.plots.exploration import robustness_ranking
    from borderscen.plots.style import save
    from borderscen.text import table_text
    res = run_experiment(args.config, out=args.out, executor=args.executor, workers=args.workers,
                         scheduler=args.scheduler, fresh=args.fresh, progress=False if args.quiet else None)
    try:
        table = res.robustness(criteria=args.criteria, regret_metric=args.regret_metric,
                               minimize=not args.maximize)
    except (WhereError, ValueError) as exc:
        return _bad(exc)
    cols = ["rank", "policy", "robustness", "lo", "hi", "n_futures"]
    cols += [c for c in ("mean_regret", "p90_regret", "max_regret", "best_in_share")
             if c in table.columns]
    rows = [{c: (f"{r[c]:.3g}" if isinstance(r[c], float) else r[c]) for c in cols}
            for r in table.to_dict("records")]
    print(f"{res.name}: policies across {int(table['n_futures'].iloc[0])} futures each\n"
          f"criteria: {table['criteria'].iloc[0]}")
    if "regret_metric" in table.columns:
        print(f"regret of {table['regret_metric'].iloc[0]} against the best policy in each future "
              f"({'higher' if args.maximize else 'lower'} is better)")
    print()
    print(table_text(rows, cols))
    out = Path(args.figures) if args.figures else res.root / "figures"
    files = save(*robustness_ranking(table), out / "robustness", res.id)
    table.to_csv(res.root / "robustness.csv", index=False)
    print(f"\nfigure: {files[0]}; table: {res.root / 'robustness.csv'}")
    return 0


def register(add: Callable[..., argparse.ArgumentParser], common: Callable[..., None]) -> None:
    """Add ``discover`` and ``robustness`` to the ``borderscen`` command, through its shared
    set-up: ``add`` (description, examples and exit status in the same shape) and ``common``
    (the shared options, each with one meaning)."""
    p = add("discover", "scenario discovery (PRIM or CART) on a results folder: which inputs lead "
                        "to the case of interest",
            ["borderscen discover results/robust_policies --where \"final_regime == 'deterioration'\""])
    p.add_argument("results", type=Path, help="a results folder (results/<experiment>)")
    p.add_argument("--where", required=True,
                   help="the case of interest, e.g. \"final_regime == 'deterioration'\"")
    p.add_argument("--method", choices=["prim", "cart"], default="prim",
                   help="PRIM (EMA Workbench) or CART (scikit-learn); default prim")
    p.add_argument("--inputs", nargs="+", help="input columns (default: swept parameters, "
                   "policy and scenario)")
    p.add_argument("--box", default="balanced",
                   help="box on the peeling trajectory: balanced (default), last, or its index")
    p.add_argument("--mass-min", type=float, default=0.05,
                   help="smallest box, as a share of runs (default 0.05)")
    p.add_argument("--max-qp", type=float, default=0.05,
                   help="drop box restrictions with a larger quasi-p-value (default 0.05; 1 keeps all)")
    p.add_argument("--figures", type=Path, help="figure folder (default <results>/figures)")
    p.set_defaults(func=cmd_discover)

    p = add("robustness", "run a policy design and rank its policies by robustness across its "
                          "futures",
            ["borderscen robustness experiments/explore/robust_policies.toml --regret-metric cum_attacks"])
    p.add_argument("config", type=Path, help="an experiment config with [sweep.policies.*]")
    p.add_argument("--criteria", help="what a policy must achieve in a future (default: ISIS "
                   "members at the horizon no more than at the start, and no deterioration)")
    p.add_argument("--regret-metric", help="run-level metric for regret (default cum_attacks)")
    p.add_argument("--maximize", action="store_true", help="higher regret metric is better")
    common(p, "out", "executor", "workers", "scheduler", "quiet", out="results/<experiment name>",
           executor="the config's [experiment].executor, process unless set")
    p.add_argument("--fresh", action="store_true", help="replace stored results of this experiment")
    p.add_argument("--figures", type=Path, help="figure folder (default <out>/figures)")
    p.set_defaults(func=cmd_robustness)
