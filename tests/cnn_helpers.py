"""Builders and derived tolerances shared by the CNN tests (tests/test_cnn_*.py and
properties/test_cnn_*.py).

Integer-valued CNNs (small integers in float64) make every forward sum exact, so the forward
pass, its unrolled twin and the literal loops must agree bit for bit; relevance divides, so its
tolerances are derived here from the terms' magnitudes, as :mod:`lrp_invariants.bounds` does for
dense networks: ``γ_k`` (``k u / (1 - k u)``) times the sum of absolute terms.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from lrp_invariants.bounds import Precision
from lrp_invariants.cnn import (
    CNN,
    BatchNorm,
    CNNRelevance,
    Conv,
    Dense,
    Residual,
    ResidualRelevance,
)
from lrp_invariants.cnn.geometry import source_index
from lrp_invariants.cnn.model import CNNTrace
from lrp_invariants.cnn.relevance import _gradient
from lrp_invariants.network import Array
from lrp_invariants.rules.operator import OperatorRelevance


def integer_conv(
    rng: np.random.Generator,
    c_in: int,
    c_out: int,
    kernel: tuple[int, ...],
    *,
    groups: int = 1,
    bias: bool = True,
    **geometry: Any,
) -> Conv:
    """A convolution with weights and bias in -3..3."""
    weight = rng.integers(-3, 4, size=(c_out, c_in // groups, *kernel)).astype(np.float64)
    b = rng.integers(-3, 4, size=c_out).astype(np.float64) if bias else None
    return Conv(weight, b, groups=groups, **geometry)


def gaussian_conv(
    rng: np.random.Generator, c_in: int, c_out: int, kernel: tuple[int, ...], **geometry: Any
) -> Conv:
    weight = rng.normal(size=(c_out, c_in // geometry.get("groups", 1), *kernel))
    return Conv(weight, rng.normal(size=c_out) * 0.5, **geometry)


def gaussian_norm(rng: np.random.Generator, channels: int) -> BatchNorm:
    """A batch norm with scales of both signs."""
    return BatchNorm(
        rng.normal(size=channels),
        rng.normal(size=channels),
        rng.normal(size=channels),
        rng.random(channels) + 0.5,
    )


def _layer_bound(layer: OperatorRelevance, p: Precision) -> Array:
    """One layer's rounding of ``R_out = R + sinks``: γ of its longest sum times its terms."""
    n = layer.R_out.shape[0]
    size_in, size_out = layer.R.reshape(n, -1).shape[1], layer.R_out.reshape(n, -1).shape[1]
    R_abs = np.abs(layer.R_out).reshape(n, -1).sum(axis=1)
    mass = 2 * R_abs
    if layer.magnitude is not None:
        mass = mass + 2 * layer.magnitude()
    if layer.Rs is not None:
        mass = mass + np.abs(layer.Rs).reshape(n, -1).sum(axis=1)
    mass = mass + np.abs(layer.R).reshape(n, -1).sum(axis=1)  # max pooling's routed shares
    return p.gamma(size_in + size_out + 8) * mass


def _bound(layer: OperatorRelevance | ResidualRelevance, p: Precision) -> Array:
    if isinstance(layer, OperatorRelevance):
        return _layer_bound(layer, p)
    inner = conservation_bounds(layer.branch, p)[:, 0]
    total = _layer_bound(layer.sum, p) + inner
    if layer.shortcut is not None:
        total = total + _layer_bound(layer.shortcut, p)
    n = layer.R.shape[0]
    return total + p.gamma(2) * np.abs(layer.R).reshape(n, -1).sum(axis=1)


def conservation_bounds(relevance: CNNRelevance, p: Precision) -> Array:
    """(n, layers) bounds on ``total(l) - output_total``: each layer's rounding, added up from
    the top, widened for the rounding of the bound itself (as
    :func:`lrp_invariants.bounds.conservation_tolerance`)."""
    per_layer = np.stack([_bound(layer, p) for layer in relevance.layers], axis=1)
    cumulative = np.cumsum(per_layer[:, ::-1], axis=1)[:, ::-1]
    widened: Array = p.widen(cumulative, len(relevance.layers) + 2)
    return widened


def absolute_cnn(cnn: CNN) -> CNN:
    """The same CNN with every weight (and batch norm scale) replaced by its magnitude."""

    def absolute(layer: Any) -> Any:
        if isinstance(layer, Conv):
            return dataclasses.replace(layer, weight=np.abs(layer.weight), constant=None)
        if isinstance(layer, Dense):
            return Dense(np.abs(layer.W), layer.b)
        if isinstance(layer, BatchNorm):
            return BatchNorm.affine(np.abs(layer.scale), layer.shift)
        if isinstance(layer, Residual):
            down = None if layer.downsample is None else absolute(layer.downsample)
            return Residual(tuple(absolute(inner) for inner in layer.branch), down)
        return layer

    return CNN(tuple(absolute(layer) for layer in cnn.layers), cnn.input_shape)


def chain_length(cnn: CNN) -> int:
    """A bound on the number of roundings along any path of a backward pass: every layer's
    input and output sizes, and a few per layer (the whole of a residual block's inside)."""
    total = 0
    for shape_in, shape_out in zip(cnn.shapes, cnn.shapes[1:], strict=False):
        total += int(np.prod(shape_in)) + int(np.prod(shape_out)) + 6
    residuals = sum(isinstance(layer, Residual) for layer in cnn.layers)
    return total * (1 + residuals)


def gradient_bound(cnn: CNN, trace: CNNTrace, classes: Array) -> Array:
    """``γ_N`` times the gradient of the network with absolute weights along the same ReLU and
    pooling paths: a bound on how far a computed chain of transposed products (the gradient,
    or LRP-0's per-unit quotients) may be from the exact gradient."""
    p = Precision.of(cnn.dtype)
    g = np.zeros(trace.logits.shape, dtype=cnn.dtype)
    g[np.arange(len(classes)), classes] = 1
    chain = _gradient(absolute_cnn(cnn).layers, trace, g, cnn.dtype)
    result: Array = p.widen(p.gamma(chain_length(cnn)) * chain, 4)
    return result


def literal_conv(conv: Conv, x: Array) -> Array:
    """The convolution written out: a loop over samples, channels, positions and taps."""
    n, _, *spatial = x.shape
    out = conv.output_shape(x.shape[1:])
    z = np.zeros((n, *out))
    per_group_in = conv.in_channels // conv.groups
    per_group_out = conv.out_channels // conv.groups
    index = [source_index(spatial[a], *conv.pads[a], conv.padding_mode) for a in range(conv.dims)]
    for b, j in itertools.product(range(n), range(out[0])):
        group = j // per_group_out
        for o in itertools.product(*(range(k) for k in out[1:])):
            total = 0.0
            for c, t in itertools.product(
                range(per_group_in), itertools.product(*(range(k) for k in conv.kernel))
            ):
                position = [
                    o[a] * conv.strides[a] + t[a] * conv.dilations[a] for a in range(conv.dims)
                ]
                source = [int(index[a][position[a]]) for a in range(conv.dims)]
                value = (
                    conv.padding_value
                    if min(source) < 0
                    else x[tuple([b, group * per_group_in + c, *source])]
                )
                total += conv.weight[tuple([j, c, *t])] * value
            if conv.constant is not None:
                raise NotImplementedError
            bias = 0.0 if conv.bias is None else conv.bias[j]
            z[tuple([b, j, *o])] = total + bias
    return z
