"""What the CNN case strategy does to a drawn network at its drawn inputs: chosen units put on
(or ``2**-k`` beside) their ReLU's kink, and layers dead as a whole revived by negation. Both
read the forward pass at the inputs, so they come after the inputs are drawn."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import strategies as st

from ..cnn import CNN, BatchNorm, Conv, ReLU, Residual, forward
from ..cnn.constructions import without_sources
from ..network import Array
from .placement import _KINK_DISTANCES
from .primitives import _integers, _mask

_FLOOR = 2.0**-900
"""The magnitude a kink placement measures its distance from where a unit is 0 everywhere:
times ``2**-52`` (the closest distance) still a normal float64."""


def _on_kinks(draw: st.DrawFn, cnn: CNN, x: Array) -> CNN:
    """``cnn`` with the bias of chosen channels of one convolution that feeds a ReLU moved so
    that one sample's pre-activation at one position is exactly 0, or a relative ``2**-k``
    beside it (:data:`~lrp_invariants.strategies.BOUNDARY_PLACEMENTS`' distances)."""
    feeding = [
        i
        for i, layer in enumerate(cnn.layers[:-1])
        if isinstance(layer, Conv) and isinstance(cnn.layers[i + 1], ReLU)
    ]
    if not feeding or not draw(st.booleans(), label="units on kinks"):
        return cnn
    index = feeding[draw(_integers(0, len(feeding) - 1), label="layer on its kink")]
    conv = cnn.layers[index]
    assert isinstance(conv, Conv)
    a = forward(cnn, x).inputs[index]
    unbiased = dataclasses.replace(conv, bias=None, constant=None).forward(a)
    row = draw(_integers(0, x.shape[0] - 1), label="sample on the kinks")
    flat = unbiased[row].reshape(unbiased.shape[1], -1)
    position = draw(_integers(0, flat.shape[1] - 1), label="position on the kinks")
    chosen = _mask(draw, conv.out_channels, "channels on the kinks")
    distance = draw(st.sampled_from(_KINK_DISTANCES), label="distance from the kink")
    side = draw(st.sampled_from([1.0, -1.0]), label="side of the kink")
    bias = np.zeros(conv.out_channels) if conv.bias is None else conv.bias.copy()
    if bias.ndim > 1:
        return cnn
    target = -flat[:, position]
    if distance:
        # beside a unit that is 0 everywhere, 2**-distance of a normal number far below any
        # drawn value: never subnormal (a subnormal bias put the shares-first order of
        # campaigns/cnn_alternatives.py past overflow, z_ij / z_j = inf, the only failing run of
        # the 2026-12-07 soundness campaign), as the strategies promise
        target = target + side * 2.0**-distance * np.maximum(np.abs(flat).max(axis=1), _FLOOR)
    bias = np.where(chosen, target, bias)
    layers = list(cnn.layers)
    layers[index] = dataclasses.replace(conv, bias=bias, constant=None)
    return CNN(tuple(layers), cnn.input_shape)


def _negated(layer: Conv | BatchNorm) -> Conv | BatchNorm:
    """The layer whose output is minus ``layer``'s (weights, bias and any padding constant
    negated together)."""
    if isinstance(layer, BatchNorm):
        return BatchNorm(-layer.gamma, -layer.beta, layer.mean, layer.var, layer.eps)
    bias = None if layer.bias is None else -layer.bias
    return dataclasses.replace(
        layer, weight=-layer.weight, bias=bias, padding_value=-layer.padding_value
    )


def _revived(cnn: CNN, x: Array) -> CNN:
    """``cnn`` with each convolution or batch norm whose ReLU it feeds is <= 0 at every sample,
    channel and position (on the network without sources, where bias-proxy conservation
    runs) negated, and the last layer of each residual branch (and its downsample) whose block
    is 0 everywhere: a layer dead as a whole kills everything above it, and its relevance is 0
    for right and wrong code alike (measured: 37 % of the gate's proxies had a zero logit).
    Dead units and dead channels stay; so do whole dead layers where the draw says so."""
    layers = list(cnn.layers)
    for i, layer in enumerate(layers):
        before = layers[i - 1] if i else None
        feeds = isinstance(layer, ReLU) and isinstance(before, Conv | BatchNorm)
        if not feeds and not isinstance(layer, Residual):
            continue
        proxy = without_sources(CNN(tuple(layers), cnn.input_shape))
        trace = forward(proxy, x)
        if feeds and not np.any(trace.outputs[i - 1] > 0):
            layers[i - 1] = _negated(before)  # type: ignore[arg-type]
        elif isinstance(layer, Residual) and not np.any(trace.outputs[i]):
            # relu(branch + shortcut) is 0 everywhere: negate the branch's last layer, and the
            # downsample (with an identity shortcut, x - branch >= 2 x >= 0 where it was 0)
            *inner, last = layer.branch
            down = None if layer.downsample is None else _negated(layer.downsample)
            layers[i] = Residual((*inner, _negated(last)), down)  # type: ignore[arg-type]
    return CNN(tuple(layers), cnn.input_shape)
