"""Linear layers as dense matrices, and CNNs of linear layers and ReLUs as dense Networks.

The matrix of a layer for an input shape is its product with every unit input: row ``i`` holds
what input ``i`` (in C order, torch's NCHW flatten) contributes to every output. Where padding
copies an input into several taps of one window (reflect, replicate, circular), the taps'
weights add up into one matrix entry; the bias vector holds the bias (map), a constant input's
contribution and a constant padding's. :func:`connections` is the 0/1 matrix of the weights
that exist (``ones`` of the operator), which the flat rule counts.

Which rules give the same relevance on a layer and on its matrix (rules are local to a layer):

* zero padding: every tap reads its own input or nothing, so the matrix holds the very weights
  the layer multiplies: every rule, the flat rule where it counts :func:`connections` (the dense
  flat rule counts every pair of the matrix, zeros included);
* reflect, replicate, circular padding: where one window reads an input through two taps
  (reflect and replicate at a border, circular on an axis shorter than the window) the matrix
  entry is their sum, so only the rules linear in the weights agree (LRP-0, LRP-ε); sign-split
  and squared weights (αβ, z⁺, γ, w², z^B) split each tap on its own in the layer, the sum in
  the matrix;
* constant padding: its contribution joins the bias vector, so LRP-0 and LRP-ε agree with the
  layer's ``Rb + Rp`` as the matrix's bias relevance; rules that split or modify the bias treat
  the padding as part of it on the matrix.
"""

from __future__ import annotations

import numpy as np

from ..network import Array, Linear, Network
from ..rules.operator import Weights
from .model import CNN, LINEAR_KINDS, Layer, operator
from .simple import Flatten, ReLU

FLOAT64: np.dtype[np.floating] = np.dtype(np.float64)


def _matrix(layer: Layer, in_shape: tuple[int, ...], dtype: np.dtype, weights: Weights) -> Array:
    op = operator(layer, in_shape, dtype)
    size = int(np.prod(in_shape))
    basis = np.eye(size, dtype=dtype).reshape(size, *in_shape)
    result: Array = op.product(basis, weights).reshape(size, -1)
    return result


def dense_matrix(
    layer: Layer, in_shape: tuple[int, ...], dtype: np.dtype[np.floating] = FLOAT64
) -> tuple[Array, Array]:
    """``(W, b)`` with ``layer(x).ravel() == x.ravel() @ W + b`` for inputs of ``in_shape``."""
    op = operator(layer, tuple(in_shape), dtype)
    W = _matrix(layer, tuple(in_shape), dtype, "W")
    b = np.array(np.broadcast_to(op.bias, op.out_shape), dtype=dtype)
    frame = op.fixed("value", "W")
    if frame is not None:
        b = b + frame
    if op.constant is not None:
        b = b + op.product(op.constant[None], "W")[0]
    return W, b.reshape(-1)


def connections(
    layer: Layer, in_shape: tuple[int, ...], dtype: np.dtype[np.floating] = FLOAT64
) -> Array:
    """1 where input ``i`` reaches output ``j`` through at least one weight that exists."""
    counts = _matrix(layer, tuple(in_shape), dtype, "ones")
    result: Array = (counts > 0).astype(dtype)
    return result


def unroll(cnn: CNN) -> Network:
    """The CNN as a dense ReLU network: it must alternate linear layers and ReLUs (Flatten
    anywhere), start and end with a linear layer."""
    layers: list[Linear] = []
    expect_linear = True
    for i, layer in enumerate(cnn.layers):
        if isinstance(layer, Flatten):
            continue
        if isinstance(layer, LINEAR_KINDS) and expect_linear:
            W, b = dense_matrix(layer, cnn.shapes[i], cnn.dtype)
            layers.append(Linear(W, b))
            expect_linear = False
        elif isinstance(layer, ReLU) and not expect_linear:
            expect_linear = True
        else:
            wanted = "a linear layer" if expect_linear else "a ReLU"
            raise ValueError(
                f"layer {i} ({type(layer).__name__}): a dense network needs {wanted} here "
                "(linear layers and ReLUs alternate, Flatten anywhere)"
            )
    if expect_linear:
        raise ValueError("the CNN must end with a linear layer (the logits)")
    return Network(tuple(layers))
