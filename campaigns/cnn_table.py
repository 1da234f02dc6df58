"""The CNN adapter table: every row of ``lrp_invariants.adapters.cnn_table`` gated on the
drawn CNNs, one column per property the row's claim implies there: keeps / fails (with the
minimal witness the gate shrank) / unsupported (the library declined every case), and how many
cases the library declined (a layer it has no rule for). Writes docs/cnn-adapters.md.

``python campaigns/cnn_table.py [--examples 60] [--seed 0] [ROW ...]`` (needs the [torch] extra;
rows default to all). One row again, as the table's last column says::

    lrp-invariants check lrp_invariants.adapters.cnn_table:ROW --method CLAIM --architecture cnn
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings
from pathlib import Path

from lrp_invariants.adapters.cnn_table import CNN_CONFIGURATIONS, CNN_TARGETS, CNNConfiguration
from lrp_invariants.architectures import CNN_PROPERTIES
from lrp_invariants.gate import GateReport, run_gate
from lrp_invariants.gate.options import InvalidOption

COLUMNS = CNN_PROPERTIES
OUT = Path(__file__).resolve().parents[1] / "docs" / "cnn-adapters.md"


def _cell(report: GateReport, name: str) -> str:
    prop = next((p for p in report.properties if p.name == name), None)
    if prop is None:
        return "n/a"  # not claimed by the row's method on CNNs
    if prop.unsupported:
        return "unsupported"
    if not prop.ok:
        return "**fails**"
    return "keeps"


def _declined(report: GateReport) -> str:
    counts = {(p.unsupported_cases, p.examples) for p in report.properties}
    declined, examples = max(counts)
    return f"{declined} / {examples}"


def _witness(row: CNNConfiguration, report: GateReport) -> list[str]:
    lines = [f"### `{row.name}`", "", row.summary, "", f"Claim: `{row.claim}`.", ""]
    if report.ok:
        return []
    lines.append("```")
    for prop in report.properties:
        if not prop.ok:
            lines += report.failure_lines(prop)[:24]
            lines.append("")
    lines.append("```")
    if row.upstream:
        lines += ["", f"Upstream: {row.upstream}"]
    return [*lines, ""]


def _warm_up(row: CNNConfiguration) -> None:
    """One call on a small CNN first: the library's first import (seconds) is no hang."""
    import numpy as np

    from lrp_invariants.cnn import CNN, Conv, Dense, Flatten, ReLU, layer_specs

    cnn = CNN((Conv(np.ones((1, 1, 1, 1))), ReLU(), Flatten(), Dense(np.ones((4, 1)))), (1, 2, 2))
    with warnings.catch_warnings(), contextlib.suppress(NotImplementedError):  # declined
        warnings.simplefilter("ignore")
        CNN_TARGETS[row.name](layer_specs(cnn), np.ones((1, 1, 2, 2)), np.array([0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rows", nargs="*", help="row names (default: every row)")
    parser.add_argument("--examples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = [row for row in CNN_CONFIGURATIONS if not args.rows or row.name in args.rows]
    table = [
        "| row | claim | " + " | ".join(COLUMNS) + " | declined | seconds |",
        "|---|---|" + "---|" * len(COLUMNS) + "---|---|",
    ]
    witnesses: list[str] = []
    for row in rows:
        _warm_up(row)
        began = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report = run_gate(
                    CNN_TARGETS[row.name],
                    row.claim,
                    architecture="cnn",
                    examples=args.examples,
                    seed=args.seed,
                )
        except InvalidOption as refused:  # a method the gate does not judge on CNNs
            blank = " | ".join("n/a" for _ in COLUMNS)
            table.append(f"| `{row.name}` | `{row.claim}` | {blank} | not judged: {refused} | |")
            print(table[-1], flush=True)
            continue
        seconds = time.perf_counter() - began
        cells = " | ".join(_cell(report, name) for name in COLUMNS)
        table.append(
            f"| `{row.name}` | `{row.claim}` | {cells} | {_declined(report)} | {seconds:.0f} |"
        )
        witnesses += _witness(row, report)
        print(table[-1], flush=True)
    text = [
        "# CNN attribution code at the gate (generated)",
        "",
        f"Written by `python campaigns/cnn_table.py --examples {args.examples} --seed "
        f"{args.seed}`; what each verdict means and which witnesses are pinned: "
        "[cnn-attribution.md](cnn-attribution.md).",
        "",
        *table,
        "",
        "## The witnesses, as the gate shrank them",
        "",
        *witnesses,
    ]
    args.out.write_text("\n".join(text))


if __name__ == "__main__":
    main()
