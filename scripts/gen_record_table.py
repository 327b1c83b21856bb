"""Write the target and hold-out tables into docs/record.md (kept in sync by a test).

Only the text between the BEGIN/END markers is generated; the prose around it is hand-written.
"""

from __future__ import annotations

from pathlib import Path

from generated_doc import write_or_check  # scripts/ is on the path when a script runs

from borderscen.inputs.evidence import catalogue
from borderscen.inputs.record import holdouts, targets

OUT = Path(__file__).resolve().parents[1] / "docs" / "record.md"
MARKS = {"targets": ("<!-- BEGIN TARGETS (generated) -->", "<!-- END TARGETS -->"),
         "holdouts": ("<!-- BEGIN HOLDOUTS (generated) -->", "<!-- END HOLDOUTS -->")}


def figure(obs) -> str:
    if obs.interval is not None:
        return f"{obs.interval[0]:,.0f}–{obs.interval[1]:,.0f}"
    if obs.lower is not None:
        return f"≥ {obs.lower:,.0f}"
    if obs.upper is not None:
        return f"≤ {obs.upper:,.0f}"
    return f"{obs.value:,.0f}"


def table(rows) -> str:
    cat = catalogue()
    lines = ["| id | quantity | country (area) | period | channel | figure | unit | source |",
             "|---|---|---|---|---|---|---|---|"]
    for o in rows:
        srcs = "; ".join(f"[{cat.sources[s].outlet}, {cat.sources[s].date}]({cat.sources[s].url})"
                         for s in cat.evidence[o.evidence].sources)
        where = o.country + (f" ({o.area})" if o.area else "")
        lines.append(f"| `{o.id}` | {o.quantity} | {where} | {o.period} | {o.channel} | {figure(o)} | "
                     f"{o.unit} | {srcs} |")
    return "\n".join(lines)


def render(text: str) -> str:
    for name, rows in (("targets", targets()), ("holdouts", holdouts())):
        begin, end = MARKS[name]
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{table(rows)}\n{end}{tail}"
    return text


if __name__ == "__main__":
    write_or_check(OUT, render(OUT.read_text()))
