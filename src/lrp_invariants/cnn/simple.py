"""The layers without geometry: ReLU, Flatten (torch's NCHW order) and Dense."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..network import Array, Linear
from ..rules.operator import DenseOperator
from .checks import frozen_parameter, same_dtype


@dataclass(frozen=True)
class ReLU:
    """``max(x, 0)`` elementwise; relevance passes through unchanged."""

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return in_shape

    def forward(self, a: Array) -> Array:
        return np.maximum(a, 0)


@dataclass(frozen=True)
class Flatten:
    """``(C, *spatial) -> (C * prod(spatial),)`` in C order: channel first, as ``torch.flatten``
    of an NCHW tensor (not NHWC)."""

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (int(np.prod(in_shape)),)

    def forward(self, a: Array) -> Array:
        return a.reshape(a.shape[0], -1)


@dataclass(frozen=True, eq=False)
class Dense:
    """``z = a @ W + b`` with ``W`` of shape (in, out), as the dense core's Linear; no bias if
    ``b`` is None."""

    W: Array
    b: Array | None = None
    linear: Linear = field(init=False, repr=False)

    def __post_init__(self) -> None:
        W = frozen_parameter(self.W, "W")
        if W.ndim != 2 or 0 in W.shape:
            raise ValueError(f"W must be 2-D (in, out) with no empty axis; got shape {W.shape}")
        b = np.zeros(W.shape[1], dtype=W.dtype) if self.b is None else frozen_parameter(self.b, "b")
        same_dtype("b", b, W, "W")
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"b must have shape ({W.shape[1]},) to match W {W.shape}; got {b.shape}"
            )
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "b", None if self.b is None else b)
        object.__setattr__(self, "linear", Linear(W, b))

    @property
    def dtype(self) -> np.dtype[np.floating]:
        return self.W.dtype

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if in_shape != (self.W.shape[0],):
            raise ValueError(
                f"a dense layer of {self.W.shape[0]} inputs cannot take inputs of shape "
                f"{in_shape} (put a Flatten before it)"
            )
        return (int(self.W.shape[1]),)

    def operator(self, in_shape: tuple[int, ...]) -> DenseOperator:
        self.output_shape(in_shape)
        return DenseOperator(self.linear)

    def forward(self, a: Array) -> Array:
        z: Array = a @ self.linear.W
        z += self.linear.b
        return z
