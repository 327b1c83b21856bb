"""Issue 2: the set-up script finds a Python >= 3.12 itself, and says what to install when there
is none."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def test_setup_explains_what_to_install_when_no_python_312_is_found(tmp_path, repo_root):
    path = "/usr/bin:/bin"
    found = subprocess.run(["bash", "-c", "for p in python3.13 python3.12 python3; do "
                            "command -v $p >/dev/null && $p -c 'import sys; "
                            "sys.exit(sys.version_info < (3, 12))' && exit 0; done; exit 1"],
                           env={"PATH": path}, capture_output=True)
    if found.returncode == 0:
        pytest.skip("this machine's system Python is already >= 3.12")
    if not shutil.which("bash"):
        pytest.skip("no bash")
    env = {"PATH": path, "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv")}
    out = subprocess.run(["bash", str(repo_root / "scripts" / "setup.sh"), str(tmp_path / "venv")],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "needs Python >= 3.12 and none was found" in out.stderr
    assert "pyenv install 3.12" in out.stderr and "PYTHON=" in out.stderr
    assert not (tmp_path / "venv").exists()
