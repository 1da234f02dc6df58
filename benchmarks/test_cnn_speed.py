"""LRP on a CNN against a floor of the CNN core's own forward pass + gradient x input.

The network is conv-conv-pool-conv-pool-dense on a batch of 64 images of 3x32x32 (3x3
convolutions with padding 1 to 32, 32 and 64 channels, ReLU after each, 2x2 max pooling, then a
dense layer from 64x8x8 to 10 logits), in float64 and float32. The floor is
:func:`~lrp_invariants.cnn.forward` followed by
:func:`~lrp_invariants.cnn.gradient_x_input`: the plain computation, with the same im2col
convolution routine (one matrix product per convolution forward, one transposed product and a
scatter back) and the same max-pooling routing that LRP uses. Target: LRP-ε (every sink read)
within 1.3x the floor. LRP-ε at a convolution does the floor's one transposed product plus
elementwise work; ``test_lrp_does_the_floors_convolution_products`` checks that count
exactly, since the times are only printed (with their ratios), never asserted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest

from lrp_invariants import LRP0, Epsilon, Rule
from lrp_invariants.cnn import (
    CNN,
    CNNRelevance,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    explain,
    forward,
    gradient_x_input,
)
from lrp_invariants.cnn.conv import ConvOperator
from lrp_invariants.network import Array

INPUT_SHAPE = (3, 32, 32)
CHANNELS = (3, 32, 32, 64)
CLASSES = 10
BATCH = 64


def realistic_cnn(dtype: type[np.floating], rng: np.random.Generator) -> CNN:
    """conv-conv-pool-conv-pool-dense with He-like scales, so that units stay alive."""

    def conv(c_in: int, c_out: int) -> Conv:
        weight = rng.normal(size=(c_out, c_in, 3, 3)) / np.sqrt(c_in * 9 / 2)
        bias = rng.normal(scale=0.1, size=c_out)
        return Conv(weight.astype(dtype), bias.astype(dtype), padding=1)

    c0, c1, c2, c3 = CHANNELS
    flat = c3 * (INPUT_SHAPE[1] // 4) * (INPUT_SHAPE[2] // 4)
    dense = Dense(
        (rng.normal(size=(flat, CLASSES)) / np.sqrt(flat)).astype(dtype),
        rng.normal(scale=0.1, size=CLASSES).astype(dtype),
    )
    layers = (
        *(conv(c0, c1), ReLU()),
        *(conv(c1, c2), ReLU(), MaxPool(2)),
        *(conv(c2, c3), ReLU(), MaxPool(2)),
        *(Flatten(), dense),
    )
    return CNN(layers, INPUT_SHAPE)


Case = tuple[CNN, Array, np.ndarray]


def draw_case(dtype: type[np.floating], batch: int) -> Case:
    rng = np.random.default_rng(0)
    cnn = realistic_cnn(dtype, rng)
    x = rng.random((batch, *INPUT_SHAPE)).astype(dtype)  # pixel-like, in [0, 1]
    classes = rng.integers(0, CLASSES, size=batch)
    return cnn, x, classes


@pytest.fixture(scope="module", params=[np.float64, np.float32], ids=["float64", "float32"])
def case(request: pytest.FixtureRequest) -> Case:
    return draw_case(request.param, BATCH)


def floor(cnn: CNN, x: Array, classes: Array) -> Array:
    """The CNN core's plain forward pass, then the gradient of the chosen logit, times x."""
    return gradient_x_input(cnn, forward(cnn, x), classes)


def every_sink(explained: tuple[object, CNNRelevance]) -> CNNRelevance:
    """Read every layer's sinks (bias, stabiliser), summed per sample."""
    relevance = explained[1]
    relevance.all_sinks()
    return relevance


def _run(benchmark: Callable[..., object], case: Case, fn: Callable[[], object]) -> None:
    cnn, _, _ = case
    benchmark.group = f"cnn {cnn.dtype}"  # type: ignore[attr-defined]
    benchmark(fn)


def test_floor_cnn_forward_and_gradient_x_input(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    cnn, x, classes = case
    _run(benchmark, case, lambda: floor(cnn, x, classes))


def test_cnn_lrp_0(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    cnn, x, classes = case
    _run(benchmark, case, lambda: explain(cnn, x, classes, LRP0()))


def test_cnn_lrp_epsilon(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    cnn, x, classes = case
    _run(benchmark, case, lambda: explain(cnn, x, classes, Epsilon(1e-9)))


def test_cnn_lrp_epsilon_all_sinks(benchmark, case) -> None:  # type: ignore[no-untyped-def]
    cnn, x, classes = case
    _run(benchmark, case, lambda: every_sink(explain(cnn, x, classes, Epsilon(1e-9))))


def _convolution_products(
    monkeypatch: pytest.MonkeyPatch, fn: Callable[[], object]
) -> Counter[tuple[str, str]]:
    """How many convolution products (forward) and transposed products ``fn`` runs, and with
    which transform of the weights."""
    calls: Counter[tuple[str, str]] = Counter()
    product, transpose = ConvOperator.product, ConvOperator.transpose

    def counted_product(self: ConvOperator, v: Array, weights: str) -> Array:
        calls["product", weights] += 1
        return product(self, v, weights)  # type: ignore[arg-type]

    def counted_transpose(self: ConvOperator, s: Array, weights: str) -> Array:
        calls["transpose", weights] += 1
        return transpose(self, s, weights)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(ConvOperator, "product", counted_product)
        patch.setattr(ConvOperator, "transpose", counted_transpose)
        fn()
    return calls


@pytest.mark.parametrize("rule", [LRP0(), Epsilon(1e-9)], ids=["lrp_0", "lrp_epsilon"])
def test_lrp_does_the_floors_convolution_products(
    monkeypatch: pytest.MonkeyPatch, rule: Rule
) -> None:
    """Not timed: LRP-0 and LRP-ε, every sink read, run exactly the floor's convolution
    products (one per convolution forward, one transposed per convolution back), so their
    cost above the floor is elementwise work (the counts do not depend on the batch size)."""
    cnn, x, classes = draw_case(np.float64, 2)
    floor_calls = _convolution_products(monkeypatch, lambda: floor(cnn, x, classes))
    lrp_calls = _convolution_products(
        monkeypatch, lambda: every_sink(explain(cnn, x, classes, rule))
    )
    convolutions = sum(isinstance(layer, Conv) for layer in cnn.layers)
    assert floor_calls == Counter(
        {("product", "W"): convolutions, ("transpose", "W"): convolutions}
    )
    assert lrp_calls == floor_calls
