"""A CNN as immutable data, and the forward pass that returns a trace of every layer.

A :class:`CNN` is a sequence of layers and a per-sample input shape ``(C, *spatial)``; it is
validated when built (each layer's kind, dtype and shape, the error naming the layer). Nothing
is stored on it when it runs: :func:`forward` returns a :class:`CNNTrace` with every layer's
input and output (and, for a residual block, its branch's trace, its shortcut and its sum), and
relevance and gradients are pure functions of the two.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array, _check_finite, _check_real_floating
from ..rules.operator import LinearOperator
from .batchnorm import BatchNorm
from .conv import Conv
from .pooling import AdaptiveAvgPool, AvgPool, MaxPool
from .residual import Residual, SumOperator, chain_shapes
from .simple import Dense, Flatten, ReLU

Layer = Union[Conv, AvgPool, AdaptiveAvgPool, MaxPool, BatchNorm, Flatten, Dense, ReLU, Residual]  # noqa: UP007
LAYER_KINDS = (Conv, AvgPool, AdaptiveAvgPool, MaxPool, BatchNorm, Flatten, Dense, ReLU, Residual)
LINEAR_KINDS = (Conv, AvgPool, AdaptiveAvgPool, BatchNorm, Dense)
"""The layers that are linear maps (plus a bias): every LRP rule applies to them."""


def operator(
    layer: Layer, in_shape: tuple[int, ...], dtype: np.dtype[np.floating]
) -> LinearOperator:
    """A linear layer as the products rules need, for one per-sample input shape."""
    if isinstance(layer, AvgPool | AdaptiveAvgPool):
        return layer.operator(in_shape, dtype)
    if isinstance(layer, Conv | BatchNorm | Dense):
        return layer.operator(in_shape)
    raise TypeError(f"{type(layer).__name__} is not a linear layer")


def sum_operator(shape: tuple[int, ...], dtype: np.dtype[np.floating]) -> SumOperator:
    return SumOperator(tuple(shape), dtype)


def _check_kinds(layers: tuple[Layer, ...], where: str, dtypes: list[tuple[str, np.dtype]]) -> None:
    for i, layer in enumerate(layers):
        name = f"{where}{i}"
        if not isinstance(layer, LAYER_KINDS):
            raise TypeError(
                f"{name}: {type(layer).__name__} is not a CNN layer (one of "
                f"{', '.join(k.__name__ for k in LAYER_KINDS)})"
            )
        if isinstance(layer, Conv | BatchNorm | Dense):
            dtypes.append((name, layer.dtype))
        if isinstance(layer, Residual):
            _check_kinds(layer.branch, f"{name}, branch layer ", dtypes)
            if layer.downsample is not None:
                dtypes.append((f"{name}, downsample", layer.downsample.dtype))


@dataclass(frozen=True, eq=False)
class CNN:
    """Layers applied in order to batches ``(n, *input_shape)``; the last layer's output are
    the logits ``(n, classes)`` (end with a Dense layer, or pool and flatten to a vector)."""

    layers: tuple[Layer, ...]
    input_shape: tuple[int, ...]
    shapes: tuple[tuple[int, ...], ...] = field(init=False)
    dtype: np.dtype[np.floating] = field(init=False)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        if not layers:
            raise ValueError("a CNN needs at least one layer")
        shape = tuple(int(s) for s in self.input_shape)
        if not shape or min(shape) < 1:
            raise ValueError(f"input_shape must be (C, *spatial) of positive sizes; got {shape}")
        dtypes: list[tuple[str, np.dtype]] = []
        _check_kinds(layers, "layer ", dtypes)
        if not dtypes:
            raise ValueError("a CNN needs at least one layer with weights (Conv or Dense)")
        first_name, dtype = dtypes[0]
        for name, other in dtypes[1:]:
            if other != dtype:
                raise TypeError(f"{name}: dtype {other} differs from {first_name}'s {dtype}")
        shapes = chain_shapes(layers, shape, "layer ")
        if len(shapes[-1]) != 1:
            raise ValueError(
                f"the last layer gives shape {shapes[-1]} per sample; logits need one axis "
                "(add Flatten and Dense)"
            )
        object.__setattr__(self, "layers", layers)
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "shapes", tuple(shapes))
        object.__setattr__(self, "dtype", dtype)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shapes[-1]

    @property
    def n_outputs(self) -> int:
        return self.shapes[-1][0]

    def __repr__(self) -> str:
        kinds = "-".join(type(layer).__name__ for layer in self.layers)
        return f"CNN({self.input_shape} {kinds} -> {self.output_shape}, dtype={self.dtype})"


@dataclass(frozen=True, eq=False)
class ResidualTrace:
    """A residual block's part of a trace: its branch's trace, the shortcut's output and the
    sum before the ReLU."""

    branch: CNNTrace
    shortcut: Array
    total: Array


@dataclass(frozen=True, eq=False)
class CNNTrace:
    """Every layer's input (``inputs[0]`` is the batch) and output (``outputs[-1]`` are the
    logits); ``inner[i]`` is layer ``i``'s :class:`ResidualTrace` where it is a residual block."""

    inputs: tuple[Array, ...]
    outputs: tuple[Array, ...]
    inner: tuple[ResidualTrace | None, ...]

    @property
    def logits(self) -> Array:
        return self.outputs[-1]


def check_batch(cnn: CNN, x: ArrayLike, name: str = "x") -> Array:
    """Validate a batch ``(n, *input_shape)`` for ``cnn`` before any work."""
    array = np.asarray(x)
    if array.shape[1:] != cnn.input_shape or array.ndim != 1 + len(cnn.input_shape):
        hint = f" (a single sample: {name}[None])" if array.shape == cnn.input_shape else ""
        raise ValueError(
            f"{name} must have shape (n, {', '.join(map(str, cnn.input_shape))}){hint}; got "
            f"{array.shape}"
        )
    _check_real_floating(array, name)
    if array.dtype != cnn.dtype:
        raise TypeError(
            f"{name} has dtype {array.dtype} but the CNN is {cnn.dtype}; convert one explicitly"
        )
    _check_finite(array, name)
    return array


def run(layers: tuple[Layer, ...], a: Array) -> CNNTrace:
    """The trace of a sequence of layers on a (validated) batch."""
    inputs, outputs, inner = [], [], []
    for layer in layers:
        inputs.append(a)
        block = None
        if isinstance(layer, Residual):
            branch = run(layer.branch, a)
            shortcut = a if layer.downsample is None else layer.downsample.forward(a)
            total = branch.logits + shortcut
            block = ResidualTrace(branch, shortcut, total)
            a = np.maximum(total, 0)
        else:
            a = layer.forward(a)
        outputs.append(a)
        inner.append(block)
    return CNNTrace(tuple(inputs), tuple(outputs), tuple(inner))


def forward(cnn: CNN, x: ArrayLike) -> CNNTrace:
    """Run a batch ``x`` of shape ``(n, *cnn.input_shape)`` and return the full trace."""
    batch = check_batch(cnn, x).view()
    batch.flags.writeable = False
    return run(cnn.layers, batch)
