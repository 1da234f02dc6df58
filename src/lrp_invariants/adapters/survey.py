"""Run the gate on every adapter and print the table of findings (docs/library-findings.md).

``python -m lrp_invariants.adapters.survey [--examples N]`` (needs the ``torch`` extra).
"""

from __future__ import annotations

import argparse
import warnings

from ..gate import GateReport, run_gate
from ..methods import ALL_PROPERTIES
from . import captum_adapter, zennit_adapter
from .table import CONFIGURATIONS, Target

TARGETS = {**zennit_adapter.TARGETS, **captum_adapter.TARGETS}
ADAPTERS: list[tuple[Target, str]] = [
    (TARGETS[row.name], row.claim) for row in CONFIGURATIONS if row.lrp
]
"""Every LRP row of the adapters' table, with the method it claims, in the table's order."""


def survey(examples: int = 100) -> list[GateReport]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [
            run_gate(fn, method, examples=examples, target_name=fn.__name__)
            for fn, method in ADAPTERS
        ]


def markdown_table(reports: list[GateReport]) -> str:
    """One row per adapter; each cell 'worst error / tolerance' if kept, FAIL if broken."""
    short = {name: name.replace("bias-proxy-", "proxy-") for name in ALL_PROPERTIES}
    header = "| adapter (method) | " + " | ".join(short[p] for p in ALL_PROPERTIES) + " |"
    lines = [header, "|---" * (len(ALL_PROPERTIES) + 1) + "|"]
    for report in reports:
        cells = []
        by_name = {p.name: p for p in report.properties}
        for name in ALL_PROPERTIES:
            prop = by_name.get(name)
            cells.append(
                "" if prop is None else f"{prop.worst_ratio:.2g}" if prop.ok else "**FAIL**"
            )
        lines.append(f"| `{report.target}` ({report.method}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=100)
    args = parser.parse_args()
    print(markdown_table(survey(args.examples)))


if __name__ == "__main__":
    main()
