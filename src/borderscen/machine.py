"""What this machine gives the process: how many cores it may use.

One answer for everything that sizes itself to the machine: the runner's local workers, the
figure workers, the particle filter's threads."""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may use: its CPU affinity where the system has one (a container or
    ``taskset`` may allow fewer than the machine has), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def cores_or(value: int | None, name: str) -> int:
    """``value`` (a whole number >= 1, e.g. a number of threads or workers), or :func:`cores`
    when it is None; anything else is a ValueError naming ``name``."""
    if value is None:
        return cores()
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1 (or None: one per core), not {value!r}")
    return value
