"""Run the gate against iNNvestigate's eight LRP analysers, each under its own preset and under a
neighbouring declaration that it should fail (the results are in GATE.md).

Needs the venv of FINDINGS.md (TensorFlow-CPU 2.14.1, iNNvestigate 2.1.2, Python 3.11) with
``lrp_invariants`` installed editable::

    cd /work/main
    /work/tfenv/bin/python campaigns/innvestigate/gate_run.py --examples 100
    /work/tfenv/bin/python campaigns/innvestigate/gate_run.py --examples 30 \\
        --analysers lrp.z_plus_fast lrp.alpha_2_beta_1 --which own --json out.json

Each call of a target rebuilds a Keras model and its analyser (0.1-0.3 s), so 100 cases per
declaration take one to a few minutes. Each report is printed as ``report.render()`` prints it;
``--json`` also writes a summary (per property: verdict, cases, worst error / tolerance,
seconds, the failure's text).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
import targets  # on import: eager mode off, floatx = float64
from hypothesis import strategies as st

from lrp_invariants.cases import SeedCase
from lrp_invariants.gate import run_gate
from lrp_invariants.methods import resolve_method
from lrp_invariants.network import Network

OWN: dict[str, str] = {
    "lrp.z": "lrp-composite innvestigate-z",
    "lrp.epsilon": "lrp-composite innvestigate-epsilon",
    "lrp.z_plus": "lrp-composite innvestigate-z-plus",
    "lrp.z_plus_fast": "lrp-composite innvestigate-z-plus-fast",
    "lrp.alpha_1_beta_0": "lrp-composite innvestigate-alpha-1-beta-0",
    "lrp.alpha_1_beta_0_IB": "lrp-composite innvestigate-alpha-1-beta-0-ib",
    "lrp.alpha_2_beta_1": "lrp-composite innvestigate-alpha-2-beta-1",
    "lrp.alpha_2_beta_1_IB": "lrp-composite innvestigate-alpha-2-beta-1-ib",
}
"""Each analyser's own preset."""

NEIGHBOUR: dict[str, str] = {
    "lrp.z": "lrp-composite innvestigate-epsilon",  # ε = 1e-7 where it has none
    "lrp.epsilon": "lrp-composite innvestigate-z",  # no ε where it has 1e-7
    "lrp.z_plus": "lrp-composite innvestigate-z-plus-fast",  # weight sign, not product sign
    "lrp.z_plus_fast": "lrp-composite innvestigate-z-plus",  # product sign, not weight sign
    "lrp.alpha_1_beta_0": "lrp-composite innvestigate-alpha-1-beta-0-ib",  # bias ignored
    "lrp.alpha_1_beta_0_IB": "lrp-composite innvestigate-alpha-1-beta-0",  # whole bias
    "lrp.alpha_2_beta_1": "lrp-alpha-beta",  # plain αβ: bias a source, split by sign
    "lrp.alpha_2_beta_1_IB": "lrp-composite innvestigate-alpha-2-beta-1",  # whole bias
}
"""A declaration next to each analyser's own, differing in one convention."""


Probe = tuple[list[str], list[list[list[float]]], list[list[float]], list[list[float]]]

PROBES: dict[str, Probe] = {
    # exact zero denominators with nonzero numerators: iNNvestigate's safe_divide gives ~1e7 x,
    # the presets 0/0 -> 0; the gate holds no value there (its ball of the sum contains 0)
    "zero sum of x w+ (1 - 1)": (
        ["lrp.z_plus_fast"], [[[1.0], [1.0]]], [[0.5]], [[1.0, -1.0]]
    ),
    "zero positive sum with the whole bias (1 - 1)": (
        ["lrp.alpha_1_beta_0", "lrp.alpha_2_beta_1"], [[[1.0], [-0.5]]], [[-1.0]], [[1.0, 1.0]]
    ),
    # R / D+ near the largest float: w * R / D+ overflows at a masked input, 0 * inf = nan
    "R / D+ = -1.45e305 (nan)": (
        list(OWN), [[[2048.0], [1024.0]]], [[0.0]], [[-1.0, 1.3770419214576259e-305]]
    ),
}  # fmt: skip
"""Hand-made cases (name: analysers, weights, biases, x; class 0) given to the gate alone."""


def run_probes(arithmetic: str) -> None:
    """Each probe: iNNvestigate's relevance beside the preset's, and the gate's reference
    verdict on that one case."""
    for probe, (analysers, weights, biases, x) in PROBES.items():
        W = [np.array(w) for w in weights]
        B = [np.array(b) for b in biases]
        batch = np.array(x)
        case = SeedCase(Network.from_arrays(W, B), batch, -np.ones(batch.shape[1]), np.array([0]))
        print(f"=== probe {probe}: W={weights} b={biases} x={x} class 0")
        for analyser in analysers:
            inn = targets.TARGETS[analyser](W, B, batch, [0])
            ref = resolve_method(OWN[analyser]).reference(W, B, batch, np.array([0]))
            report = run_gate(
                targets.TARGETS[analyser],
                OWN[analyser],
                cases=st.just(case),
                examples=1,
                properties=["reference"],
                arithmetic=arithmetic,
                target_name=analyser,
            )
            lines = report.render().splitlines()
            verdict = next(line for line in lines if line.startswith(("PASS", "FAIL")))
            print(
                f"  {analyser:<22} iNNvestigate {inn.tolist()}  preset {np.asarray(ref).tolist()}"
            )
            print(f"  {'':<22} {verdict}")


def run_one(
    analyser: str, declaration: str, which: str, examples: int, seed: int | None, arithmetic: str
) -> dict:
    """One gate run, printed as the report renders it; its summary as a dict."""
    start = time.perf_counter()
    report = run_gate(
        targets.TARGETS[analyser],
        declaration,
        examples=examples,
        seed=seed,
        arithmetic=arithmetic,
        target_name=analyser,
    )
    seconds = time.perf_counter() - start
    text = report.render()
    print(f"=== {analyser} claimed as {declaration!r} ({which}, {examples} cases, {arithmetic})")
    print(text)
    print(f"--- {seconds:.1f} s in all", flush=True)
    return {
        "analyser": analyser,
        "declaration": declaration,
        "which": which,
        "examples": examples,
        "seed": seed,
        "arithmetic": arithmetic,
        "ok": report.ok,
        "seconds": round(seconds, 1),
        "flushes": report.flushes,
        "properties": [
            {
                "name": p.name,
                "ok": p.ok,
                "cases": p.examples,
                "worst_ratio": p.worst_ratio,
                "seconds": round(p.seconds, 1),
                "failure": p.failure,
                "only_subnormal": p.only_subnormal,
            }
            for p in report.properties
        ],
        "render": text,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=30, help="cases per property (30)")
    parser.add_argument(
        "--analysers", nargs="+", default=list(OWN), choices=list(OWN), metavar="NAME",
        help=f"analysers to run (default: all eight: {', '.join(OWN)})",
    )  # fmt: skip
    parser.add_argument(
        "--which", choices=("own", "neighbour", "both"), default="both",
        help="the own preset, the neighbouring declaration, or both (default)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="search seed (default: fixed)")
    parser.add_argument(
        "--arithmetic", choices=("ieee", "ftz"), default="ieee",
        help="the arithmetic declared: ieee (default) or ftz (TensorFlow's CPU kernels flush "
        "subnormal numbers to zero; see GATE.md)",
    )  # fmt: skip
    parser.add_argument(
        "--probes", action="store_true", help="run the hand-made probes instead (see GATE.md)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write a summary here")
    args = parser.parse_args(argv)
    print(
        f"tensorflow {targets.tf.__version__}, innvestigate 2.1.2 (reports "
        f"{targets.innvestigate.__version__}), floatx {targets.tf.keras.backend.floatx()}",
        flush=True,
    )
    if args.probes:
        run_probes(args.arithmetic)
        return 0
    runs = []
    for analyser in args.analysers:
        if args.which in ("own", "both"):
            own = OWN[analyser]
            runs.append(run_one(analyser, own, "own", args.examples, args.seed, args.arithmetic))
        if args.which in ("neighbour", "both"):
            neighbour = NEIGHBOUR[analyser]
            runs.append(
                run_one(analyser, neighbour, "neighbour", args.examples, args.seed, args.arithmetic)
            )
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=1, default=str) + "\n")
    print("\nsummary:")
    for run in runs:
        verdicts = ", ".join(
            f"{p['name']} {'PASS' if p['ok'] else 'FAIL'} {p['worst_ratio']:.3g}"
            for p in run["properties"]
        )
        print(
            f"  {run['analyser']:<22} {run['declaration']:<45} {run['seconds']:>6.1f} s  {verdicts}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
