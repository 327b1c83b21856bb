"""Issues 5 and 15: the notebooks run top to bottom (on small settings), show every figure they
draw, and open without warnings.

The notebooks are executed once per session by the ``executed_notebooks`` fixture
(scripts/run_notebooks.py: small settings injected papermill-style after the cell tagged
'parameters', and matplotlib's own default backend, inline in Jupyter: a library that switched it
would leave no images). The docs build renders the same executed copies.
"""

from __future__ import annotations

import re

import nbformat
import pytest

NOTEBOOKS = ("01_quickstart", "02_three_scenarios", "03_custom_experiment")
#: A call that draws a figure: bs.plots.<module>.<function>(...)
PLOT_CALL = re.compile(r"\bplots\.\w+\.\w+\(")


def read(repo_root, name):
    return nbformat.read(repo_root / "notebooks" / f"{name}.ipynb", as_version=4)


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
def test_notebook_executes_and_shows_every_figure(executed_notebooks, name):
    nb = executed_notebooks[name]
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
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
