"""Exact integrated gradients against the approximation a user would otherwise pay for: 50
Riemann steps (Captum-style, computed in numpy as one batched forward and backward pass), on the
784-1024-1024-10 MLP with a batch of 100 pixel-like inputs from a zero baseline.

The exact form finds every kink on each path (about a thousand on 1024-unit layers) and
evaluates the gradient once per segment, so it does more work than 50 steps whenever a path
crosses more than 50 kinks; what it buys is the value itself (no discretisation error to
bound). Both times are printed, with the ratio and the breakpoints per path.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lrp_invariants import Network
from lrp_invariants.integrated import (
    integrated_gradients,
    paths,
    quadrature_integrated_gradients,
)

WIDTHS = (784, 1024, 1024, 10)
BATCH = 100


@pytest.fixture(scope="module")
def case() -> tuple[Network, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(a, b)) / np.sqrt(a) for a, b in itertools.pairwise(WIDTHS)]
    biases = [rng.normal(scale=0.1, size=b) for b in WIDTHS[1:]]
    x = rng.random((BATCH, WIDTHS[0]))
    classes = rng.integers(0, WIDTHS[-1], size=BATCH)
    return Network.from_arrays(weights, biases), x, classes


def test_floor_riemann_50_steps(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    benchmark.group = "integrated gradients"
    benchmark.pedantic(
        lambda: quadrature_integrated_gradients(
            network, x, classes, steps=50, method="riemann_right"
        ),
        rounds=3,
        iterations=1,
    )


def test_exact_integrated_gradients(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    benchmark.group = "integrated gradients"
    breakpoints = [len(p.t) - 2 for p in paths(network, x[:5], classes[:5])]
    benchmark.extra_info["inner breakpoints per path (first 5)"] = breakpoints
    benchmark.pedantic(lambda: integrated_gradients(network, x, classes), rounds=1, iterations=1)
