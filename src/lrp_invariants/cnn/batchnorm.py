"""Batch norm in eval mode: one scale and shift per channel, a diagonal linear layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from ..network import Array
from ..rules.operator import FramePart, Weights
from .checks import frozen_parameter, same_dtype


@dataclass(frozen=True, eq=False)
class BatchNorm:
    """``y = (x - mean) / sqrt(var + eps) * gamma + beta`` per channel (axis 1), torch's
    BatchNormNd in eval mode; ``scale`` and ``shift`` are computed once. A negative ``gamma``
    (a negative scale) is allowed."""

    gamma: Array
    beta: Array
    mean: Array
    var: Array
    eps: float = 1e-5
    scale: Array = field(init=False)
    shift: Array = field(init=False)

    def __post_init__(self) -> None:
        arrays = {}
        for name in ("gamma", "beta", "mean", "var"):
            a = frozen_parameter(getattr(self, name), name)
            if a.ndim != 1 or a.shape[0] == 0:
                raise ValueError(f"{name} must be one value per channel (C,); got {a.shape}")
            arrays[name] = a
        for name, a in arrays.items():
            same_dtype(name, a, arrays["gamma"], "gamma")
            if a.shape != arrays["gamma"].shape:
                raise ValueError(
                    f"{name} has shape {a.shape} but gamma has {arrays['gamma'].shape}"
                )
        if np.any(arrays["var"] < 0):
            raise ValueError("var must be >= 0 (a running variance)")
        if not (np.isfinite(self.eps) and self.eps >= 0):
            raise ValueError(f"eps must be finite and >= 0; got {self.eps}")
        if np.any(arrays["var"] + self.eps <= 0):
            raise ValueError("var + eps must be > 0 for every channel")
        for name, a in arrays.items():
            object.__setattr__(self, name, a)
        dtype = arrays["gamma"].dtype
        scale = arrays["gamma"] / np.sqrt(arrays["var"] + dtype.type(self.eps))
        shift = arrays["beta"] - arrays["mean"] * scale
        for name, a in (("scale", scale), ("shift", shift)):
            a.flags.writeable = False
            object.__setattr__(self, name, a)

    @classmethod
    def affine(cls, scale: ArrayLike, shift: ArrayLike) -> BatchNorm:
        """A batch norm with exactly this ``scale`` and ``shift`` (mean 0, var 1, eps 0)."""
        s = np.asarray(scale)
        return cls(s, np.asarray(shift), np.zeros_like(s), np.ones_like(s), 0.0)

    @property
    def channels(self) -> int:
        return int(self.gamma.shape[0])

    @property
    def dtype(self) -> np.dtype[np.floating]:
        return self.gamma.dtype

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(in_shape) < 1 or in_shape[0] != self.channels:
            raise ValueError(
                f"a batch norm of {self.channels} channels cannot take inputs of shape {in_shape}"
            )
        return in_shape

    def operator(self, in_shape: tuple[int, ...]) -> BatchNormOperator:
        return BatchNormOperator(self, tuple(self.output_shape(in_shape)))

    def forward(self, a: Array) -> Array:
        op = self.operator(a.shape[1:])
        result: Array = a * op.per_channel(self.scale) + op.bias
        return result


@dataclass(frozen=True, eq=False)
class BatchNormOperator:
    """A batch norm as a diagonal linear layer: input ``i`` of channel ``c`` connects to output
    ``i`` alone, with weight ``scale_c``; the shift is the bias."""

    norm: BatchNorm
    in_shape: tuple[int, ...]

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.in_shape

    def per_channel(self, values: Array) -> Array:
        return values.reshape(-1, *([1] * (len(self.in_shape) - 1)))

    @cached_property
    def bias(self) -> Array:
        return np.broadcast_to(self.per_channel(self.norm.shift), self.in_shape)

    @property
    def constant(self) -> Array | None:
        return None

    def fixed(self, part: FramePart, weights: Weights) -> Array | None:
        return None

    def _diagonal(self, weights: Weights) -> Array:
        s = self.norm.scale
        values = {
            "W": s,
            "pos": np.maximum(s, 0),
            "neg": np.minimum(s, 0),
            "square": s * s,
            "ones": np.ones_like(s),
        }[weights]
        return self.per_channel(values)

    def product(self, v: Array, weights: Weights) -> Array:
        result: Array = v * self._diagonal(weights)
        return result

    def transpose(self, s: Array, weights: Weights) -> Array:
        return self.product(s, weights)
