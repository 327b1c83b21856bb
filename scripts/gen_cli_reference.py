"""Write docs/cli.md from the `borderscen` argument parser (kept in sync by a test).

    python scripts/gen_cli_reference.py           # rewrite docs/cli.md
    python scripts/gen_cli_reference.py --check   # exit 1 if docs/cli.md is out of date
"""

from __future__ import annotations

import argparse
from pathlib import Path

from generated_doc import write_or_check  # scripts/ is on the path when a script runs

from borderscen.cli import build_parser

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse keeps its sub-commands here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def render() -> str:
    parser = build_parser()
    lines = ["# Command-line reference", "",
             "Generated from the parser in `src/borderscen/cli.py` by "
             "`python scripts/gen_cli_reference.py`; do not edit by hand.", "",
             "Every command takes `--out` for where results go and `--figures` for where figures "
             "go (by default `results/<experiment>/figures`).", "",
             "## borderscen", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in _subparsers(parser).items():
        lines += [f"## borderscen {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    write_or_check(OUT, render())
