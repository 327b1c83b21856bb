"""Issue 12 item 6: the kill-and-resume soak script, run small in CI (scripts/soak.py runs it
with any number of trials)."""

from __future__ import annotations

import subprocess
import sys


def test_soak_kill_and_resume_ends_equal_to_an_uninterrupted_run(repo_root):
    out = subprocess.run([sys.executable, str(repo_root / "scripts" / "soak.py"), "--trials", "2",
                          "--replications", "3", "--seed", "1"],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 of 2 trials ended equal to the reference" in out.stdout
    assert out.stdout.count("killed (") >= 2
