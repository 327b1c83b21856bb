"""Issue 5: the notebooks run top to bottom (on small settings), so they cannot silently break."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = ("01_quickstart", "02_three_scenarios", "03_custom_experiment")


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes(repo_root, name, monkeypatch):
    monkeypatch.setenv("BORDERSCEN_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    path = repo_root / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit notebooks without outputs"
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=dict(os.environ))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert not errors
