"""The runner: one pure function per run, mapped in chunks over any concurrent.futures executor.

Serial, a local process pool (default) and a Dask cluster give bit-identical tables, because each
run depends only on its (scenario, parameters, seed) and the store sorts rows by run.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import importlib.util
import io
import json
import logging
import math
import multiprocessing
import multiprocessing.forkserver
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from borderscen.errors import ConfigError, ExecutorError
from borderscen.experiments.config import (
    INPUT_LABELS,
    ExperimentConfig,
    check_config,
    check_name,
    input_fingerprints,
    load_config,
    scenario_of,
)
from borderscen.experiments.design import RunSpec, expand
from borderscen.experiments.store import (
    MANIFEST,
    PARTS,
    EncodedChunk,
    Results,
    ResultsStore,
    atomic_write_bytes,
    atomic_write_json,
    encode_chunk,
    release_memory,
    run_ranges,
    state,
)
from borderscen.inputs.record import holdouts
from borderscen.inputs.scenarios import Scenario, build_scenario, check_start, history
from borderscen.inputs.space import border_map
from borderscen.kernel.core import (
    MONTHLY_OUTPUTS,
    Batch,
    BatchResult,
    Context,
    State,
    make_context,
    run_batch,
)
from borderscen.machine import cores
from borderscen.progress import Progress, ProgressView
from borderscen.runs import (
    STATE_FIELDS,
    Labels,
    StartState,
    calibrated_values,
    fill_start,
    label_array,
    labels_column,
    make_batch,
    monthly_columns,
    summaries,
    zone_columns,
)

#: Replications run together as arrays in one task. Bigger batches amortise numpy's per-call cost;
#: results do not depend on the batch size (each replication reads only its own random numbers).
MAX_CHUNK = 250
CHUNKS_PER_WORKER = 2
#: Zones whose attacks make up ``cum_attacks_desert``.
DESERT_ZONES = ("anbar_desert", "nineveh_desert", "badia", "abu_kamal", "deir_ezzor")


# ---------------------------------------------------------------------------- one batch
@dataclass(frozen=True)
class Chunk:
    """What a worker needs for a group of runs of one scenario, run together as arrays (plain
    data: picklable, no config objects). Runs of different design points share a chunk when
    their dated inputs agree (a sweep over uncertainties); each run keeps its own parameters."""

    index: int
    experiment: str
    label: str
    members: tuple[tuple[RunSpec, Scenario, dict[str, float]], ...]
    horizon_months: int
    outputs: tuple[str, ...]
    parameters: str = "posterior"
    #: With ``start = "filtered"``: the particles these runs continue, row i for member i
    #: (or, on a local pool, where the worker reads them: :class:`StoredStart`).
    start: StartState | StoredStart | None = None

    @property
    def runs(self) -> tuple[RunSpec, ...]:
        return tuple(spec for spec, _, _ in self.members)


def run_chunk(chunk: Chunk) -> dict[str, Any]:
    """Run a chunk's replications as one batch: its timeseries and zone tables as Arrow tables
    (the store's part files are made from them without pandas), its runs table as a DataFrame.
    A failing batch is retried run by run, so one bad run is recorded with its error and the
    rest still go on."""
    t0 = time.perf_counter()
    try:
        parts = [_run_batch(chunk, chunk.members, ARROW)]
    except Exception:  # noqa: BLE001 - isolate the failing run(s)
        parts = []
        for member in chunk.members:
            t1 = time.perf_counter()
            try:
                parts.append(_run_batch(chunk, (member,), ARROW))
            except Exception as exc:  # recorded, not raised: one bad run must not stop a batch
                row = {**_identity(chunk, member), "status": "failed", "posterior_draw": -1,
                       "error": f"{type(exc).__name__}: {exc}",
                       "traceback": traceback.format_exc(limit=5), "elapsed_s": time.perf_counter() - t1}
                parts.append({"timeseries": None, "zones": None, "runs": pd.DataFrame([row])})
    elapsed = time.perf_counter() - t0
    runs = pd.concat([p["runs"] for p in parts], ignore_index=True)
    ok = runs["status"] == "ok"
    runs.loc[ok, "elapsed_s"] = elapsed / max(int(ok.sum()), 1)
    return {"index": chunk.index, **{name: _concat_arrow([p[name] for p in parts if p[name] is not None])
                                     for name in ("timeseries", "zones")},
            "runs": runs}


def _concat_arrow(tables: list[Any]) -> Any:
    """One Arrow table of a chunk's batches (run by run after a failure); an empty table if
    none ran. A string column that is plain ``string`` in one (an object column, such as
    regimes with a code that is no regime) and ``large_string`` in another becomes the latter."""
    import pyarrow as pa
    if not tables:
        return pa.table({})
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")


@dataclass(frozen=True)
class StoredChunk:
    """What a worker sends back: its chunk ready for the store (whose row counts also move the
    progress bar), and its model time for the manifest's timings."""

    encoded: EncodedChunk
    model_s: float


def run_chunk_for_store(chunk: Chunk) -> StoredChunk:
    """``run_chunk``, with its tables encoded as the store's parts in the worker (in
    parallel, and far smaller to send than DataFrames)."""
    result = run_chunk(chunk)
    runs = result["runs"]
    return StoredChunk(encode_chunk(chunk.index, result), float(runs["elapsed_s"].sum()))


def _identity(chunk: Chunk, member) -> dict[str, Any]:
    spec, _, point = member
    return {"experiment": chunk.experiment, "run": spec.index, "scenario": chunk.label,
            "point": spec.point, "replication": spec.replication, "seed": spec.seed, **point}


def _arrow_table(columns: dict[str, Any]) -> Any:
    """An Arrow table of ordered columns, as ``pa.Table.from_pandas`` makes it of the same
    columns in a DataFrame: NaN (and NaT) become nulls, object columns are inferred."""
    import pyarrow as pa
    return pa.table({name: col if isinstance(col, pa.Array) else pa.array(col, from_pandas=True)
                     for name, col in columns.items()})


@dataclass(frozen=True)
class Tidy:
    """How a batch's long tables are made from their columns: string columns from codes
    (``labels``), and the table of ordered columns (``table``)."""

    labels: Labels
    table: Callable[[dict[str, Any]], Any]


#: DataFrames (:func:`run_one`), or Arrow tables (a chunk for the store: no pandas in between).
FRAMES = Tidy(labels_column, pd.DataFrame)
ARROW = Tidy(label_array, _arrow_table)


def _with_identity(columns: dict[str, Any], idents: pd.DataFrame, labels: Labels) -> dict[str, Any]:
    """The run's identity beside each row of a long table's columns (``replication``: each
    row's batch position, replaced by the identity). A swept parameter named like an output of
    this table (``us_troops_syria``, ``legitimacy_iraq``: a level set and the same level each
    month) is left to the output here; its swept value stays in the runs table and the design."""
    body = {k: v for k, v in columns.items() if k != "replication"}
    rows = np.asarray(columns["replication"])
    out: dict[str, Any] = {}
    for name in idents.columns:  # each run's identity repeated over its rows, column by column
        if name in body:
            continue
        col = idents[name]
        if pd.api.types.is_string_dtype(col.dtype) or col.dtype == object:
            codes, uniques = pd.factorize(col)
            out[name] = (labels(codes[rows], [str(u) for u in uniques])
                         if all(isinstance(u, str) for u in uniques) else col.to_numpy()[rows])
        else:
            out[name] = col.to_numpy()[rows]
    return {**out, **body}


def _run_batch(chunk: Chunk, members, tidy: Tidy = FRAMES) -> dict[str, Any]:
    start = None
    if chunk.start is not None:  # each run continues its own particle
        row = {spec.index: i for i, (spec, _, _) in enumerate(chunk.members)}
        start = chunk.start.take([row[spec.index] for spec, _, _ in members])
    batch, rows = make_batch([scenario for _, scenario, _ in members],  # shared dated inputs
                             [spec.seed for spec, _, _ in members], chunk.horizon_months,
                             chunk.parameters, draws=None if start is None else start.draws)
    if start is None:
        result = run_batch(batch)
    else:
        result = fill_start(run_batch(batch, initial=start.state, first_month=start.months), start)
    idents = pd.DataFrame([_identity(chunk, m) for m in members])
    columns = [c for c in chunk.outputs if c in MONTHLY_OUTPUTS]
    zmap = border_map()
    summary = summaries(result, np.isin(np.array(zmap.ids), DESERT_ZONES))
    runs = pd.concat([idents, pd.DataFrame({"status": "ok", "error": "", "traceback": "",
                                            "elapsed_s": 0.0, "posterior_draw": rows}),
                      summary], axis=1)
    monthly = monthly_columns(result, columns, tidy.labels)
    # a filtered start has no zone outputs before it (the filter keeps country totals): no rows
    zones = zone_columns(result, zmap.ids, tidy.labels, first=0 if start is None else start.months)
    return {"timeseries": tidy.table(_with_identity(monthly, idents, tidy.labels)),
            "zones": tidy.table(_with_identity(zones, idents, tidy.labels)), "runs": runs}


@dataclass
class RunOutput:
    """One run's monthly table, zone table and run-level summary."""

    timeseries: pd.DataFrame
    zones: pd.DataFrame
    summary: dict[str, Any]


def run_one(scenario: Scenario, seed: int, horizon_months: int, start: str = "2022-01",
            parameters: str = "posterior") -> RunOutput:
    """One run (what a chunk does for many): same scenario and seed, same numbers."""
    check_start(start)
    spec = RunSpec(0, 0, 0, 0, int(seed))
    chunk = Chunk(0, "single", scenario.name, ((spec, scenario, {}),), horizon_months,
                  tuple(MONTHLY_OUTPUTS), parameters)
    out = _run_batch(chunk, chunk.members)
    return RunOutput(out["timeseries"], out["zones"], out["runs"].iloc[0].to_dict())


# ---------------------------------------------------------------------------- chunks
def make_chunks(cfg: ExperimentConfig, points, runs: list[RunSpec], size: int) -> list[Chunk]:
    """Group runs by scenario and by their dated inputs (design points that differ only in
    uncertainties share them), then cut each group into batches of ``size``."""
    built: dict[tuple[int, int], tuple[Scenario, str]] = {}  # once per scenario and point
    groups: dict[tuple[int, str], list] = {}
    for spec in runs:
        key = (spec.scenario, spec.point)
        if key not in built:
            scenario = scenario_of(cfg.scenarios[spec.scenario], points[spec.point],
                                   cfg.calibration_values)
            built[key] = scenario, repr((sorted(scenario.branch_settings.items()),
                                         [e.model_dump() for e in scenario.events]))
        scenario, inputs = built[key]
        groups.setdefault((spec.scenario, inputs), []).append((spec, scenario, points[spec.point]))
    exp = cfg.experiment
    chunks: list[Chunk] = []
    for (si, _), members in groups.items():
        label = cfg.scenarios[si].label
        for i in range(0, len(members), size):
            chunks.append(Chunk(len(chunks), cfg.name, label, tuple(members[i:i + size]),
                                exp.horizon_months, cfg.outputs, exp.parameters))
    return chunks


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
    import signal
    import threading

    # Ctrl-C reaches the whole process group: the parent stops the batch (and ends the workers);
    # a worker raising KeyboardInterrupt mid-chunk would only muddle that.
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)

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
def _environment_restored() -> Iterator[None]:
    """Put ``os.environ`` back as it was: Dask's nanny writes its worker settings (e.g.
    PYTHONHASHSEED, __DASK_PARENT_PID) into the environment of the process that starts it."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in set(os.environ) - set(saved):
            del os.environ[name]
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


def _local_cluster_settings(dashboard: str | None) -> dict[str, Any]:
    """Dask settings for a local cluster of ours (benchmarks/bench.py measures it against the
    process pool):

    - workers fork from a fork server rather than spawn a fresh interpreter each: the cluster
      starts and closes faster;
    - workers get the process pool's environment. Dask's nanny would export its worker
      environment (MALLOC_TRIM_THRESHOLD_=65536, one BLAS thread) into this process: the trim
      threshold alone makes the kernel's many small arrays ~1.5x slower to allocate, and the
      rest would change the user's process;
    - the cluster's housekeeping runs less often: event-loop ticks every 500 ms (Dask: 20 ms),
      memory checks every second (100 ms), system metrics every 2 s (500 ms). Idle, the default
      cluster takes ~8% of a core from the runs; this one ~2%;
    - without a dashboard nobody can see the workers' statistical profiler, which samples the
      running task's stack every 10 ms: it is switched off.

    A cluster of one's own (``scheduler=`` or a ``Client.get_executor()``) keeps its settings.
    """
    import dask

    settings: dict[str, Any] = {
        "distributed.worker.multiprocessing-method": "forkserver",
        "distributed.nanny.pre-spawn-environ": {
            name: None for name in dask.config.get("distributed.nanny.pre-spawn-environ", {})},
        "distributed.admin.tick.interval": "500ms",
        "distributed.worker.memory.monitor-interval": "1s",
        "distributed.admin.system-monitor.interval": "2s"}
    if not dashboard:
        settings["distributed.worker.profile.enabled"] = False
    return settings


def _start_fork_server(first: Sequence[str] = (), then: Sequence[str] = ()) -> None:
    """Start the fork server that local workers fork from, importing ``first`` (Dask, for its
    local cluster's workers), :data:`PRELOAD` and ``then`` (what the caller's later workers
    need) once, so workers start with them instead of each importing them for its first task.
    The server imports them while this process goes on (config, store, the filtered start,
    Dask's own import), side by side. If a fork server already runs (a pool ran first), it is
    used as it is."""
    forkserver_context([*first, *PRELOAD, *then])
    multiprocessing.forkserver.ensure_running()


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
    workers = workers or cores()
    if kind == "serial":
        yield SerialExecutor()
    elif kind == "process":
        with ProcessPoolExecutor(max_workers=workers, mp_context=forkserver_context(),
                                 initializer=_watch_parent,
                                 initargs=(os.getpid(),)) as pool:
            yield pool
    elif kind == "dask":
        if importlib.util.find_spec("distributed") is None:
            raise ImportError("the dask executor needs: pip install 'borderscen[dask]'")
        if scheduler:
            from distributed import Client

            with Client(scheduler) as client:
                yield client.get_executor(pure=False)
        else:
            _start_fork_server(["distributed"])  # before this process imports Dask: side by side
            import dask
            from distributed import Client, LocalCluster

            # The scheduler always starts an HTTP server (health routes), on port 8787 of every
            # interface unless told otherwise: keep it on a free loopback port, dashboard off.
            if dashboard is not None and ":" not in str(dashboard):
                dashboard = f"127.0.0.1:{dashboard}"
            with _environment_restored():
                with dask.config.set(_local_cluster_settings(dashboard)):
                    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=dashboard or "127.0.0.1:0",
                                           host="127.0.0.1", worker_dashboard_address=None,
                                           scheduler_kwargs=None if dashboard else {"dashboard": False})
                # Results come straight from the workers, not relayed through the scheduler.
                with cluster, Client(cluster, direct_to_workers=True) as client:
                    yield client.get_executor(pure=False)
    else:
        raise ConfigError("executor", "executor", kind, "allowed: serial, process, dask, or a "
                                                        "concurrent.futures.Executor")


# ---------------------------------------------------------------------------- replications
def resolve_executor(executor: str | Executor | None, workers: int | None, scheduler: str | None,
                     default: str = "process", where: str = "executor") -> tuple[str | Executor, int]:
    """The executor (a kind or an instance) and worker count that ``executor``, ``workers`` and
    ``scheduler`` mean, the same for every command: a ``scheduler`` implies dask; serial has one
    worker; otherwise ``workers`` or one per core."""
    if executor is not None and not isinstance(executor, Executor) and executor not in (
            "serial", "process", "dask"):
        raise ConfigError(where, "executor", executor,
                          "allowed: serial, process, dask, or a concurrent.futures.Executor")
    kind = executor or ("dask" if scheduler else default)
    workers = check_workers(workers)
    return kind, 1 if kind == "serial" else (workers or cores())


@functools.cache
def _worker_context() -> Context:
    return make_context()


#: What the fork server of local pools imports before forking workers: the runner, then
#: :mod:`borderscen.experiments.warm` (the kernel's compiled functions, loaded once there).
PRELOAD = ["borderscen.experiments.runner", "borderscen.experiments.warm"]


def forkserver_context(preload: Sequence[str] = PRELOAD) -> multiprocessing.context.ForkServerContext:
    """The fork server's multiprocessing context, with what a fork server started from now on
    imports before forking (``preload``; one already running is used as it is)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    return ctx


def quiet_orphan_starts() -> None:
    """In the fork server (:mod:`borderscen.experiments.warm` calls it): a child the server forks
    after the pool that asked for it was torn down (an interrupt while a worker or the filtered
    start's child is starting) cannot rebuild that pool's lock, whose name its owner has already
    unlinked, and the server prints that ``FileNotFoundError`` under the command's own clean exit.
    The server's ``sys.excepthook`` keeps that one failure quiet and passes every other to the
    hook before it (the pool, if it still runs, reports its dead worker itself)."""
    previous = sys.excepthook

    def hook(kind, exc, tb) -> None:
        if issubclass(kind, FileNotFoundError) and _in_lock_rebuild(tb):
            return
        previous(kind, exc, tb)

    sys.excepthook = hook


def _in_lock_rebuild(tb) -> bool:
    """The traceback passes through multiprocessing's rebuilding of a lock (``SemLock.__setstate__``)."""
    where = ("multiprocessing", "synchronize.py")
    return any(f.name == "__setstate__" and Path(f.filename).parts[-2:] == where
               for f in traceback.extract_tb(tb))


def warm_kernel() -> None:
    """Build the worker's kernel context and run one replication for a month, so the compiled
    stages are loaded (from numba's cache) in this process and in every process forked from it.
    Never raises: a process that could not warm up loads them on its first batch."""
    try:
        run_batch(make_batch(build_scenario("baseline"), [0], 1)[0], _worker_context())
    except Exception:  # noqa: BLE001 - an optimisation only
        logger.debug("warm_kernel: not warmed", exc_info=True)


def run_block(batch: Batch) -> BatchResult:
    """One block of a batch's replications (what a worker runs; its kernel context is built once
    per process)."""
    return run_batch(batch, _worker_context())


def _blocks(batch: Batch, size: int) -> list[Batch]:
    n = len(batch.seeds)
    return [replace(batch, params=batch.params[i:i + size], seeds=batch.seeds[i:i + size])
            for i in range(0, n, size)]


def _joined(parts: list[BatchResult]) -> BatchResult:
    if len(parts) == 1:
        return parts[0]
    return BatchResult(monthly={k: np.concatenate([p.monthly[k] for p in parts]) for k in parts[0].monthly},
                       zones={k: np.concatenate([p.zones[k] for p in parts]) for k in parts[0].zones},
                       dates=parts[0].dates)


def run_replications(batch: Batch, executor: str | Executor | None = "serial",
                     workers: int | None = None, scheduler: str | None = None,
                     progress: Progress | None = None) -> BatchResult:
    """``run_batch(batch)`` with its replications cut into blocks and run on an executor, as the
    experiment runner runs its chunks: ``serial``, ``process``, ``dask`` (``scheduler``) or any
    ``concurrent.futures.Executor`` (used as given, e.g. one pool for many batches).

    The result is ``run_batch(batch)``'s bit for bit, whatever the executor, workers and blocks:
    each replication reads only its own random numbers. ``progress(done, total)`` counts the
    replications finished.
    """
    kind, n_workers = resolve_executor(executor, workers, scheduler)
    n = len(batch.seeds)
    blocks = _blocks(batch, auto_chunk_size(n, n_workers)) if n else [batch]
    if progress is not None:
        progress(0, n)
    done = 0
    parts: dict[int, BatchResult] = {}
    try:
        with make_executor(kind, n_workers, scheduler) as pool:
            futures = {pool.submit(run_block, b): i for i, b in enumerate(blocks)}
            pending = set(futures)
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        i = futures[fut]
                        parts[i] = fut.result()
                        done += len(blocks[i].seeds)
                        if progress is not None:
                            progress(done, n)
            except BaseException:
                _stop(pool, pending)
                raise
    except BrokenProcessPool:
        raise ExecutorError(f"a worker process died while running {n} replications ({POOL_HINT})"
                            ) from None
    return _joined([parts[i] for i in range(len(blocks))])


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


# ---------------------------------------------------------------------------- the filtered start
#: The filtered cloud in a results folder: arrays (no pickle) and a JSON of parameter values and
#: diagnostics, which is written last and names the arrays' hash.
START_ARRAYS, START_META = "filtered_start.npz", "filtered_start.json"
START_FORMAT = 1
#: Spawn key of the filter's stream under the experiment's root seed. Replication r draws from
#: spawn key (r,), r < 100,000, so the filter never shifts or shares a run's seed.
FILTER_STREAM = 2**31 - 1
#: Spawn key of the stream that picks the particles kept from a cloud larger than the experiment.
KEEP_STREAM = 2**31 - 2


def kept_particles(root_seed: int, particles: int, replications: int) -> np.ndarray:
    """Which particles of a filtered cloud larger than the experiment the replications continue:
    ``replications`` of them drawn without replacement, in a random order, from a stream of
    their own (the filter's draws are not touched). The cloud ends equally weighted, so the
    subset is a sample of it; a random order keeps the first replications from being the
    ancestors that systematic resampling puts first."""
    rng = np.random.default_rng(np.random.SeedSequence(int(root_seed), spawn_key=(KEEP_STREAM,)))
    return rng.choice(particles, size=replications, replace=False)


def filter_seed(root_seed: int) -> int:
    """The particle filter's seed: a dedicated child of the experiment's SeedSequence."""
    state = np.random.SeedSequence(int(root_seed), spawn_key=(FILTER_STREAM,)).generate_state(2, np.uint32)
    return int((int(state[0]) << 30) ^ int(state[1]))


def _start_hash(start: StartState) -> str:
    """Hash of the cloud's content (arrays and parameter values), the same on every machine."""
    digest = hashlib.sha256()
    for name, a in sorted(_start_arrays(start).items()):
        a = np.ascontiguousarray(a)
        digest.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        digest.update(a.tobytes())
    digest.update(json.dumps([dict(sorted(d.items())) for d in start.draws]).encode())
    return digest.hexdigest()[:16]


def _start_arrays(start: StartState) -> dict[str, np.ndarray]:
    return {**{f"state.{n}": np.asarray(getattr(start.state, n)) for n in STATE_FIELDS},
            **{f"monthly.{k}": np.asarray(a) for k, a in start.monthly.items()}}


def save_start(root: Path, start: StartState, meta: dict[str, Any]) -> str:
    """Write the cloud atomically (arrays first, then the JSON that names their hash)."""
    buf = io.BytesIO()
    # the keys are 'state.*' and 'monthly.*', never savez's own keyword allow_pickle
    np.savez_compressed(buf, **_start_arrays(start))  # type: ignore[arg-type]
    digest = _start_hash(start)
    atomic_write_bytes(root / START_ARRAYS, buf.getvalue())
    atomic_write_json(root / START_META, {**meta, "format": START_FORMAT, "sha256": digest,
                                          "draws": list(start.draws)})
    return digest


class StartUnusable(Exception):
    """A stored cloud that cannot be used (what is wrong with it)."""


def load_start(root: Path, key: str | None = None) -> tuple[StartState, dict[str, Any]]:
    """The cloud stored in ``root`` and its JSON, checked (format, ``key``, shape, hash), read
    without pickle; StartUnusable says what is wrong."""
    meta_path, arrays_path = root / START_META, root / START_ARRAYS
    for path in (meta_path, arrays_path):
        if path.is_symlink():
            raise StartUnusable(f"{path.name} is a symbolic link (never followed)")
        if not path.is_file():
            raise StartUnusable(f"{path.name} is missing")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != START_FORMAT:
            raise StartUnusable(f"format {meta.get('format')!r}, not {START_FORMAT}")
        if key is not None and meta.get("key") != key:
            raise StartUnusable(f"made for config {meta.get('key')}, not {key}")
        with np.load(io.BytesIO(arrays_path.read_bytes()), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        state = State(**{n: arrays[f"state.{n}"] for n in STATE_FIELDS})
        monthly = {k: arrays[f"monthly.{k}"] for k in MONTHLY_OUTPUTS}
        draws = tuple({str(k): float(v) for k, v in d.items()} for d in meta["draws"])
        start = StartState(int(meta["months"]), state, draws, monthly)
    except StartUnusable:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged file of any kind is made again (or refused)
        raise StartUnusable(f"cannot be read ({type(exc).__name__}: {exc})") from None
    if _start_hash(start) != meta.get("sha256"):
        raise StartUnusable("its arrays do not match the hash in its JSON")
    return start, meta


def assimilate_start(cfg: ExperimentConfig, progress: Callable[[int, int], None] | None = None
                     ) -> tuple[StartState, dict[str, Any]]:
    """Filter ``particles`` (default: ``replications``) particles from January 2022 to the
    branch month (baseline, with the config's calibration file applied), seeded by
    :func:`filter_seed`, and keep ``replications`` of them: all, or a random subset of a larger
    cloud (:func:`kept_particles`). Replication r of every scenario and design point then
    continues kept particle r."""
    from borderscen.assimilation.filter import assimilate, summary

    branch = history().branch
    filt = build_scenario("baseline", cfg.calibration_values or None, name="filter",
                          where=f"{cfg.source} (filtered start)")
    seed = filter_seed(cfg.experiment.seed)
    n_runs = cfg.experiment.replications
    f = assimilate(branch, particles=cfg.experiment.filter_particles, seed=seed, scenario=filt,
                   progress=progress)
    start = StartState(f.months, State(**{n: getattr(f.state, n) for n in STATE_FIELDS}),
                       tuple(calibrated_values(v) for v in f.values),
                       {k: np.asarray(f.monthly[k], float) for k in MONTHLY_OUTPUTS})
    if len(start) > n_runs:
        start = start.take(kept_particles(cfg.experiment.seed, len(start), n_runs).tolist())
    held = {o.id for o in holdouts()}
    d = f.diagnostics
    meta = {"origin": f"{branch:%Y-%m}", "months": f.months, "particles": len(f.values),
            "kept": len(start), "seed": seed,
            "observations": [c.id for c in f.observations],
            "holdouts_assimilated": [c.id for c in f.observations if set(c.id.split("+")) & held],
            "summary": {k: float(v) for k, v in summary(f).items()},
            "diagnostics": d.assign(month=d["month"].astype(str)).to_dict("records") if len(d) else []}
    return start, meta


#: Where a local pool's workers read the filtered cloud (under parts/, removed with them):
#: one uncompressed .npy per array, memory-mapped, and the particles' calibrated values.
START_CACHE = "start-{sha}"


def _write_start_cache(root: Path, start: StartState, digest: str) -> str:
    """The cloud as memory-mappable arrays for the workers (written once, by whoever holds
    the cloud, so the parent never does)."""
    folder = root / PARTS / START_CACHE.format(sha=digest)
    if (folder / "draws.json").exists():
        return str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in _start_arrays(start).items():
        np.save(folder / f"{name}.npy", np.ascontiguousarray(a), allow_pickle=False)
    atomic_write_json(folder / "draws.json", {"config_hash": digest, "months": start.months,
                                              "draws": list(start.draws)})
    return str(folder)


#: Per worker process: the memory-mapped clouds it has opened (folder -> arrays, draws, months).
_CLOUDS: dict[str, tuple[dict[str, np.ndarray], list[dict[str, float]], int]] = {}


@dataclass(frozen=True)
class StoredStart:
    """A chunk's particles (``rows``: the replication of each member) in the cloud a local
    pool's workers read from disk (:data:`START_CACHE`): each worker maps the arrays once and
    copies only its chunk's rows, so no process holds the cloud once per chunk."""

    folder: str
    rows: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, rows) -> StartState:
        """The particles of members ``rows`` (as :meth:`StartState.take` of the whole cloud)."""
        if self.folder not in _CLOUDS:
            folder = Path(self.folder)
            meta = json.loads((folder / "draws.json").read_text(encoding="utf-8"))
            arrays = {f.stem: np.load(f, mmap_mode="r", allow_pickle=False)
                      for f in folder.glob("*.npy")}
            draws = [{str(k): float(v) for k, v in d.items()} for d in meta["draws"]]
            _CLOUDS.clear()  # one cloud at a time
            _CLOUDS[self.folder] = (arrays, draws, int(meta["months"]))
        arrays, draws, months = _CLOUDS[self.folder]
        idx = np.asarray([self.rows[i] for i in rows], dtype=int)
        fields: dict[str, Any] = {n: np.array(arrays[f"state.{n}"][idx]) for n in STATE_FIELDS}
        return StartState(months, State(**fields), tuple(dict(draws[i]) for i in idx),
                          {k: np.array(arrays[f"monthly.{k}"][idx]) for k in MONTHLY_OUTPUTS})


def _start_work(cfg: ExperimentConfig, root: Path, key: str, reuse: bool, check_key: bool,
                show: bool | None | Progress, cache: bool) -> tuple[StartState | None, dict[str, Any] | None,
                                                   str | None, str | None]:
    """Reuse the stored cloud (``reuse``) or assimilate and store one: (the cloud, unless
    ``cache``; its meta without the per-particle values; the problem with a stored cloud that
    cannot be reused; the cache folder when ``cache``). Runs in a child process on a local
    pool, so the parent never holds the particle filter or its cloud. ``show``: a progress
    callback for the months filtered, or as :class:`~borderscen.progress.ProgressView` says."""
    if reuse:
        try:
            start, meta = load_start(root, key if check_key else None)
        except StartUnusable as exc:
            return None, None, str(exc), None
        if len(start) != cfg.experiment.replications:
            return None, None, f"it has {len(start)} particles, not {cfg.experiment.replications}", None
        meta = {k: v for k, v in meta.items() if k != "draws"}
        folder = _write_start_cache(root, start, meta["sha256"]) if cache else None
        return (None if cache else start), {**meta, "reused": True}, None, folder
    branch = history().branch
    view = show if callable(show) else ProgressView(
        f"assimilating the record to {branch:%Y-%m}", "month", show=show)
    t0 = time.perf_counter()
    try:
        start, meta = assimilate_start(cfg, view)
    finally:
        if isinstance(view, ProgressView):
            view.close()
    meta = {**meta, "key": key, "wall_s": time.perf_counter() - t0}
    meta["sha256"] = save_start(root, start, meta)
    folder = _write_start_cache(root, start, meta["sha256"]) if cache else None
    return (None if cache else start), {**meta, "reused": False}, None, folder


def _in_child(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a child process (forked from the runner's fork server), which ends with
    the call: what it allocates is returned to the system. An interrupt ends it at once."""
    with ProcessPoolExecutor(max_workers=1, mp_context=forkserver_context(), initializer=_watch_parent,
                             initargs=(os.getpid(),)) as pool:
        fut = pool.submit(fn, *args)
        try:
            return fut.result()
        except BrokenProcessPool:
            _stop(pool, {fut: None})
            raise ExecutorError(f"the process that makes the filtered start died ({POOL_HINT})") from None
        except BaseException:
            _stop(pool, {fut: None})
            raise


#: A local pool's filtered start runs in this process when its cloud has at most this many
#: particles (the shipped experiments filter 2,500), else in a child. In this process it overlaps
#: the fork server's imports instead of waiting for them: `borderscen run
#: experiments/three_scenarios.toml` at 1,000 runs took 8.5-8.9 s instead of 9.3-9.4 s (its start
#: 2.8-3.0 s instead of 3.7 s), for a parent peak of 458-462 MB instead of 355-373 MB: the compiled
#: stages (about 100 MB) and the filter's 2,500 particles (about 180 MB at its peak). A larger cloud
#: (by default as many particles as replications) is filtered in a child, so the parent's peak
#: stays flat in the number of runs (2026-12-07, this 2-core machine).
IN_PROCESS_PARTICLES = 2500

#: The cloud under which the filter's log says the levels move with its seed: with 500 particles
#: Syria's median attacks over 2026-30 moved 3,104-5,840 over six filter seeds, with 2,500 (500 runs
#: kept) 4,478-4,968 (scripts/filter_luck.py, 2026-12-07; README, under the headline table).
FEW_PARTICLES = 2500


def prepare_start(cfg: ExperimentConfig, store: ResultsStore, key: str, fresh: bool,
                  progress: bool | None | Progress, log: Callable[[str], None] | None,
                  accept_changed_inputs: bool = False, local: bool = False
                  ) -> tuple[StartState | StoredStart, dict[str, Any]]:
    """The experiment's filtered start: the cloud stored in the results folder when it is whole
    and of this config (a resumed batch reuses it), else assimilated now and stored.

    ``local``: the runs go to a local pool, whose workers read their particles from a cloud
    written to disk; what is returned is then a :class:`StoredStart` of every particle. The
    filter runs (or the stored cloud is checked) in a child process when the cloud has more
    than :data:`IN_PROCESS_PARTICLES` particles, so that this process never holds a large
    cloud; a smaller one is filtered here, and the memory it freed is handed back."""
    root = store.root
    child = local and cfg.experiment.filter_particles > IN_PROCESS_PARTICLES

    def work(reuse: bool) -> tuple[StartState | None, dict[str, Any] | None, str | None, str | None]:
        # a callback cannot cross into the child: there the months are shown as ProgressView says
        show = False if child and callable(progress) else progress
        args = (cfg, root, key, reuse, not accept_changed_inputs, show, local)
        if child:
            return _in_child(_start_work, *args)
        try:
            return _start_work(*args)
        finally:
            if local:  # the cloud is on disk for the workers: what the filter held goes back
                gc.collect()
                release_memory()

    def cloud(start: StartState | None, folder: str | None) -> StartState | StoredStart:
        if start is not None:
            return start
        return StoredStart(str(folder), tuple(range(cfg.experiment.replications)))

    # the JSON is written last: without it the cloud was never stored (nothing to repair)
    if not fresh and ((root / START_META).exists() or (root / START_META).is_symlink()):
        start, meta, problem, folder = work(reuse=True)
        if problem is None and meta is not None:
            if log is not None:
                log(f"{root}: reusing the filtered start stored in {START_META} (record "
                    f"assimilated to {meta['origin']}, {meta['particles']} particles)")
            return cloud(start, folder), meta
        if store.strict:
            store.refuse_repair([f"{root / START_META}: {problem}"])
        store.record("repaired", root / START_META, f"the stored filtered start cannot be used "
                     f"({problem})", "assimilated again from its seed")
    start, meta, _, folder = work(reuse=False)
    assert meta is not None
    if log is not None:
        log(f"{root}: assimilated the record to {meta['origin']} with {meta['particles']} particles "
            f"in {meta['wall_s']:.1f} s (lowest effective sample share "
            f"{meta['summary']['min_ess_share']:.2f})"
            + (f"; the runs continue {meta['kept']} of them, drawn at random"
               if meta["kept"] < meta["particles"] else "")
            + (f". A cloud under {FEW_PARTICLES:,} particles rests on few ancestors, so the "
               f"experiment's levels move with the filter's seed: set [experiment] particles = "
               f"{FEW_PARTICLES} (or borderscen run --particles {FEW_PARTICLES}) to filter more "
               "(docs/config.md)"
               if meta["particles"] < FEW_PARTICLES else ""))
    return cloud(start, folder), meta


def start_manifest(cfg: ExperimentConfig, meta: dict[str, Any] | None) -> dict[str, Any]:
    """What the manifest says about where runs started."""
    if meta is None:
        return {"kind": cfg.experiment.start}
    summ = meta.get("summary", {})
    return {"kind": "filtered", "origin": meta["origin"], "months_filtered": meta["months"],
            "particles": meta["particles"], "kept": meta.get("kept", meta["particles"]),
            "seed": meta["seed"],
            "files": [START_ARRAYS, START_META], "sha256": meta.get("sha256"),
            "observations": len(meta["observations"]),
            "holdouts_assimilated": meta["holdouts_assimilated"],
            "min_ess_share": summ.get("min_ess_share"), "degenerate_months": summ.get("degenerate_months"),
            "reused": meta.get("reused", False)}


# ---------------------------------------------------------------------------- the batch
logger = logging.getLogger(__name__)


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
                   progress: bool | None | Progress = None, strict: bool = False,
                   log: Callable[[str], None] | None = None, retries: int = 0,
                   accept_changed_inputs: bool = False, preload: Sequence[str] = ()) -> Results:
    """Run (or resume, or reuse) a whole experiment and return its results.

    ``out`` is the results folder (default ``results/<experiment name>``); it must be new, empty
    or a borderscen results folder, and only one process may write it at a time. A finished
    folder of the same config is reused after checking its tables against its manifest; one of
    another config is refused unless ``fresh``. Failed runs are recorded, not raised: see
    ``Results.failures``.

    ``progress`` is a :data:`~borderscen.progress.Progress` callback, called with the runs done
    (those stored before a resume included) and the experiment's runs, first before any runs;
    or how to show it on standard error (:class:`~borderscen.progress.ProgressView`): ``None``
    (default) a bar on a terminal and a plain line now and then in a pipe, ``False`` nothing,
    ``True`` a bar; nothing in CI.

    Every repair the store makes on resume (a damaged chunk, tables that do not match their
    manifest) and every clean-up of an interrupted writer's leftovers is reported, one line
    each, to ``log`` (default: a warning on this module's logger), and kept in the manifest's
    ``events``. ``strict=True`` refuses (``StoreRepairRefused``) instead of repairing.

    A worker process that dies (e.g. killed by the out-of-memory killer) stops the batch with an
    ``ExecutorError`` naming the chunks it was running; ``retries=N`` restarts the pool and runs
    them again, at most N times. Ctrl-C stops at once: work in flight is dropped (never
    half-written) and run again on resume.

    The parameter registry, shipped posterior, history, code and the borderscen, Python and
    numpy versions are recorded (``manifest["inputs"]``); resuming a partial batch after any of
    them changed is refused (``StoreInputsChanged``) unless ``accept_changed_inputs``, which
    logs the change in the manifest's events.

    ``preload``: modules that the fork server local pools fork from also imports, for work the
    caller does after the runs in processes forked from it: ``["borderscen.plots"]`` when
    figures follow (:func:`borderscen.plots.draw_figures`' workers then start with matplotlib
    imported). Only the server's start is affected, never a result; other executors ignore it.
    """
    cfg = check_config(config) if isinstance(config, ExperimentConfig) else load_config(config)
    if executor is not None and not isinstance(executor, str | Executor):
        raise ConfigError("run_experiment", "executor", executor,
                          "allowed: serial, process, dask, or a concurrent.futures.Executor")
    kind = executor or ("dask" if scheduler else cfg.experiment.executor)
    workers = check_workers(workers)
    if isinstance(retries, bool) or not isinstance(retries, int | np.integer) or retries < 0:
        raise ConfigError("run_experiment", "retries", retries, "allowed: a whole number >= 0")
    if isinstance(preload, str) or not all(isinstance(m, str) and m for m in preload):
        raise ConfigError("run_experiment", "preload", preload, "allowed: a list of module names")
    n_workers = 1 if kind == "serial" else (workers or cfg.experiment.workers or cores())
    if kind == "process":  # the workers' imports and compiled kernel load while this goes on
        _start_fork_server(then=preload)
    elif kind == "dask" and not scheduler and importlib.util.find_spec("distributed") is not None:
        _start_fork_server(["distributed"], preload)  # the filtered start's child forks from it too
    root = Path(out) if out is not None else default_out(cfg)
    points, runs = expand(cfg)
    config_hash = cfg.content_hash()
    say = log if log is not None else logger.warning
    with ResultsStore(root, log=say, strict=strict) as store:
        if not fresh and store.finished(config_hash):
            return Results(root)
        rebuilt = None
        if not fresh and (root / MANIFEST).exists() and state(root, config_hash) == "corrupt":
            store.invalidate()
            rebuilt = store.events[-1]
        size = cfg.experiment.chunk_size or auto_chunk_size(len(runs), n_workers)
        n_chunks = len(make_chunks(cfg, points, runs, size))  # batches never mix scenarios or points
        inputs = input_fingerprints()
        size = store.prepare(config_hash, size, n_chunks, fresh, len(runs), inputs=inputs,
                             spec_hash=cfg.spec_hash(), accept_changed_inputs=accept_changed_inputs,
                             labels=INPUT_LABELS)
        chunks = make_chunks(cfg, points, runs, size)
        done = store.done_chunks(runs_of=lambda i: [r.index for r in chunks[i].runs])
        todo = [c for c in chunks if c.index not in done]
        start_meta = None
        if cfg.experiment.start == "filtered":  # once, here; replication r continues particle r
            # a caller's callback counts runs only: the months filtered are not runs.
            # A local pool: the workers read their particles from disk, and a large cloud is
            # filtered in a child, never held here (a cluster's workers get theirs)
            local = kind == "process" or (kind == "dask" and not scheduler)
            start, start_meta = prepare_start(cfg, store, config_hash, fresh,
                                              False if callable(progress) else progress, log,
                                              accept_changed_inputs, local=local and bool(todo))
            todo = [replace(c, start=_chunk_start(start, [r.replication for r in c.runs]))
                    for c in todo]
        if rebuilt is not None and todo:
            rebuilt["runs"] = [r.index for c in todo for r in c.runs]
            say(f"{root}: runs {run_ranges(rebuilt['runs'])} are run again from their seeds")
            store.save_events()
        if done and todo and log is not None:
            log(f"{root}: resuming: {len(done)} of {len(chunks)} chunks are stored; running the "
                f"other {len(todo)}")
        view = progress if callable(progress) else ProgressView(cfg.name, "run", show=progress)
        timings = _run_chunks(cfg, store, todo, len(runs), kind, n_workers, scheduler, view,
                              retries, log)
        timings["resumed_chunks"] = len(done)
        store.finalize(lambda table: {**_manifest(cfg, config_hash, points, runs, table, kind,
                                                  n_workers, size, timings), "inputs": inputs,
                                      "start": start_manifest(cfg, start_meta)},
                       ["run"])
    return Results(root)


def _chunk_start(start: StartState | StoredStart, rows: list[int]) -> StartState | StoredStart:
    if isinstance(start, StoredStart):
        return StoredStart(start.folder, tuple(start.rows[r] for r in rows))
    return start.take(rows)


class _PoolBroke(Exception):
    """A worker process died: the chunks it may have been running, and those not yet stored."""

    def __init__(self, running: list[Chunk], unfinished: list[Chunk]):
        super().__init__("a worker process died")
        self.running, self.unfinished = running, unfinished


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    kill = getattr(pool, "kill_workers", None)  # Python 3.14
    if kill is not None:
        with contextlib.suppress(Exception):
            kill()
        return
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.kill()
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(Exception):
            proc.join(timeout=5)


def _unstick(manager: threading.Thread | None) -> None:
    """Once every worker has ended: close this process's end of the pool's result pipe, the
    last writer left, so a manager thread blocked reading a result that a killed worker had
    half sent gets end-of-file and reports the pool broken, instead of waiting forever (and
    the interpreter's exit with it, which joins that thread). A worker killed while sending
    its chunk's bytes leaves exactly that; without such a half-sent result the manager has
    already seen the workers end, and this changes nothing. ``manager``: the pool's manager
    thread (``_executor_manager_thread``), which keeps the queue after the pool's shutdown."""
    queue = getattr(manager, "result_queue", None)
    writer = getattr(queue, "_writer", None)
    if writer is not None:
        with contextlib.suppress(Exception):
            writer.close()


#: How long a stop waits for the pool's manager to notice its killed workers before it unblocks
#: a manager left reading a half-sent result (:func:`_unstick`; seconds). Noticing takes
#: milliseconds; the wait was 2 s, and about one Ctrl-C in twenty took 2.7 s to stop.
NOTICE_S = 0.25


def _stop(pool: Executor, in_flight: Iterable[Future]) -> None:
    """Stop at once: cancel what has not started, and end the workers of our own process pool
    (their chunks are dropped, never half-written: only this process writes, a chunk's mark
    last). Nothing here deletes or rewrites anything already stored."""
    for fut in in_flight:
        fut.cancel()
    if isinstance(pool, ProcessPoolExecutor):
        _kill_workers(pool)  # before shutdown(), which drops the pool's list of its processes
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        if manager is not None:  # it notices the ended workers at once; joined here, not at exit
            manager.join(timeout=NOTICE_S)
            if manager.is_alive():  # blocked on a result a killed worker half sent
                _unstick(manager)
                manager.join(timeout=10)


#: How long a dead worker may go unnoticed by its pool before the pool is taken as broken
#: (seconds): a worker killed while sending its result leaves the pool's manager waiting for
#: the rest of the message, and the pool never reports the death itself.
DEAD_WORKER_GRACE_S = 3.0


def _dead_workers(pool: Executor) -> list[int]:
    """Exit codes of our process pool's workers that have ended (a pool replaces none)."""
    if not isinstance(pool, ProcessPoolExecutor):
        return []
    procs = list((getattr(pool, "_processes", None) or {}).values())
    return [p.exitcode for p in procs if p.exitcode is not None]


def _drive(pool: Executor, chunks: list[Chunk], store: ResultsStore, window: int,
           on_done: Callable[[StoredChunk, float], None]) -> None:
    """Run ``chunks`` on ``pool`` with at most ``window`` in flight (memory stays flat, and an
    interrupt has little to cancel), writing each as it finishes."""
    pending = iter(chunks)
    in_flight: dict[Future, Chunk] = {}
    held: list[Chunk] = []  # taken from pending, not yet accepted by the pool

    def top_up() -> None:
        while len(in_flight) < window:
            if not held:
                chunk = next(pending, None)
                if chunk is None:
                    return
                held.append(chunk)
            # submit raises BrokenProcessPool once a worker has died: the chunk stays held
            in_flight[pool.submit(run_chunk_for_store, held[0])] = held[0]
            held.clear()

    try:
        top_up()
        dead_since: float | None = None
        while in_flight:
            finished, _ = wait(list(in_flight), timeout=1.0, return_when=FIRST_COMPLETED)
            if not finished:  # a worker dead for a while that its pool has not reported: broken
                # as any pool with a dead worker (the stop below ends its stuck manager too)
                if not _dead_workers(pool):
                    dead_since = None
                elif dead_since is None:
                    dead_since = time.monotonic()
                elif time.monotonic() - dead_since > DEAD_WORKER_GRACE_S:
                    raise BrokenProcessPool("a worker died and its pool did not report it")
                continue
            for fut in finished:
                result = fut.result()
                in_flight.pop(fut)
                t0 = time.perf_counter()
                store.write_encoded(result.encoded)
                on_done(result, time.perf_counter() - t0)
            top_up()
    except BrokenProcessPool:
        running = list(in_flight.values())
        _stop(pool, in_flight)
        raise _PoolBroke(running, running + held + list(pending)) from None
    except BaseException:
        _stop(pool, in_flight)
        raise


def _run_chunks(cfg: ExperimentConfig, store: ResultsStore, todo: list[Chunk], n_runs: int,
                kind: str | Executor, n_workers: int, scheduler: str | None,
                progress: Progress, retries: int = 0,
                log: Callable[[str], None] | None = None) -> dict[str, float]:
    t_start = time.perf_counter()
    model_s = write_s = 0.0
    done = n_runs - sum(len(c.runs) for c in todo)  # stored before this call
    say = log or (lambda m: print(m, file=sys.stderr, flush=True))
    window = 1 if kind == "serial" or isinstance(kind, SerialExecutor) else max(2, 2 * n_workers)
    progress(done, n_runs)

    def on_done(result: StoredChunk, write_time: float) -> None:
        nonlocal model_s, write_s, done
        model_s += result.model_s
        write_s += write_time
        done += result.encoded.rows["runs"]
        progress(done, n_runs)

    remaining, attempt = list(todo), 0
    with _one_interrupt():  # a second Ctrl-C cannot cut the stop short
        try:
            while remaining:
                try:
                    with make_executor(kind, n_workers, scheduler) as pool:
                        _drive(pool, remaining, store, window, on_done)
                    remaining = []
                except _PoolBroke as broke:
                    which = ", ".join(f"{c.index} (scenario {c.label}, runs "
                                      f"{run_ranges([r.index for r in c.runs])})" for c in broke.running)
                    what = (f"{cfg.name}: a worker process died while chunks {which} were running or "
                            "waiting (killed by a signal, e.g. the out-of-memory killer; or it could "
                            f"not start: {POOL_HINT})")
                    if attempt >= retries:
                        raise ExecutorError(
                            f"{what}. {_marks(store)} chunks are stored in {store.root}; run the same "
                            "command again to resume (the unfinished chunks are run again"
                            + (", or pass --retries N to retry them automatically" if not retries else "")
                            + ")") from None
                    attempt += 1
                    say(f"{what}; retrying them ({attempt} of {retries})")
                    remaining = broke.unfinished
        except KeyboardInterrupt:
            if isinstance(progress, ProgressView):
                progress.close()
            say(f"\ninterrupted: {_marks(store)} chunks stored in {store.root} (work in flight is "
                "dropped and run again on resume); run the same command again to resume")
            raise
        finally:
            if isinstance(progress, ProgressView):
                progress.close()
    wall = time.perf_counter() - t_start
    return {"run_wall_s": wall, "model_s": model_s, "write_s": write_s}


@contextlib.contextmanager
def _one_interrupt():
    """While a batch runs, the first Ctrl-C stops it (KeyboardInterrupt) and later ones are
    ignored until the stop has finished writing (a second signal in the pool's shutdown would
    otherwise land in a multiprocessing finaliser); the caller's handler is restored after. Only
    in the main thread, where signal handlers live."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def first(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _marks(store: ResultsStore) -> int:
    """Chunks with a completion mark (read only: safe during a stop)."""
    with contextlib.suppress(OSError):
        return len(list((store.parts / "done").glob("chunk-*.json")))
    return 0


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
