"""What the gate's CNN cases hold: how many carry relevance, and where LRP-ε's conservation
claims nothing.

``python campaigns/cnn_census.py [--cases 400] [--seed S]`` draws ``cnn_gate_cases()`` (one
Hypothesis search, generation only, as the gate draws: blind to local constants) and counts,
per case: the network without sources (where bias-proxy conservation runs) with a zero
chosen logit for every sample, and the first layer that is 0 everywhere there (or the head
column, or the input); a top-level max pool with a tie above 0 (two equal maxima of a window
that relevance passes through); and, per sample, LRP-ε's conservation bound or sinks with no
finite value (the claim is then vacuous). docs/soundness.md ("CNN campaigns") quotes it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lrp_invariants.cnn import Dense, MaxPool, forward
from lrp_invariants.cnn_cases import CNNGateCase, cnn_gate_cases
from lrp_invariants.gate.compat import quietly
from lrp_invariants.methods import resolve_method

EPSILON = resolve_method("lrp-epsilon")


def census(case: CNNGateCase, counts: Counter[str]) -> None:
    """Add one case's features to ``counts``."""
    net, x = case.proxy
    rows = np.arange(x.shape[0])
    trace = forward(net, x)
    counts["cases"] += 1
    if not np.any(trace.logits[rows, case.classes]):
        counts["proxy logit 0"] += 1
        head = net.layers[-1]
        if isinstance(head, Dense) and not np.any(head.W[:, case.classes]):
            counts["proxy logit 0: head column 0"] += 1
        elif not np.any(x):
            counts["proxy logit 0: input 0"] += 1
        else:
            for i, layer in enumerate(net.layers):
                if not np.any(trace.outputs[i]):
                    counts[f"proxy logit 0: {type(layer).__name__} 0 everywhere"] += 1
                    break
    for i, layer in enumerate(net.layers):
        if isinstance(layer, MaxPool):
            view = layer.windows(trace.inputs[i])
            axes = tuple(range(-layer.dims, 0))
            top = view.max(axis=axes, keepdims=True)
            if np.any(((view == top) & (top > 0)).sum(axis=axes) > 1):
                counts["max pool tie above 0"] += 1
                break
    held = case.conservation(EPSILON)
    counts["samples"] += x.shape[0]
    vacuous = ~np.isfinite(held.unassigned.rad) | ~np.isfinite(held.rounding)
    counts["samples: lrp-epsilon conservation unbounded"] += int(vacuous.sum())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    counts: Counter[str] = Counter()

    @settings(
        max_examples=args.cases,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(cnn_gate_cases())
    def search(case: CNNGateCase) -> None:
        census(case, counts)

    quietly(hypothesis_seed(args.seed)(search))
    print(json.dumps({"seed": args.seed, **dict(sorted(counts.items()))}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
