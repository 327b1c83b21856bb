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
