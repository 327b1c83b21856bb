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


@pytest.fixture
def seeds_copy(tmp_path, repo_root) -> Path:
    """A writable copy of seeds/ to break on purpose."""
    dst = tmp_path / "seeds"
    shutil.copytree(repo_root / "seeds", dst)
    return dst
