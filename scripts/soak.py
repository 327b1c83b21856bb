"""Kill-and-resume soak test of the results store.

Each trial starts ``borderscen run`` on a small experiment, SIGKILLs it at a random moment (while
chunks are written, or inside finalize: after every chunk's mark is down), sometimes kills the
resume too, then resumes to the end and checks that the tables equal an uninterrupted run's, and
that no parts, progress file or temporary files are left.

    python scripts/soak.py --trials 200            # a long hunt
    python scripts/soak.py --trials 2 --seed 1     # what CI runs (tests/test_soak.py)

Exit status 0 when every trial ends equal to the reference, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CONFIG = textwrap.dedent("""
    [experiment]
    name = "soak"
    replications = {replications}
    horizon_months = 4
    seed = 17
    chunk_size = 1
    executor = "serial"
    [[scenarios]]
    preset = "baseline"
    [[scenarios]]
    name = "low_isr"
    preset = "baseline"
    overrides = {{ coalition_isr = 0.2 }}
""")


def command(config: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "borderscen.interfaces.cli", "run", str(config), "--out", str(out),
            "--no-figures", "--quiet"]


def kill_at(config: Path, out: Path, n_chunks: int, where: str, rng: random.Random,
            timeout: float = 300) -> str:
    """Start a run and SIGKILL it: 'chunks' after a random number of chunk marks, 'finalize'
    a random few milliseconds after the last mark. Returns what happened."""
    proc = subprocess.Popen(command(config, out), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    marks = out / "parts" / "done"
    target = rng.randint(1, n_chunks - 1) if where == "chunks" else n_chunks
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if marks.exists() and len(list(marks.glob("chunk-*.json"))) >= target:
            break
        time.sleep(0.001)
    if where == "finalize":
        time.sleep(rng.uniform(0, 0.3))
    if proc.poll() is not None:
        return "finished before the kill"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return f"killed ({where})"


def tables(root: Path):
    from borderscen.experiments.store import Results
    res = Results(root)
    return {name: getattr(res, name).drop(columns=["elapsed_s", "traceback"], errors="ignore")
            for name in ("timeseries", "runs", "zones")}


def same(a, b) -> str:
    import pandas as pd
    for name in a:
        try:
            pd.testing.assert_frame_equal(a[name], b[name], check_categorical=False)
        except AssertionError as exc:
            return f"{name}: {str(exc).splitlines()[0]}"
    return ""


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()
                  if p.name in ("parts", "progress.json") or ".tmp-" in p.name
                  or p.name.startswith(".parts-trash-"))


def trial(i: int, base: Path, config: Path, n_chunks: int, reference, rng: random.Random) -> str:
    out = base / f"trial-{i}"
    events = [kill_at(config, out, n_chunks, rng.choice(["chunks", "finalize"]), rng)]
    if rng.random() < 0.3:  # kill the resume as well
        events.append(kill_at(config, out, n_chunks, "finalize", rng))
    done = subprocess.run(command(config, out), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        problem = f"resume failed ({done.returncode}): {done.stderr.strip()[-600:]}"
    else:
        problem = same(reference, tables(out)) or (f"left behind: {leftovers(out)}"
                                                     if leftovers(out) else "")
    print(f"trial {i}: {', '.join(events)} -> {'FAIL ' + problem if problem else 'ok'}", flush=True)
    return problem


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20, help="number of kill-and-resume trials")
    ap.add_argument("--replications", type=int, default=6, help="replications per scenario")
    ap.add_argument("--seed", type=int, default=None, help="seed of the random kill times")
    ap.add_argument("--keep", type=Path, help="keep the trial folders here (default: a temp dir)")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        config = base / "soak.toml"
        config.write_text(CONFIG.format(replications=args.replications))
        ref = subprocess.run(command(config, base / "reference"), capture_output=True, text=True)
        if ref.returncode != 0:
            print(ref.stderr, file=sys.stderr)
            return 1
        reference = tables(base / "reference")
        n_chunks = 2 * args.replications
        failures = [p for i in range(args.trials)
                    if (p := trial(i, base, config, n_chunks, reference, rng))]
    print(f"{args.trials - len(failures)} of {args.trials} trials ended equal to the reference")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
