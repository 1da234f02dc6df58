"""LRP-ε written in plain numpy for float32 cases: one correct, and three that lose precision
while claiming float32 (a planted 1e-4 in one layer; matrix products in TF32 or bfloat16, as a
GPU backend does when it is allowed to). The gate with ``dtype="float32"`` must pass the first
and fail the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from lrp_invariants.network import Array
from lrp_invariants.targets import EPSILON

from .helpers import logit_start

Weights = Sequence[Array]
Product = Callable[[Array, Array], Array]


def _keep_mantissa_bits(values: Array, bits: int) -> Array:
    """Round float32 ``values`` to ``bits`` explicit mantissa bits (to nearest, ties to even), as
    TF32 (10 bits) and bfloat16 (7 bits) hold their operands."""
    raw = np.asarray(values, np.float32).view(np.uint32).astype(np.uint64)
    drop = 23 - bits
    half = np.uint64(1 << (drop - 1))
    odd = (raw >> np.uint64(drop)) & np.uint64(1)
    rounded = ((raw + half - np.uint64(1) + odd) >> np.uint64(drop)) << np.uint64(drop)
    return rounded.astype(np.uint32).view(np.float32)


def _float32(a: Array, W: Array) -> Array:
    return a @ W


def _reduced(bits: int) -> Product:
    def product(a: Array, W: Array) -> Array:
        return _keep_mantissa_bits(a, bits) @ _keep_mantissa_bits(W, bits)

    return product


def _lrp_epsilon(
    weights: Weights, biases: Weights, x: Array, classes: Array, dot: Product, error: float = 0
) -> Array:
    a, inputs, pre = x, [], []
    for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
        inputs.append(a)
        z = dot(a, W) + b
        pre.append(z)
        a = np.maximum(z, 0) if i < len(weights) - 1 else z
    R = logit_start(pre[-1], classes)
    for i in range(len(weights) - 1, -1, -1):
        z = pre[i]
        denominator = z + np.where(z >= 0, EPSILON, -EPSILON).astype(z.dtype)
        s = np.divide(R, denominator, out=np.zeros_like(R), where=denominator != 0)
        R = inputs[i] * dot(s, weights[i].T)
        if i == 0:
            R = R * np.float32(1 + error)  # a planted relative error in one layer
    return R.astype(np.float32)


def lrp_epsilon_float32(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-ε computed in float32 from start to end: correct."""
    return _lrp_epsilon(weights, biases, x, classes, _float32)


def lrp_epsilon_float32_off_by_1e4_in_one_layer(
    weights: Weights, biases: Weights, x: Array, classes: Array
) -> Array:
    """LRP-ε in float32 that loses a relative 1e-4 in the first layer's relevance."""
    return _lrp_epsilon(weights, biases, x, classes, _float32, error=-1e-4)


def lrp_epsilon_in_tf32(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-ε whose matrix products take TF32 operands (10 mantissa bits), claiming float32."""
    return _lrp_epsilon(weights, biases, x, classes, _reduced(10))


def lrp_epsilon_in_bfloat16(weights: Weights, biases: Weights, x: Array, classes: Array) -> Array:
    """LRP-ε whose matrix products take bfloat16 operands (7 mantissa bits), claiming float32."""
    return _lrp_epsilon(weights, biases, x, classes, _reduced(7))


LOSSY = {
    "lrp_epsilon_float32_off_by_1e4_in_one_layer": lrp_epsilon_float32_off_by_1e4_in_one_layer,
    "lrp_epsilon_in_tf32": lrp_epsilon_in_tf32,
    "lrp_epsilon_in_bfloat16": lrp_epsilon_in_bfloat16,
}
