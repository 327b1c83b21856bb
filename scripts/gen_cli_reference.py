"""Write docs/cli.md from the `borderscen` argument parser (kept in sync by a test).

    python scripts/gen_cli_reference.py           # rewrite docs/cli.md
    python scripts/gen_cli_reference.py --check   # exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import argparse
from pathlib import Path

from generated_doc import write_or_check  # scripts/ is on the path when a script runs

from borderscen.interfaces.cli import COMMON_OPTIONS, build_parser

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its sub-commands here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _common_table(subs: dict[str, argparse.ArgumentParser]) -> list[str]:
    """Each shared option, its one meaning, and the commands that take it (read from the parser)."""
    rows = ["| option | meaning | commands |", "|---|---|---|"]
    for flag, kwargs in COMMON_OPTIONS.values():
        takers = [c for c, p in subs.items() if any(flag in a.option_strings for a in p._actions)]
        meaning = kwargs["help"].split(" (default")[0]
        rows.append(f"| `{flag}` | {meaning} | {', '.join(f'`{c}`' for c in takers)} |")
    return rows


def render() -> str:
    parser = build_parser()
    subs = _subparsers(parser)
    lines = ["# Command-line reference", "",
             "Generated from the parser in `src/borderscen/interfaces/cli.py` by "
             "`python scripts/gen_cli_reference.py`; do not edit by hand.", "",
             "Every command's `--help` has the same shape: what it does, its options, an example "
             "and the exit status. The options below are shared: each has one meaning wherever it "
             "appears (its default is given in each command's help).", "",
             *_common_table(subs), "",
             "## borderscen", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in subs.items():
        lines += [f"## borderscen {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    write_or_check(OUT, render())
