"""The docs describe the model the code runs: the generated parameter table is current, the ODD
names every parameter and every submodel module, and the README keeps its two commands."""

from __future__ import annotations

import subprocess
import sys

from borderscen.params import registry


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
