"""Results folders: tidy Parquet tables plus a JSON manifest, written atomically.

While a batch runs, each finished chunk lands in ``parts/`` as three files renamed into place
(runs last, as the completion mark), so an interrupted batch resumes from what is there. At the
end the parts are merged into ``timeseries.parquet``, ``runs.parquet`` and ``zones.parquet``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

TABLES = ("timeseries", "zones", "runs")  # runs last: its presence marks a complete chunk
PROGRESS = "progress.json"
MANIFEST = "manifest.json"
_CHUNK = re.compile(r"chunk-(\d+)\.runs\.parquet$")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2, default=str).encode())


def atomic_write_parquet(path: Path, df: pd.DataFrame) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


class StoreMismatch(RuntimeError):
    """The folder holds a batch of a different config."""


class ResultsStore:
    """Writer side of a results folder."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.parts = self.root / "parts"

    def prepare(self, config_hash: str, chunk_size: int, n_chunks: int, fresh: bool) -> int:
        """Start or resume; returns the chunk size to use (the stored one when resuming)."""
        if fresh and self.root.exists():
            for name in (*[f"{t}.parquet" for t in TABLES], MANIFEST, PROGRESS):
                (self.root / name).unlink(missing_ok=True)
            shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir(parents=True, exist_ok=True)
        progress = self.root / PROGRESS
        if progress.exists():
            state = json.loads(progress.read_text())
            if state["config_hash"] != config_hash:
                raise StoreMismatch(
                    f"{self.root} holds results of a different config (hash {state['config_hash']}, "
                    f"this config {config_hash}); use --fresh to replace them or --out for a new folder")
            return int(state["chunk_size"])
        manifest = self.root / MANIFEST
        if manifest.exists() and json.loads(manifest.read_text())["config_hash"] != config_hash:
            raise StoreMismatch(f"{self.root} holds finished results of a different config; "
                                "use --fresh to replace them or --out for a new folder")
        atomic_write_json(progress, {"config_hash": config_hash, "chunk_size": chunk_size,
                                     "n_chunks": n_chunks})
        return chunk_size

    def done_chunks(self) -> set[int]:
        done = set()
        for f in self.parts.glob("chunk-*.runs.parquet"):
            if m := _CHUNK.search(f.name):
                done.add(int(m.group(1)))
        return done

    def write_chunk(self, index: int, tables: dict[str, pd.DataFrame]) -> None:
        for name in TABLES:
            atomic_write_parquet(self.parts / f"chunk-{index:06d}.{name}.parquet", tables[name])

    def finalize(self, manifest: dict[str, Any], sort_keys: list[str]) -> None:
        """Merge parts into the final tables, then write the manifest (with the merge time in
        its timings) as the completion mark; remove the parts."""
        started = time.perf_counter()
        for name in TABLES:
            files = sorted(self.parts.glob(f"chunk-*.{name}.parquet"))
            frames = [pd.read_parquet(f) for f in files]
            frames = [f for f in frames if len(f)]
            df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            if len(df):
                keys = [k for k in (*sort_keys, "step", "zone") if k in df.columns]
                df = df.sort_values(keys, kind="stable").reset_index(drop=True)
            atomic_write_parquet(self.root / f"{name}.parquet", df)
        manifest.setdefault("timings", {})["finalize_s"] = time.perf_counter() - started
        atomic_write_json(self.root / MANIFEST, manifest)
        shutil.rmtree(self.parts, ignore_errors=True)
        (self.root / PROGRESS).unlink(missing_ok=True)


def state(root: str | Path, config_hash: str) -> str:
    """'complete' or 'partial' (this config's results), 'stale' (another config's), or 'empty'."""
    root = Path(root)
    progress, manifest = root / PROGRESS, root / MANIFEST
    if progress.exists():
        same = json.loads(progress.read_text())["config_hash"] == config_hash
        return "partial" if same else "stale"
    if manifest.exists():
        same = json.loads(manifest.read_text())["config_hash"] == config_hash
        return "complete" if same else "stale"
    return "empty"


def is_complete(root: str | Path, config_hash: str) -> bool:
    """A finished results folder of this config."""
    return state(root, config_hash) == "complete"


class Results:
    """Reader side: the tables and manifest of a finished batch, with summaries for notebooks."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if not (self.root / MANIFEST).exists():
            raise FileNotFoundError(f"{self.root} is not a finished results folder (no {MANIFEST})")
        self.manifest: dict[str, Any] = json.loads((self.root / MANIFEST).read_text())
        self._cache: dict[str, pd.DataFrame] = {}

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._cache:
            df = pd.read_parquet(self.root / f"{name}.parquet")
            if "scenario" in df.columns:
                order = self.scenarios
                df["scenario"] = pd.Categorical(df["scenario"], categories=order, ordered=True)
            self._cache[name] = df
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

    def __repr__(self) -> str:
        c = self.manifest["counts"]
        return (f"Results({self.name!r}: {c['runs']} runs, {c['failed']} failed, "
                f"scenarios {self.scenarios}, at {self.root})")

    # summaries (see borderscen.analysis.summaries)
    def quantiles(self, output: str, **kw) -> pd.DataFrame:
        from borderscen.analysis.summaries import quantiles
        return quantiles(self.timeseries, output, **kw)

    def regime_probabilities(self, **kw) -> pd.DataFrame:
        from borderscen.analysis.summaries import regime_probabilities
        return regime_probabilities(self.timeseries, **kw)

    def paired_differences(self, metric: str, baseline: str = "baseline", **kw) -> pd.DataFrame:
        from borderscen.analysis.summaries import paired_differences
        return paired_differences(self.runs, metric, baseline=baseline, **kw)

    def end_state(self, **kw) -> pd.DataFrame:
        from borderscen.analysis.summaries import end_state_table
        return end_state_table(self.runs, **kw)

    # exploration: thin delegates to borderscen.analysis.sweeps / discovery / robustness, ema
    @property
    def design(self) -> pd.DataFrame:
        from borderscen.analysis.sweeps import design_table
        return design_table(self.manifest)

    def sweep_quantiles(self, output: str, **kw) -> pd.DataFrame:
        from borderscen.analysis.sweeps import quantiles
        return quantiles(self.timeseries, self.design, output, **kw)

    def sweep_regime_probabilities(self) -> pd.DataFrame:
        from borderscen.analysis.sweeps import regime_probabilities
        return regime_probabilities(self.timeseries, self.design)

    def sweep_end_state(self, metrics, **kw) -> pd.DataFrame:
        from borderscen.analysis.sweeps import end_state
        return end_state(self.runs, self.design, metrics, **kw)

    def sweep_summary(self, metrics, **kw) -> pd.DataFrame:
        from borderscen.analysis.sweeps import summary
        return summary(self.runs, self.design, metrics, **kw)

    def point_differences(self, metric: str, reference: int | str = 0, **kw) -> pd.DataFrame:
        from borderscen.analysis.sweeps import point_differences
        return point_differences(self.runs, self.design, metric, reference, **kw)

    def response_curve(self, metric: str, parameter: str, **kw) -> pd.DataFrame:
        from borderscen.analysis.sweeps import response_curve, with_labels
        return response_curve(with_labels(self.runs, self.design), metric, parameter, **kw)

    def discover(self, where: str, **kw):
        from borderscen.analysis.discovery import discover
        return discover(self, where, **kw)

    def robustness(self, **kw):
        from borderscen.analysis.robustness import robustness
        return robustness(self, **kw)

    def to_ema(self, **kw):
        from borderscen.ema import results_to_ema
        return results_to_ema(self, **kw)

    def to_xarray(self, **kw):
        from borderscen.builder import to_xarray
        return to_xarray(self, **kw)

    def given_data_sensitivity(self, outputs, method: str = "pawn", **kw) -> pd.DataFrame:
        from borderscen.analysis.given_data import given_data_indices
        return given_data_indices(self.runs, self.manifest["swept"], outputs, method, **kw)


def load_results(root: str | Path) -> Results:
    return Results(root)
