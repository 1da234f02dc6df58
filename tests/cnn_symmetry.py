"""Transformations of a CNN that leave its function unchanged (channel permutations, rescaling of
a channel by a power of two, a sum ``a x + (1 - a) x`` inserted as a residual block, ReLUs made
explicit) and the comparisons the CNN properties (properties/test_cnn_*.py) make with them."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lrp_invariants.bounds import (
    Ball,
    Precision,
    agreement_tolerance,
    enclose_forward,
    enclose_relevance,
)
from lrp_invariants.cnn import (
    CNN,
    AvgPool,
    BatchNorm,
    CNNRelevance,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    Residual,
)
from lrp_invariants.cnn.unroll import unroll
from lrp_invariants.network import Array
from lrp_invariants.rules import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Rule, WSquare, ZPlus

from .cnn_helpers import conservation_bounds

PASS_THROUGH = (ReLU, MaxPool, AvgPool, Flatten)
"""Layers that act on each channel alone and commute with a positive per-channel scale (and with
a permutation of channels)."""


def with_relus(cnn: CNN) -> CNN:
    """The CNN with a ReLU after every convolution and average pooling that lacks one, so that
    linear layers and ReLUs alternate (:func:`~lrp_invariants.cnn.unroll.unroll` needs it)."""
    layers: list[Any] = []
    for i, layer in enumerate(cnn.layers):
        layers.append(layer)
        following = cnn.layers[i + 1] if i + 1 < len(cnn.layers) else None
        if isinstance(layer, Conv | AvgPool) and not isinstance(following, ReLU):
            layers.append(ReLU())
    return CNN(tuple(layers), cnn.input_shape)


def channel_pairs(cnn: CNN) -> list[tuple[int, int]]:
    """``(k, l)``: layer ``k`` (a convolution or the batch norm right after one) sets each
    channel's scale, layer ``l`` (a convolution of one group without constant padding, or the
    dense head) is the next to mix channels, and only :data:`PASS_THROUGH` layers lie
    between."""
    pairs = []
    layers = cnn.layers
    for k, layer in enumerate(layers):
        if not isinstance(layer, Conv | BatchNorm):
            continue
        if isinstance(layer, Conv) and k + 1 < len(layers) and isinstance(layers[k + 1], BatchNorm):
            continue  # the batch norm after it sets the scale
        if isinstance(layer, BatchNorm) and not (k > 0 and isinstance(layers[k - 1], Conv)):
            continue
        for l_index in range(k + 1, len(layers)):
            after = layers[l_index]
            if isinstance(after, PASS_THROUGH):
                continue
            if isinstance(after, Dense) or (
                isinstance(after, Conv)
                and after.groups == 1
                and after.padding_value == 0
                and after.constant is None
            ):
                pairs.append((k, l_index))
            break
    return pairs


def _per_channel(values: Array, ndim: int) -> Array:
    return values.reshape(-1, *([1] * (ndim - 1)))


def _consumer(cnn: CNN, index: int, factors: Array, order: NDArray[Any]) -> Any:
    """Layer ``index`` reading channel ``order[c]`` where it read ``c``, each input channel's
    weights times ``factors[c]`` (in the new order)."""
    layer = cnn.layers[index]
    if isinstance(layer, Conv):
        weight = layer.weight[:, order] * _per_channel(factors, layer.weight.ndim - 1)[None]
        return dataclasses.replace(layer, weight=weight)
    assert isinstance(layer, Dense)
    shape = cnn.shapes[index - 1] if isinstance(cnn.layers[index - 1], Flatten) else None
    assert shape is not None, "the dense head follows a Flatten"
    rows = layer.W.reshape(shape[0], -1, layer.W.shape[1])[order]
    rows = rows * factors[:, None, None]
    return Dense(rows.reshape(layer.W.shape), layer.b)


def _producer(layer: Any, factors: Array, order: NDArray[Any]) -> Any:
    """Layer ``layer`` giving channel ``order[c]`` as its channel ``c``, times ``factors[c]``."""
    if isinstance(layer, BatchNorm):
        return BatchNorm(
            layer.gamma[order] * factors,
            layer.beta[order] * factors,
            layer.mean[order],
            layer.var[order],
            layer.eps,
        )
    assert isinstance(layer, Conv)
    weight = layer.weight[order] * _per_channel(factors, layer.weight.ndim)
    bias = None
    if layer.bias is not None:
        bias = layer.bias[order] * _per_channel(factors, layer.bias.ndim)
    return dataclasses.replace(layer, weight=weight, bias=bias)


def reorder_channels(
    cnn: CNN, pair: tuple[int, int], order: NDArray[Any], exponents: NDArray[Any]
) -> CNN:
    """The same function: the channels between layers ``pair`` permuted by ``order`` (new
    channel ``c`` is old channel ``order[c]``) and scaled by ``2**exponents[c]`` on the way,
    ``2**-exponents[c]`` where they are read. A convolution before a batch norm is permuted
    with it."""
    k, l_index = pair
    layers = list(cnn.layers)
    factors = np.ldexp(1.0, exponents)
    identity = np.ones_like(factors)
    layers[k] = _producer(layers[k], factors, order)
    if isinstance(cnn.layers[k], BatchNorm):
        layers[k - 1] = _producer(layers[k - 1], identity, order)
    layers[l_index] = _consumer(cnn, l_index, 1 / factors, order)
    return CNN(tuple(layers), cnn.input_shape)


def groups_of(cnn: CNN, pair: tuple[int, int]) -> int:
    """The groups of the convolution that produces the channels of ``pair`` (a permutation must
    keep each output channel in its group)."""
    k = pair[0]
    layer = cnn.layers[k] if isinstance(cnn.layers[k], Conv) else cnn.layers[k - 1]
    assert isinstance(layer, Conv)
    return layer.groups


def split_sum(channels: int, dims: int, a: float) -> Residual:
    """``relu(a x + (1 - a) x)``: a residual block whose branch scales by ``a`` (a batch norm)
    and whose shortcut scales by ``1 - a`` (a 1x1 convolution); the identity on ``x >= 0``."""
    branch = BatchNorm.affine(np.full(channels, a), np.zeros(channels))
    weight = (1 - a) * np.eye(channels).reshape(channels, channels, *([1] * dims))
    return Residual((branch,), Conv(weight))


def unrolled_tolerance(
    cnn: CNN, x: Array, classes: NDArray[Any], rule: Rule
) -> tuple[Array, Array]:
    """The dense enclosure of the heatmap of ``cnn`` unrolled: its midpoint and how far any two
    correct evaluations of it may differ (:func:`~lrp_invariants.bounds.agreement_tolerance`)."""
    network = unroll(cnn)
    flat = x.reshape(x.shape[0], -1)
    balls = enclose_relevance(network, enclose_forward(network, Ball.exact(flat)), classes, rule)
    mid: Array = balls[0].R.mid.reshape(x.shape)
    return mid, agreement_tolerance(balls[0].R, balls[0].R).reshape(x.shape)


def assert_conserved(relevance: CNNRelevance) -> None:
    """Every layer's input relevance plus the sinks at and above it equals the output's
    relevance within :func:`~tests.cnn_helpers.conservation_bounds`."""
    bounds = conservation_bounds(relevance, Precision.of(relevance.output_total.dtype))
    for layer in range(len(relevance.layers)):
        gap = np.abs(relevance.total(layer) - relevance.output_total)
        assert np.all(gap <= bounds[:, layer]), (layer, gap, bounds[:, layer])


# the rule configurations the CNN properties draw from (properties/test_cnn_*.py)
ALL_RULES: list[Rule] = [
    LRP0(),
    Epsilon(1e-9),
    Epsilon(0.25),
    AlphaBeta(2.0, 1.0),
    ZPlus(),
    Gamma(0.25),
    Gamma(0.25, sign_aware=False, bias="source"),
    Flat(),
    WSquare(),
]
LINEAR_RULES: list[Rule] = [LRP0(), Epsilon(1e-9), Epsilon(0.25)]
"""Rules linear in the weights: a CNN and its unrolled matrix agree in every padding mode."""
LOCAL_RULES: list[Rule] = [AlphaBeta(2.0, 1.0), ZPlus(), Gamma(0.25), WSquare()]
"""Rules that split or square each tap: they agree with the matrix under zero padding."""
SCALE_FREE: list[Rule] = [LRP0(), AlphaBeta(2.0, 1.0), ZPlus(), Gamma(0.25), Flat()]
"""Rules with no absolute constant meeting a pre-activation and shares that do not weigh one
input channel against another by its weights' magnitude (w² does: not here)."""
