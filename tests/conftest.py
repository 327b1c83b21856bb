"""Shared fixtures: a small finished batch (the smoke experiment) reused by several modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def smoke_results(tmp_path_factory):
    """The smoke experiment run once, serially, for tests that read results."""
    from borderscen.experiments import run_experiment
    out = tmp_path_factory.mktemp("smoke") / "results"
    return run_experiment(ROOT / "experiments" / "smoke.toml", out=out, progress=False)


class ExecutedNotebooks:
    """Each notebook executed once per session on small settings (scripts/run_notebooks.py),
    on first request; the copies (with outputs) live in ``folder``."""

    def __init__(self, folder: Path):
        import importlib.util
        spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
        self.runner = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.runner)
        self.folder, self._done = folder, {}

    def __getitem__(self, name: str):
        if name not in self._done:
            self._done[name] = self.runner.execute(name, self.folder)
        return self._done[name]

    def all(self) -> Path:
        for name in self.runner.names():
            self[name]
        return self.folder


@pytest.fixture(scope="session")
def executed_notebooks(tmp_path_factory) -> ExecutedNotebooks:
    return ExecutedNotebooks(tmp_path_factory.mktemp("notebooks"))


@pytest.fixture
def seeds_copy(tmp_path, repo_root) -> Path:
    """A writable copy of seeds/ to break on purpose."""
    dst = tmp_path / "seeds"
    shutil.copytree(repo_root / "seeds", dst)
    return dst
