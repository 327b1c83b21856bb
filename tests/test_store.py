"""Issue 12 item 1 and issue 13 item 3: a results store that never loses or mixes runs (lock,
ownership, crash-safe finalize, verified resume) and reads lazily."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.ipc  # noqa: F401 - pa.ipc
import pyarrow.parquet as pq
import pytest

from borderscen.experiments import run_experiment
from borderscen.experiments.store import (
    MARKER,
    Results,
    ResultsStore,
    StoreCorrupt,
    StoreLocked,
    StoreMismatch,
    StoreNotOwned,
    encode_chunk,
    state,
)
from same_tables import assert_same, tables  # tests/ is on sys.path (pytest prepend import mode)

TINY = textwrap.dedent("""
    [experiment]
    name = "tiny_store"
    replications = 3
    horizon_months = 4
    seed = 5
    chunk_size = 2
    executor = "serial"
    [[scenarios]]
    preset = "baseline"
    [[scenarios]]
    name = "no_coalition"
    preset = "baseline"
    overrides = { coalition_isr = 0.2 }
""")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The config file and a clean reference result."""
    base = tmp_path_factory.mktemp("tiny")
    path = base / "tiny.toml"
    path.write_text(TINY)
    ref = run_experiment(path, out=base / "reference", progress=False)
    return path, tables(ref)


def test_a_second_writer_is_refused_naming_the_folder_and_the_holder_pid(tiny, tmp_path):
    path, _ = tiny
    out = tmp_path / "r"
    with ResultsStore(out), pytest.raises(StoreLocked) as err:
        run_experiment(path, out=out, progress=False)
    assert str(out) in str(err.value) and f"pid {os.getpid()}" in str(err.value)
    assert not (out / "manifest.json").exists()


def test_two_writers_on_one_folder_the_second_is_refused_and_writes_nothing(tiny, tmp_path):
    path = tmp_path / "slow.toml"
    path.write_text(tiny[0].read_text().replace("replications = 3", "replications = 400"))
    out = tmp_path / "shared"
    cmd = [sys.executable, "-m", "borderscen.interfaces.cli", "run", str(path), "--out", str(out),
           "--no-figures", "--quiet"]
    first = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out / ".writer.json").exists():
            time.sleep(0.01)
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        still_running = first.poll() is None
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert still_running, "the first writer should still hold the folder"
    assert second.returncode == 2, second.stderr
    assert "being written by another borderscen process" in second.stderr
    assert f"pid {first.pid}" in second.stderr and str(out) in second.stderr
    assert "Traceback" not in second.stderr
    assert not (out / "manifest.json").exists()


def test_a_folder_the_store_did_not_create_is_refused_and_left_alone(tiny, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    with pytest.raises(StoreNotOwned, match="not created by borderscen"):
        run_experiment(tiny[0], out=out, progress=False)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    with pytest.raises(StoreNotOwned, match="is a file"):
        run_experiment(tiny[0], out=out / "thesis.tex", progress=False)


def test_fresh_deletes_only_what_the_store_created(tiny, tmp_path):
    out = tmp_path / "r"
    run_experiment(tiny[0], out=out, progress=False)
    (out / "notes.txt").write_text("mine")
    (out / "figures").mkdir()
    (out / "figures" / "kept.png").write_bytes(b"x")
    res = run_experiment(tiny[0], out=out, progress=False, fresh=True)
    assert (out / "notes.txt").read_text() == "mine" and (out / "figures" / "kept.png").exists()
    assert (out / MARKER).exists() and len(res.runs) == 6


def test_a_kill_while_parts_are_deleted_after_the_manifest_loses_nothing(tiny, tmp_path, monkeypatch):
    """The bug of issue 12: a kill during the removal of parts/ left a manifest claiming every
    run while some were gone; the resume now verifies and repairs."""
    path, ref = tiny
    out = tmp_path / "r"

    def half_then_killed(self):
        files = sorted(self.parts.rglob("*.arrow"))
        for f in files[: len(files) // 2]:
            f.unlink()
        raise KeyboardInterrupt

    monkeypatch.setattr(ResultsStore, "_remove_parts", half_then_killed)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, out=out, progress=False)
    monkeypatch.undo()
    assert (out / "manifest.json").exists() and (out / "parts").exists()
    again = run_experiment(path, out=out, progress=False)
    assert_same(ref, tables(again))
    assert not (out / "parts").exists() and not (out / "progress.json").exists()


@pytest.mark.parametrize("table", ["timeseries", "runs"])
def test_a_corrupted_table_is_detected_and_rebuilt_from_the_seeds(tiny, tmp_path, table):
    path, ref = tiny
    out = tmp_path / "r"
    res = run_experiment(path, out=out, progress=False)
    short = getattr(res, table).iloc[:-2].astype({"scenario": str})
    short.to_parquet(out / f"{table}.parquet", index=False)
    with pytest.raises(StoreCorrupt, match=table):
        Results(out)
    assert state(out, res.manifest["config_hash"]) == "corrupt"
    repaired = run_experiment(path, out=out, progress=False)
    assert_same(ref, tables(repaired))


def test_a_crash_inside_finalize_resumes_to_the_same_tables(tiny, tmp_path, monkeypatch):
    path, ref = tiny
    out = tmp_path / "r"
    real = ResultsStore._merge
    calls = []

    def crash_on_second(self, name, chunks, keys):
        calls.append(name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(self, name, chunks, keys)

    monkeypatch.setattr(ResultsStore, "_merge", crash_on_second)
    with pytest.raises(OSError):
        run_experiment(path, out=out, progress=False)
    monkeypatch.undo()
    assert not (out / "manifest.json").exists()
    assert not [p for p in out.iterdir() if ".tmp-" in p.name], "temporary files left behind"
    assert_same(ref, tables(run_experiment(path, out=out, progress=False)))


def test_resuming_with_a_changed_config_is_refused(tiny, tmp_path, monkeypatch):
    path, _ = tiny
    out = tmp_path / "r"
    monkeypatch.setattr(ResultsStore, "finalize", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, out=out, progress=False)
    monkeypatch.undo()
    changed = tmp_path / "changed.toml"
    changed.write_text(path.read_text().replace("seed = 5", "seed = 6"))
    with pytest.raises(StoreMismatch, match="different config.*--fresh"):
        run_experiment(changed, out=out, progress=False)


def test_a_foreign_or_corrupt_progress_file_is_a_clear_error(tiny, tmp_path):
    out = tmp_path / "r"
    with ResultsStore(out):
        pass
    (out / "progress.json").write_text("{not json")
    with pytest.raises(StoreCorrupt, match="progress file cannot be read"):
        run_experiment(tiny[0], out=out, progress=False)
    (out / "progress.json").write_text(json.dumps({"something": "else"}))
    with pytest.raises(StoreCorrupt, match="not a borderscen progress file"):
        run_experiment(tiny[0], out=out, progress=False)


def test_stale_temporary_files_of_a_killed_writer_are_removed(tiny, tmp_path):
    out = tmp_path / "r"
    with ResultsStore(out):
        pass
    (out / ".runs.parquet.tmp-99999").write_bytes(b"half")
    run_experiment(tiny[0], out=out, progress=False)
    assert not (out / ".runs.parquet.tmp-99999").exists()


def test_parts_are_a_dataset_partitioned_by_scenario(tiny, tmp_path, monkeypatch):
    out = tmp_path / "r"
    monkeypatch.setattr(ResultsStore, "finalize", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tiny[0], out=out, progress=False)
    store = ResultsStore(out)
    assert {p.name for p in (out / "parts" / "timeseries").iterdir()} == {
        "scenario=baseline", "scenario=no_coalition"}
    runs = store.parts_dataset("runs").to_table().to_pandas()
    assert len(runs) == 6 and set(runs["scenario"]) == {"baseline", "no_coalition"}
    import pyarrow.dataset as ds
    only = store.parts_dataset("runs").to_table(filter=ds.field("scenario") == "baseline")
    assert only.num_rows == 3


def test_results_read_lazily_with_columns_and_filters(tiny, tmp_path):
    res = run_experiment(tiny[0], out=tmp_path / "r", progress=False)
    part = res.read("timeseries", columns=["scenario", "run", "date", "cooperation"],
                    filters=[("scenario", "==", "no_coalition")])
    assert list(part.columns) == ["scenario", "run", "date", "cooperation"]
    assert set(part["scenario"]) == {"no_coalition"} and len(part) == 3 * 4
    whole = res.timeseries
    expected = whole[whole["scenario"] == "no_coalition"][part.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.reset_index(drop=True), expected, check_categorical=False)
    meta = pq.read_metadata(res.root / "timeseries.parquet")
    # one row group per chunk (batches never mix scenarios: 2 + 1 replications per scenario), so
    # predicate pushdown can skip whole chunks
    assert meta.num_row_groups == 4
    assert res.dataset("runs").count_rows() == 6
    with pytest.raises(Exception, match="did you mean 'cooperation'"):
        res.read("timeseries", columns=["cooperatoin"])


def test_results_of_a_missing_folder_is_a_library_error(tmp_path):
    from borderscen.errors import StoreError
    with pytest.raises(StoreError, match="no such results folder"):
        Results(tmp_path / "nowhere")
    assert not Path(tmp_path / "nowhere").exists()


def test_a_results_folder_of_an_earlier_version_is_adopted_and_rebuilt(tiny, tmp_path):
    path, ref = tiny
    out = tmp_path / "old"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"config_hash": "0123", "experiment": "x"}))
    (out / "runs.parquet").write_bytes(b"old")
    (out / "figures").mkdir()
    res = run_experiment(path, out=out, progress=False, fresh=True)
    assert_same(ref, tables(res))
    assert (out / MARKER).exists() and (out / "figures").exists()


STREAMING = """
import numpy as np, pandas as pd, pyarrow as pa, sys
from borderscen.experiments.store import ResultsStore
out, n_chunks, rows = sys.argv[1], 80, 20_000
pool = pa.default_memory_pool()
with ResultsStore(out) as store:
    store.prepare("h", 1, n_chunks, False, n_chunks)
    for i in range(n_chunks):
        ts = pd.DataFrame({"run": np.full(rows, i), "scenario": "baseline",
                           "step": np.arange(rows), "x": np.random.default_rng(i).random(rows)})
        runs = pd.DataFrame({"run": [i], "scenario": ["baseline"], "status": ["ok"]})
        store.write_chunk(i, {"timeseries": ts, "zones": ts, "runs": runs})
    before = pool.max_memory()
    store.finalize(lambda r: {"counts": {"runs": n_chunks}, "config_hash": "h"})
    chunk_bytes = ts.memory_usage(deep=True).sum()
    print(before, pool.max_memory(), chunk_bytes * n_chunks)
"""


def test_finalize_streams_chunk_by_chunk_instead_of_loading_every_part(tmp_path):
    """Arrow's peak allocation while merging 80 chunks stays at a few chunks' size (per table,
    the chunk being encoded and the next being read), far below the table's (the parent's
    memory does not grow with the number of runs)."""
    out = subprocess.run([sys.executable, "-c", STREAMING, str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    before, peak, whole = map(int, out.stdout.split())
    assert peak < whole / 6, (before, peak, whole)
    res = Results(tmp_path / "r")
    assert len(res.read("timeseries", columns=["run"])) == 80 * 20_000


def test_any_concurrent_futures_executor_gives_the_same_tables(tiny, tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    path, ref = tiny
    with ThreadPoolExecutor(max_workers=2) as pool:
        res = run_experiment(path, out=tmp_path / "r", executor=pool, progress=False)
    assert res.manifest["executor"] == "ThreadPoolExecutor"
    assert_same(ref, tables(res))


def test_a_writer_killed_before_its_marker_leaves_a_folder_that_resumes(tiny, tmp_path):
    path, ref = tiny
    out = tmp_path / "r"
    out.mkdir()
    (out / ".lock").write_bytes(b"")                       # killed right after taking the lock
    (out / "..borderscen-store.tmp-4242").write_bytes(b"{")
    (out / "figures").mkdir()                              # e.g. drawn there by `sensitivity`
    assert_same(ref, tables(run_experiment(path, out=out, progress=False)))


# ---------------------------------------------------------------------------- issue 25 item 1
def interrupted_before_finalize(path, out, monkeypatch):
    """A batch whose every chunk is stored, stopped before the merge (parts and marks remain)."""
    monkeypatch.setattr(ResultsStore, "finalize", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        run_experiment(path, out=out, progress=False)
    monkeypatch.undo()


def chunk_runs(out, index):
    files = sorted((out / "parts" / "runs").glob(f"scenario=*/chunk-{index:06d}.arrow"))
    return sorted(int(r) for f in files for r in pa.ipc.open_file(f).read_all().column("run").to_pylist())


def test_a_truncated_chunk_part_is_repaired_and_reported_naming_file_and_runs(tiny, tmp_path, monkeypatch):
    path, ref = tiny
    out = tmp_path / "r"
    interrupted_before_finalize(path, out, monkeypatch)
    part = sorted((out / "parts" / "timeseries").glob("scenario=*/chunk-000001.arrow"))[0]
    redone = chunk_runs(out, 1)
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    notes: list[str] = []
    res = run_experiment(path, out=out, progress=False, log=notes.append)
    assert_same(ref, tables(res))
    rel = str(part.relative_to(out))
    said = [n for n in notes if rel in n]
    assert said and "repaired" in said[0] and "truncated" in said[0], notes
    assert f"runs {redone[0]}" in said[0]
    events = [e for e in res.manifest["events"] if e["kind"] == "repaired"]
    assert [(e["file"], e["runs"]) for e in events] == [(rel, redone)]


def test_an_invalid_chunk_mark_is_repaired_and_reported(tiny, tmp_path, monkeypatch):
    path, ref = tiny
    out = tmp_path / "r"
    interrupted_before_finalize(path, out, monkeypatch)
    mark = out / "parts" / "done" / "chunk-000002.json"
    mark.write_text("{half")
    notes: list[str] = []
    res = run_experiment(path, out=out, progress=False, log=notes.append)
    assert_same(ref, tables(res))
    assert any("parts/done/chunk-000002.json" in n and "completion mark is not valid" in n
               for n in notes), notes
    assert [e["file"] for e in res.manifest["events"]] == ["parts/done/chunk-000002.json"]


def test_an_invalid_writer_pid_file_is_reported_as_cleaned(tiny, tmp_path, monkeypatch):
    path, ref = tiny
    out = tmp_path / "r"
    interrupted_before_finalize(path, out, monkeypatch)
    (out / ".writer.json").write_text("garbage")
    notes: list[str] = []
    res = run_experiment(path, out=out, progress=False, log=notes.append)
    assert any(".writer.json" in n and "cleaned" in n for n in notes), notes
    assert [e["file"] for e in res.manifest["events"]] == [".writer.json"]


def test_a_finished_folder_whose_table_was_truncated_logs_the_rebuild(tiny, tmp_path):
    path, ref = tiny
    out = tmp_path / "r"
    run_experiment(path, out=out, progress=False)
    table = out / "zones.parquet"
    table.write_bytes(table.read_bytes()[:100])
    notes: list[str] = []
    res = run_experiment(path, out=out, progress=False, log=notes.append)
    assert_same(ref, tables(res))
    assert any("manifest.json" in n and "zones.parquet unreadable" in n for n in notes), notes
    assert any("runs 0-5 are run again" in n for n in notes), notes
    (event,) = res.manifest["events"]
    assert event["kind"] == "repaired" and event["runs"] == list(range(6))


def test_the_log_of_events_survives_an_interrupted_resume(tiny, tmp_path, monkeypatch):
    """A repair made by a resume that is itself interrupted is still in the final manifest."""
    path, ref = tiny
    out = tmp_path / "r"
    interrupted_before_finalize(path, out, monkeypatch)
    (out / "parts" / "done" / "chunk-000000.json").write_text("[]")
    interrupted_before_finalize(path, out, monkeypatch)   # repairs chunk 0, then stops again
    res = run_experiment(path, out=out, progress=False, log=lambda m: None)
    assert_same(ref, tables(res))
    assert [e["file"] for e in res.manifest["events"]] == ["parts/done/chunk-000000.json"]


def test_strict_refuses_to_repair_and_changes_nothing(tiny, tmp_path, monkeypatch):
    from borderscen.experiments.store import StoreRepairRefused
    path, ref = tiny
    out = tmp_path / "r"
    interrupted_before_finalize(path, out, monkeypatch)
    part = sorted((out / "parts" / "runs").glob("scenario=*/chunk-000000.arrow"))[0]
    part.write_bytes(b"PAR1 broken")
    before = sorted((p.relative_to(out), p.read_bytes()) for p in out.rglob("*")
                    if p.is_file() and p.name not in (".lock", ".writer.json"))
    with pytest.raises(StoreRepairRefused) as err:
        run_experiment(path, out=out, progress=False, strict=True)
    assert str(part) in str(err.value) and "strict" in str(err.value)
    after = sorted((p.relative_to(out), p.read_bytes()) for p in out.rglob("*")
                   if p.is_file() and p.name not in (".lock", ".writer.json"))
    assert after == before
    finished = tmp_path / "done"
    run_experiment(path, out=finished, progress=False)
    (finished / "runs.parquet").write_bytes(b"x")
    with pytest.raises(StoreRepairRefused, match="runs.parquet"):
        run_experiment(path, out=finished, progress=False, strict=True)
    assert (finished / "manifest.json").exists()
    assert_same(ref, tables(run_experiment(path, out=out, progress=False, log=lambda m: None)))


def test_cli_reports_repairs_on_stderr_and_strict_exits_2(tiny, tmp_path, monkeypatch, capsys):
    from borderscen.interfaces.cli import main
    path, _ = tiny
    out = tmp_path / "r"
    interrupted_before_finalize(path, out, monkeypatch)
    (out / "parts" / "done" / "chunk-000001.json").write_text("nope")
    code = main(["run", str(path), "--out", str(out), "--no-figures", "--quiet", "--strict"])
    err = capsys.readouterr().err
    assert code == 2 and "strict mode refuses" in err and "chunk-000001.json" in err
    assert "Traceback" not in err
    code = main(["run", str(path), "--out", str(out), "--no-figures", "--quiet"])
    err = capsys.readouterr().err
    assert code == 0 and "repaired: parts/done/chunk-000001.json" in err


def test_a_chunk_encoded_from_arrow_tables_equals_one_from_dataframes():
    """Workers hand the store Arrow tables (a DataFrame still works): the part files hold the
    same rows, split by scenario in the order they appear, and the same row counts."""
    ts = pd.DataFrame({"experiment": "e", "run": [3, 1, 2, 0], "scenario": ["b", "a", "b", "a"],
                       "step": 1, "value": [0.5, float("nan"), 2.0, 3.0]})
    runs = pd.DataFrame({"run": [0, 1, 2, 3], "scenario": ["a", "a", "b", "b"], "status": "ok"})
    frames = encode_chunk(7, {"timeseries": ts, "zones": ts.iloc[:0], "runs": runs})
    arrow = encode_chunk(7, {"timeseries": pa.Table.from_pandas(ts, preserve_index=False),
                             "zones": pa.Table.from_pandas(ts.iloc[:0], preserve_index=False),
                             "runs": runs})
    assert arrow.rows == frames.rows == {"timeseries": 4, "zones": 0, "runs": 4}
    assert list(arrow.parts["timeseries"]) == list(frames.parts["timeseries"]) == ["b", "a"]
    # a table without rows (zones when a filtered start is past the horizon) keeps its columns
    assert list(arrow.parts["zones"]) == list(frames.parts["zones"]) == ["b"]
    empty = pa.ipc.open_file(pa.py_buffer(arrow.parts["zones"]["b"])).read_all()
    assert empty.num_rows == 0 and empty.column_names == list(ts.columns)
    assert encode_chunk(7, {"timeseries": ts, "zones": pa.table({}), "runs": runs}).parts["zones"] == {}
    for label, data in arrow.parts["timeseries"].items():
        got = pa.ipc.open_file(pa.py_buffer(data)).read_all()
        want = pa.ipc.open_file(pa.py_buffer(frames.parts["timeseries"][label])).read_all()
        assert got.equals(want) and got.column("run").to_pylist() == sorted(got.column("run").to_pylist())
