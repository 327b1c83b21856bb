"""Issues 5 and 15: the notebooks run top to bottom (on small settings), show every figure they
draw, and open without warnings.

Small settings are injected the way papermill does it: a cell after the one tagged
'parameters', so the teaching cells carry no test-only code. The kernel runs with matplotlib's
own default backend (inline in Jupyter); a library that switched it would leave no images.
"""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = ("01_quickstart", "02_three_scenarios", "03_custom_experiment")
SMALL = {"replications": 3, "horizon_months": 56, "executor": "serial", "fresh_run": True}
#: A call that draws a figure: bs.plots.<module>.<function>(...)
PLOT_CALL = re.compile(r"\bplots\.\w+\.\w+\(")


def read(repo_root, name):
    return nbformat.read(repo_root / "notebooks" / f"{name}.ipynb", as_version=4)


def inject_parameters(nb) -> None:
    """Papermill's convention: new values in a cell right after the 'parameters' cell."""
    i = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    names = set(re.findall(r"^(\w+)\s*=", nb.cells[i].source, flags=re.M))
    lines = [f"{k} = {v!r}" for k, v in SMALL.items() if k in names]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(i + 1, cell)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebooks_are_committed_clean_with_a_parameters_cell(repo_root, name):
    nb = read(repo_root, name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in code), "commit notebooks without outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert not any("environ" in c.source or "SMALL" in c.source for c in code), \
        "test-only settings belong in the parameters cell, not in teaching cells"


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_and_shows_every_figure(repo_root, name):
    path = repo_root / "notebooks" / f"{name}.ipynb"
    nb = read(repo_root, name)
    inject_parameters(nb)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's own default
    client = NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors
    warnings = [o["text"] for c in code for o in c.outputs
                if o.output_type == "stream" and o.get("name") == "stderr" and "Warning" in o["text"]]
    assert not warnings
    plotting = [c for c in code if PLOT_CALL.search(c.source)]
    assert plotting, "each notebook draws at least one figure"
    for c in plotting:
        images = [o for o in c.outputs if "image/png" in o.get("data", {})]
        assert len(images) == len(PLOT_CALL.findall(c.source)), c.source
