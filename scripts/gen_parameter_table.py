"""Write docs/parameters.md from the parameter registry (kept in sync by a test)."""

from __future__ import annotations

from pathlib import Path

from generated_doc import write_or_check  # scripts/ is on the path when a script runs

from borderscen.inputs.params import registry

OUT = Path(__file__).resolve().parents[1] / "docs" / "parameters.md"


def render() -> str:
    lines = ["# Parameters", "",
             "Generated from `src/borderscen/data/parameters.toml` by "
             "`python scripts/gen_parameter_table.py`; do not edit by hand.", "",
             "Basis: **evidence** = value taken from the sources; **assumption** = ours, with the "
             "reason; **evidence+assumption** = the sources support the mechanism, the size is "
             "ours. *calibrated* = fitted by `borderscen calibrate` (docs/odd.md, 7.11).", ""]
    groups: dict[str, list] = {}
    for spec in registry().values():
        groups.setdefault(spec.group, []).append(spec)
    for group, specs in groups.items():
        lines += [f"## {group}", "",
                  "| parameter | default | range | unit | basis | evidence | meaning; assumption |",
                  "|---|---|---|---|---|---|---|"]
        for s in specs:
            basis = s.provenance + (", calibrated" if s.calibrate else "")
            note = s.meaning + (f" *Assumption:* {s.assumption}" if s.assumption else "")
            lines.append(f"| `{s.name}` | {s.default:g} | [{s.min:g}, {s.max:g}] | {s.unit} | {basis} | "
                         f"{', '.join(s.evidence)} | {note} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    write_or_check(OUT, render())
