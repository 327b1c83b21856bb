"""The runner: one pure function per run, mapped in chunks over any concurrent.futures executor.

Serial, a local process pool (default) and a Dask cluster give bit-identical tables, because each
run depends only on its (scenario, parameters, seed) and the store sorts rows by run.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from borderscen.errors import ConfigError, ExecutorError
from borderscen.experiments.config import ExperimentConfig, check_name, load_config, scenario_of
from borderscen.experiments.design import RunSpec, expand
from borderscen.experiments.store import MANIFEST, Results, ResultsStore, state
from borderscen.model import BorderModel
from borderscen.scenarios import Scenario

MAX_CHUNK = 50
CHUNKS_PER_WORKER = 6


# ---------------------------------------------------------------------------- one run
@dataclass
class RunOutput:
    timeseries: pd.DataFrame
    zones: pd.DataFrame
    summary: dict[str, Any]


def summarise(ts: pd.DataFrame, zones: pd.DataFrame) -> dict[str, Any]:
    """End-of-run outcomes (one row per run in ``runs.parquet``)."""
    attacks = ts["attacks_iraq"] + ts["attacks_syria"]
    deserts = zones[zones["zone"].isin(["anbar_desert", "nineveh_desert"])]
    return {
        "cum_attacks": int(attacks.sum()),
        "cum_attacks_iraq": int(ts["attacks_iraq"].sum()),
        "cum_attacks_syria": int(ts["attacks_syria"].sum()),
        "cum_attacks_reported": int(ts["attacks_reported"].sum()),
        "cum_attacks_anbar_nineveh": int(deserts["attacks"].sum()),
        "final_isis_fighters": int(ts["isis_fighters"].iloc[-1]),
        "peak_isis_fighters": int(ts["isis_fighters"].max()),
        "cum_smuggling": float(ts["smuggling_flow"].sum()),
        "cum_interdictions": float(ts["interdictions"].sum()),
        "cum_joint_operations": int(ts["joint_operations"].sum()),
        "mean_cooperation": float(ts["cooperation"].mean()),
        "final_cooperation": float(ts["cooperation"].iloc[-1]),
        "final_regime": str(ts["regime"].iloc[-1]),
        "months_partnership": int((ts["regime"] == "partnership").sum()),
        "months_limited": int((ts["regime"] == "limited").sum()),
        "months_deterioration": int((ts["regime"] == "deterioration").sum()),
        "final_pipeline_stage": int(ts["pipeline_stage"].iloc[-1]),
        "pipeline_operating": bool(ts["pipeline_stage"].iloc[-1] >= 4),
        "breakouts": int(ts["breakouts"].sum()),
        "final_faction_balance": float(ts["faction_balance"].iloc[-1]),
        "final_iran_influence": float(ts["iran_influence"].iloc[-1]),
    }


def run_one(scenario: Scenario, seed: int, horizon_months: int, start: str) -> RunOutput:
    """Run one (scenario, parameters, seed) to the horizon. Pure: same inputs, same outputs."""
    model = BorderModel(scenario, seed=seed, horizon_months=horizon_months, start=start)
    try:
        ts = model.run()
        zones = model.zone_frame()
    finally:
        model.release()
    zones["date"] = ts["date"].to_numpy()[zones["step"].to_numpy() - 1]
    return RunOutput(ts, zones, summarise(ts, zones))


# ---------------------------------------------------------------------------- chunks
@dataclass(frozen=True)
class Chunk:
    """What a worker needs for a group of runs (plain data: picklable, no config objects)."""

    index: int
    experiment: str
    runs: tuple[tuple[RunSpec, str, Scenario, dict[str, float]], ...]
    horizon_months: int
    start: str
    outputs: tuple[str, ...]


def _identity(chunk: Chunk, spec: RunSpec, label: str, point: dict[str, float]) -> dict[str, Any]:
    return {"experiment": chunk.experiment, "run": spec.index, "scenario": label, "point": spec.point,
            "replication": spec.replication, "seed": spec.seed, **point}


def _with_identity(frames: list[pd.DataFrame], idents: list[dict[str, Any]]) -> pd.DataFrame:
    """Stack per-run frames and prepend each run's identity columns (one concat per chunk)."""
    if not frames:
        return pd.DataFrame()
    body = pd.concat(frames, ignore_index=True)
    rows = np.repeat(np.arange(len(idents)), [len(f) for f in frames])
    ident = pd.DataFrame(idents).iloc[rows].reset_index(drop=True)
    return pd.concat([ident, body], axis=1)


def run_chunk(chunk: Chunk) -> dict[str, Any]:
    """Run every run of a chunk; a failing run is recorded with its error and the rest go on."""
    ts_frames, zone_frames, idents, rows = [], [], [], []
    columns = ["step", "date", *chunk.outputs]
    for spec, label, scenario, point in chunk.runs:
        ident = _identity(chunk, spec, label, point)
        t0 = time.perf_counter()
        try:
            out = run_one(scenario, spec.seed, chunk.horizon_months, chunk.start)
        except Exception as exc:  # recorded, not raised: one bad run must not stop a batch
            rows.append({**ident, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                         "traceback": traceback.format_exc(limit=5), "elapsed_s": 0.0})
            continue
        elapsed = time.perf_counter() - t0
        ts_frames.append(out.timeseries[columns])
        zone_frames.append(out.zones)
        idents.append(ident)
        rows.append({**ident, "status": "ok", "error": "", "traceback": "", "elapsed_s": elapsed,
                     **out.summary})
    return {
        "index": chunk.index,
        "timeseries": _with_identity(ts_frames, idents),
        "zones": _with_identity(zone_frames, idents),
        "runs": pd.DataFrame(rows),
    }


def make_chunks(cfg: ExperimentConfig, points, runs: list[RunSpec], size: int) -> list[Chunk]:
    built = {}
    items = []
    for spec in runs:
        key = (spec.scenario, spec.point)
        if key not in built:
            sc = cfg.scenarios[spec.scenario]
            built[key] = (sc.label, scenario_of(sc, points[spec.point], cfg.calibration_values),
                          points[spec.point])
        label, scenario, point = built[key]
        items.append((spec, label, scenario, point))
    exp = cfg.experiment
    return [Chunk(i // size, cfg.name, tuple(items[i:i + size]), exp.horizon_months, exp.start,
                  cfg.outputs) for i in range(0, len(items), size)]


def auto_chunk_size(n_runs: int, workers: int) -> int:
    return max(1, min(MAX_CHUNK, math.ceil(n_runs / (max(workers, 1) * CHUNKS_PER_WORKER))))


# ---------------------------------------------------------------------------- executors
class SerialExecutor(Executor):
    """Runs each task when submitted: the reference executor, and easy to debug."""

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            fut.set_exception(exc)
        return fut


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_workers(workers: Any, where: str = "workers") -> int | None:
    """None (use the default) or a whole number >= 1; numpy integers are accepted."""
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ConfigError(where, "workers", workers, "allowed: a whole number >= 1 (or leave it "
                                                     "out for one worker per core)")
    return int(workers)


def _watch_parent(parent: int, every: float = 1.0) -> None:
    """Worker initializer: exit when the process that started the batch is gone, so no worker
    outlives a killed parent (a forkserver worker's own parent is the fork server)."""
    import threading

    def watch() -> None:
        while True:
            time.sleep(every)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # the pid now belongs to someone else: the parent is gone
                os._exit(1)

    threading.Thread(target=watch, name="borderscen-parent-watch", daemon=True).start()


POOL_HINT = ("the worker processes could not start or died. A script that runs a batch with the "
             "process pool must guard its top level with `if __name__ == \"__main__\":` (workers "
             "import the script); or use executor=\"serial\"")


@contextlib.contextmanager
def make_executor(kind: str | Executor, workers: int = 0, scheduler: str | None = None,
                  dashboard: str | None = None) -> Iterator[Executor]:
    """serial | process (local pool) | dask (``scheduler`` address, or a local cluster), or any
    ``concurrent.futures.Executor`` instance (used as given, not shut down).

    A local Dask cluster has no dashboard unless ``dashboard`` names an address (use
    ``127.0.0.1:8787``; a bare port binds to 127.0.0.1).
    """
    if isinstance(kind, Executor):
        yield kind
        return
    workers = workers or default_workers()
    if kind == "serial":
        yield SerialExecutor()
    elif kind == "process":
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["borderscen.experiments.runner"])
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_watch_parent,
                                 initargs=(os.getpid(),)) as pool:
            yield pool
    elif kind == "dask":
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ImportError("the dask executor needs: pip install 'borderscen[dask]'") from exc
        if scheduler:
            with Client(scheduler) as client:
                yield client.get_executor(pure=False)
        else:
            # The scheduler always starts an HTTP server (health routes), on port 8787 of every
            # interface unless told otherwise: keep it on a free loopback port, dashboard off.
            if dashboard is not None and ":" not in str(dashboard):
                dashboard = f"127.0.0.1:{dashboard}"
            with (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=dashboard or "127.0.0.1:0", host="127.0.0.1",
                               scheduler_kwargs=None if dashboard else {"dashboard": False},
                               worker_dashboard_address=None) as cluster,
                  Client(cluster) as client):
                yield client.get_executor(pure=False)
    else:
        raise ConfigError("executor", "executor", kind, "allowed: serial, process, dask, or a "
                                                        "concurrent.futures.Executor")


# ---------------------------------------------------------------------------- provenance
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5,
                          check=True).stdout.strip()


def _git_commit(package_dir: Path | None = None) -> str | None:
    """The project's commit (with ``-dirty`` when tracked files changed), or None when the code
    does not run from borderscen's own repository (e.g. installed inside some other repo)."""
    here = package_dir or PACKAGE_DIR
    try:
        top = Path(_git("rev-parse", "--show-toplevel", cwd=here)).resolve()
        if here.resolve() != top / "src" / "borderscen" or not (top / "pyproject.toml").is_file():
            return None
        if 'name = "borderscen"' not in (top / "pyproject.toml").read_text(encoding="utf-8"):
            return None
        out = _git("rev-parse", "HEAD", cwd=top)
        dirty = _git("status", "--porcelain", "--untracked-files=no", cwd=top)
        return out + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("borderscen", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic",
                "matplotlib", "dask", "distributed", "SALib"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[pkg] = metadata.version(pkg)
    return out


# ---------------------------------------------------------------------------- the batch
log = logging.getLogger(__name__)


def default_out(cfg: ExperimentConfig, results_root: str | Path = "results") -> Path:
    """``<results_root>/<experiment name>``; the name is a checked safe name, and the folder is
    checked to stay inside the root."""
    root = Path(results_root)
    out = root / check_name(cfg.name, cfg.source, "experiment.name")
    if not out.resolve().is_relative_to(root.resolve()):
        raise ConfigError(cfg.source, "experiment.name", cfg.name,
                          f"would write outside the results folder {root}")
    return out


def run_experiment(config: ExperimentConfig | str | Path, out: str | Path | None = None,
                   executor: str | Executor | None = None, workers: int | None = None,
                   scheduler: str | None = None, fresh: bool = False,
                   progress: bool | None = None) -> Results:
    """Run (or resume, or reuse) a whole experiment and return its results.

    ``out`` is the results folder (default ``results/<experiment name>``); it must be new, empty
    or a borderscen results folder, and only one process may write it at a time. A finished
    folder of the same config is reused after checking its tables against its manifest; one of
    another config is refused unless ``fresh``. Failed runs are recorded, not raised: see
    ``Results.failures``. ``progress=None`` shows a bar on a terminal and stays quiet in CI.
    """
    cfg = config if isinstance(config, ExperimentConfig) else load_config(config)
    if executor is not None and not isinstance(executor, str | Executor):
        raise ConfigError("run_experiment", "executor", executor,
                          "allowed: serial, process, dask, or a concurrent.futures.Executor")
    kind = executor or ("dask" if scheduler else cfg.experiment.executor)
    workers = check_workers(workers)
    n_workers = 1 if kind == "serial" else (workers or cfg.experiment.workers or default_workers())
    root = Path(out) if out is not None else default_out(cfg)
    points, runs = expand(cfg)
    config_hash = cfg.content_hash()
    with ResultsStore(root) as store:
        if not fresh and store.finished(config_hash):
            return Results(root)
        if not fresh and (root / MANIFEST).exists():
            found = state(root, config_hash)
            if found == "corrupt":
                log.warning("%s: the tables do not match the manifest; re-running the batch "
                            "from its parts and seeds", root)
                store.invalidate()
        size = cfg.experiment.chunk_size or auto_chunk_size(len(runs), n_workers)
        size = store.prepare(config_hash, size, math.ceil(len(runs) / size), fresh, len(runs))
        chunks = make_chunks(cfg, points, runs, size)
        done = store.done_chunks()
        todo = [c for c in chunks if c.index not in done]
        timings = _run_chunks(cfg, store, todo, len(runs), kind, n_workers, scheduler, progress)
        timings["resumed_chunks"] = len(done)
        store.finalize(lambda table: _manifest(cfg, config_hash, points, runs, table, kind,
                                               n_workers, size, timings), ["run"])
    return Results(root)


def _run_chunks(cfg: ExperimentConfig, store: ResultsStore, todo: list[Chunk], n_runs: int,
                kind: str | Executor, n_workers: int, scheduler: str | None,
                progress: bool | None) -> dict[str, float]:
    t_start = time.perf_counter()
    model_s = write_s = 0.0
    show = (not os.environ.get("CI")) and (progress if progress is not None else None)
    bar = tqdm(total=n_runs, initial=n_runs - sum(len(c.runs) for c in todo), unit="run",
               desc=cfg.name, disable=(show is None and not sys.stderr.isatty()) or show is False,
               dynamic_ncols=True)
    try:
        with make_executor(kind, n_workers, scheduler) as pool:
            # No list of futures is kept: as_completed drops each one once it is yielded, so a
            # chunk's tables are freed after they are written (parent memory stays flat).
            for fut in as_completed([pool.submit(run_chunk, c) for c in todo]):
                result = fut.result()
                t0 = time.perf_counter()
                store.write_chunk(result["index"], result)
                write_s += time.perf_counter() - t0
                model_s += float(result["runs"]["elapsed_s"].sum())
                bar.update(len(result["runs"]))
    except BrokenProcessPool:
        raise ExecutorError(f"{cfg.name}: {POOL_HINT}. Finished chunks are saved in {store.root}; "
                            "run again to resume") from None
    except KeyboardInterrupt:
        bar.close()
        saved = len(store.done_chunks())
        print(f"\ninterrupted: {saved} chunks saved in {store.root}; "
              "run the same command again to resume", file=sys.stderr)
        raise
    finally:
        bar.close()
    wall = time.perf_counter() - t_start
    return {"run_wall_s": wall, "model_s": model_s, "write_s": write_s}


def _manifest(cfg: ExperimentConfig, config_hash: str, points, runs, table: pd.DataFrame,
              kind: str | Executor, workers: int, chunk_size: int,
              timings: dict[str, float]) -> dict[str, Any]:
    failed = table[table["status"] == "failed"] if len(table) else table
    n = len(runs)
    return {
        "experiment": cfg.name,
        "description": cfg.experiment.description,
        "source": cfg.source,
        "config": cfg.model_dump(mode="json"),
        "calibration_values": cfg.calibration_values,
        "config_hash": config_hash,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "git_commit": _git_commit(),
        "versions": versions(),
        "executor": kind if isinstance(kind, str) else type(kind).__name__,
        "workers": workers,
        "chunk_size": chunk_size,
        "root_seed": cfg.experiment.seed,
        "seeds": list(dict.fromkeys(r.seed for r in runs)),  # one per replication, in order
        "scenarios": [s.label for s in cfg.scenarios],
        "swept": list(cfg.swept),
        "design_points": points,
        "outputs": list(cfg.outputs),
        "counts": {"runs": n, "succeeded": int(len(table) - len(failed)), "failed": int(len(failed)),
                   "scenarios": len(cfg.scenarios), "points": len(points),
                   "replications": cfg.experiment.replications},
        "failures": failed[["run", "scenario", "point", "replication", "seed", "error"]]
        .astype({"scenario": str}).to_dict("records") if len(failed) else [],
        "timings": {**timings, "runs_per_s": n / timings["run_wall_s"] if timings["run_wall_s"] else None},
    }
