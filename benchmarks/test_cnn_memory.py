"""Peak memory of LRP on the speed benchmark's CNN (batch 64 of 3x32x32 through
conv-conv-pool-conv-pool-dense), as a ratio to the peak of the forward pass that explain runs
first. Target: within 2.5x.

Measured with tracemalloc (numpy reports its allocations to it), so the figures do not depend on
the machine. The forward pass's peak is its trace (every layer's input and output, which LRP
needs) plus the largest im2col matrix, the second convolution's ``(n * 32 * 32, 32 * 9)``;
explain keeps the trace and adds every layer's relevance and sinks, and its own peak is at the
same convolution's transposed product. The ratios and both peaks are printed with the
benchmarks' measurements; nothing is asserted.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest

from lrp_invariants import LRP0, Epsilon
from lrp_invariants.cnn import explain, forward

from .test_cnn_speed import BATCH, draw_case, every_sink


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(
    ("rule", "sinks"),
    [(LRP0(), False), (Epsilon(1e-9), False), (Epsilon(1e-9), True)],
    ids=["lrp_0", "lrp_epsilon", "lrp_epsilon_all_sinks"],
)
def test_cnn_memory_of_explain_against_the_forward_pass(benchmark, rule, sinks, dtype) -> None:  # type: ignore[no-untyped-def]
    cnn, x, classes = draw_case(dtype, BATCH)

    def run() -> object:
        explained = explain(cnn, x, classes, rule)
        return every_sink(explained) if sinks else explained

    # the forward pass holds its input as the trace's first layer: counted on both sides
    forward_bytes = _peak(lambda: forward(cnn, x)) + x.nbytes
    explain_bytes = _peak(run) + x.nbytes
    name = np.dtype(dtype).name
    benchmark.group = "cnn memory"
    benchmark.extra_info[f"peak memory / forward pass ({name}, batch {BATCH} of 3x32x32)"] = round(
        explain_bytes / forward_bytes, 3
    )
    benchmark.extra_info[f"MiB at the peak of forward, of explain ({name})"] = [
        round(forward_bytes / 2**20, 1),
        round(explain_bytes / 2**20, 1),
    ]
    benchmark.pedantic(run, rounds=1, iterations=1)
