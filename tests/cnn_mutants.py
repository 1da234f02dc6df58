"""Deliberately broken CNN attributions, one per bug class of issue 22, each a function with the
signature of the correct one (:func:`lrp_invariants.cnn.explain` or
:func:`lrp_invariants.cnn.canonize.fold_batch_norms`); tests/test_cnn_mutants.py runs the CNN
properties on each and expects a counterexample.

The broken layers are subclasses of the correct ones that change only what the bug changes (a
backward pass, a fold), so the forward pass of every mutant is the correct network's unless the
bug is in the forward (the NHWC flatten).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lrp_invariants.cnn import (
    CNN,
    BatchNorm,
    CNNRules,
    Conv,
    Flatten,
    MaxPool,
    Residual,
    explain,
)
from lrp_invariants.cnn.canonize import fold_batch_norms, fold_into_right
from lrp_invariants.cnn.conv import ConvOperator
from lrp_invariants.cnn.model import CNNTrace
from lrp_invariants.cnn.relevance import CNNRelevance
from lrp_invariants.network import Array
from lrp_invariants.rules import LRP0, Rule
from lrp_invariants.rules.operator import LinearOperator, OperatorRelevance, Weights

Explain = Callable[[CNN, ArrayLike, ArrayLike, "Rule | CNNRules"], tuple[CNNTrace, CNNRelevance]]
Fold = Callable[[CNN, str], CNN]


def _map_layers(layers: tuple[Any, ...], change: Callable[[Any], Any]) -> tuple[Any, ...]:
    """Every layer through ``change``, residual branches and downsamples included."""
    result = []
    for layer in layers:
        if isinstance(layer, Residual):
            down = None if layer.downsample is None else change(layer.downsample)
            layer = Residual(_map_layers(layer.branch, change), down)
        result.append(change(layer))
    return tuple(result)


def _explaining(change: Callable[[Any], Any]) -> Explain:
    def broken(
        cnn: CNN, x: ArrayLike, classes: ArrayLike, rules: Rule | CNNRules
    ) -> tuple[CNNTrace, CNNRelevance]:
        return explain(CNN(_map_layers(cnn.layers, change), cnn.input_shape), x, classes, rules)

    return broken


# --------------------------------------------------------------------------------------------
# Max pooling through max_unpool: one index per window, written, not added.


@dataclass(frozen=True, eq=False)
class _MaxUnpool(MaxPool):
    def route(self, a: Array, R: Array) -> Array:
        """torch's ``max_unpool``: each window's relevance is *written* at its first maximum;
        where overlapping windows share a maximum, the last write wins and the rest is lost."""
        kernel, stride, _, dilation = self._geometry
        view = self.windows(a)
        dims = self.dims
        n, c = a.shape[:2]
        out = view.shape[2 : 2 + dims]
        flat = view.reshape(n, c, int(np.prod(out)), -1)
        tap = np.unravel_index(flat.argmax(axis=-1), kernel)
        corner = np.unravel_index(np.arange(int(np.prod(out))), out)
        pads = self._padding(a.shape[1:])
        padded = [size + b + e for size, (b, e) in zip(a.shape[2:], pads, strict=True)]
        coords = [corner[d][None, None, :] * stride[d] + tap[d] * dilation[d] for d in range(dims)]
        index = np.ravel_multi_index(coords, padded)
        back = np.zeros((n, c, int(np.prod(padded))), dtype=R.dtype)
        rows = np.arange(n)[:, None, None]
        channels = np.arange(c)[None, :, None]
        back[rows, channels, index] = R.reshape(n, c, -1)
        back = back.reshape(n, c, *padded)
        crop = tuple(slice(b, b + size) for size, (b, _) in zip(a.shape[2:], pads, strict=True))
        result: Array = back[tuple([slice(None), slice(None), *crop])]
        return result


def _unpooling(layer: Any) -> Any:
    if isinstance(layer, MaxPool) and not isinstance(layer, _MaxUnpool):
        kernel, stride, pads, dilation = layer._geometry
        return _MaxUnpool(kernel, stride, pads, dilation, layer.ceil_mode, layer.dims)
    return layer


@dataclass(frozen=True, eq=False)
class _TieToEveryMaximum(MaxPool):
    def route(self, a: Array, R: Array) -> Array:
        """A tie's whole relevance to *each* tied maximum (a ``==`` mask times ``R``, not
        split): a window with k equal maxima hands on k times its relevance."""
        axes = tuple(range(-self.dims, 0))
        view = self.windows(a)
        ties = (view == view.max(axis=axes, keepdims=True)).sum(axis=axes)
        return super().route(a, R * ties)


def _tie_to_every_maximum(layer: Any) -> Any:
    if isinstance(layer, MaxPool) and not isinstance(layer, _TieToEveryMaximum):
        kernel, stride, pads, dilation = layer._geometry
        return _TieToEveryMaximum(kernel, stride, pads, dilation, layer.ceil_mode, layer.dims)
    return layer


# --------------------------------------------------------------------------------------------
# Convolution backward passes with a geometry of their own.


@dataclass(frozen=True, eq=False)
class _WrongBackward(ConvOperator):
    """A convolution whose transpose is another geometry's, its quotients placed top-left in
    that geometry's output (what a hand-written conv_transpose with fixed arguments does)."""

    backward: Conv | None = None

    def transpose(self, s: Array, weights: Weights) -> Array:
        if self.backward is None:
            return super().transpose(s, weights)
        try:
            other = self.backward.operator(self.in_shape)
            shape = other.out_shape
        except ValueError:
            return super().transpose(s, weights)
        placed = np.zeros((s.shape[0], *shape), dtype=s.dtype)
        common = tuple(slice(0, min(a, b)) for a, b in zip(shape, s.shape[1:], strict=True))
        placed[tuple([slice(None), *common])] = s[tuple([slice(None), *common])]
        return other.transpose(placed, weights)


@dataclass(frozen=True, eq=False)
class _FixedGeometryConv(Conv):
    """A convolution whose backward pass uses ``stride=1, padding=1`` (``hard_coded``) or its
    own stride and padding without dilation."""

    hard_coded: bool = True

    def operator(self, in_shape: tuple[int, ...]) -> ConvOperator:
        if self.hard_coded:
            wrong = Conv(
                self.weight, stride=1, padding=1, dilation=self.dilations, groups=self.groups
            )
        else:
            wrong = Conv(
                self.weight,
                stride=self.strides,
                padding=self.pads,
                padding_mode=self.padding_mode,
                groups=self.groups,
            )
        return _WrongBackward(self, tuple(in_shape), wrong)


def _geometry(hard_coded: bool) -> Callable[[Any], Any]:
    def change(layer: Any) -> Any:
        if isinstance(layer, Conv) and not isinstance(layer, _FixedGeometryConv):
            fields = {f.name: getattr(layer, f.name) for f in dataclasses.fields(Conv) if f.init}
            return _FixedGeometryConv(**fields, hard_coded=hard_coded)
        return layer

    return change


# --------------------------------------------------------------------------------------------
# Flatten in NHWC order where the dense head expects NCHW.


@dataclass(frozen=True)
class _ChannelsLastFlatten(Flatten):
    def forward(self, a: Array) -> Array:
        result: Array = np.moveaxis(a, 1, -1).reshape(a.shape[0], -1)
        return result


def _channels_last(layer: Any) -> Any:
    return _ChannelsLastFlatten() if type(layer) is Flatten else layer


# --------------------------------------------------------------------------------------------
# A residual sum that hands its full relevance to both summands.


@dataclass(frozen=True)
class _FullRelevanceToBoth(LRP0):
    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        zero = np.zeros_like(R)
        return OperatorRelevance(R_out=R, R=np.stack([R, R], axis=1), Rb=zero, Rs=zero)


def _residual_to_both(
    cnn: CNN, x: ArrayLike, classes: ArrayLike, rules: Rule | CNNRules
) -> tuple[CNNTrace, CNNRelevance]:
    chosen = CNNRules(weighted=rules) if isinstance(rules, Rule) else rules
    return explain(cnn, x, classes, dataclasses.replace(chosen, sums=_FullRelevanceToBoth()))


# --------------------------------------------------------------------------------------------
# Batch norm folds.


def _fold_keeping_eps(cnn: CNN, side: str = "left") -> CNN:
    """Folds, then leaves each folded batch norm in place as an identity with torch's default
    ``eps``: ``x / sqrt(1 + 1e-5)``."""
    folded = fold_batch_norms(cnn, side)
    norms = sum(isinstance(layer, BatchNorm) for layer in cnn.layers)
    layers: list[Any] = []
    for layer in folded.layers:
        layers.append(layer)
        if isinstance(layer, Conv) and norms:
            c = layer.out_channels
            layers.append(BatchNorm(np.ones(c), np.zeros(c), np.zeros(c), np.ones(c), 1e-5))
            norms -= 1
    return CNN(tuple(layers), cnn.input_shape)


def _fold_bias_per_channel(cnn: CNN, side: str = "left") -> CNN:
    """Folds a batch norm into the convolution on its right as if every tap saw its shift:
    one bias per channel, where zero padding needs a map."""
    if side != "right":
        return fold_batch_norms(cnn, side)
    layers: list[Any] = []
    i = 0
    while i < len(cnn.layers):
        layer, after = cnn.layers[i], cnn.layers[i + 1] if i + 1 < len(cnn.layers) else None
        if isinstance(layer, BatchNorm) and isinstance(after, Conv):
            as_if = dataclasses.replace(after, padding_mode="replicate", padding_value=0.0)
            folded = fold_into_right(layer, as_if, cnn.shapes[i])
            layers.append(
                dataclasses.replace(
                    folded, padding_mode=after.padding_mode, padding_value=after.padding_value
                )
            )
            i += 2
            continue
        layers.append(layer)
        i += 1
    return CNN(tuple(layers), cnn.input_shape)


EXPLAIN_MUTANTS: dict[str, Explain] = {
    "max_pool_through_max_unpool": _explaining(_unpooling),
    "max_pool_tie_to_every_maximum": _explaining(_tie_to_every_maximum),
    "conv_backward_hard_codes_stride_1_padding_1": _explaining(_geometry(hard_coded=True)),
    "conv_backward_drops_dilation": _explaining(_geometry(hard_coded=False)),
    "flatten_channels_last": _explaining(_channels_last),
    "residual_full_relevance_to_both_summands": _residual_to_both,
}
"""Broken ``explain(cnn, x, classes, rules)``."""

FOLD_MUTANTS: dict[str, Fold] = {
    "batch_norm_merged_keeping_eps": _fold_keeping_eps,
    "folded_bias_per_channel_with_zero_padding": _fold_bias_per_channel,
}
"""Broken ``fold_batch_norms(cnn, side)``."""
