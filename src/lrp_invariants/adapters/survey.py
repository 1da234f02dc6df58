"""Run the gate on every adapter and print the README's table of findings.

``python -m lrp_invariants.adapters.survey [--examples N]`` (needs the ``torch`` extra).
"""

from __future__ import annotations

import argparse
import warnings

from ..gate import GateReport, run_gate
from ..methods import ALL_PROPERTIES
from . import captum_adapter, zennit_adapter

ADAPTERS = [
    (zennit_adapter.zennit_lrp_0, "lrp-0"),
    (zennit_adapter.zennit_lrp_0_exact, "lrp-0"),
    (captum_adapter.captum_lrp_0, "lrp-0"),
    (zennit_adapter.zennit_epsilon, "lrp-epsilon"),
    (captum_adapter.captum_epsilon, "lrp-epsilon"),
    (zennit_adapter.zennit_alpha_beta, "lrp-alpha-beta"),
    (zennit_adapter.zennit_alpha_beta_exact, "lrp-alpha-beta"),
    (zennit_adapter.zennit_zplus, "lrp-zplus"),
    (zennit_adapter.zennit_zplus_exact, "lrp-zplus"),
    (captum_adapter.captum_zplus, "lrp-zplus"),
    (zennit_adapter.zennit_gamma, "lrp-gamma:0.25,epsilon=1e-6"),
    (captum_adapter.captum_gamma, "lrp-gamma:0.25,epsilon=1e-9,bias=source,weights-once"),
    (
        captum_adapter.captum_gamma_without_bias,
        "lrp-gamma:0.25,epsilon=1e-9,bias=ignored,weights-once",
    ),
    (zennit_adapter.zennit_flat, "lrp-flat:1e-6"),
    (zennit_adapter.zennit_w_square, "lrp-w-square:1e-6,bias=source"),
    (
        zennit_adapter.zennit_zbox,
        "lrp-composite first=zbox:low=-3,high=3,epsilon=1e-6 hidden=epsilon:1e-6",
    ),
    (zennit_adapter.zennit_epsilon_plus_flat, "lrp-composite zennit-epsilon-plus-flat"),
    (zennit_adapter.zennit_epsilon_gamma_box, "lrp-composite zennit-epsilon-gamma-box"),
]


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
