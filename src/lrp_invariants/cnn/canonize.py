"""Canonizers: a batch norm folded into the convolution on its left or on its right.

Left (``conv -> bn``): ``W' = scale_j W_j``, ``b' = scale_j b_j + shift_j`` per output channel.
Right (``bn -> conv``): ``W' = W scale_c`` per input channel, and the shift passes through the
convolution: ``b' = b + conv(pad(shift))``. With zero padding a border output sees padding (0),
not the shift, so ``b'`` is a *bias map*, one value per output channel and position (a
:class:`~lrp_invariants.cnn.conv.Conv` bias of shape ``(C_out, *out_spatial)``); with reflect,
replicate or circular padding the padded values are copies of the shift, so ``b'`` is one value
per output channel. The folded network computes the same function up to rounding; the batch
norm's ``eps`` is in its ``scale`` (leaving it out changes the function).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..network import Array
from .batchnorm import BatchNorm
from .conv import Conv
from .model import CNN, Layer
from .residual import Residual


def _per_channel(values: Array, ndim: int) -> Array:
    return values.reshape(-1, *([1] * (ndim - 1)))


def fold_into_left(conv: Conv, norm: BatchNorm) -> Conv:
    """``norm(conv(x))`` as one convolution."""
    if norm.channels != conv.out_channels:
        raise ValueError(
            f"the batch norm has {norm.channels} channels but the convolution gives "
            f"{conv.out_channels}"
        )
    W = conv.weight * _per_channel(norm.scale, conv.weight.ndim)
    if conv.bias is None:
        bias = np.array(norm.shift, copy=True)
    else:
        bias = conv.bias * _per_channel(norm.scale, conv.bias.ndim) + _per_channel(
            norm.shift, conv.bias.ndim
        )
    return dataclasses.replace(conv, weight=W, bias=bias)


def fold_into_right(norm: BatchNorm, conv: Conv, in_shape: tuple[int, ...]) -> Conv:
    """``conv(norm(x))`` as one convolution, for inputs of per-sample shape ``in_shape``
    (needed for the bias map of zero padding)."""
    if norm.channels != conv.in_channels:
        raise ValueError(
            f"the batch norm has {norm.channels} channels but the convolution takes "
            f"{conv.in_channels}"
        )
    if conv.padding_mode == "constant" and conv.padding_value != 0:
        raise ValueError(
            "a batch norm cannot be folded into a convolution on its right whose constant "
            "padding is not zero (the padding would need a value per channel)"
        )
    if conv.constant is not None:
        raise ValueError("fold the batch norm into net1's convolution, not net3's")
    groups, per_group = conv.groups, conv.weight.shape[1]
    out_per_group = conv.out_channels // groups
    scale = norm.scale.reshape(groups, per_group)[np.arange(conv.out_channels) // out_per_group]
    W = conv.weight * scale.reshape(*scale.shape, *([1] * conv.dims))
    op = conv.operator(tuple(in_shape))
    if conv.padding_mode in ("reflect", "replicate", "circular"):
        # every tap sees the shift: one value per output channel
        shift = norm.shift.reshape(groups, per_group)[np.arange(conv.out_channels) // out_per_group]
        taps = conv.weight.reshape(conv.out_channels, per_group, -1).sum(axis=2)
        through = (taps * shift).sum(axis=1)
        bias = through if conv.bias is None else conv.bias + through
        if bias.ndim == 1 and conv.bias is not None and conv.bias.ndim > 1:
            bias = conv.bias + _per_channel(through, conv.bias.ndim)
    else:
        shift_map = np.broadcast_to(_per_channel(norm.shift, len(in_shape)), in_shape)
        through_map = op.product(np.array(shift_map)[None], "W")[0]
        bias = through_map + op.bias
    return dataclasses.replace(conv, weight=W, bias=bias)


def _fold(layers: tuple[Layer, ...], shapes: list[tuple[int, ...]], side: str) -> list[Layer]:
    from .residual import chain_shapes

    folded: list[Layer] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        after = layers[i + 1] if i + 1 < len(layers) else None
        if side == "left" and isinstance(layer, Conv) and isinstance(after, BatchNorm):
            folded.append(fold_into_left(layer, after))
            i += 2
            continue
        if side == "right" and isinstance(layer, BatchNorm) and isinstance(after, Conv):
            folded.append(fold_into_right(layer, after, shapes[i]))
            i += 2
            continue
        if isinstance(layer, Residual):
            inner = chain_shapes(layer.branch, shapes[i], "branch layer ")
            layer = Residual(tuple(_fold(layer.branch, inner, side)), layer.downsample)
        folded.append(layer)
        i += 1
    return folded


def fold_batch_norms(cnn: CNN, side: str = "left") -> CNN:
    """Every batch norm that directly follows (``left``) or precedes (``right``) a convolution
    folded into it, residual branches included; the others stay as layers of their own."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right'; got {side!r}")
    return CNN(tuple(_fold(cnn.layers, list(cnn.shapes), side)), cnn.input_shape)
