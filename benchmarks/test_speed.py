"""LRP against a floor of plain numpy forward + gradient x input, on the seed's MLP size.

The network is 784-1024-1024-10 with a batch of 1000, in float64 and float32. The floor does
the least work any of these methods must do: one forward pass and one backward pass of matrix
products. Targets: LRP-0 and LRP-ε (its sinks read, which it derives when
first read) within 1.15x the floor (1.25x in float32), αβ
within 2.5x. γ needs
a third product per layer (the modified sum ``a (w + γ w⁺)`` beside ``z``), so 1.5x is its floor;
the composite (flat first, ε above) skips the first layer's backward product.
Run with ``python -m pytest benchmarks``; the ratios are printed at the end.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from lrp_invariants import (
    LRP0,
    AlphaBeta,
    Epsilon,
    Flat,
    Gamma,
    Network,
    Relevance,
    ZPlus,
    explain,
)
from lrp_invariants.network import Array

WIDTHS = (784, 1024, 1024, 10)
BATCH = 1000


def _floor(weights: list[Array], biases: list[Array], x: Array, classes: Array) -> Array:
    """Plain numpy: forward pass, then the gradient of the chosen logit, times the input."""
    a, pre = x, []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = a @ W + b
        pre.append(z)
        a = np.maximum(z, 0) if i < len(weights) - 1 else z
    g = np.zeros_like(a)
    g[np.arange(len(classes)), classes] = 1
    for i in range(len(weights) - 1, -1, -1):
        g = g @ weights[i].T
        if i:
            g *= pre[i - 1] > 0
    return g * x


@pytest.fixture(scope="module", params=[np.float64, np.float32], ids=["float64", "float32"])
def case(request: pytest.FixtureRequest) -> tuple[Network, Array, Array]:
    rng = np.random.default_rng(0)
    dtype = request.param
    weights = [
        (rng.normal(size=(a, b)) / np.sqrt(a)).astype(dtype) for a, b in itertools.pairwise(WIDTHS)
    ]
    biases = [rng.normal(scale=0.1, size=b).astype(dtype) for b in WIDTHS[1:]]
    x = rng.random((BATCH, WIDTHS[0])).astype(dtype)  # pixel-like, in [0, 1]
    classes = rng.integers(0, WIDTHS[-1], size=BATCH)
    return Network.from_arrays(weights, biases), x, classes


def _run(benchmark: Callable[..., object], case: tuple[Network, Array, Array], fn: object) -> None:
    network, _, _ = case
    benchmark.group = str(network.dtype)  # type: ignore[attr-defined]
    benchmark(fn)


def test_floor_numpy_forward_and_gradient_x_input(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    _run(benchmark, case, lambda: _floor(network.weights, network.biases, x, classes))


def test_lrp_0(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    _run(benchmark, case, lambda: explain(network, x, classes, LRP0()))


def _every_sink(explained: tuple[object, Relevance]) -> Relevance:
    """Read every layer's sinks: LRP-ε derives its ``Rb`` and ``Rs`` when first read."""
    relevance = explained[1]
    for layer in relevance.layers:
        layer.Rb, layer.Rs  # noqa: B018
    return relevance


def test_lrp_epsilon(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    _run(benchmark, case, lambda: explain(network, x, classes, Epsilon(1e-9)))


def test_lrp_epsilon_all_sinks(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    _run(benchmark, case, lambda: _every_sink(explain(network, x, classes, Epsilon(1e-9))))


def test_lrp_alpha2_beta1(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    _run(benchmark, case, lambda: explain(network, x, classes, AlphaBeta(2.0, 1.0)))


def test_lrp_zplus(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    _run(benchmark, case, lambda: explain(network, x, classes, ZPlus()))


def test_lrp_gamma(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    _run(benchmark, case, lambda: explain(network, x, classes, Gamma(0.25)))


def test_lrp_composite_flat_first_epsilon_above(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    network, x, classes = case
    rules = [Flat(), Epsilon(1e-6), Epsilon(1e-6)]
    _run(benchmark, case, lambda: explain(network, x, classes, rules))
