"""Execute the notebooks in notebooks/ on small settings and write the executed copies to a folder.

The test suite checks these copies (tests/test_notebooks.py) and the docs site renders them with
their outputs (mkdocs.yml reads $BORDERSCEN_NOTEBOOKS), so each notebook runs once per build.

Small settings are injected the way papermill does it: a cell after the one tagged 'parameters',
so the teaching cells carry no test-only code. A notebook without such a cell reads
BORDERSCEN_SMALL=1 from its environment instead. The kernel runs with matplotlib's own default
backend (inline in Jupyter): a library that switched it would leave no images.

Usage: python scripts/run_notebooks.py OUT_DIR [NAME ...]   (default: every notebook)
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
#: The settings injected after each notebook's 'parameters' cell (only the names it defines).
SMALL = {"replications": 3, "horizon_months": 56, "executor": "serial", "fresh_run": True}


def names() -> list[str]:
    """The notebooks, by file stem, in order."""
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def inject_parameters(nb: nbformat.NotebookNode, values: dict[str, object] = SMALL) -> bool:
    """Papermill's convention: new values in a cell right after the 'parameters' cell.
    False when the notebook has no such cell (nothing is injected)."""
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    if not tagged:
        return False
    i = tagged[0]
    defined = set(re.findall(r"^(\w+)\s*=", nb.cells[i].source, flags=re.M))
    cell = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items() if k in defined))
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(i + 1, cell)
    return True


def execute(name: str, out_dir: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run one notebook top to bottom on small settings; write it to ``out_dir/<name>.ipynb``."""
    path = NOTEBOOKS / f"{name}.ipynb"
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb)
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel's own default
    env["BORDERSCEN_SMALL"] = "1"
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out_dir / f"{name}.ipynb")
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="where the executed copies go")
    parser.add_argument("names", nargs="*", help=f"notebooks to run (default: all of {names()})")
    args = parser.parse_args(argv)
    for name in args.names or names():
        print(f"run_notebooks: {name}", flush=True)
        execute(name, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
