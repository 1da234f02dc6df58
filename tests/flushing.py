"""Attribution code that computes in flush-to-zero arithmetic, simulated in numpy.

TensorFlow on CPU, fast-math GPU kernels and torch after ``set_flush_denormal(True)`` read every
subnormal operand as 0 and flush every result below the smallest normal number to 0. These
targets do the same, one operation at a time: every input array is flushed, every product and
every partial sum is flushed as it is formed. They are correct in that arithmetic, so the gate
must pass them when told (``arithmetic="ftz"``) and say, when not told, that they differ only
where values are subnormal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lrp_invariants.network import Array
from lrp_invariants.targets import EPSILON

Weights = Sequence[Array]
TINY = float(np.finfo(np.float64).tiny)


def flush(values: Array) -> Array:
    """Read ``values`` as flush-to-zero hardware does: below the smallest normal, 0."""
    return np.where(np.abs(values) < TINY, 0.0, values)


def _dot(a: Array, W: Array) -> Array:
    """``a @ W`` with every product and every partial sum flushed."""
    products = flush(a[:, :, None] * W[None, :, :])
    total = np.zeros((a.shape[0], W.shape[1]))
    for k in range(W.shape[0]):
        total = flush(total + products[:, k, :])
    return total


def _forward(weights: Weights, biases: Weights, x: Array) -> tuple[list[Array], list[Array]]:
    a, inputs, pre = flush(x), [], []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(a)
        z = flush(_dot(a, flush(W)) + flush(b))
        pre.append(z)
        a = np.maximum(z, 0) if i < len(weights) - 1 else z
    return inputs, pre


def _lrp(
    weights: Weights,
    biases: Weights,
    x: Array,
    classes: Array,
    epsilon: float,
    error: float = 0,
    bias_in_denominator: bool = True,
) -> Array:
    inputs, pre = _forward(weights, biases, x)
    rows = np.arange(len(classes))
    R = np.zeros_like(pre[-1])
    R[rows, classes] = pre[-1][rows, classes]
    for i in range(len(weights) - 1, -1, -1):
        z = pre[i] if bias_in_denominator else flush(pre[i] - flush(biases[i]))
        den = flush(z + np.where(z >= 0, epsilon, -epsilon)) if epsilon else z
        s = np.zeros_like(R)
        np.divide(R, den, out=s, where=den != 0)
        R = flush(inputs[i] * _dot(flush(s), flush(weights[i]).T))
        if i == 1:
            R = R * (1 + error)  # a planted relative error in one layer
    return R


def ftz_lrp_0(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-0 in flush-to-zero arithmetic."""
    return _lrp(weights, biases, x, classes, 0.0)


def ftz_lrp_epsilon(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-ε (ε = 1e-9) in flush-to-zero arithmetic."""
    return _lrp(weights, biases, x, classes, EPSILON)


def ftz_lrp_epsilon_off_by_1e6(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-ε in flush-to-zero arithmetic that also loses a relative 1e-6 in layer 1: a defect."""
    return _lrp(weights, biases, x, classes, EPSILON, error=-1e-6)


def ftz_lrp_0_bias_left_out(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """A flushing LRP-0 that divides by Σ_i a_i w_ij, forgetting the bias: a defect."""
    return _lrp(weights, biases, x, classes, 0.0, bias_in_denominator=False)


def ftz_gradient_x_input_drops_negative_inputs(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """A flushing gradient x input that keeps relevance only where the input is positive."""
    relevance = ftz_gradient_x_input(weights, biases, x, classes)
    return np.where(x < 0, 0.0, relevance)


def ftz_gradient(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """The gradient in flush-to-zero arithmetic (a flushed input switches its units off)."""
    _, pre = _forward(weights, biases, x)
    g = np.zeros_like(pre[-1])
    g[np.arange(len(classes)), classes] = 1
    for i in range(len(weights) - 1, -1, -1):
        g = _dot(g, flush(weights[i]).T)
        if i:
            g = g * (pre[i - 1] > 0)
    return g


def ftz_gradient_x_input(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """Gradient x input in flush-to-zero arithmetic."""
    return flush(ftz_gradient(weights, biases, x, classes) * flush(x))


FLUSHING_MUTANTS: dict[str, tuple[Callable[..., Array], str, str]] = {
    fn.__name__: (fn, method, prop)
    for fn, method, prop in (
        (ftz_lrp_epsilon_off_by_1e6, "lrp-epsilon", "reference"),
        (ftz_lrp_0_bias_left_out, "lrp-0", "bias-proxy-transparency"),
        (ftz_gradient_x_input_drops_negative_inputs, "gradient-x-input", "shift-decomposition"),
    )
}
"""Flushing targets with a real defect, each with the property that must catch it."""

FLUSHING: dict[str, tuple[Callable[..., Array], str]] = {
    fn.__name__: (fn, method)
    for fn, method in (
        (ftz_lrp_0, "lrp-0"),
        (ftz_lrp_epsilon, "lrp-epsilon"),
        (ftz_gradient, "gradient"),
        (ftz_gradient_x_input, "gradient-x-input"),
    )
}
