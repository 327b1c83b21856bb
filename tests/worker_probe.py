"""Functions a test submits to worker processes (importable there: tests/ is on their path)."""

import sys


def imported(name: str) -> bool:
    """Whether this process has imported module ``name``."""
    return name in sys.modules
