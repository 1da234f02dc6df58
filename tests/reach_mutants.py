"""Defects that hide from a small, uniform search: each is wrong only at some scales, some sizes,
or next to a ReLU's kink. The gate must catch every one at its default settings (issue 13).

Each follows the gate protocol ``fn(weights, biases, x, classes) -> relevance`` and is written
in plain numpy, sharing nothing with the core but :mod:`tests.helpers`' forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lrp_invariants.network import Array

from .helpers import logit_start, plain_forward

Weights = Sequence[Array]


def _lrp0(weights: Weights, biases: Weights, x: Array, classes: Array, stabiliser: float) -> Array:
    """LRP-0 written out, with ``stabiliser`` added to every denominator (0: the real rule)."""
    inputs, pre = plain_forward(weights, biases, x)
    R = logit_start(pre[-1], classes)
    for W, a, z in zip(weights[::-1], inputs[::-1], pre[::-1], strict=True):
        denominator = z + stabiliser
        s = np.divide(R, denominator, out=np.zeros_like(R), where=denominator != 0)
        R = a * (s @ W.T)
    return R


def _gradient(
    weights: Weights, biases: Weights, x: Array, classes: Array, slope: float = 0.0
) -> Array:
    """``∂f_c/∂x`` written out; ``slope`` is what a dead unit passes back (0 for ReLU)."""
    _, pre = plain_forward(weights, biases, x)
    g = np.zeros_like(pre[-1])
    g[np.arange(len(classes)), classes] = 1
    for i in range(len(weights) - 1, -1, -1):
        g = g @ weights[i].T
        if i > 0:
            g = g * np.where(pre[i - 1] > 0, 1.0, slope)
    return g


def _gradient_x_input(
    weights: Weights, biases: Weights, x: Array, classes: Array, slope: float = 0.0
) -> Array:
    return x * _gradient(weights, biases, x, classes, slope)


def lrp0_with_a_tiny_absolute_stabiliser(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-0 with ``z + 1e-16`` in every denominator: harmless at the scale of 1, wrong where
    pre-activations are small (weights or inputs far below 1)."""
    return _lrp0(weights, biases, x, classes, 1e-16)


def lrp0_off_by_one_in_a_million(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Every relevance a relative 1e-6 too large (a stray ``1 + 1e-6``, a float32 constant)."""
    return _lrp0(weights, biases, x, classes, 0.0) * (1 + 1e-6)


def lrp0_wrong_below_2_to_the_minus_30(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Right everywhere except on relevances smaller than 2**-30 in magnitude, which come out a
    relative 1e-6 off (a branch for tiny values, as in a log-domain or rescaled kernel)."""
    R = _lrp0(weights, biases, x, classes, 0.0)
    return np.where(np.abs(R) < 2.0**-30, R * (1 + 1e-6), R)


def lrp0_wrong_above_2_to_the_30(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Right everywhere except on relevances larger than 2**30, which come out a relative
    1e-6 off."""
    R = _lrp0(weights, biases, x, classes, 0.0)
    return np.where(np.abs(R) > 2.0**30, R * (1 + 1e-6), R)


def gradient_x_input_leaking_through_dead_units(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Gradient x input that lets 1 % through units that are off (a leaky ReLU's backward pass
    used for a ReLU network): right wherever every hidden unit is on."""
    return _gradient_x_input(weights, biases, x, classes, slope=0.01)


def lrp0_in_float32_from_16_units(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-0 whose matrix products drop to float32 once a layer has 16 units or more, as a
    backend that switches kernels (TF32, a blocked float32 path) does by width."""
    if max(max(W.shape) for W in weights) < 16:
        return _lrp0(weights, biases, x, classes, 0.0)
    low = [np.asarray(W, np.float32) for W in weights]
    R = _lrp0(low, [np.asarray(b, np.float32) for b in biases], x.astype(np.float32), classes, 0.0)
    return R.astype(x.dtype)


def gradient_x_input_in_chunks_with_the_first_chunks_classes(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """Gradient x input computed in chunks of 4 samples, each chunk explaining the classes of
    the first chunk: right for batches of up to 4."""
    pieces = []
    for start in range(0, len(x), 4):
        chunk = x[start : start + 4]
        pieces.append(_gradient_x_input(weights, biases, chunk, classes[: len(chunk)]))
    return np.concatenate(pieces)


def gradient_x_input_at_half_the_input(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """``x · ∇f(x / 2)``: integrated gradients with one midpoint step, sold as gradient x input.
    Right unless a ReLU switches between ``x / 2`` and ``x`` (one unit with ``W = 1``,
    ``b = -1`` and ``x = 1.5`` shows it)."""
    return x * _gradient(weights, biases, x / 2, classes)


REACH_MUTANTS: dict[str, tuple[Callable[..., Array], str]] = {
    "lrp0_with_a_tiny_absolute_stabiliser": (lrp0_with_a_tiny_absolute_stabiliser, "lrp-0"),
    "lrp0_off_by_one_in_a_million": (lrp0_off_by_one_in_a_million, "lrp-0"),
    "lrp0_wrong_below_2_to_the_minus_30": (lrp0_wrong_below_2_to_the_minus_30, "lrp-0"),
    "lrp0_wrong_above_2_to_the_30": (lrp0_wrong_above_2_to_the_30, "lrp-0"),
    "gradient_x_input_leaking_through_dead_units": (
        gradient_x_input_leaking_through_dead_units,
        "gradient-x-input",
    ),
    "lrp0_in_float32_from_16_units": (lrp0_in_float32_from_16_units, "lrp-0"),
    "gradient_x_input_in_chunks_with_the_first_chunks_classes": (
        gradient_x_input_in_chunks_with_the_first_chunks_classes,
        "gradient-x-input",
    ),
    "gradient_x_input_at_half_the_input": (gradient_x_input_at_half_the_input, "gradient-x-input"),
}
"""Each reach mutant and the method it (wrongly) claims."""
