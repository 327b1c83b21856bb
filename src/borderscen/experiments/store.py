"""Results folders: tidy Parquet tables plus a JSON manifest, written so nothing is lost or mixed.

Layout of a folder (``results/<experiment>`` by default)::

    .borderscen-store      ownership marker: the store only deletes what it created
    .lock, .writer.json    exclusive writer lock (filelock) and the holder's pid
    progress.json          while a batch runs: its config hash and chunking
    parts/<table>/scenario=<label>/chunk-NNNNNN.arrow   finished chunks (Arrow IPC files,
                           LZ4-compressed), a hive-partitioned pyarrow dataset per table
    parts/done/chunk-NNNNNN.json   a chunk's completion mark, with its row counts
    timeseries.parquet, zones.parquet, runs.parquet   the merged tables (one row group per chunk)
    manifest.json          written last: the completion mark of the whole batch

Workers encode their own chunk's parts (``encode_chunk``); the single writer puts the bytes on
disk. Every file is written durably (write to a temporary name, fsync, rename, fsync the folder).
Finalize streams the parts chunk by chunk into the merged tables (never all in memory: per
table, the chunk being encoded and the next, read ahead on a thread of its own), verifies their
row counts and run ids, writes the manifest, and only then removes the parts.
On resume, finished chunks are checked against their marks, a finished folder against its
manifest; what does not match is re-run from its seeds (runs are pure) or reported.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock, Timeout

from borderscen.errors import BorderscenError, ConfigError, StoreError, did_you_mean

TABLES = ("timeseries", "zones", "runs")
PROGRESS = "progress.json"
MANIFEST = "manifest.json"
MARKER = ".borderscen-store"
LOCK = ".lock"
WRITER = ".writer.json"
PARTS = "parts"
FIGURES = "figures"
#: Everything the store may create in a folder (and so may delete there).
OWNED = (*(f"{t}.parquet" for t in TABLES), MANIFEST, PROGRESS, PARTS, WRITER, MARKER)
_CHUNK = re.compile(r"^chunk-(\d{6})\.json$")
#: Where each recorded input lives (for the log of events).
INPUT_PATHS = {"registry": "src/borderscen/data/parameters.toml",
               "history": "src/borderscen/data/history.toml",
               "posterior": "src/borderscen/data/posterior.csv", "code": "src/borderscen"}
_TMP = re.compile(r"^\..*\.tmp-\d+$")


class StoreMismatch(StoreError):
    """The folder holds a batch of a different config."""


class StoreLocked(StoreError):
    """Another process is writing to the folder."""


class StoreNotOwned(StoreError):
    """The folder is not empty and was not created by borderscen."""


class StoreCorrupt(StoreError):
    """The folder's tables do not match its manifest, or a store file cannot be read."""


class StoreInputsChanged(StoreMismatch):
    """A partial batch was made with other inputs (registry, posterior, history, code or
    versions) than the resume would use: its chunks would mix with the new ones."""


class StoreRepairRefused(StoreError):
    """``strict``: the folder needs a repair (a damaged chunk, tables that do not match their
    manifest), and strict mode refuses to make it."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def run_ranges(runs: Sequence[int]) -> str:
    """Run ids as ranges: [0, 1, 2, 5] -> '0-2, 5'."""
    out: list[str] = []
    ids = sorted(set(int(r) for r in runs))
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ", ".join(out)


def event_text(event: dict[str, Any]) -> str:
    """One line for the terminal: what the store found and did."""
    runs = f" (runs {run_ranges(event['runs'])})" if event.get("runs") else ""
    return f"{event['kind']}: {event['file']}: {event['problem']}; {event['action']}{runs}"


# ---------------------------------------------------------------------------- durable writes
def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


class StoreWriteError(StoreError):
    """A store file could not be written (disk full, file too large, read-only): nothing stored
    before is lost, and the same command resumes once the cause is gone."""

    def __init__(self, path: Path, exc: OSError):
        self.path, self.errno = path, exc.errno
        super().__init__(f"{path}: cannot be written ({exc.strerror or exc}); everything stored "
                         "before is kept: free some space (or fix the cause) and run the same "
                         "command again to resume")


def open_for_write(path: Path):
    """The one way the store opens a file to write (fault-injection tests replace it)."""
    return open(path, "wb")


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """An OSError while writing ``path`` (through its temporary file) becomes StoreWriteError."""
    try:
        yield
    except StoreWriteError:
        raise
    except OSError as exc:
        raise StoreWriteError(path, exc) from exc


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write, fsync, rename into place, fsync the folder: the file is old or new, never half."""
    tmp = _tmp_name(path)
    try:
        with _writing(path):
            with open_for_write(tmp) as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, default=str).encode())


#: The runs table's columns the manifest is made from (what a run is, and how it ended).
MANIFEST_COLUMNS = ("run", "scenario", "point", "replication", "seed", "status", "error")
#: The order of rows in the merged tables (those of the keys a table has): by run, month, zone.
ROW_ORDER = ("run", "step", "zone")


def _sorted(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """``table`` in the order of ``keys`` (a stable sort), unchanged when it is in that order
    already (checked in a few vectorised passes, far cheaper than sorting)."""
    keys = [k for k in dict.fromkeys(keys) if k in table.column_names]
    if not keys or table.num_rows < 2:
        return table
    import pyarrow.compute as pc
    n = table.num_rows
    tied = None  # rows equal to the row before on every key so far
    for k in keys:
        col = table.column(k)
        a, b = col.slice(0, n - 1), col.slice(1)
        if col.null_count:
            break  # nulls: leave the order to the sort
        down = pc.less(b, a) if tied is None else pc.and_(tied, pc.less(b, a))
        if pc.any(down).as_py():
            break
        same = pc.equal(b, a)
        tied = same if tied is None else pc.and_(tied, same)
    else:
        return table
    return table.sort_by([(k, "ascending") for k in keys])


def write_options(schema: pa.Schema) -> dict[str, Any]:
    """How the store encodes a table: dictionary pages for the identity, time and label columns
    (few distinct values: run, scenario, step, date, zone, regime...), plain pages for the float
    outputs, where a dictionary rarely pays and trying one costs about half of the writing time
    (files about 5% larger; readers see no difference)."""
    return {"use_dictionary": [f.name for f in schema if not pa.types.is_floating(f.type)]}


def parquet_bytes(df: pd.DataFrame, order: Sequence[str] = ()) -> bytes:
    """One table as the bytes of a Parquet file, its rows sorted by the keys of ``order`` it has."""
    sink = pa.BufferOutputStream()
    table = _sorted(pa.Table.from_pandas(df, preserve_index=False), order)
    pq.write_table(table, sink, **write_options(table.schema))
    return sink.getvalue().to_pybytes()


#: The merge hands freed memory back to the system every so many chunks (:func:`release_memory`):
#: the allocators' per-thread caches otherwise keep what each chunk's tables used. Merging 10,000
#: runs' parts (read on the merge's own threads), three runs each: every 8 chunks, Arrow's only,
#: peak 295-308 MB in 4.06-4.07 s; every 4 chunks, Arrow's and the C library's, 271-277 MB in
#: 4.00-4.13 s; every 2, 268-271 MB in 4.13-4.38 s.
RELEASE_EVERY = 4


def _libc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        return None


_MALLOC_TRIM = _libc_trim()


def release_memory() -> None:
    """Hand freed memory back to the system: Arrow's allocator's, and the C library's (glibc
    keeps what each thread freed in that thread's arena, e.g. the Parquet writer's buffers, until
    asked). Changes nothing but the process's resident size."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


#: A chunk's part files: Arrow IPC, LZ4-compressed. Parts only travel from a worker to the merge,
#: which encodes the Parquet tables once: IPC is written and read several times faster than
#: Parquet (no page encoding), at about twice Parquet's size on disk while the batch runs.
PART_SUFFIX = ".arrow"


def part_bytes(df: pd.DataFrame | pa.Table, order: Sequence[str] = ()) -> bytes:
    """One table (a DataFrame, or an Arrow table) as the bytes of a part file
    (:data:`PART_SUFFIX`), its rows sorted by the keys of ``order`` it has (the merge then finds
    them in order and only concatenates)."""
    import pyarrow.ipc as ipc
    table = _sorted(df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False), order)
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, table.schema, options=ipc.IpcWriteOptions(compression="lz4")) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _row_groups(md: Any, schema: pa.Schema, scenario: str | None) -> Iterator[tuple[int, Any, bool]]:
    """(index, metadata, mixed) of the row groups of a table's footer that may hold the rows of
    ``scenario`` (every row group when None): one the footer's statistics put outside it is
    skipped; ``mixed`` when they do not say the row group holds that scenario alone."""
    at = schema.names.index("scenario") if scenario is not None else -1
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        mixed = False
        if scenario is not None:
            st = rg.column(at).statistics
            if st is not None and st.has_min_max and not st.min <= scenario <= st.max:
                continue
            mixed = st is None or not st.has_min_max or st.min != st.max
        yield i, rg, mixed


def _single_value(st: Any) -> tuple[Any] | None:
    """(value,) when a column chunk's statistics say it holds that one value and no nulls."""
    if (st is not None and st.has_min_max and st.has_null_count and st.null_count == 0
            and st.min == st.max):
        return (st.min,)
    return None


def _part(path: Path):
    """A part file's reader (schema, row count, table), memory-mapped. Its columns are
    decompressed on the calling thread (a merge thread): Arrow's CPU threads would each keep
    what they allocated, where the merge releases its own (:data:`RELEASE_EVERY`)."""
    import pyarrow.ipc as ipc
    return ipc.open_file(pa.memory_map(str(path)), options=ipc.IpcReadOptions(use_threads=False))


@dataclass(frozen=True)
class EncodedChunk:
    """A chunk's tables as part files' bytes (:data:`PART_SUFFIX`), one per (table, scenario),
    with their row counts.
    Workers encode their own chunks, so the writer only puts bytes on disk, and what crosses
    from worker to writer is compressed Arrow IPC rather than DataFrames."""

    index: int
    parts: dict[str, dict[str, bytes]]
    rows: dict[str, int]


def encode_chunk(index: int, tables: dict[str, pd.DataFrame | pa.Table]) -> EncodedChunk:
    """Each of a chunk's tables (DataFrames or Arrow tables), partitioned by scenario, as part
    files' bytes."""
    parts: dict[str, dict[str, bytes]] = {name: {} for name in TABLES}
    split = {name: list(_by_scenario(tables[name])) for name in TABLES}
    first = next((label for pieces in split.values() for label, _ in pieces), None)
    for name in TABLES:
        if not split[name] and first is not None and tables[name].shape[1]:
            # no rows (a filtered start past the horizon has no zone months): its columns still,
            # so that the merged table has its schema
            split[name] = [(first, tables[name])]
        for label, part in split[name]:
            parts[name][label] = part_bytes(part, ROW_ORDER)
    return EncodedChunk(index, parts, {name: len(tables[name]) for name in TABLES})


def _by_scenario(table: pd.DataFrame | pa.Table) -> Iterator[tuple[str, pd.DataFrame | pa.Table]]:
    """(scenario, its rows) of a table, in the order the scenarios first appear; a table of one
    scenario (a chunk's, always) whole, without a copy."""
    if not len(table):
        return
    if isinstance(table, pd.DataFrame):
        for label, part in table.groupby("scenario", sort=False, observed=True):
            yield str(label), part
        return
    import pyarrow.compute as pc
    labels = pc.unique(table.column("scenario")).drop_null()
    if len(labels) == 1:
        yield str(labels[0].as_py()), table
        return
    for label in labels:
        yield str(label.as_py()), table.filter(pc.equal(table.column("scenario"), label))


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A store JSON file, or StoreCorrupt naming it (never a bare JSON or OS error)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreCorrupt(f"{path}: the {what} cannot be read ({type(exc).__name__}: {exc}); "
                           "use --fresh to replace the folder's results") from None
    if not isinstance(data, dict) or "config_hash" not in data:
        raise StoreCorrupt(f"{path}: not a borderscen {what} (no config_hash); "
                           "use --fresh to replace it, or another --out")
    return data


# ---------------------------------------------------------------------------- ownership
def owns(root: Path) -> bool:
    """The folder carries the store's marker, or is a results folder of an earlier borderscen
    (only the store's own names, plus figures, and a manifest or progress file)."""
    if (root / MARKER).is_file():
        return True
    try:
        names = {p.name for p in root.iterdir()}
    except OSError:
        return False
    known = {*OWNED, LOCK, FIGURES, "indices.csv"}
    return bool(names & {MANIFEST, PROGRESS}) and all(
        n in known or _TMP.match(n) or n.startswith(".parts-trash-") for n in names)


def _foreign(root: Path) -> bool:
    """A non-empty folder without the store's marker (the lock file and half-written files of a
    writer killed before it put the marker down do not count, nor a ``figures`` folder, which
    borderscen draws into ``results/<experiment>/figures``)."""
    if owns(root):
        return False
    return any(p.name not in (LOCK, WRITER, FIGURES) and not _TMP.match(p.name)
               for p in root.iterdir())


def check_owned(root: Path) -> None:
    """Refuse a non-empty folder that the store did not create (it would delete or mix files)."""
    if root.exists() and not root.is_dir():
        raise StoreNotOwned(f"{root} is a file, not a results folder; choose another --out")
    if root.is_dir() and _foreign(root):
        raise StoreNotOwned(
            f"{root} is not empty and was not created by borderscen (no {MARKER}); "
            "results go into an empty or new folder: choose another --out")


def check_links(root: Path) -> None:
    """Refuse a folder where one of the store's own names (or anything under parts/) is a
    symbolic link: writing, truncating (the lock) or deleting through it would act outside
    ``--out``. The store never follows a link out of the results folder."""
    if not root.is_dir():
        return
    found = [root / n for n in sorted({*OWNED, LOCK, WRITER}) if (root / n).is_symlink()]
    parts = root / PARTS
    if parts.is_dir() and not parts.is_symlink():
        for folder, dirs, files in os.walk(parts, followlinks=False):
            found += [Path(folder) / n for n in (*dirs, *files) if (Path(folder) / n).is_symlink()]
    if found:
        links = ", ".join(f"{p} -> {os.readlink(p)}" for p in found[:5])
        raise StoreNotOwned(f"{root}: symbolic link in the results folder: {links}; the store never "
                            "follows links out of the results folder: remove the link(s) or choose "
                            "another --out")


class ResultsStore:
    """Writer side of a results folder. Use as a context manager: holds the folder's lock."""

    def __init__(self, root: str | Path, log: Callable[[str], None] | None = None,
                 strict: bool = False):
        self.root = Path(root)
        self.parts = self.root / PARTS
        self._lock: FileLock | None = None
        #: Where repairs and clean-ups are reported as they happen (one line each).
        self.log = log
        #: Refuse (StoreRepairRefused) instead of repairing anything.
        self.strict = strict
        #: The folder's log of events: earlier ones (from progress.json) and this session's.
        self.events: list[dict[str, Any]] = []
        self.session: list[dict[str, Any]] = []

    # -- the log of events -----------------------------------------------------------------
    def record(self, kind: str, file: Path | str, problem: str, action: str,
               runs: Sequence[int] = (), quiet: bool = False) -> dict[str, Any]:
        """Add an event to the folder's log (kept in progress.json until the manifest takes it
        over) and report it on the log path. ``kind``: 'repaired' (something that was stored
        was damaged and is made again), 'cleaned' (leftovers of an interrupted writer that were
        never part of a verified state) or 'inputs changed'."""
        path = Path(file)
        with contextlib.suppress(ValueError):
            path = path.relative_to(self.root)
        event = {"at": _now(), "kind": kind, "file": str(path), "problem": problem,
                 "action": action, "runs": [int(r) for r in runs]}
        self.events.append(event)
        self.session.append(event)
        if self.log is not None and not quiet:
            self.log(f"{self.root}: {event_text(event)}")
        self.save_events()
        return event

    def refuse_repair(self, problems: Sequence[str]) -> None:
        """``strict``: stop before anything is changed, naming every problem found."""
        raise StoreRepairRefused(
            f"{self.root} needs a repair, and strict mode refuses to make it:\n  "
            + "\n  ".join(problems)
            + "\nrun without --strict (strict=False) to repair it (the damaged runs are run again "
              "from their seeds; every repair is logged in manifest.json), or use --fresh")

    def save_events(self) -> None:
        """Keep the log in progress.json (also after an event was amended)."""
        progress = self.root / PROGRESS
        if self._lock is None or not progress.exists():
            return  # prepare() writes them with the new progress file
        with contextlib.suppress(StoreCorrupt):
            state = read_json(progress, "progress file")
            if state.get("events") != self.events:
                atomic_write_json(progress, {**state, "events": self.events})

    # -- lock ------------------------------------------------------------------------------
    def __enter__(self) -> ResultsStore:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        check_owned(self.root)
        check_links(self.root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create results folder {self.root}: {exc.strerror}") from None
        lock = FileLock(self.root / LOCK, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            holder = "unknown"
            with contextlib.suppress(Exception):
                holder = json.loads((self.root / WRITER).read_text())["pid"]
            raise StoreLocked(f"{self.root} is being written by another borderscen process "
                              f"(pid {holder}); wait for it to finish or choose another --out") from None
        self._lock = lock
        try:  # a failure here (e.g. a full disk) must not leave the lock held
            if not (self.root / MARKER).is_file():
                atomic_write_json(self.root / MARKER, {"created_by": "borderscen", "format": 2})
            self.events = self._stored_events()
            self._check_writer_file()
            atomic_write_json(self.root / WRITER, {"pid": os.getpid(), "since": time.time()})
            self._clean_temporaries()
        except BaseException:
            self.release()
            raise

    def _stored_events(self) -> list[dict[str, Any]]:
        """The log of an unfinished batch (progress.json), if there is a readable one."""
        if not (self.root / PROGRESS).exists():
            return []
        try:
            events = read_json(self.root / PROGRESS, "progress file").get("events")
        except StoreCorrupt:
            return []
        return list(events) if isinstance(events, list) else []

    def _check_writer_file(self) -> None:
        """A writer killed while it held the folder leaves its pid file: replaced, and reported
        when it was not a valid one."""
        path = self.root / WRITER
        if not path.exists():
            return
        try:
            ok = isinstance(json.loads(path.read_text(encoding="utf-8")).get("pid"), int)
        except (OSError, UnicodeDecodeError, ValueError, AttributeError):
            ok = False
        if not ok:
            self.record("cleaned", path, "the writer's pid file left by an earlier writer is not "
                                         "valid", "replaced by this writer's")

    def release(self) -> None:
        if self._lock is not None:
            (self.root / WRITER).unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def _require_lock(self) -> None:
        if self._lock is None or not self._lock.is_locked:
            raise StoreError(f"{self.root}: write without holding the folder's lock")

    def _clean_temporaries(self) -> None:
        """Remove half-written files and trash of an interrupted writer (all made by the store;
        never part of a verified state), and log what was removed."""
        removed = []
        for path in [*self.root.iterdir(), *(self.parts.rglob(".*") if self.parts.exists() else [])]:
            if _TMP.match(path.name):
                path.unlink(missing_ok=True)
                removed.append(path)
            elif path.name.startswith(".parts-trash-") and path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        for path in removed:
            self.record("cleaned", path, "a half-written file of an interrupted writer",
                        "removed (it was never part of the stored results)")

    # -- start / resume --------------------------------------------------------------------
    def clear(self) -> None:
        """Delete this store's own files (never anything else in the folder). The manifest goes
        first: a reader sees the finished batch whole, or no finished batch at all."""
        self._require_lock()
        for name in (MANIFEST, PROGRESS, *(f"{t}.parquet" for t in TABLES)):
            (self.root / name).unlink(missing_ok=True)
        _fsync_dir(self.root)
        self._remove_parts()
        self.events, self.session = [], []

    def _remove_parts(self) -> None:
        if self.parts.exists():  # one atomic rename, then delete: parts are all there or gone
            trash = self.root / f".parts-trash-{os.getpid()}"
            os.replace(self.parts, trash)
            _fsync_dir(self.root)
            shutil.rmtree(trash, ignore_errors=True)

    def prepare(self, config_hash: str, chunk_size: int, n_chunks: int, fresh: bool,
                n_runs: int | None = None, inputs: dict[str, str] | None = None,
                spec_hash: str | None = None, accept_changed_inputs: bool = False,
                labels: dict[str, str] | None = None) -> int:
        """Start or resume; returns the chunk size to use (the stored one when resuming).

        ``inputs`` (fingerprints of what the results rest on besides the config) are recorded;
        a resume whose inputs differ from the recorded ones is refused (StoreInputsChanged,
        naming each change via ``labels``), or, with ``accept_changed_inputs``, goes on and logs
        each change as an event. ``spec_hash`` (the config alone) tells a changed config,
        always refused, from changed inputs."""
        self._require_lock()
        if fresh:
            self.clear()
        progress, manifest = self.root / PROGRESS, self.root / MANIFEST
        if progress.exists():
            state = read_json(progress, "progress file")
            same_spec = state.get("spec_hash") is None or spec_hash is None or state["spec_hash"] == spec_hash
            was = state.get("inputs") if isinstance(state.get("inputs"), dict) else None
            changed = {k: (was.get(k), v) for k, v in (inputs or {}).items()
                       if was is not None and was.get(k) != v} if same_spec else {}
            if changed:
                names = labels or {}
                said = [f"{names.get(k, k)}: {old} -> {new}" for k, (old, new) in changed.items()]
                if not accept_changed_inputs:
                    raise StoreInputsChanged(
                        f"{self.root} holds a partial batch made with other inputs than now, so its "
                        "stored chunks would mix with new ones:\n  " + "\n  ".join(said)
                        + "\nuse --fresh to start it again, put the inputs back, or pass "
                          "--accept-changed-inputs (accept_changed_inputs=True) to resume anyway "
                          "(the change is logged in manifest.json)")
                for k, (old, new) in changed.items():
                    self.record("inputs changed", INPUT_PATHS.get(k, k),
                                f"{names.get(k, k)} changed since the batch began ({old} -> {new})",
                                "accepted (--accept-changed-inputs): the stored chunks are kept")
                state = {**state, "config_hash": config_hash, "inputs": inputs, "events": self.events}
                atomic_write_json(progress, state)
            if state["config_hash"] != config_hash:
                raise StoreMismatch(
                    f"{self.root} holds results of a different config (hash {state['config_hash']}, "
                    f"this config {config_hash}); use --fresh to replace them or --out for a new folder")
            self.save_events()
            return int(state["chunk_size"])
        if manifest.exists() and read_json(manifest, "manifest")["config_hash"] != config_hash:
            raise StoreMismatch(f"{self.root} holds finished results of a different config; "
                                "use --fresh to replace them or --out for a new folder")
        self.parts.mkdir(parents=True, exist_ok=True)
        atomic_write_json(progress, {"config_hash": config_hash, "chunk_size": chunk_size,
                                     "n_chunks": n_chunks, "n_runs": n_runs, "events": self.events,
                                     "inputs": inputs, "spec_hash": spec_hash})
        return chunk_size

    def finished(self, config_hash: str) -> bool:
        """A complete, verified batch of this config (leftover parts of it are cleaned up)."""
        self._require_lock()
        if not (self.root / MANIFEST).exists():
            return False
        man = read_json(self.root / MANIFEST, "manifest")
        if man["config_hash"] != config_hash or verify_tables(self.root, man):
            return False
        for path in [p for p in (self.parts, self.root / PROGRESS) if p.exists()]:
            self.record("cleaned", path, "left by a writer stopped after the manifest was "
                                         "written (the tables are whole and verified)", "removed")
        self._remove_parts()
        (self.root / PROGRESS).unlink(missing_ok=True)
        if self.session:  # the manifest keeps the log
            self.events = [*(man.get("events") or []), *self.session]
            atomic_write_json(self.root / MANIFEST, {**man, "events": self.events})
        return True

    def invalidate(self, runs: Sequence[int] = ()) -> None:
        """Drop a manifest whose tables do not match it (logged; refused when ``strict``); the
        batch is rebuilt from its parts and seeds (``runs``: those to be run again)."""
        self._require_lock()
        path = self.root / MANIFEST
        try:
            man = read_json(path, "manifest")
            problem = verify_tables(self.root, man) or "the tables do not match it"
        except StoreCorrupt as exc:
            man, problem = {}, str(exc).split(": ", 1)[-1]
        if self.strict:
            self.refuse_repair([f"{path}: {problem}"])
        self.events = [*(man.get("events") or []), *self.session]
        path.unlink(missing_ok=True)
        self.record("repaired", path, f"the finished tables do not match it ({problem})",
                    "the manifest is dropped and the batch rebuilt from its parts and seeds", runs)

    # -- chunks ----------------------------------------------------------------------------
    def _part_files(self, table: str, index: int) -> list[Path]:
        """One table's part files of chunk ``index`` (one per scenario), sorted."""
        return sorted((self.parts / table).glob(f"scenario=*/chunk-{index:06d}{PART_SUFFIX}"))

    def _chunk_files(self, index: int) -> list[Path]:
        if not self.parts.exists():
            return []
        return [p for t in TABLES for p in self._part_files(t, index)]

    def _check_chunk(self, mark: Path, index: int) -> tuple[Path, str] | None:
        """None when a marked chunk is whole, else (the bad file, what is wrong with it)."""
        try:
            rows = json.loads(mark.read_text(encoding="utf-8"))["rows"]
            if not (isinstance(rows, dict) and all(isinstance(rows.get(t), int) for t in TABLES)):
                raise ValueError("no row counts")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            return mark, f"the chunk's completion mark is not valid ({type(exc).__name__}: {exc})"
        for t in TABLES:
            files = self._part_files(t, index)
            found = 0
            for f in files:
                try:
                    found += _part(f).count_rows()
                except (OSError, pa.ArrowException) as exc:
                    return f, f"unreadable ({type(exc).__name__}: {exc}); truncated or damaged"
            if found != rows[t]:
                where = files[0] if len(files) == 1 else self.parts / t
                return where, f"{t} parts of chunk {index} hold {found} rows, its mark says {rows[t]}"
        return None

    def done_chunks(self, runs_of: Callable[[int], Sequence[int]] | None = None) -> set[int]:
        """Chunks whose files are all present with the row counts their mark records. A chunk
        that fails this check is reported (file, problem, the runs redone: ``runs_of(index)``)
        and its files are removed so that it is run again; ``strict`` refuses instead."""
        done, broken = set(), {}
        marks = self.parts / "done"
        for mark in sorted(marks.glob("chunk-*.json")) if marks.exists() else []:
            m = _CHUNK.match(mark.name)
            if not m:
                continue
            index = int(m.group(1))
            problem = self._check_chunk(mark, index)
            if problem is None:
                done.add(index)
            else:
                broken[index] = (mark, *problem)
        if broken and self.strict:
            self.refuse_repair([f"{file}: {why}" for _, file, why in broken.values()])
        for index, (mark, file, why) in broken.items():
            mark.unlink(missing_ok=True)
            for f in self._chunk_files(index):
                f.unlink(missing_ok=True)
            self.record("repaired", file, why, f"chunk {index} is removed and run again",
                        runs_of(index) if runs_of else ())
        return done

    def write_chunk(self, index: int, tables: dict[str, pd.DataFrame]) -> None:
        """Each table partitioned by scenario, durably; the chunk's mark written last."""
        self.write_encoded(encode_chunk(index, tables))

    def write_encoded(self, chunk: EncodedChunk) -> None:
        """A chunk a worker has already encoded (``encode_chunk``): its parts written durably,
        the chunk's mark last."""
        self._require_lock()
        for name, parts in chunk.parts.items():
            for label, data in parts.items():
                folder = self.parts / name / f"scenario={label}"
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(folder / f"chunk-{chunk.index:06d}{PART_SUFFIX}", data)
        (self.parts / "done").mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.parts / "done" / f"chunk-{chunk.index:06d}.json",
                          {"rows": chunk.rows})

    def parts_dataset(self, name: str):
        """The finished chunks of one table as a pyarrow dataset (hive-partitioned by scenario)."""
        import pyarrow.dataset as ds
        files = sorted((self.parts / name).glob(f"scenario=*/chunk-*{PART_SUFFIX}"))
        kind = _part(files[0]).schema.field("scenario").type if files else pa.string()
        return ds.dataset(self.parts / name, format="ipc",
                          partitioning=ds.partitioning(pa.schema([("scenario", kind)]), flavor="hive"))

    # -- finalize --------------------------------------------------------------------------
    def finalize(self, manifest: Callable[[pd.DataFrame], dict[str, Any]] | dict[str, Any],
                 sort_keys: Sequence[str] = ("run",)) -> dict[str, Any]:
        """Merge the parts, chunk by chunk, into the final tables; verify them; write the
        manifest (``manifest`` may be a function of the merged runs table's identity, status
        and error columns: :data:`MANIFEST_COLUMNS`) as the completion mark; then remove the
        parts. A kill at any point leaves a folder that resumes."""
        self._require_lock()
        started = time.perf_counter()
        done = sorted(self.done_chunks())
        release_memory()  # what receiving the chunks left cached: the merge starts from less
        # the tables side by side: Arrow reads, checks and encodes without holding the GIL
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(max_workers=len(TABLES), thread_name_prefix="borderscen-merge") as pool:
            merged = {name: pool.submit(self._merge, name, done, list(sort_keys)) for name in TABLES}
        rows: dict[str, int] = {name: fut.result() for name, fut in merged.items()}
        release_memory()  # what the merge's threads cached, back to the system
        have = set(pq.read_schema(self.root / "runs.parquet").names)
        runs = pd.read_parquet(self.root / "runs.parquet",
                               columns=[c for c in MANIFEST_COLUMNS if c in have])
        man = manifest(runs) if callable(manifest) else manifest
        man["rows"] = rows
        man["events"] = list(self.events)
        problem = verify_tables(self.root, man, runs)
        if problem:
            raise StoreCorrupt(f"{self.root}: merged tables failed verification ({problem}); "
                               "the parts are kept: run the same command again to repair")
        man.setdefault("timings", {})["finalize_s"] = time.perf_counter() - started
        atomic_write_json(self.root / MANIFEST, man)
        self._remove_parts()
        (self.root / PROGRESS).unlink(missing_ok=True)
        _fsync_dir(self.root)
        return man

    def _merge(self, name: str, chunks: list[int], sort_keys: list[str]) -> int:
        """Stream one table's parts into ``<name>.parquet``: one row group per chunk. Chunks
        hold consecutive runs, so sorting within each chunk sorts the whole table. The next
        chunk's parts are read (decompressed, checked) on a thread of their own while this one
        is encoded: at most two chunks are held."""
        from concurrent.futures import ThreadPoolExecutor
        files = {i: self._part_files(name, i) for i in chunks} if (self.parts / name).exists() else {}
        schemas = [_part(f).schema for fs in files.values() for f in fs]
        schema = _unified(schemas)
        todo = [i for i in chunks if files.get(i)]

        def load(i: int) -> pa.Table:
            table = pa.concat_tables([_conform(_part(f).read_all(), schema) for f in files[i]])
            # workers sort their parts (encode_chunk): then this only checks the order
            return _sorted(table, [*sort_keys, "step", "zone"])

        path = self.root / f"{name}.parquet"
        tmp = _tmp_name(path)
        n = 0
        try:
            with _writing(path), open_for_write(tmp) as fh, \
                    pq.ParquetWriter(fh, schema, **write_options(schema)) as writer, \
                    ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"borderscen-read-{name}") as reader:
                ahead = reader.submit(load, todo[0]) if todo else None
                for k in range(len(todo)):
                    assert ahead is not None
                    table = ahead.result()
                    ahead = reader.submit(load, todo[k + 1]) if k + 1 < len(todo) else None
                    if table.num_rows:  # an empty part gives its columns only (the schema)
                        writer.write_table(table)
                    n += table.num_rows
                    del table
                    if (k + 1) % RELEASE_EVERY == 0:  # memory flat in the number of chunks
                        release_memory()
            with _writing(path):
                _fsync_file(tmp)
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(self.root)
        return n


def _unified(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema for every part (columns a part lacks, e.g. a chunk of failed runs, become
    nulls; a column that is all-null in one part takes the type it has elsewhere)."""
    if not schemas:
        return pa.schema([])
    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for f in schema.remove_metadata():
            if f.name not in fields or pa.types.is_null(fields[f.name].type):
                fields[f.name] = f
    return pa.schema(list(fields.values()))


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        if f.name in table.column_names:
            cols.append(table.column(f.name).cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def verify_tables(root: Path, manifest: dict[str, Any], runs: pd.DataFrame | None = None) -> str:
    """'' when the tables match the manifest (row counts; run ids 0..n-1 each once), else what
    is wrong."""
    expected = manifest.get("rows")
    if not isinstance(expected, dict):
        return "the manifest records no row counts"
    for name in TABLES:
        path = root / f"{name}.parquet"
        try:
            found = pq.read_metadata(path).num_rows
        except (OSError, pa.ArrowException) as exc:
            return f"{path.name} unreadable ({type(exc).__name__})"
        if found != expected.get(name):
            return f"{path.name} has {found} rows, the manifest says {expected.get(name)}"
    n = manifest.get("counts", {}).get("runs")
    try:
        ids = (runs if runs is not None else pd.read_parquet(root / "runs.parquet", columns=["run"]))["run"]
    except (OSError, KeyError, pa.ArrowException) as exc:
        return f"runs.parquet has no run ids ({type(exc).__name__})"
    if n is not None and (len(ids) != n or sorted(ids.tolist()) != list(range(n))):
        return f"runs.parquet holds {ids.nunique()} distinct runs of {n}"
    return ""


def state(root: str | Path, config_hash: str) -> str:
    """'complete' or 'partial' (this config's results), 'stale' (another config's), 'corrupt'
    (a finished folder whose tables do not match its manifest), 'foreign' (not a store), or
    'empty'."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or _foreign(root)):
        return "foreign"
    progress, manifest = root / PROGRESS, root / MANIFEST
    try:
        if manifest.exists():
            man = read_json(manifest, "manifest")
            if man["config_hash"] != config_hash:
                return "stale"
            return "corrupt" if verify_tables(root, man) else "complete"
        if progress.exists():
            same = read_json(progress, "progress file")["config_hash"] == config_hash
            return "partial" if same else "stale"
    except StoreCorrupt:
        return "corrupt"
    return "empty"


def is_complete(root: str | Path, config_hash: str) -> bool:
    """A finished results folder of this config whose tables match its manifest."""
    return state(root, config_hash) == "complete"


# ---------------------------------------------------------------------------- reading
class StoreInProgress(StoreError):
    """A writer is still making the folder's results (no finished batch to read yet)."""


def _live_writer(root: Path) -> int | None:
    """The pid of a live process holding the folder as its writer, if any."""
    try:
        pid = json.loads((root / WRITER).read_text(encoding="utf-8"))["pid"]
        os.kill(int(pid), 0)
    except PermissionError:
        return int(pid)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return int(pid)


#: Column names of earlier model versions and what replaced them (model v2, commit 972efc0,
#: counted tracked attacks per country and called ISIS's strength its members). A renamed
#: name is refused naming its replacement, never read as a fallback.
RENAMED_COLUMNS = {
    "attacks_reported": "attacks_tracked_iraq (and attacks_tracked_syria)",
    "attacks_reported_iraq": "attacks_tracked_iraq",
    "attacks_reported_syria": "attacks_tracked_syria",
    "isis_fighters": "isis_members",
    "isis_recruits": "recruits_iraq (and recruits_syria)",
    "isis_neutralised": "neutralised_iraq (and neutralised_syria)",
    "cum_attacks_reported": "cum_attacks_tracked",
    "cum_attacks_anbar_nineveh": "cum_attacks_desert",
    "final_isis_fighters": "final_isis_members",
}


def unknown_column(where: str | Path, table: str, name: str, known: Sequence[str]) -> ConfigError:
    """The error for a column (an output or metric) a table does not have: a renamed one names
    its replacement, a misspelled one gets a did-you-mean, and every column is listed."""
    if name in RENAMED_COLUMNS:
        return ConfigError(where, "output", name, f"an output name of model v1, renamed in model "
                           f"v2: use {RENAMED_COLUMNS[name]}")
    hint = did_you_mean(name, known)
    return ConfigError(where, "output", name, f"not a column of the {table} table"
                       f"{'; ' + hint if hint else ''} (columns: {', '.join(known)})")


def check_columns(where: str | Path, table: str, wanted: Sequence[str], known: Sequence[str]) -> None:
    """Raise :func:`unknown_column` for the first of ``wanted`` that is not in ``known``."""
    have = set(known)
    for name in wanted:
        if name not in have:
            raise unknown_column(where, table, name, list(known))


#: What the analysis methods of :class:`Results` call, filled by ``borderscen.analysis.results``
#: when borderscen is imported. The store never imports analysis (data flows one way: store ->
#: analysis), so these methods only name the analysis they dispatch to.
ANALYSES: dict[str, Callable[..., Any]] = {}


def register_analysis(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``fn(results, ...)`` becomes what ``Results.<name>(...)`` calls."""
    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        ANALYSES[name] = fn
        return fn
    return add


#: Methods that went, and what does their work now (issue 24: one summary API).
REMOVED = {
    "sweep_quantiles": "use quantiles(), which splits a sweep by point",
    "sweep_regime_probabilities": "use regime_probabilities(), which splits a sweep by point",
    "sweep_end_state": "use end_state(metrics=...), which splits a sweep by point",
    "sweep_summary": "use end_state(metrics=..., wide=None), which splits a sweep by point",
}


class Results:
    """Reader side: the tables and manifest of a finished batch, with summaries for notebooks.

    Tables are read lazily: the ``timeseries``, ``runs`` and ``zones`` properties load (and
    cache) a whole table; :meth:`read` loads only some columns and rows (filters are pushed down
    to Parquet row groups), and :meth:`dataset` gives a ``pyarrow.dataset``. The files are plain
    Parquet, so DuckDB (``read_parquet('results/x/timeseries.parquet')``) and polars
    (``pl.scan_parquet``) read them directly.

    The summaries (:meth:`quantiles`, :meth:`regime_probabilities`, :meth:`end_state`,
    :meth:`paired_differences`, ...) are implemented in ``borderscen.analysis.results``: they
    read only the columns they need, one scenario at a time, and split a sweep by design point.
    """

    def __init__(self, root: str | Path, verify: bool = True):
        self.root = Path(root)
        if not self.root.is_dir():
            raise StoreError(f"{self.root}: no such results folder")
        if not (self.root / MANIFEST).exists():
            if (writer := _live_writer(self.root)) is not None:
                raise StoreInProgress(f"{self.root} is being written (in progress: pid {writer}); "
                                      "its results can be read once that run has finished")
            raise StoreInProgress(f"{self.root} is not a finished results folder (no {MANIFEST}): "
                                  "a run is in progress there, or was interrupted; run the "
                                  "experiment (again) to finish it")
        self.manifest: dict[str, Any] = read_json(self.root / MANIFEST, "manifest")
        if verify and (problem := verify_tables(self.root, self.manifest)):
            raise StoreCorrupt(f"{self.root}: {problem}; run the experiment again to repair it")
        self._cache: dict[str, pd.DataFrame] = {}
        self._footers: dict[str, tuple[tuple[int, int], Any, pa.Schema]] = {}

    def _path(self, name: str) -> Path:
        if name not in TABLES:
            raise StoreError(f"unknown table {name!r}; allowed: {', '.join(TABLES)}")
        return self.root / f"{name}.parquet"

    def _ordered(self, df: pd.DataFrame) -> pd.DataFrame:
        if "scenario" in df.columns:
            df["scenario"] = pd.Categorical(df["scenario"], categories=self.scenarios, ordered=True)
        return df

    def _footer(self, table: str) -> tuple[Any, pa.Schema]:
        """The Parquet footer (metadata) of a table and its Arrow schema, parsed once while the
        file is unchanged (same size and modification time): a summary reads a table many
        times, a few columns of one scenario at a time, and a footer of hundreds of row groups
        is not free. The schema comes from a reader, never from the footer's ``schema``: a
        ParquetSchema and its FileMetaData refer to each other, so a footer whose schema was
        asked for (tens of MB at 100,000 runs) would outlive its Results until the cycle
        collector ran."""
        path = self._path(table)
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)
        cached = self._footers.get(table)
        if cached is None or cached[0] != key:
            md = pq.read_metadata(path)
            cached = self._footers[table] = (key, md, pq.ParquetFile(path, metadata=md).schema_arrow)
        return cached[1], cached[2]

    def columns(self, table: str = "timeseries") -> list[str]:
        """The column names of a table (read from the Parquet footer, no data)."""
        return list(self._footer(table)[1].names)

    def read(self, table: str = "timeseries", columns: Sequence[str] | None = None,
             filters: Any = None) -> pd.DataFrame:
        """Some columns and rows of a table, e.g.
        ``res.read("timeseries", columns=["scenario", "date", "cooperation"],
        filters=[("scenario", "==", "baseline")])`` (pyarrow filter syntax). A column the table
        lacks is a :class:`~borderscen.errors.ConfigError` with a did-you-mean (or, for an old
        output name, its new name).

        Read on the calling thread, without pre-buffering: the merged tables hold one small row
        group per chunk of runs, so Arrow's reader threads gain little (none on 2 cores: 0.40
        against 0.44 s for a whole 10,000-run timeseries), and each thread pool keeps what it
        allocated (reading the figures' runs columns at 100,000 runs held 75 MB that way, 22 MB
        this way). For parallel scans of a large table use :meth:`dataset`."""
        path = self._path(table)
        if columns is not None:
            check_columns(self.root / f"{table}.parquet", table, columns, self.columns(table))
        return self._ordered(pq.read_table(path, columns=list(columns) if columns else None,
                                           filters=filters, use_threads=False, pre_buffer=False)
                             .to_pandas(use_threads=False))

    def read_arrow(self, table: str, columns: Sequence[str], scenario: str | None = None) -> pa.Table:
        """Some columns of a table as a ``pyarrow.Table``, optionally of one scenario only
        (the row groups of :meth:`iter_arrow`, concatenated)."""
        columns = list(dict.fromkeys(columns))
        parts = list(self.iter_arrow(table, columns, scenario))
        if parts:
            return pa.concat_tables(parts)
        return self._footer(table)[1].empty_table().select(columns)

    def iter_arrow(self, table: str, columns: Sequence[str], scenario: str | None = None,
                   dictionary: Sequence[str] = (), constant: Sequence[str] = ()) -> Iterator[pa.Table]:
        """Some columns of a table, one row group (one chunk of runs) at a time, optionally of
        one scenario only: for aggregations whose memory must not grow with the runs.
        ``dictionary``: string columns read dictionary-encoded (a few distinct values, such as
        ``zone``: far faster to read and to group by). ``constant``: columns that usually hold
        one value in a row group (such as ``point``): where the footer's statistics say a row
        group holds one value and no nulls, the column is filled with it instead of read (the
        same table, read faster).

        The merged tables hold one row group per chunk and a chunk never mixes scenarios, so a
        scenario's row groups are picked from the footer's statistics and read without
        pre-buffering (rows of a row group that mixes scenarios are filtered)."""
        columns = list(dict.fromkeys(columns))
        check_columns(self.root / f"{table}.parquet", table, columns, self.columns(table))
        md, schema = self._footer(table)
        pf = pq.ParquetFile(self._path(table), pre_buffer=False, metadata=md,
                            read_dictionary=list(dictionary) or None)
        fill = {c: schema.names.index(c) for c in dict.fromkeys(constant) if c in columns}
        for i, rg, mixed in _row_groups(md, schema, scenario):
            fixed = {c: v for c, j in fill.items() if (v := _single_value(rg.column(j).statistics))}
            read = [c for c in columns if c not in fixed]
            need = [*read, "scenario"] if mixed and "scenario" not in read else read
            part = pf.read_row_group(i, columns=need, use_threads=False)
            if mixed:
                import pyarrow.compute as pc
                part = part.filter(pc.equal(part["scenario"], scenario)).select(read)
            if part.num_rows:
                if fixed:
                    n = part.num_rows
                    have = dict(zip(read, part.columns, strict=True))
                    part = pa.table({c: have[c] if c in have else
                                     pa.repeat(pa.scalar(fixed[c][0], schema.field(c).type), n)
                                     for c in columns})
                yield part

    def column_range(self, table: str, column: str, scenario: str | None = None) -> pa.Array | None:
        """The smallest and largest value of a column, optionally in one scenario's rows, as an
        Arrow array of two values of the column's type: from the footer's statistics when each
        of those row groups has them (no rows read), else by reading the column a row group at
        a time. None when there are no such rows."""
        check_columns(self.root / f"{table}.parquet", table, [column], self.columns(table))
        md, schema = self._footer(table)
        kind = schema.field(column).type
        got = self._stats_range(md, schema, column, scenario)
        if got is False:
            got = self._read_range(table, column, scenario)
        return None if got is None else pa.array(list(got), type=kind)

    @staticmethod
    def _stats_range(md: Any, schema: pa.Schema, column: str, scenario: str | None) -> Any:
        """(min, max) from the footer, None without rows, False when the footer cannot say."""
        j = schema.names.index(column)
        lo = hi = None
        for _, rg, mixed in _row_groups(md, schema, scenario):
            if mixed:  # other scenarios' rows, or not known: only a read can say
                return False
            st = rg.column(j).statistics
            if rg.num_rows and (st is None or not st.has_min_max):
                return False
            if rg.num_rows:
                lo = st.min if lo is None else min(lo, st.min)
                hi = st.max if hi is None else max(hi, st.max)
        return None if lo is None else (lo, hi)

    def _read_range(self, table: str, column: str, scenario: str | None) -> tuple[Any, Any] | None:
        import pyarrow.compute as pc
        ends = [pc.min_max(t[column]) for t in self.iter_arrow(table, [column], scenario)]
        ends = [e for e in ends if e["min"].is_valid]
        if not ends:
            return None
        return min(e["min"].as_py() for e in ends), max(e["max"].as_py() for e in ends)

    def dataset(self, table: str = "timeseries"):
        """A ``pyarrow.dataset.Dataset`` of one table, for lazy scans."""
        import pyarrow.dataset as ds
        return ds.dataset(self._path(table), format="parquet")

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            self._cache[name] = self.read(name)
        return self._cache[name]

    @property
    def timeseries(self) -> pd.DataFrame:
        return self._table("timeseries")

    @property
    def runs(self) -> pd.DataFrame:
        return self._table("runs")

    @property
    def zones(self) -> pd.DataFrame:
        return self._table("zones")

    @property
    def name(self) -> str:
        return self.manifest["experiment"]

    @property
    def scenarios(self) -> list[str]:
        return list(self.manifest["scenarios"])

    @property
    def id(self) -> str:
        return f"{self.name}@{self.manifest['config_hash']}"

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Failed runs with their scenario, point, replication, seed and error."""
        return list(self.manifest.get("failures", []))

    @property
    def is_sweep(self) -> bool:
        """More than one design point: every summary is split by point."""
        return len(self.manifest.get("design_points") or [{}]) > 1

    def __repr__(self) -> str:
        c = self.manifest["counts"]
        return (f"Results({self.name!r}: {c['runs']} runs, {c['failed']} failed, "
                f"scenarios {self.scenarios}, at {self.root})")

    # analyses: implemented in borderscen.analysis.results (registered there, see ANALYSES)
    def _call(self, name: str, *args, **kw):
        try:
            fn = ANALYSES[name]
        except KeyError:
            raise StoreError(f"Results.{name} is provided by borderscen.analysis, which is not "
                             "loaded; `import borderscen.analysis` first") from None
        return fn(self, *args, **kw)

    def quantiles(self, output: str, **kw) -> pd.DataFrame:
        """Quantiles of a monthly output per scenario and date, and per design point on a
        sweep (``q=``, ``by=``)."""
        return self._call("quantiles", output, **kw)

    def regime_probabilities(self, **kw) -> pd.DataFrame:
        """Share of runs in each regime per scenario and date, and per design point on a sweep."""
        return self._call("regime_probabilities", **kw)

    def paired_differences(self, metric: str, baseline: str = "baseline", **kw) -> pd.DataFrame:
        """Mean (scenario - baseline) of a run-level metric over replications sharing a seed,
        per scenario, and per design point on a sweep."""
        return self._call("paired_differences", metric, baseline=baseline, **kw)

    def end_state(self, **kw) -> pd.DataFrame:
        """Median [interval] of end-of-run outcomes per scenario, and per design point on a
        sweep (``metrics=``, ``interval=``, ``wide=``)."""
        return self._call("end_state", **kw)

    @property
    def design(self) -> pd.DataFrame:
        """One row per design point: its index, readable label and values."""
        return self._call("design")

    def point_differences(self, metric: str, reference: int | str = 0, **kw) -> pd.DataFrame:
        """Mean (point - reference point) of a run-level metric, paired by seed."""
        return self._call("point_differences", metric, reference, **kw)

    def response_curve(self, metric: str, parameter: str, **kw) -> pd.DataFrame:
        return self._call("response_curve", metric, parameter, **kw)

    def discover(self, where: str, **kw):
        return self._call("discover", where, **kw)

    def robustness(self, **kw):
        return self._call("robustness", **kw)

    def to_ema(self, **kw):
        return self._call("to_ema", **kw)

    def to_xarray(self, **kw):
        return self._call("to_xarray", **kw)

    def given_data_sensitivity(self, outputs, method: str = "pawn", **kw) -> pd.DataFrame:
        return self._call("given_data_sensitivity", outputs, method, **kw)

    def __getattr__(self, name: str) -> Any:
        if name in REMOVED:  # the sweep_* twins: the summaries split a sweep by point
            raise AttributeError(f"Results.{name} was removed: {REMOVED[name]}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def load_results(root: str | Path) -> Results:
    return Results(root)


__all__ = ["BorderscenError", "Results", "ResultsStore", "StoreCorrupt", "StoreError", "StoreLocked",
           "StoreMismatch", "StoreNotOwned", "is_complete", "load_results", "state"]
