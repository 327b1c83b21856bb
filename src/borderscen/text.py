"""Plain-text tables for the terminal (shared by the CLI's commands)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence


def table_text(rows: list[dict], columns: Sequence[str], wrap: dict[str, int] | None = None) -> str:
    """Plain-text table with wrapped long columns (readable in a terminal and in CI logs)."""
    wrap = wrap or {}
    cells = [[textwrap.wrap(str(r.get(c, "")), wrap[c], break_on_hyphens=False) or [""]
              if c in wrap else [str(r.get(c, ""))]
              for c in columns] for r in rows]
    widths = [max([len(c)] + [len(line) for row in cells for line in row[i]])
              for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    for row in cells:
        for k in range(max(len(c) for c in row)):
            out.append("  ".join((c[k] if k < len(c) else "").ljust(w)
                                 for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(out)
