"""The shared ending of the docs generators: write the page, or with --check only compare it."""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(out: Path, text: str) -> None:
    """``--check``: exit 0 when ``out`` already holds ``text``, 1 otherwise; else write it."""
    if "--check" in sys.argv:
        sys.exit(0 if out.exists() and out.read_text() == text else 1)
    out.write_text(text)
    print(f"wrote {out}")
