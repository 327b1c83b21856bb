"""The ``borderscen`` command. Thin: it parses, calls the library, prints.

Bad input (config, preset, evidence or parameter errors) prints one clear message per problem
and exits with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from borderscen.errors import ConfigError
from borderscen.experiments.store import StoreMismatch

EXIT_BAD_INPUT = 2
FORMATS = ("png", "svg", "pdf")


def table_text(rows: list[dict], columns: Sequence[str], wrap: dict[str, int] | None = None) -> str:
    """Plain-text table with wrapped long columns (readable in a terminal and in CI logs)."""
    wrap = wrap or {}
    cells = [[textwrap.wrap(str(r.get(c, "")), wrap[c], break_on_hyphens=False) or [""]
              if c in wrap else [str(r.get(c, ""))]
              for c in columns] for r in rows]
    widths = [max([len(c)] + [len(line) for row in cells for line in row[i]])
              for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    for row in cells:
        for k in range(max(len(c) for c in row)):
            out.append("  ".join((c[k] if k < len(c) else "").ljust(w)
                                 for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(out)


def cmd_params(args) -> None:
    from borderscen.params import registry
    specs = [s for s in registry().values() if not args.group or s.group == args.group]
    if args.json:
        print(json.dumps([s.model_dump() | {"provenance": s.provenance} for s in specs], indent=2))
        return
    rows = [{"parameter": s.name, "default": f"{s.default:g}", "range": f"[{s.min:g}, {s.max:g}]",
             "unit": s.unit, "group": s.group, "basis": s.provenance,
             "evidence": ", ".join(s.evidence), "meaning": s.meaning} for s in specs]
    cols = ["parameter", "default", "range", "unit", "basis", "evidence"]
    if args.long:
        cols.append("meaning")
    print(table_text(rows, cols, {"unit": 22, "evidence": 34, "meaning": 60}))
    print(f"\n{len(specs)} parameters. basis: evidence = set from the sources; assumption = ours "
          "(reason in --json or docs/odd.md); both = evidence for the mechanism, size assumed.")


def cmd_evidence(args) -> None:
    from borderscen.evidence import catalogue
    cat = catalogue()
    items = [e for e in cat.evidence.values() if not args.source or args.source in e.sources]
    if args.json:
        print(json.dumps({"sources": [s.model_dump() for s in cat.sources.values()],
                          "evidence": [e.model_dump() for e in items]}, indent=2))
        return
    rows = [{"id": e.id, "kind": e.kind,
             "value": "" if e.value is None else f"{e.value} {e.unit or ''}".strip(),
             "sources": ", ".join(s[:3] for s in e.sources), "claim": e.claim} for e in items]
    print(table_text(rows, ["id", "kind", "value", "sources", "claim"],
                {"value": 24, "claim": 70}))
    print("\nSources:")
    for s in cat.sources.values():
        print(f"  {s.id[:3]}  {s.id}  {s.date}  {s.title} ({s.outlet})")


def cmd_scenarios(args) -> None:
    from borderscen.scenarios import preset_diff, presets
    if args.diff:
        rows = preset_diff(args.diff)
        if args.json:
            print(json.dumps(rows, indent=2))
            return
        print(f"{args.diff}: differences from baseline\n")
        print(table_text(rows, ["parameter", "baseline", args.diff, "unit", "evidence", "why"],
                    {"unit": 20, "evidence": 30, "why": 50}))
        return
    items = presets()
    if args.json:
        print(json.dumps({k: v.model_dump() for k, v in items.items()}, indent=2, default=str))
        return
    rows = [{"preset": k, "title": v.title, "changes": len(v.set),
             "evidence": ", ".join(v.evidence), "description": " ".join(v.description.split())}
            for k, v in items.items()]
    print(table_text(rows, ["preset", "title", "changes", "evidence", "description"],
                {"evidence": 28, "description": 60}))
    print("\nShow a preset's changes: borderscen scenarios --diff NAME")


def cmd_run(args) -> None:
    from borderscen.experiments import run_experiment
    res = run_experiment(args.config, out=args.out, executor=args.executor, workers=args.workers,
                         scheduler=args.scheduler, fresh=args.fresh, progress=not args.quiet)
    _report(res)
    if not args.no_figures:
        from borderscen.plots import draw_standard_figures
        out = Path(args.figures) if args.figures else res.root / "figures"
        files = draw_standard_figures(res, out, formats=args.formats)
        print(f"figures: {len(files)} files in {out}")


def _report(res) -> None:
    c, t = res.manifest["counts"], res.manifest["timings"]
    print(f"{res.name}: {c['succeeded']} runs ok, {c['failed']} failed "
          f"({c['scenarios']} scenarios x {c['points']} points x {c['replications']} replications) "
          f"in {t['run_wall_s']:.1f} s -> {res.root}")
    for f in res.manifest["failures"][:5]:
        print(f"  failed: scenario {f['scenario']} replication {f['replication']} "
              f"seed {f['seed']}: {f['error']}")


def cmd_summarize(args) -> None:
    from borderscen.experiments import load_results
    res = load_results(args.results)
    tab = res.end_state(interval=args.interval)
    print(f"{res.name}: median [{args.interval:.0%} interval] of end-of-run outcomes per scenario\n")
    print(tab.T.to_string())


def cmd_reproduce(args) -> None:
    from borderscen.reproduce import reproduce
    reproduce(experiments_dir=args.experiments, results_dir=args.results, figures_dir=args.figures,
              only=args.only, executor=args.executor, workers=args.workers, fresh=args.fresh,
              formats=args.formats)


def cmd_validate(args) -> int:
    """Hold-out scores against naive forecasts, then the stylized facts (on and switched off)."""
    from borderscen.analysis.validation import holdout_scores, holdout_verdict, validate_facts
    status = 0
    if not args.facts_only:
        scores = holdout_scores(args.replications_holdout, args.seed)
        rows = [{"hold-out": r["id"], "channel": r["channel"], "period": r["period"],
                 "observed": f"{r['observed']:.4g}",
                 "model [90%]": f"{r['model_median']:.4g} [{r['model_q05']:.4g}, {r['model_q95']:.4g}]",
                 "in 90%": "yes" if r["inside_90"] else "no", "CRPS model": f"{r['crps_model']:.3g}",
                 "persistence": _num(r.get("crps_persistence")), "trend": _num(r.get("crps_trend"))}
                for r in scores.to_dict("records")]
        print("Hold-out record (2025-26; never used in calibration). CRPS: lower is better.\n")
        print(table_text(rows, list(rows[0]) if rows else ["hold-out"], {"hold-out": 34}))
        print("\n" + holdout_verdict(scores) + "\n")
        if args.out:
            scores.to_csv(Path(args.out).with_suffix(".holdout.csv"), index=False)
    facts = validate_facts(args.replications, args.seed, with_switch_off=not args.no_switch_off)
    rows = [{"fact": r["fact"], "mechanism": r["mechanism"], "switched off": "yes" if r["switched_off"] else "",
             "estimate [95% CI]": f"{r['estimate']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}]",
             "allowed": r["allowed"], "result": "holds" if r["holds"] else "fails"}
            for r in facts.to_dict("records")]
    print(table_text(rows, list(rows[0]), {"fact": 60, "mechanism": 30}))
    on = facts[~facts["switched_off"]]
    off = facts[facts["switched_off"]]
    good = int(on["holds"].sum()) + int((~off["holds"]).sum())
    print(f"\n{int(on['holds'].sum())} of {len(on)} facts hold; {int((~off['holds']).sum())} of "
          f"{len(off)} fail with their mechanism switched off, as they must.")
    if good < len(facts):
        status = 1
    if args.out:
        facts.to_csv(args.out, index=False)
    return status


def _num(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and x != x) else f"{x:.3g}"


def cmd_calibrate(args) -> None:
    """ABC-SMC with pyabc on the 2022-24 record; resumable; optional install as the shipped sample."""
    import json

    import pandas as pd

    from borderscen.analysis.calibration import calibrate, install, write_calibrated
    pop, gens = (60, 3) if args.quick else (args.population, args.generations)
    out = Path(args.out)
    report = calibrate(out, population=pop, generations=gens, seed=args.seed,
                       workers=args.workers or 2, resume=not args.fresh)
    draws = pd.read_csv(out / "posterior.csv")
    write_calibrated(draws, out / "calibrated.toml")
    print(f"ABC-SMC: {report['generations']} generations of {report['population']}, "
          f"{report['simulations']} simulations, acceptance {report['acceptance_rate']:.1%}, "
          f"final ESS {report['effective_sample_size']:.0f}, wall {report['wall_s']:.0f} s; "
          f"epsilon {report['epsilons'][1]:.3g} -> {report['epsilons'][-1]:.3g}\n")
    rows = [{"parameter": k, "median": f"{v['median']:.4g}", "90% interval": f"[{v['q05']:.4g}, {v['q95']:.4g}]",
             "prior": f"{v['kind']} [{v['prior'][0]:g}, {v['prior'][1]:g}]",
             "width vs prior": f"{v['width_vs_prior']:.0%}"} for k, v in report["parameters"].items()]
    print(table_text(rows, list(rows[0]), {}))
    print(f"\n{len(report['targets'])} targets used; {len(report['targets_skipped'])} left out "
          f"(reasons in {out / 'report.json'}).")
    from borderscen.analysis.calibration import draw_figures
    files = draw_figures(out, draws)
    print(f"figures: {', '.join(str(f) for f in files if f.suffix == '.png')}")
    if args.install:
        path = install(out)
        print(f"installed: {path} and posterior medians as registry defaults")
    print(json.dumps({"wrote": [str(out / n) for n in ("posterior.csv", "report.json", "calibrated.toml")]}))


def cmd_sensitivity(args) -> None:
    from borderscen.analysis.sensitivity import run_sensitivity
    from borderscen.plots.analysis import sensitivity_bars
    from borderscen.plots.style import save
    tables = run_sensitivity(args.config, out_dir=args.results, methods=args.methods,
                             executor=args.executor, workers=args.workers, progress=not args.quiet,
                             fresh=args.fresh)
    for method, tab in tables.items():
        stem = Path(args.figures) / f"sensitivity_{method}"
        save(*sensitivity_bars(tab, method), stem, f"sensitivity_{method}")
        top = tab[tab["index"] == ("mu_star" if method == "morris" else "ST")]
        best = top.sort_values("value", ascending=False).groupby("output").head(3)
        print(f"{method}: top parameters per output\n{best.round(3).to_string(index=False)}\n")
    print(f"figures in {args.figures}")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="borderscen", description=(
        "Scenario simulation of Iraq-Syria border security cooperation after Assad. "
        "Exploratory scenarios, not forecasts."))
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("params", help="the parameter registry with provenance")
    p.add_argument("--json", action="store_true")
    p.add_argument("--long", action="store_true", help="include each parameter's meaning")
    p.add_argument("--group", help="only one group (coalition, baghdad, isis, ...)")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("evidence", help="the evidence table and its sources")
    p.add_argument("--json", action="store_true")
    p.add_argument("--source", help="only evidence from this source id")
    p.set_defaults(func=cmd_evidence)

    p = sub.add_parser("scenarios", help="scenario presets")
    p.add_argument("--diff", metavar="PRESET", help="show how PRESET differs from baseline")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("run", help="run an experiment config, store results, draw figures")
    p.add_argument("config", type=Path)
    p.add_argument("--out", type=Path, help="results folder (default results/<experiment name>)")
    p.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    p.add_argument("--executor", choices=["serial", "process", "dask"])
    p.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (implies dask)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", dest="fresh", action="store_false", default=False,
                   help="continue an interrupted batch (default)")
    g.add_argument("--fresh", dest="fresh", action="store_true", help="discard earlier results")
    p.add_argument("--figures", type=Path, help="figure folder (default <results>/figures)")
    p.add_argument("--no-figures", action="store_true")
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=["png"],
                   help="figure formats (each figure also gets its CSV)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("summarize", help="end-state outcomes per scenario of a results folder")
    p.add_argument("results", type=Path)
    p.add_argument("--interval", type=float, default=0.9)
    p.set_defaults(func=cmd_summarize)

    p = sub.add_parser("reproduce", help="run (or reuse) the experiments and redraw all figures")
    p.add_argument("--experiments", type=Path, default=Path("experiments"))
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--figures", type=Path, default=Path("figures"))
    p.add_argument("--only", nargs="*", help="experiment names (default: all but smoke)")
    p.add_argument("--executor", choices=["serial", "process", "dask"])
    p.add_argument("--workers", type=int)
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=["png"])
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("validate", help="score the hold-out record against naive forecasts and check "
                       "the stylized facts (exit 1 if a fact fails, or still holds with its mechanism off)")
    p.add_argument("--replications", type=int, default=40, help="paired replications per fact arm")
    p.add_argument("--replications-holdout", type=int, default=300,
                   help="posterior predictive runs for the hold-out table")
    p.add_argument("--seed", type=int, default=1, help="root seed")
    p.add_argument("--facts-only", action="store_true", help="skip the hold-out table")
    p.add_argument("--no-switch-off", action="store_true", help="skip the switched-off runs")
    p.add_argument("--out", type=Path, help="also write the tables as CSV")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("calibrate", help="fit the free parameters to the 2022-24 record (ABC-SMC, pyabc)")
    p.add_argument("--population", type=int, default=300, help="particles per generation")
    p.add_argument("--generations", type=int, default=10, help="most ABC-SMC generations")
    p.add_argument("--quick", action="store_true", help="60 particles, 3 generations (minutes; for tests)")
    p.add_argument("--seed", type=int, default=2022, help="root seed")
    p.add_argument("--workers", type=int, help="processes (default 2)")
    p.add_argument("--fresh", action="store_true", help="start afresh instead of resuming history.db")
    p.add_argument("--install", action="store_true",
                   help="ship the result: copy posterior.csv into the package, medians as defaults")
    p.add_argument("--out", type=Path, default=Path("results/calibration"), help="output folder")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("sensitivity", help="Morris screening and Sobol indices (SALib)")
    p.add_argument("config", type=Path)
    p.add_argument("--methods", nargs="+", choices=["morris", "sobol"], default=["morris", "sobol"])
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--figures", type=Path, default=Path("figures/sensitivity"))
    p.add_argument("--executor", choices=["serial", "process", "dask"])
    p.add_argument("--workers", type=int)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--fresh", action="store_true", help="discard earlier results of these designs")
    p.set_defaults(func=cmd_sensitivity)
    __import__("borderscen.cli_explore", fromlist=["register"]).register(sub)  # discover, robustness
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
    except StoreMismatch as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ConfigError as exc:
        print(f"error: {exc}" if "\n" not in str(exc) else
              "error: problems found:\n  " + str(exc).replace("\n", "\n  "), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
