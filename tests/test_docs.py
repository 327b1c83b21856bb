"""The docs describe the model the code runs: the generated parameter table is current, the ODD
names every parameter and every submodel module, and the README keeps its two commands."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys

import pytest

from borderscen.inputs.params import registry


def test_parameter_table_is_current(repo_root):
    out = subprocess.run([sys.executable, str(repo_root / "scripts" / "gen_parameter_table.py"),
                          "--check"], capture_output=True)
    assert out.returncode == 0, "run: python scripts/gen_parameter_table.py"


def test_odd_names_every_parameter_and_mechanism_module(repo_root):
    odd = (repo_root / "docs" / "odd.md").read_text()
    missing = [n for n in registry() if f"`{n}`" not in odd]
    assert not missing, f"docs/odd.md does not describe: {missing}"
    for module in (repo_root / "src" / "borderscen" / "mechanisms").glob("*.py"):
        if module.stem != "__init__":
            assert f"mechanisms/{module.name}" in odd, module.name


def test_readme_states_the_two_commands_and_ci_runs_the_test_one(repo_root):
    readme = (repo_root / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    ci = (repo_root / ".ci" / "run").read_text()
    assert "make test" in ci


# ------------------------------------------------------------------ the docs site (issue 24, item 6)
#: Modules whose docstrings hold examples (>>>); each runs as a test.
DOCTEST_MODULES = ("borderscen.model", "borderscen.inputs.params", "borderscen.plots.style",
                   "borderscen.randomness", "borderscen.runs", "borderscen.inputs.scenarios")


def test_every_module_with_examples_is_doctested(repo_root):
    src = repo_root / "src"
    with_examples = {".".join(p.relative_to(src).with_suffix("").parts)
                     for p in (src / "borderscen").rglob("*.py") if ">>>" in p.read_text()}
    assert with_examples == set(DOCTEST_MODULES)


@pytest.mark.parametrize("name", DOCTEST_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} fail (output above)"


def mkdocs(repo_root, *args, env=None):
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", *args],
                          cwd=repo_root, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})})


@pytest.mark.slow
def test_docs_site_builds_strictly_with_executed_notebooks(repo_root, executed_notebooks, tmp_path):
    """mkdocs build --strict (every warning, broken link or anchor fails) into a temporary folder,
    rendering the notebooks executed once for tests/test_notebooks.py."""
    site = tmp_path / "site"
    out = mkdocs(repo_root, "--site-dir", str(site),
                 env={"BORDERSCEN_NOTEBOOKS": str(executed_notebooks.all())})
    assert out.returncode == 0, out.stderr[-4000:]
    quickstart = (site / "notebooks" / "01_quickstart" / "index.html").read_text()
    assert "data:image/png;base64" in quickstart, "notebooks are rendered with their figures"
    api = (site / "api" / "experiments" / "index.html").read_text()
    assert "run_experiment" in api and "load_results" in api, "the API reference is generated"
    index = (site / "index.html").read_text()
    assert 'href="odd/"' in index, "the README's links to docs/ are rewritten for the site"
    gallery = (site / "gallery" / "index.html").read_text()
    shown = set(re.findall(r'src="\.\./figures/([\w.]+\.png)"', gallery))
    assert shown == {p.name for p in (repo_root / "docs" / "figures").glob("*.png")}


def test_docs_build_fails_on_a_broken_link(tmp_path):
    """The strict build is what catches broken links: a page linking to a missing page fails."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\nSee [the model](no-such-page.md).\n")
    (tmp_path / "mkdocs.yml").write_text("site_name: t\nstrict: true\n")
    out = mkdocs(tmp_path, "--site-dir", str(tmp_path / "site"))
    assert out.returncode != 0 and "no-such-page.md" in out.stderr


# ------------------------------------------------------- the README's numbers come from a script
def test_readme_tables_prints_the_headline_and_the_readings_numbers_from_stored_results(repo_root, tmp_path):
    """``scripts/readme_tables.py`` prints the headline table and the numbers the README's
    "Reading" quotes, from a stored three_scenarios experiment (here a small one), so none of
    them is typed by hand: each printed value is the stored tables' own."""
    import pandas as pd

    from borderscen.experiments import load_config, run_experiment
    from borderscen.plots import draw_standard_figures

    cfg = load_config(repo_root / "experiments" / "three_scenarios.toml")
    out = tmp_path / "three_scenarios"
    res = run_experiment(cfg.with_changes(replications=6, particles=12), out=out,
                         executor="serial", progress=False)
    draw_standard_figures(res, out / "figures", workers=1)
    run = subprocess.run([sys.executable, str(repo_root / "scripts" / "readme_tables.py"),
                          "--results", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    text = run.stdout
    head = text.split("## Headline")[1].split("## Reading")[0]
    assert "| | `baseline` | `cohesive_baghdad` | `covert_channel` | `tehran_ascendant` |" in head
    assert "(6 runs per scenario; median [5%, 95%].)" in head
    reading = text.split("## Reading")[1].split("## Calibration")[0]
    ts = res.timeseries
    base = ts[(ts["scenario"] == "baseline") & (ts["date"] == pd.Timestamp("2030-12-01"))]
    members = f"- ISIS members 2030-12: median {base['isis_members'].median():,.0f}"
    assert members in reading
    assert "- filter: 12 particles, lowest effective sample share" in reading
    diffs = pd.read_csv(out / "figures" / "differences.csv")
    assert reading.count("  - ") == len(diffs) > 0  # one line per paired difference
