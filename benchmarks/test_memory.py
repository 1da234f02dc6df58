"""Peak memory of LRP on a float32 batch of 10000 (784-1024-1024-10), as a ratio to the forward
pass that explain runs first (its input and every layer's z and activation, which LRP needs).

Measured with tracemalloc (numpy reports its allocations to it), so the figures do not depend on
the machine. LRP returns every layer's relevance and sinks, about one more trace's worth: LRP-0
measures 2.00x, LRP-ε 2.48x (ε's per-unit stabiliser relevance ``Rs`` is one more array per
layer). The ratios are printed with the benchmarks' measurements; nothing is asserted.
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from lrp_invariants import LRP0, Epsilon, Network, explain
from lrp_invariants.network import forward

WIDTHS = (784, 1024, 1024, 10)
BATCH = 10_000


def _peak(fn: Callable[[], object]) -> int:
    """Bytes allocated at the peak of ``fn``, its result included."""
    tracemalloc.start()
    try:
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


@pytest.mark.parametrize("rule", [LRP0(), Epsilon(1e-9)], ids=["lrp_0", "lrp_epsilon"])
def test_memory_of_explain_against_the_forward_pass(benchmark, rule) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    weights = [
        (rng.normal(size=(a, b)) / np.sqrt(a)).astype(np.float32)
        for a, b in itertools.pairwise(WIDTHS)
    ]
    biases = [rng.normal(scale=0.1, size=b).astype(np.float32) for b in WIDTHS[1:]]
    network = Network.from_arrays(weights, biases)
    x = rng.random((BATCH, WIDTHS[0])).astype(np.float32)
    classes = rng.integers(0, WIDTHS[-1], size=BATCH)
    # the forward pass holds its input as the trace's first layer: counted on both sides
    forward_bytes = _peak(lambda: forward(network, x)) + x.nbytes
    explain_bytes = _peak(lambda: explain(network, x, classes, rule)) + x.nbytes
    benchmark.group = "memory"
    benchmark.extra_info["peak memory / forward pass (float32, batch 10000)"] = round(
        explain_bytes / forward_bytes, 3
    )
    benchmark.pedantic(lambda: explain(network, x, classes, rule), rounds=1, iterations=1)
