"""The reply's networks on a CNN whose first layer is a convolution, built from net1 and a shift
``m`` of the input's shape ``(C, *spatial)``.

* net2 (:func:`compensate_shift`) sees ``x2 = x1 + m`` and its first bias absorbs the shift:
  ``b2 = b1 - conv(pad(m))``. With zero (or constant) padding the border outputs see padding,
  not ``m``, so ``b2`` is a bias map (one value per output channel and position); with reflect,
  replicate or circular padding and ``m`` constant per channel, padding commutes with the shift
  and ``b2`` stays one value per output channel.
* net3 (:func:`shift_as_input`) keeps ``b1`` and takes ``-m`` as a constant input through the
  first convolution's padding and weights, valid for every padding mode (the padding is linear).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array, _check_finite
from .batchnorm import BatchNorm
from .conv import Conv
from .model import CNN
from .residual import Residual
from .simple import Dense


def _first_conv(cnn: CNN) -> Conv:
    first = cnn.layers[0]
    if not isinstance(first, Conv):
        raise ValueError(f"the first layer must be a Conv; got {type(first).__name__}")
    if first.constant is not None:
        raise ValueError("the first layer already has a constant input; build from net1")
    return first


def check_shift(cnn: CNN, m: ArrayLike) -> Array:
    """Validate a shift of the input's shape and dtype."""
    shift = np.asarray(m)
    if shift.shape != cnn.input_shape:
        raise ValueError(f"m must have the input's shape {cnn.input_shape}; got {shift.shape}")
    if shift.dtype != cnn.dtype:
        raise TypeError(f"m has dtype {shift.dtype} but the CNN is {cnn.dtype}")
    _check_finite(shift, "m")
    return shift


def constant_per_channel(m: Array) -> bool:
    """Whether ``m`` is one value per channel (a constant shift of each channel)."""
    flat = m.reshape(m.shape[0], -1)
    return bool(np.all(flat == flat[:, :1]))


def compensated_bias(conv: Conv, m: Array) -> Array:
    """``b - conv(pad(m))``: one value per output channel where padding commutes with the
    shift, else a bias map."""
    if conv.padding_mode in ("reflect", "replicate", "circular") and constant_per_channel(m):
        groups, per_group = conv.groups, conv.weight.shape[1]
        out_per_group = conv.out_channels // groups
        channel = m.reshape(m.shape[0], -1)[:, 0]
        shift = channel.reshape(groups, per_group)[np.arange(conv.out_channels) // out_per_group]
        taps = conv.weight.reshape(conv.out_channels, per_group, -1).sum(axis=2)
        through: Array = (taps * shift).sum(axis=1)
        if conv.bias is None:
            return -through
        if conv.bias.ndim == 1:
            return conv.bias - through
        return conv.bias - through.reshape(-1, *([1] * conv.dims))
    op = conv.operator(m.shape)
    result: Array = op.bias - op.product(m[None], "W")[0]
    return result


def compensate_shift(cnn: CNN, m: ArrayLike) -> CNN:
    """net2: the first convolution's bias becomes ``b1 - conv(pad(m))``, so net2(x1 + m)
    reproduces net1(x1) at every layer (up to rounding)."""
    shift = check_shift(cnn, m)
    first = _first_conv(cnn)
    second = dataclasses.replace(first, bias=compensated_bias(first, shift))
    return CNN((second, *cnn.layers[1:]), cnn.input_shape)


def shift_as_input(cnn: CNN, m: ArrayLike) -> CNN:
    """net3: the first convolution keeps its bias and takes ``-m`` as a constant input."""
    shift = check_shift(cnn, m)
    first = _first_conv(cnn)
    third = dataclasses.replace(first, constant=-shift)
    return CNN((third, *cnn.layers[1:]), cnn.input_shape)


def without_sources(cnn: CNN) -> CNN:
    """``cnn`` with every source of relevance removed: no bias (a convolution's, a bias map, a
    dense layer's), no batch norm shift (its scale kept exactly), constant padding read as zero
    padding. It is its own bias proxy (no bias to relay), so LRP on it adds up to the logit
    less what the rules keep back (the gate's bias-proxy conservation on CNNs)."""

    def strip(layer: Any) -> Any:
        if isinstance(layer, Conv):
            mode = "zeros" if layer.padding_mode == "constant" else layer.padding_mode
            return dataclasses.replace(
                layer, bias=None, padding_mode=mode, padding_value=0.0, constant=None
            )
        if isinstance(layer, Dense):
            return Dense(layer.W, None)
        if isinstance(layer, BatchNorm):
            return BatchNorm.affine(layer.scale, np.zeros_like(layer.scale))
        if isinstance(layer, Residual):
            down = None if layer.downsample is None else strip(layer.downsample)
            return Residual(tuple(strip(inner) for inner in layer.branch), down)
        return layer

    return CNN(tuple(strip(layer) for layer in cnn.layers), cnn.input_shape)
