"""`borderscen reproduce`: run (or reuse) every experiment in ``experiments/`` and redraw the
complete figure set into ``results/<experiment>/figures/`` (the same place as `borderscen run`).

A finished results folder whose config hash matches is reused, so a second call with nothing
changed only redraws; results of another config or model version are replaced; an interrupted
batch of the same config resumes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from borderscen.errors import BorderscenError, ConfigError, ConfigErrors, unknown_name
from borderscen.experiments.config import load_config
from borderscen.experiments.runner import default_out, run_experiment
from borderscen.experiments.store import Results, state
from borderscen.interfaces import FIGURE_PRELOAD
from borderscen.plots import draw_standard_figures

#: Experiments that exist for testing, not for the figure set.
SKIP_BY_DEFAULT = ("smoke",)


class FiguresNotDrawn(BorderscenError):
    """The results are stored and verified; only drawing the figures (or the summary) failed."""

    results_safe = True

    def __init__(self, results: str | Path, figures: str | Path, exc: BaseException, redraw: str):
        if isinstance(exc, OSError) and exc.strerror:
            reason = f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror}"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        self.results, self.figures, self.redraw = Path(results), Path(figures), redraw
        super().__init__(
            f"the figures could not be drawn into {figures} ({reason}).\n"
            f"The results are stored and safe in {results} (manifest.json and the Parquet "
            "tables; borderscen.load_results reads them): nothing needs to run again.\n"
            f"Redraw the figures with: {redraw}")


def draw_or_explain(results: Results, figures: Path, formats: Sequence[str], redraw: str) -> list[Path]:
    """Draw the standard figures; a failure says the results are safe and how to redraw."""
    try:
        return draw_standard_figures(results, figures, formats=formats)
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - whatever broke, the stored results are intact
        raise FiguresNotDrawn(results.root, figures, exc, redraw) from exc


def figures_of(results_dir: str | Path, name: str, figures_dir: str | Path | None = None) -> Path:
    """Where an experiment's figures go: <results>/<name>/figures, or <figures_dir>/<name>."""
    return Path(figures_dir) / name if figures_dir is not None else Path(results_dir) / name / "figures"


def reproduce(experiments_dir: str | Path = "experiments", results_dir: str | Path = "results",
              figures_dir: str | Path | None = None, only: list[str] | None = None,
              executor: str | None = None, workers: int | None = None, fresh: bool = False,
              progress: bool | None = None, log=print, scheduler: str | None = None,
              formats: Sequence[str] = ("png",), strict: bool = False,
              notes=None) -> dict[str, list[Path]]:
    """Returns the figure files written per experiment (``Results(<results>/<name>).failures``
    lists any failed runs). ``notes`` gets the store's reports (repairs, clean-ups; default
    ``log``); ``strict`` refuses to repair a damaged folder."""
    folder = Path(experiments_dir)
    if not folder.is_dir():
        raise ConfigError("reproduce", "--experiments", str(folder), "not a folder of *.toml configs")
    configs = sorted(folder.glob("*.toml"))
    if not configs:
        raise ConfigError("reproduce", "--experiments", str(folder), "holds no *.toml configs")
    loaded = [load_config(path) for path in configs]  # every config checked before any run
    names = [c.name for c in loaded]
    twice = [ConfigError(path, "experiment.name", cfg.name,
                         f"also the name of {configs[names.index(cfg.name)]}: both would write "
                         f"{Path(results_dir) / cfg.name}; give each experiment its own name")
             for i, (path, cfg) in enumerate(zip(configs, loaded, strict=True))
             if names.index(cfg.name) != i]
    if twice:
        raise ConfigErrors(twice)
    for name in only or []:
        if name not in names:
            raise unknown_name("reproduce --only", "--only", name, names, "experiment")
    written: dict[str, list[Path]] = {}
    for path, cfg in zip(configs, loaded, strict=True):
        if cfg.sweep is not None and cfg.sweep.method in ("sobol", "morris"):
            if only and cfg.name in only:
                log(f"{cfg.name}: a sensitivity design; run `borderscen sensitivity {path}`")
            continue  # sensitivity designs are drawn by `borderscen sensitivity`
        if (only and cfg.name not in only) or (not only and cfg.name in SKIP_BY_DEFAULT):
            continue
        out = default_out(cfg, results_dir)
        found = state(out, cfg.content_hash())
        if not fresh and found == "complete":
            log(f"{cfg.name}: reusing finished results in {out}")
            results = Results(out)
        else:
            why = {"stale": " (earlier results came from another config or model version)",
                   "partial": " (resuming)",
                   "corrupt": " (its tables did not match its manifest: repairing)"}.get(found, "")
            log(f"{cfg.name}: running {path}{why}")
            results = run_experiment(cfg, out=out, executor=executor, workers=workers,
                                     scheduler=scheduler, fresh=fresh or found == "stale", progress=progress,
                                     strict=strict, log=notes or log, preload=FIGURE_PRELOAD)
        if results.failures:
            log(f"{cfg.name}: {len(results.failures)} runs failed (see {out / 'manifest.json'})")
        figs = figures_of(results_dir, cfg.name, figures_dir)
        redraw = (f"borderscen reproduce --experiments {folder} --out {results_dir} --only {cfg.name}"
                  " --figures DIR")
        files = draw_or_explain(results, figs, formats, redraw) \
            if results.manifest["counts"]["succeeded"] else []
        written[cfg.name] = files
        log(f"{cfg.name}: {sum(f.suffix == '.png' for f in files)} figures -> {figs}")
    if not written:
        print("nothing to reproduce (check --only)", file=sys.stderr)
    return written
