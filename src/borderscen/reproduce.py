"""`borderscen reproduce`: run (or reuse) every experiment in ``experiments/`` and redraw the
complete figure set into ``figures/<experiment>/``.

A finished results folder whose config hash matches is reused, so a second call with nothing
changed only redraws; results of another config or model version are replaced; an interrupted
batch of the same config resumes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from borderscen.experiments.config import load_config
from borderscen.experiments.runner import run_experiment
from borderscen.experiments.store import Results, state
from borderscen.plots import draw_standard_figures

#: Experiments that exist for testing, not for the figure set.
SKIP_BY_DEFAULT = ("smoke",)


def reproduce(experiments_dir: str | Path = "experiments", results_dir: str | Path = "results",
              figures_dir: str | Path = "figures", only: list[str] | None = None,
              executor: str | None = None, workers: int | None = None, fresh: bool = False,
              progress: bool | None = None, log=print,
              formats: Sequence[str] = ("png",)) -> dict[str, list[Path]]:
    """Returns the figure files written per experiment."""
    configs = sorted(Path(experiments_dir).glob("*.toml"))
    if not configs:
        raise FileNotFoundError(f"no experiment configs (*.toml) in {experiments_dir}")
    written: dict[str, list[Path]] = {}
    for path in configs:
        cfg = load_config(path)
        if cfg.sweep is not None and cfg.sweep.method in ("sobol", "morris"):
            continue  # sensitivity designs are drawn by `borderscen sensitivity`
        if (only and cfg.name not in only) or (not only and cfg.name in SKIP_BY_DEFAULT):
            continue
        out = Path(results_dir) / cfg.name
        found = state(out, cfg.content_hash())
        if not fresh and found == "complete":
            log(f"{cfg.name}: reusing finished results in {out}")
            results = Results(out)
        else:
            why = {"stale": " (earlier results came from another config or model version)",
                   "partial": " (resuming)"}.get(found, "")
            log(f"{cfg.name}: running {path}{why}")
            results = run_experiment(cfg, out=out, executor=executor, workers=workers,
                                     fresh=fresh or found == "stale", progress=progress)
        files = draw_standard_figures(results, Path(figures_dir) / cfg.name, formats=formats)
        written[cfg.name] = files
        log(f"{cfg.name}: {sum(f.suffix == '.png' for f in files)} figures -> "
            f"{Path(figures_dir) / cfg.name}")
    if not written:
        print("nothing to reproduce (check --only)", file=sys.stderr)
    return written
