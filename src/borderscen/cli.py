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
    from borderscen.analysis.validation import validate
    table = validate(args.replications, args.seed, executor=args.executor or "process",
                     workers=args.workers or 0)
    rows = [{**r, "effect": f"{r['effect']:.4g}", "95% CI": f"[{r['ci_lo']:.4g}, {r['ci_hi']:.4g}]",
             "result": "PASS" if r["passed"] else "FAIL"} for r in table.to_dict("records")]
    print(table_text(rows, ["fact", "metric", "expected", "effect", "95% CI", "n_pairs", "result",
                            "evidence"], {"metric": 28, "evidence": 30}))
    failed = int((~table["passed"]).sum())
    print(f"\n{len(table) - failed} of {len(table)} stylized facts reproduced "
          f"({args.replications} paired replications each, common random numbers).")
    if args.out:
        table.to_csv(args.out, index=False)
    return 1 if failed else 0


def cmd_calibrate(args) -> None:
    from borderscen.analysis.calibration import calibrate, write_calibrated
    from borderscen.plots.analysis import calibration_fit
    from borderscen.plots.style import save
    cal = calibrate(args.samples, args.replications, args.accept, args.seed,
                    executor=args.executor or "process", workers=args.workers or 0)
    out = Path(args.out)
    path = write_calibrated(cal, out / "calibrated.toml")
    cal.draws.to_csv(out / "abc_draws.csv", index=False)
    post = cal.posterior()
    post.to_csv(out / "posterior.csv")
    save(*calibration_fit(cal.fit()), out / "calibration_fit", f"calibration@seed{args.seed}")
    print(post.round(6).to_string())
    print(f"\naccepted {len(cal.accepted)} of {len(cal.draws)} draws; wrote {path}, "
          f"{out / 'calibration_fit.png'}")
    print(cal.fit().drop(columns="evidence").round(3).to_string(index=False))


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

    p = sub.add_parser("validate", help="check the stylized facts from the sources (exit 1 if any fails)")
    p.add_argument("--replications", type=int, default=40)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--executor", choices=["serial", "process", "dask"])
    p.add_argument("--workers", type=int)
    p.add_argument("--out", type=Path, help="also write the table as CSV")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("calibrate", help="fit the free parameters to the sources' figures (ABC)")
    p.add_argument("--samples", type=int, default=300, help="prior draws")
    p.add_argument("--replications", type=int, default=3, help="runs per draw")
    p.add_argument("--accept", type=float, default=0.1, help="share of draws accepted")
    p.add_argument("--seed", type=int, default=2024)
    p.add_argument("--executor", choices=["serial", "process", "dask"])
    p.add_argument("--workers", type=int)
    p.add_argument("--out", type=Path, default=Path("results/calibration"))
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

    p = sub.add_parser("explore", help="the interactive explorer in the browser (needs [viz])")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    p.add_argument("--open", action="store_true", help="open a browser tab on the explorer")
    p.add_argument("--mesa", action="store_true",
                   help="serve the one-run view in Mesa's SolaraViz instead of the full explorer")
    p.set_defaults(func=cmd_explore)
    return ap


def cmd_explore(args) -> int:
    from borderscen.explorer import serve
    return serve(args.host, args.port, args.open, app="mesa" if args.mesa else "explorer")


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
