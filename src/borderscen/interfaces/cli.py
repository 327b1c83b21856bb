"""The ``borderscen`` command. Thin: it parses, calls the library, prints.

Exit status: 0 all went well; 1 ``validate`` found a stylized fact not reproduced; 2 bad input
(a usage, config, preset, parameter or evidence error, or a results folder that cannot be used:
locked, not borderscen's, holding another config), one clear message per problem, no traceback,
nothing written; 3 some runs failed (listed with their seeds and errors; ``--allow-failures``
accepts them); 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import textwrap
import time
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from borderscen.errors import BorderscenError, ConfigError, unknown_name
from borderscen.interfaces import FIGURE_PRELOAD
from borderscen.progress import ProgressView
from borderscen.text import table_text

EXIT_OK = 0
EXIT_FACTS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_RUNS_FAILED = 3
EXIT_INTERRUPTED = 130
EXIT_FIGURES_FAILED = 4
EXIT_CODES = f"""exit status:
  {EXIT_OK}    success
  {EXIT_FACTS_FAILED}    validate: a stylized fact was not reproduced
  {EXIT_BAD_INPUT}    bad input: usage, config or parameter error, or a results folder that cannot
       be used (locked by another run, not created by borderscen, another config's);
       one message per problem, nothing written
  {EXIT_RUNS_FAILED}    some runs failed (listed with seeds and errors); --allow-failures accepts them
  {EXIT_FIGURES_FAILED}    the results are stored and safe, but the figures could not be drawn (the
       message gives the command that redraws them)
  {EXIT_INTERRUPTED}  interrupted; run the same command again to resume"""
FORMATS = ("png", "svg", "pdf")
EXECUTORS = ("serial", "process", "dask")
HELP_WIDTH = 100
#: How many failed runs `run` and `reproduce` list before summarising the rest.
SHOW_FAILURES = 20


# ---------------------------------------------------------------------------- argument types
def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: give a whole number >= 1")
    return value


def fraction(text: str) -> float:
    """argparse type: a number strictly between 0 and 1 (0.9 for a 90% interval)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        hint = f" (for {value:g}% write {value / 100:g})" if 1 < value < 100 else ""
        raise argparse.ArgumentTypeError(f"{value:g} is not allowed: give a fraction between 0 "
                                         f"and 1, e.g. 0.9 for a 90% interval{hint}")
    return value


def share(text: str) -> float:
    """argparse type: a share in (0, 1]."""
    value = fraction(text) if text.strip() not in ("1", "1.0") else 1.0
    return value


def setting(text: str) -> tuple[str, object]:
    """argparse type for --set: key=value, the value read as TOML (0.3, 2, true)."""
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise argparse.ArgumentTypeError(f"{text!r}: write key=value, e.g. coalition_isr=0.3")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        raise argparse.ArgumentTypeError(f"{text!r}: the value must be a number or true/false") from None
    return key, value


# ---------------------------------------------------------------------------- commands
def _posterior_interval(name: str) -> tuple[float, float] | None:
    from borderscen.inputs.posterior import posterior_sample
    sample = posterior_sample()
    if sample is None or name not in sample:
        return None
    lo, hi = sample[name].quantile([0.05, 0.95])
    return float(lo), float(hi)


def _param_record(spec) -> dict:
    interval = _posterior_interval(spec.name) if spec.calibrate else None
    out = spec.model_dump() | {"provenance": spec.provenance, "calibrated": spec.calibrate}
    if interval:
        out |= {"posterior_q05": interval[0], "posterior_q95": interval[1]}
    return out


def cmd_params(args) -> None:
    from borderscen.inputs.evidence import catalogue
    from borderscen.inputs.params import registry
    reg = registry()
    if args.name:
        if args.name not in reg:
            raise unknown_name("params", "NAME", args.name, reg, "parameter")
        spec = reg[args.name]
        if args.json:
            print(json.dumps(_param_record(spec), indent=2))
            return
        cat = catalogue()
        print(f"{spec.name}  ({spec.group})\n  {spec.meaning}\n")
        print(f"  default      {spec.default:g} {spec.unit}")
        print(f"  range        [{spec.min:g}, {spec.max:g}] ({spec.kind})")
        print(f"  basis        {spec.provenance}")
        fitted = "no"
        if spec.calibrate:
            iv = _posterior_interval(spec.name)
            fitted = ("yes: default = posterior median" + (f"; 90% posterior interval [{iv[0]:.4g}, "
                                                           f"{iv[1]:.4g}]" if iv else ""))
        print(f"  calibrated   {fitted}")
        if spec.prior:
            print(f"  prior        {spec.prior.kind} on [{spec.prior.min:g}, {spec.prior.max:g}] (ABC-SMC)")
        when = ("a policy choice, applied from the branch month" if spec.role == "lever"
                else "an uncertainty, applied from the start")
        print(f"  role         {spec.role} ({when})")
        if spec.assumption:
            print("  assumption   " + textwrap.fill(spec.assumption, 88,
                                                    subsequent_indent=" " * 15))
        for eid in spec.evidence:
            e = cat.evidence.get(eid)
            if e is None:
                print(f"  evidence     {eid}")
                continue
            value = "" if e.value is None else f" [{e.value} {e.unit or ''}]".rstrip()
            print(f"  evidence     {eid}{value} ({', '.join(s[:3] for s in e.sources)})")
            print(textwrap.fill(e.claim, 88, initial_indent=" " * 15, subsequent_indent=" " * 15))
        return
    groups = sorted({s.group for s in reg.values()})
    if args.group and args.group not in groups:
        raise unknown_name("params --group", "group", args.group, groups, "group", limit=99)
    specs = [s for s in reg.values() if not args.group or s.group == args.group]
    if args.json:
        print(json.dumps([_param_record(s) for s in specs], indent=2))
        return

    def basis(s) -> str:
        if not s.calibrate:
            return s.provenance + (" (lever)" if s.role == "lever" else "")
        iv = _posterior_interval(s.name)
        return "calibrated" + (f" [{iv[0]:.3g}, {iv[1]:.3g}]" if iv else "")

    rows = [{"parameter": s.name, "default": f"{s.default:g}", "range": f"[{s.min:g}, {s.max:g}]",
             "unit": s.unit, "group": s.group, "basis": basis(s),
             "evidence": ", ".join(s.evidence), "meaning": s.meaning} for s in specs]
    cols = ["parameter", "default", "range", "unit", "basis", "evidence"]
    if args.long:
        cols.append("meaning")
    print(table_text(rows, cols, {"unit": 22, "evidence": 34, "meaning": 60}))
    print(f"\n{len(specs)} parameters. basis: evidence = set from the sources; assumption = ours "
          "(reason in --json or docs/odd.md); both = evidence for the mechanism, size assumed. "
          "One parameter in full: borderscen params NAME")


def _source_id(wanted: str, ids: Sequence[str]) -> str:
    """A source id, or a unique prefix of one (the listing shows the first three characters)."""
    if wanted in ids:
        return wanted
    matches = [i for i in ids if i.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    raise unknown_name("evidence --source", "source", wanted, ids, "source id")


def cmd_evidence(args) -> None:
    from borderscen.inputs.evidence import catalogue
    cat = catalogue()
    source = _source_id(args.source, list(cat.sources)) if args.source else None
    items = [e for e in cat.evidence.values() if not source or source in e.sources]
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
    from borderscen.inputs.scenarios import preset_diff, presets
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


def config_from_args(args):
    """The experiment config of `run`: a TOML file, or presets given on the command line, with
    --set overrides (every scenario), --replications, --particles and --seed on top."""
    from borderscen.errors import read_toml
    from borderscen.experiments.config import parse_config
    if args.config is not None and args.preset:
        raise ConfigError("command line", "--preset", args.preset,
                          "give either a config file or --preset, not both")
    if args.config is None and not args.preset:
        raise ConfigError("command line", "config", None,
                          "give a config file (see experiments/*.toml) or --preset NAME")
    if args.config is not None:
        data = read_toml(args.config)
        where = f"{args.config} (with command-line options)"
        if not (args.set or args.replications or args.particles is not None or args.horizon_months
                or args.name or args.seed is not None):
            from borderscen.experiments.config import load_config
            return load_config(args.config)
    else:
        where = "command line"
        name = args.name or "_".join(args.preset)
        data = {"experiment": {"name": name, "replications": 100, "seed": 1,
                               "description": "from the command line"},
                "scenarios": [{"preset": p} for p in args.preset]}
        if len(set(args.preset)) < len(args.preset):
            raise ConfigError(where, "--preset", args.preset, "each preset once")
    settings: dict[str, object] = {}
    for key, value in args.set or []:
        if key in settings and settings[key] != value:
            raise ConfigError("command line", f"--set {key}", value,
                              f"{key} is already set to {settings[key]!r} by an earlier --set; "
                              "give each parameter once")
        settings[key] = value
    exp = data.setdefault("experiment", {})
    if isinstance(exp, dict):
        if args.replications:
            exp["replications"] = args.replications
        if args.particles is not None:
            exp["particles"] = args.particles
        if args.seed is not None:
            exp["seed"] = args.seed
        if args.horizon_months:
            exp["horizon_months"] = args.horizon_months
        if args.name:
            exp["name"] = args.name
    for sc in data.get("scenarios", []) if isinstance(data.get("scenarios"), list) else []:
        if isinstance(sc, dict):
            sc["overrides"] = {**sc.get("overrides", {}), **dict(args.set or [])}
    return parse_config(data, where=where)


def cmd_run(args) -> int:
    from borderscen.experiments import run_experiment
    started = time.time()
    cfg = config_from_args(args)
    res = run_experiment(cfg, out=args.out, executor=args.executor, workers=args.workers,
                         scheduler=args.scheduler, fresh=args.fresh, progress=False if args.quiet else None,
                         strict=args.strict, log=_note, retries=args.retries,
                         accept_changed_inputs=args.accept_changed_inputs,
                         preload=() if args.no_figures else FIGURE_PRELOAD)
    status = _report(res, args.allow_failures, started)
    if not args.no_figures and res.manifest["counts"]["succeeded"]:
        from borderscen.interfaces.reproduce import draw_or_explain
        out = Path(args.figures) if args.figures else res.root / "figures"
        drawing = time.perf_counter()
        files = draw_or_explain(res, out, args.formats, _redraw_command(args, res.root))
        print(f"figures: {len(files)} files in {out} ({time.perf_counter() - drawing:.1f} s)")
    return status


def _redraw_command(args, root: Path) -> str:
    """This `run` again, reusing the stored results, with another figure folder."""
    import shlex
    words, skip = [], False
    for word in getattr(args, "argv", None) or ["run", str(args.config or "CONFIG")]:
        if skip:
            skip = False
        elif word in ("--figures", "--out"):
            skip = True
        elif word.startswith(("--figures=", "--out=")) or word in ("--fresh", "--no-figures"):
            continue
        else:
            words.append(word)
    return f"borderscen {shlex.join(words)} --out {shlex.quote(str(root))} --figures DIR"


def _note(message: str) -> None:
    """What the store found and did (repairs, clean-ups, resuming), one line on stderr."""
    print(message, file=sys.stderr, flush=True)


def _reused(res, started: float | None) -> bool:
    """Whether the batch's manifest was written before this command started (results reused)."""
    import datetime as dt
    if started is None:
        return False
    try:
        created = dt.datetime.strptime(res.manifest["created"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except (KeyError, TypeError, ValueError):
        return False
    return created < started - 1.0  # the manifest's time has whole seconds


def _report(res, allow_failures: bool = False, started: float | None = None) -> int:
    """Print the batch's counts and failed runs; the exit status they call for. ``started``: when
    the command started, so that reused results say so instead of claiming they just ran."""
    c, t = res.manifest["counts"], res.manifest["timings"]
    ran = (f"reused (stored {res.manifest['created'][:16].replace('T', ' ')}, where they ran in "
           f"{t['run_wall_s']:.1f} s)" if _reused(res, started) else f"in {t['run_wall_s']:.1f} s")
    print(f"{res.name}: {c['succeeded']} runs ok, {c['failed']} failed "
          f"({c['scenarios']} scenarios x {c['points']} points x {c['replications']} replications) "
          f"{ran} -> {res.root}")
    failures = res.manifest["failures"]
    for f in failures[:SHOW_FAILURES]:
        print(f"  failed: run {f.get('run', '?')} scenario {f['scenario']} point {f['point']} "
              f"replication {f['replication']} seed {f['seed']}: {f['error']}", file=sys.stderr)
    if len(failures) > SHOW_FAILURES:
        print(f"  ... and {len(failures) - SHOW_FAILURES} more (manifest.json, runs.parquet)",
              file=sys.stderr)
    if failures and not allow_failures:
        print(f"error: {len(failures)} of {c['runs']} runs failed (exit {EXIT_RUNS_FAILED}); "
              "re-make one with bs.simulate(scenario, seed=SEED), or pass --allow-failures",
              file=sys.stderr)
        return EXIT_RUNS_FAILED
    return EXIT_OK


def cmd_summarize(args) -> None:
    from borderscen.experiments import load_results
    res = load_results(args.results)
    tab = res.end_state(interval=args.interval, wide=None)  # a column per scenario (and point)
    per = "scenario and design point" if res.is_sweep else "scenario"
    print(f"{res.name}: median [{args.interval:.0%} interval] of end-of-run outcomes per {per}\n")
    print(tab.to_string())


def cmd_reproduce(args) -> int:
    from borderscen.experiments.store import Results
    from borderscen.interfaces.reproduce import reproduce
    started = time.time()
    written = reproduce(experiments_dir=args.experiments, results_dir=args.out,
                        figures_dir=args.figures, only=args.only, executor=args.executor,
                        workers=args.workers, scheduler=args.scheduler, fresh=args.fresh,
                        formats=args.formats, strict=args.strict, notes=_note,
                        progress=False if args.quiet else None)
    status = EXIT_OK
    for name in written:
        status = max(status, _report(Results(Path(args.out) / name), args.allow_failures, started))
    return status


def cmd_validate(args) -> int:
    """In-sample coverage, the hold-outs scored once (docs/scoring.md), then the stylized facts."""
    with _tables_to_stderr(args.json):
        verdict, status = _validate(args)
    if args.json:
        print(json.dumps(verdict, indent=2, default=_json_default))
    return EXIT_FACTS_FAILED if status else EXIT_OK


def _validate(args) -> tuple[dict, int]:
    from borderscen.analysis.scoring import BASELINES, holdout_summary
    from borderscen.analysis.validation import (
        holdout_scores,
        holdout_verdict,
        insample_scores,
        insample_verdict,
        validate_facts,
    )
    status = 0
    verdict: dict = {}
    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    show = False if args.quiet else None
    run = _executor_args(args)
    if not args.facts_only:
        with ProgressView(f"validate: in sample ({args.replications_insample} posterior predictive "
                          "runs of 2022-24)", "run", show) as view:
            ins = insample_scores(args.replications_insample, args.seed, **run, progress=view)
        verdict["insample"] = insample_verdict(ins)
        rows = [{"group": g, "targets": n, "in 50%": _pct(verdict["insample"]["coverage50"][g]),
                 "in 90%": _pct(verdict["insample"]["coverage90"][g])}
                for g, n in verdict["insample"]["n"].items()]
        print("In sample: the 2022-24 targets the posterior was fitted to, inside the posterior "
              "predictive of their published figures (target: 80-97% in every group).\n")
        print(table_text(rows, list(rows[0]), {}))
        print(f"PIT histogram (10 bins): {verdict['insample']['pit_histogram']}\n")
        with ProgressView(f"validate: hold-outs (filtering the record to each origin, "
                          f"{args.particles} particles)", "origin", show) as view:
            scores = holdout_scores(args.particles, args.seed_holdout, **run, progress=view)
        abm = scores[scores["forecaster"] == "abm"]
        rows = [{"hold-out": r["id"], "origin": str(r["origin"])[:7], "period": f"{r['start']}/{r['end']}",
                 "observed": _bounds_text(r["low"], r["high"]), "in 90%": "yes" if r["in90"] else "no",
                 **{f"skill vs {b}": _num(r.get(f"skill_{b}")) for b in BASELINES}}
                for r in abm.to_dict("records")]
        print("Hold-outs (2025-26; never used in calibration), each scored once (docs/scoring.md). "
              "Skill: 1 - CRPS/CRPS_baseline, above 0 the model is better.\n")
        print(table_text(rows, list(rows[0]) if rows else ["hold-out"], {"hold-out": 34}))
        print("\n" + holdout_verdict(scores) + "\n")
        verdict["holdout"] = holdout_summary(abm, BASELINES)
        verdict["filter"] = scores.attrs["filter"]
        if out:
            scores.to_csv(out / "holdout.csv", index=False)
            ins.to_csv(out / "insample.csv", index=False)
    with ProgressView(f"validate: stylized facts ({args.replications} replications per arm)",
                      "run", show) as view:
        facts = validate_facts(args.replications, args.seed, with_switch_off=not args.no_switch_off,
                               **run, progress=view)
    switched = "holds_switched_off" in facts
    rows = []
    for r in facts.to_dict("records"):
        row = {"fact": r["fact"], "component": r["component"], "observed": r["observed"],
               "model [90%]": f"{r['model_median']:.3g} [{r['model_q05']:.3g}, {r['model_q95']:.3g}]",
               "p": f"{r['p']:.2f}", "on": "holds" if r["holds"] else "fails"}
        if switched:
            row.update({"switched off": r["switch_off"],
                        "off [90%]": f"{r['off_median']:.3g} [{r['off_q05']:.3g}, {r['off_q95']:.3g}]",
                        "off": "holds" if r["holds_switched_off"] else "fails"})
        rows.append(row)
    print("Stylized facts against the 2022-24 record (posterior predictive; a fact holds when every "
          "component's p > 0.10).\n")
    print(table_text(rows, list(rows[0]), {"fact": 50}))
    per_fact = facts.groupby("fact", sort=False).first()
    held = int(per_fact["holds"].sum())
    failed_off = int((~per_fact["holds_switched_off"]).sum()) if switched else 0
    print(f"\n{held} of {len(per_fact)} facts hold"
          + (f"; {failed_off} of {len(per_fact)} fail with their mechanism switched off, as they must."
             if switched else "."))
    if held < len(per_fact) or (switched and failed_off < len(per_fact)):
        status = 1
    verdict["facts"] = {"n": len(per_fact), "hold": held,
                        "fail_switched_off": failed_off if switched else None}
    if out:
        facts.to_csv(out / "facts.csv", index=False)
        (out / "verdict.json").write_text(json.dumps(verdict, indent=2, default=_json_default) + "\n")
        print(f"tables and verdict: {out}")
    return verdict, status


def _executor_args(args) -> dict[str, Any]:
    """--executor, --workers and --scheduler as every command that runs the model reads them:
    a process pool of one worker per core unless told otherwise."""
    return {"executor": args.executor or ("dask" if args.scheduler else "process"),
            "workers": args.workers, "scheduler": args.scheduler}


def _json_default(x):
    import numpy as np
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"{type(x).__name__} is not JSON serializable")


def cmd_backtest(args) -> int:
    """The rolling-origin backtest: filter to each origin, forecast 12 months, score (docs/scoring.md)."""
    from borderscen.analysis import backtest
    from borderscen.plots.backtest import draw_backtest
    t0 = time.perf_counter()
    out = Path(args.out)
    with ProgressView(f"backtest ({args.particles} particles)", "origin",
                      False if args.quiet else None) as view:
        forecasts = backtest.run_backtest(out, particles=args.particles, seed=args.seed,
                                          first=args.first, every=args.every, progress=view,
                                          fresh=args.fresh, log=None if args.quiet else _note,
                                          **_executor_args(args))
    tables = backtest.report(forecasts)
    verdict = backtest.verdict(tables, out)
    for name, table in tables.items():
        table.to_parquet(out / f"{name}.parquet", index=False)
    with _tables_to_stderr(args.json):
        _print_backtest(tables, verdict)
    if not args.no_figures:
        figures = Path(args.figures) if args.figures else out / "figures"
        files = draw_backtest(tables, backtest.load_paths(out), backtest.record_observations(), figures,
                              formats=args.formats)
        print(f"figures: {len([f for f in files if f.suffix != '.csv'])} files in {figures}",
              file=sys.stderr if args.json else sys.stdout)
    verdict["wall_s"] = round(time.perf_counter() - t0, 1)
    (out / "verdict.json").write_text(json.dumps(verdict, indent=2) + "\n")
    if args.json:
        print(json.dumps(verdict, indent=2))
    return EXIT_OK


@contextlib.contextmanager
def _tables_to_stderr(json_out: bool) -> Iterator[None]:
    """With --json, standard output carries the JSON alone: tables and notes go to stderr."""
    if not json_out:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _pct(x) -> str:
    return "n/a" if x is None or x != x else f"{x:.0%}"


def _print_backtest(tables, verdict) -> None:
    agg = tables["aggregate"]
    abm = agg[agg["forecaster"] == "abm"]
    b = verdict["backtest"]
    print(f"Backtest: {b['n']} forecasts of the ABM from {len(b['origins'])} "
          f"origins ({b['origins'][0]} to {b['origins'][-1]}); "
          "scores as pre-registered in docs/scoring.md.\n")
    rows = []
    for hz in ["1", "3", "6", "12", "all"]:
        d = abm[(abm["horizon"] == hz) & (abm["group"] == "all")]
        if d.empty:
            continue
        row = {"horizon (months)": hz, "n": int(d["n_scored"].iloc[0]),
               "in 50%": _pct(d["coverage50"].iloc[0]), "in 90%": _pct(d["coverage90"].iloc[0])}
        for r in d.to_dict("records"):
            row[f"skill vs {r['baseline']} [won]"] = (f"{_num(r['median_skill'])} [{_pct(r['share_won'])}]"
                                                      if r["n"] else "n/a")
        rows.append(row)
    print("The ABM by horizon: coverage, and median CRPS skill (1 - CRPS/CRPS_baseline; above 0 the "
          "ABM is better) with the share of observations it wins:")
    print(table_text(rows, list(rows[0]), {}) if rows else "(no forecasts)")
    rows = []
    for g, d in abm[(abm["horizon"] == "all") & (abm["group"] != "all")].groupby("group"):
        row = {"group": g, "n": int(d["n_scored"].iloc[0]), "in 50%": _pct(d["coverage50"].iloc[0]),
               "in 90%": _pct(d["coverage90"].iloc[0])}
        for r in d.to_dict("records"):
            row[f"skill vs {r['baseline']}"] = _num(r["median_skill"]) if r["n"] else "n/a"
        rows.append(row)
    if rows:
        print("\nThe ABM by channel group (all horizons):")
        print(table_text(rows, list(rows[0]), {}))
    held = tables["holdout"]
    rows = []
    for r in held[held["forecaster"] == "abm"].sort_values("id").to_dict("records"):
        row = {"hold-out": r["id"], "origin": f"{r['origin']:%Y-%m}" if hasattr(r["origin"], "year")
               else str(r["origin"])[:7], "observed": _bounds_text(r["low"], r["high"]),
               "in 90%": "yes" if r["in90"] else "no"}
        for b in ("no_change", "trend", "nb_ar1"):
            if f"skill_{b}" in r:
                row[f"skill vs {b}"] = _num(r[f"skill_{b}"])
        rows.append(row)
    if rows:
        print("\nHold-outs 2025-26, each scored once (docs/scoring.md section 3):")
        print(table_text(rows, list(rows[0]), {"hold-out": 34}))
    h = verdict["holdout"]
    print(f"\n{h['inside90']} of {h['n']} hold-outs inside their 90% intervals; median skill "
          + ", ".join(f"vs {b} {_num(v)}" for b, v in h["median_skill"].items())
          + f". Pooled 90% coverage {_pct(verdict['backtest']['coverage90'])}.")
    f = verdict.get("filter")
    if f:
        print(f"Filter: lowest ESS share {_pct(f['min_ess_share'])} of {f['particles']} particles; "
              f"{f['degenerate_months']} degenerate months (ESS < 10%) over {f['origins']} origins.")


def _bounds_text(low, high) -> str:
    if high == float("inf"):
        return f">= {low:.4g}"
    return f"{low:.4g}" if high == low else f"{low:.4g}-{high:.4g}"


def _num(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and x != x) else f"{x:.3g}"


def cmd_calibrate(args) -> None:
    """ABC-SMC with pyabc on the 2022-24 record; resumable; optional install as the shipped sample."""
    import json

    import pandas as pd

    from borderscen.analysis.calibration import calibrate, degenerate_text, install, write_calibrated
    from borderscen.machine import cores
    pop, gens = (60, 3) if args.quick else (args.population, args.generations)
    out = Path(args.out)
    # pyabc logs each generation at INFO on its loggers ("ABC", "ABC.History", set when pyabc is
    # imported); the progress says it already
    __import__("pyabc")
    for name in ("ABC", "ABC.History"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with ProgressView("calibrate", "particle", False if args.quiet else None) as view:
        report = calibrate(out, population=pop, generations=gens, seed=args.seed,
                           resume=not args.fresh, fit_end=args.fit_end,
                           workers=args.workers or cores(),
                           executor="dask" if args.scheduler else (args.executor or "process"),
                           scheduler=args.scheduler, progress=view,
                           log=None if args.quiet else _note)
    draws = pd.read_csv(out / "posterior.csv")
    write_calibrated(draws, out / "calibrated.toml")
    print(f"ABC-SMC: {report['generations']} generations of {report['population']}, "
          f"{report['simulations']} simulations, acceptance {report['acceptance_rate']:.1%}, "
          f"final ESS {report['effective_sample_size']:.0f}, wall {report['wall_s']:.0f} s "
          f"({report['simulated_this_session']:,} runs, {report['simulations_per_s']:.0f}/s); "
          f"epsilon {report['epsilons'][1]:.3g} -> {report['epsilons'][-1]:.3g}\n")
    if report["degenerate"]:
        print(f"warning: {degenerate_text(report)}", file=sys.stderr)
    rows = [{"parameter": k, "median": f"{v['median']:.4g}",
             "90% interval": f"[{v['q05']:.4g}, {v['q95']:.4g}]",
             "prior": f"{v['kind']} [{v['prior'][0]:g}, {v['prior'][1]:g}]",
             "width vs prior": f"{v['width_vs_prior']:.0%}"} for k, v in report["parameters"].items()]
    print(table_text(rows, list(rows[0]), {}))
    print(f"\n{len(report['targets'])} targets used; {len(report['targets_skipped'])} left out "
          f"(reasons in {out / 'report.json'}).")
    from borderscen.analysis.calibration import predictive_check
    from borderscen.plots.calibration import calibration_figures
    figures = Path(args.figures) if args.figures else out / "figures"
    files = calibration_figures(predictive_check(draws), figures)
    print(f"figures: {', '.join(str(f) for f in files if f.suffix == '.png')}")
    if args.install:
        path = install(out, fit_end=args.fit_end)
        print(f"installed: {path} and posterior medians as registry defaults")
    print(json.dumps({"wrote": [str(out / n) for n in ("posterior.csv", "report.json", "calibrated.toml")]}))


def cmd_sensitivity(args) -> int:
    from borderscen.analysis.sensitivity import run_sensitivity
    from borderscen.experiments.config import Range, load_config
    from borderscen.plots.analysis import sensitivity_bars
    from borderscen.plots.style import save
    cfg = load_config(args.config)
    if cfg.sweep is None or not all(isinstance(v, Range) for v in cfg.sweep.parameters.values()):
        raise ConfigError(args.config, "sweep.parameters", None if cfg.sweep is None else
                          "lists", "a sensitivity config needs [sweep.parameters] given as "
                                   "{ min = .., max = .. } ranges (see experiments/sensitivity.toml)")
    tables = run_sensitivity(cfg, out_dir=args.out, methods=args.methods,
                             executor=args.executor, workers=args.workers, scheduler=args.scheduler,
                             progress=False if args.quiet else None, fresh=args.fresh)
    figures = Path(args.figures) if args.figures else Path(args.out) / cfg.name / "figures"
    for method, tab in tables.items():
        stem = figures / f"sensitivity_{method}"
        save(*sensitivity_bars(tab, method), stem, f"sensitivity_{method}")
        top = tab[tab["index"] == ("mu_star" if method == "morris" else "ST")]
        best = top.sort_values("value", ascending=False).groupby("output").head(3)
        print(f"{method}: top parameters per output\n{best.round(3).to_string(index=False)}\n")
    print(f"figures in {figures}")
    return EXIT_OK


# ---------------------------------------------------------------------------- the parser
def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, width=HELP_WIDTH, max_help_position=30)


def _version() -> str:
    from importlib import metadata
    try:
        return metadata.version("borderscen")
    except metadata.PackageNotFoundError:
        return "0+unknown"


#: The options several commands share, each with one meaning, defined once. A command takes
#: the ones it lists in :func:`common`; ``{default}`` in a help text is that command's default.
COMMON_OPTIONS: dict[str, tuple[str, dict]] = {
    "out": ("--out", {"type": Path, "metavar": "DIR",
                      "help": "folder this command writes its results into (default {default})"}),
    "executor": ("--executor", {"choices": EXECUTORS,
                                "help": "where the runs execute: serial (this process), process (a "
                                        "local process pool) or dask (a local cluster, or the one "
                                        "at --scheduler) (default: {default})"}),
    "workers": ("--workers", {"type": positive_int, "metavar": "N",
                              "help": "worker processes, >= 1 (default: {default})"}),
    "scheduler": ("--scheduler", {"metavar": "ADDR",
                                  "help": "address of a running Dask scheduler to run on, e.g. "
                                          "tcp://10.0.0.5:8786 (implies --executor dask)"}),
    "quiet": ("--quiet", {"action": "store_true",
                          "help": "show no progress on standard error"}),
    "json": ("--json", {"action": "store_true",
                        "help": "print the result as JSON on standard output instead of tables"}),
}
#: The common options of every command that runs the model at length.
LONG_RUNNING = ("executor", "workers", "scheduler", "quiet")


def common(p: argparse.ArgumentParser, *names: str, **defaults: str) -> None:
    """Attach the shared options ``names`` to ``p``; ``defaults`` gives the default each help
    names (``out="results/backtest"``), as shown; the value itself defaults to None."""
    for name in names:
        flag, kwargs = COMMON_OPTIONS[name]
        kwargs = dict(kwargs)
        kwargs["help"] = kwargs["help"].format(default=defaults.get(name, "one per core"
                                                                    if name == "workers" else ""))
        p.add_argument(flag, **kwargs)


def _epilog(examples: Sequence[str]) -> str:
    lines = "\n".join(f"  {e}" for e in examples)
    return f"example{'s' if len(examples) > 1 else ''}:\n{lines}\n\n{EXIT_CODES}"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="borderscen", formatter_class=_formatter, description=(
        "Scenario simulation of Iraq-Syria border security cooperation after Assad. "
        "Exploratory scenarios, not forecasts."),
        epilog=_epilog(["borderscen run experiments/smoke.toml", "borderscen run --help"]))
    ap.add_argument("--version", action="version", version=f"borderscen {_version()}",
                    help="print the version and exit")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND",
                            help="one of (each has its own --help):")

    def add(name: str, help: str, examples: Sequence[str]) -> argparse.ArgumentParser:
        """A subcommand with the shared shape: description, options, examples, exit status."""
        description = textwrap.fill(help[0].upper() + help[1:] + ".", HELP_WIDTH)
        return sub.add_parser(name, help=help, description=description, epilog=_epilog(examples),
                              formatter_class=_formatter)

    p = add("params", "the parameter registry with provenance; one parameter in full with NAME",
            ["borderscen params --group isis", "borderscen params attack_rate_iraq"])
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="one parameter: default, range, unit, basis and its evidence")
    common(p, "json")
    p.add_argument("--long", action="store_true", help="include each parameter's meaning")
    p.add_argument("--group", help="only one group (coalition, baghdad, isis, ...)")
    p.set_defaults(func=cmd_params)

    p = add("evidence", "the evidence table and its sources", ["borderscen evidence --source un"])
    common(p, "json")
    p.add_argument("--source", metavar="ID",
                   help="only evidence from this source (its id, or the first characters of it)")
    p.set_defaults(func=cmd_evidence)

    p = add("scenarios", "scenario presets", ["borderscen scenarios --diff covert_channel"])
    p.add_argument("--diff", metavar="PRESET", help="show how PRESET differs from baseline")
    common(p, "json")
    p.set_defaults(func=cmd_scenarios)

    p = add("run", "run an experiment (a config file, or presets with --preset), store the "
                   "results, draw figures",
            ["borderscen run experiments/three_scenarios.toml --workers 2",
             "borderscen run --preset baseline --set coalition_isr=0.3 --replications 50"])
    p.add_argument("config", type=Path, nargs="?",
                   help="experiment config (TOML, see experiments/*.toml); or use --preset")
    p.add_argument("--preset", action="append", metavar="NAME",
                   help="run this preset without a config file (repeat for several scenarios)")
    p.add_argument("--set", action="append", type=setting, metavar="KEY=VALUE",
                   help="override a parameter in every scenario, e.g. --set coalition_isr=0.3 "
                        "(repeatable)")
    p.add_argument("--replications", type=positive_int, metavar="N",
                   help="replications per scenario and design point (default: the config's; "
                        "100 with --preset)")
    p.add_argument("--particles", type=int, metavar="N",
                   help="with a filtered start, the fewest particles the filter runs; the runs "
                        "continue a random set of them (default: the config's, else as many as "
                        "replications; 0: as many as replications)")
    p.add_argument("--horizon-months", type=positive_int, metavar="N",
                   help="months to simulate (default: the config's, or the model's default)")
    p.add_argument("--seed", type=int, help="root seed (default: the config's; 1 with --preset)")
    p.add_argument("--name", help="experiment name (default: the config's, or the preset names)")
    common(p, "out", *LONG_RUNNING, out="results/<experiment name>",
           executor="the config's [experiment].executor, process unless set")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", dest="fresh", action="store_false", default=False,
                   help="continue an interrupted batch, or reuse a finished one (default)")
    g.add_argument("--fresh", dest="fresh", action="store_true",
                   help="discard this folder's earlier results (only files borderscen wrote)")
    p.add_argument("--allow-failures", action="store_true",
                   help=f"exit 0 even when some runs failed (default: exit {EXIT_RUNS_FAILED})")
    p.add_argument("--strict", action="store_true",
                   help="refuse to repair a damaged results folder (exit 2) instead of repairing "
                        "it; repairs are always reported and logged in manifest.json")
    p.add_argument("--retries", type=int, default=0, metavar="N",
                   help="when a worker process dies (e.g. out of memory), run its chunks again up "
                        "to N times (default 0: stop, and resume later)")
    p.add_argument("--accept-changed-inputs", action="store_true",
                   help="resume a partial batch even though the parameter registry, posterior, "
                        "history, code or Python/numpy/borderscen version changed since it began "
                        "(default: refuse, naming the change); the change is logged in manifest.json")
    p.add_argument("--figures", type=Path, help="figure folder (default <results>/figures)")
    p.add_argument("--no-figures", action="store_true", help="store results only")
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=["png"],
                   help="figure formats (each figure also gets its CSV)")
    p.set_defaults(func=cmd_run)

    p = add("summarize", "end-state outcomes per scenario (and design point) of a results folder",
            ["borderscen summarize results/smoke --interval 0.5"])
    p.add_argument("results", type=Path, help="a finished results folder, e.g. results/smoke")
    p.add_argument("--interval", type=fraction, default=0.9, metavar="P",
                   help="central interval as a fraction between 0 and 1 (default 0.9, a 90%% "
                        "interval)")
    p.set_defaults(func=cmd_summarize)

    p = add("reproduce", "run (or reuse) the experiments and redraw all figures",
            ["borderscen reproduce --only three_scenarios election_shock"])
    p.add_argument("--experiments", type=Path, default=Path("experiments"),
                   help="folder of experiment configs (default experiments)")
    common(p, "out", *LONG_RUNNING, out="results; each experiment in <out>/<name>",
           executor="each config's [experiment].executor, process unless set")
    p.add_argument("--figures", type=Path,
                   help="figures root: <figures>/<name> (default <out>/<name>/figures)")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="experiment names (default: all but smoke)")
    p.add_argument("--fresh", action="store_true",
                   help="re-run even when finished results of the same config exist")
    p.add_argument("--strict", action="store_true",
                   help="refuse to repair a damaged results folder (exit 2) instead of repairing it")
    p.add_argument("--allow-failures", action="store_true",
                   help=f"exit 0 even when some runs failed (default: exit {EXIT_RUNS_FAILED})")
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=["png"],
                   help="figure formats (each figure also gets its CSV)")
    p.set_defaults(func=cmd_reproduce, out=Path("results"))

    p = add("validate", "in-sample coverage, the 2025-26 hold-outs scored once under the pre-registered "
                        "rules (docs/scoring.md), and the stylized facts (exit 1 if a fact fails, or "
                        "still holds with its mechanism off)",
            ["borderscen validate --json > results/validate.json",
             "borderscen validate --facts-only --replications 100 --out results/validate"])
    p.add_argument("--replications", type=positive_int, default=300, metavar="N",
                   help="replications per fact arm, paired across arms (default 300)")
    p.add_argument("--replications-insample", type=positive_int, default=300, metavar="N",
                   help="posterior predictive runs for the in-sample coverage (default 300)")
    p.add_argument("--particles", type=positive_int, default=1000, metavar="N",
                   help="particles of the filter for the hold-out forecasts (default 1000, as "
                        "`borderscen backtest`)")
    p.add_argument("--seed", type=int, default=1,
                   help="root seed of the facts and in-sample runs (default 1)")
    p.add_argument("--seed-holdout", type=int, default=2023,
                   help="root seed of the hold-out forecasts (default 2023: the backtest's rows)")
    p.add_argument("--facts-only", action="store_true", help="skip the in-sample and hold-out tables")
    p.add_argument("--no-switch-off", action="store_true", help="skip the switched-off runs")
    common(p, "out", "json", *LONG_RUNNING,
           out="none; with --out the tables, facts.csv, insample.csv and holdout.csv, and "
               "verdict.json go there", executor="process")
    p.set_defaults(func=cmd_validate)

    p = add("backtest", "the rolling-origin backtest: filter the record to each quarterly origin, forecast "
                        "12 months, score against naive baselines (docs/scoring.md)",
            ["borderscen backtest --particles 500 --out results/backtest"])
    p.add_argument("--particles", type=positive_int, default=1000, metavar="N",
                   help="particles of the filter at each origin (default 1000)")
    p.add_argument("--seed", type=int, default=2023, help="root seed (default 2023)")
    p.add_argument("--first", default="2023-01", metavar="YYYY-MM", help="first origin (default 2023-01)")
    p.add_argument("--every", type=positive_int, default=3, metavar="MONTHS",
                   help="months between origins (default 3: quarterly)")
    common(p, "out", "json", *LONG_RUNNING, out="results/backtest; the verdict is always written "
                                                "to <out>/verdict.json",
           executor="process; the origins run side by side", workers="one per core, at most one "
                                                                      "per origin")
    p.add_argument("--figures", type=Path, help="figure folder (default <out>/figures)")
    p.add_argument("--no-figures", action="store_true", help="tables and JSON only")
    p.add_argument("--formats", nargs="+", choices=FORMATS, default=["png"],
                   help="figure formats (each figure also gets its CSV)")
    p.add_argument("--fresh", action="store_true", help="discard the origins already stored")
    p.set_defaults(func=cmd_backtest, out=Path("results/backtest"))

    p = add("calibrate", "fit the free parameters to the 2022-24 record (ABC-SMC with pyabc; each "
                         "prior is the registry's `prior` entry, see `borderscen params NAME`)",
            ["borderscen calibrate --workers 2", "borderscen calibrate --quick --out /tmp/calibration"])
    p.add_argument("--population", type=positive_int, default=1000, metavar="N",
                   help="particles per generation (default 1000)")
    p.add_argument("--generations", type=positive_int, default=20, metavar="N",
                   help="most ABC-SMC generations (default 20)")
    p.add_argument("--quick", action="store_true", help="60 particles, 3 generations, for tests")
    p.add_argument("--seed", type=int, default=2022, help="root seed (default 2022)")
    p.add_argument("--fresh", action="store_true", help="start afresh instead of resuming history.db")
    p.add_argument("--fit-end", default="2024-12", metavar="YYYY-MM",
                   help="use only targets whose windows end by this month (default 2024-12, the whole fit "
                        "period; the backtest's base posterior uses 2022-12)")
    p.add_argument("--install", action="store_true",
                   help="ship the result: copy posterior.csv (with the observation model's dispersions "
                        "fitted on the same window) into the package, medians as registry defaults (with an "
                        "earlier --fit-end: ship it as that window's posterior, defaults unchanged); refused "
                        "when the last generation's effective sample size is under 5%% of the particles")
    common(p, "out", *LONG_RUNNING, out="results/calibration",
           executor="process; with one worker, this process")
    p.add_argument("--figures", type=Path, help="figure folder (default <out>/figures)")
    p.set_defaults(func=cmd_calibrate, out=Path("results/calibration"))

    p = add("sensitivity", "Morris screening and Sobol indices (SALib)",
            ["borderscen sensitivity experiments/sensitivity.toml --methods morris"])
    p.add_argument("config", type=Path, help="a sensitivity config (ranges in [sweep.parameters])")
    p.add_argument("--methods", nargs="+", choices=["morris", "sobol"], default=["morris", "sobol"],
                   help="which analyses (default both)")
    common(p, "out", *LONG_RUNNING, out="results; each design in <out>/<name>_<method>",
           executor="the config's [experiment].executor, process unless set")
    p.add_argument("--figures", type=Path, help="figure folder (default <out>/<name>/figures)")
    p.add_argument("--fresh", action="store_true", help="discard earlier results of these designs")
    p.set_defaults(func=cmd_sensitivity, out=Path("results"))

    p = add("explore", "the interactive explorer in the browser (needs the [viz] extra)",
            ["borderscen explore --open", "borderscen explore --mesa --port 8766"])
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port to listen on (default 8765)")
    p.add_argument("--open", action="store_true", help="open a browser tab on the explorer")
    p.add_argument("--mesa", action="store_true",
                   help="serve the one-run view in Mesa's SolaraViz instead of the full explorer")
    p.set_defaults(func=cmd_explore)
    from borderscen.interfaces import cli_explore
    cli_explore.register(add, common)  # discover, robustness
    return ap


def cmd_explore(args) -> int:
    from borderscen.interfaces.explorer import serve
    return serve(args.host, args.port, args.open, app="mesa" if args.mesa else "explorer")


def _error(message: str) -> None:
    print(f"error: {message}" if "\n" not in message else
          "error: problems found:\n  " + message.replace("\n", "\n  "), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # usage errors exit 2 here
    args.argv = list(sys.argv[1:] if argv is None else (str(a) for a in argv))
    try:
        status = args.func(args)
    except BorderscenError as exc:
        _error(str(exc))
        # reproduce.FiguresNotDrawn: the results were stored, only the figures failed
        return EXIT_FIGURES_FAILED if getattr(exc, "results_safe", False) else EXIT_BAD_INPUT
    except ImportError as exc:  # an optional extra is missing
        _error(str(exc))
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head`
        return EXIT_OK
    except OSError as exc:  # a full or read-only disk, a missing folder: no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return int(status or 0)


#: After an interrupt, the most the interpreter's teardown may take (seconds) before the command
#: ends anyway: everything is written by then.
TEARDOWN_LIMIT_S = 10.0


def _bounded_teardown(status: int, limit: float) -> None:
    """End the process with ``status`` if the interpreter's teardown takes longer than ``limit``
    seconds. After an interrupt it joins the stopped pool's threads; a thread that never ends
    (e.g. one blocked writing to a pipe whose reader was killed) would keep the command alive
    with nothing left to do. A daemon thread, so a teardown that finishes in time ends first."""
    import os
    import threading

    def end() -> None:
        time.sleep(limit)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)

    threading.Thread(target=end, name="borderscen-teardown", daemon=True).start()


def console() -> None:
    """The ``borderscen`` command: :func:`main`, then exit with its status. After an interrupt
    everything is written before ``main`` returns, so a second Ctrl-C in the interpreter's
    teardown (joining the pool's threads), or while ``main`` returns, is ignored instead of
    printing a traceback, and the teardown is given :data:`TEARDOWN_LIMIT_S` at most."""
    try:
        status = main()
    except KeyboardInterrupt:  # a second Ctrl-C as main was returning from the first
        status = EXIT_INTERRUPTED
    if status == EXIT_INTERRUPTED:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        _bounded_teardown(status, TEARDOWN_LIMIT_S)
    sys.exit(status)


if __name__ == "__main__":
    console()
