"""Average pooling (fixed or adaptive windows) as linear operators, and max pooling.

Average pooling is separable: along each spatial axis a window matrix of 0/1 entries and one
divisor per output position, so the operator is one small matrix product per axis (torch's
divisor too is a product of per-axis counts). Padding is zeros, as torch pads; ``ceil_mode``
adds windows that run past the padded input, and a window that would start in the right
padding is dropped, as in torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..network import Array
from ..rules.operator import FramePart, Weights
from .checks import as_tuple
from .geometry import output_size, scatter, taps_first, windows


def _pool_geometry(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil: bool) -> int:
    """torch's pooling output size along one axis."""
    out = output_size(size + 2 * pad, kernel, stride, dilation, ceil)
    if ceil and out > 0 and (out - 1) * stride >= size + pad:
        out -= 1  # the last window would start in the right padding
    return out


def _check_pool_args(kernel: tuple[int, ...], pads: tuple[int, ...]) -> None:
    for k, p in zip(kernel, pads, strict=True):
        if p > k // 2:
            raise ValueError(
                f"pooling padding {pads} must be at most half the kernel {kernel} (as torch)"
            )


def _spatial(in_shape: tuple[int, ...], dims: int, name: str) -> tuple[int, ...]:
    if len(in_shape) != 1 + dims:
        raise ValueError(
            f"a {dims}-d {name} takes (C, *spatial) with {dims} spatial axes; got {in_shape}"
        )
    return in_shape[1:]


@dataclass(frozen=True, eq=False)
class AvgPool:
    """torch's AvgPoolNd: ``kernel``, ``stride`` (default: the kernel), symmetric ``padding``,
    ``ceil_mode``, ``count_include_pad``. ``dims`` is the number of spatial axes."""

    kernel: int | Sequence[int]
    stride: int | Sequence[int] | None = None
    padding: int | Sequence[int] = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    dims: int = 2
    _geometry: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] = field(
        init=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.dims not in (1, 2, 3):
            raise ValueError(f"dims must be 1, 2 or 3; got {self.dims}")
        kernel = as_tuple(self.kernel, self.dims, "kernel", 1)
        stride = kernel if self.stride is None else as_tuple(self.stride, self.dims, "stride", 1)
        pads = as_tuple(self.padding, self.dims, "padding", 0)
        _check_pool_args(kernel, pads)
        object.__setattr__(self, "_geometry", (kernel, stride, pads))

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return self.operator(in_shape).out_shape

    def operator(
        self, in_shape: tuple[int, ...], dtype: np.dtype[np.floating] | None = None
    ) -> PoolOperator:
        kernel, stride, pads = self._geometry
        spatial = _spatial(in_shape, self.dims, "average pooling")
        masks, divisors = [], []
        for size, k, s, p in zip(spatial, kernel, stride, pads, strict=True):
            out = _pool_geometry(size, k, s, p, 1, self.ceil_mode)
            if out < 1:
                raise ValueError(f"the pooling window {kernel} does not fit the input {in_shape}")
            start = np.arange(out) * s - p
            end = np.minimum(start + k, size + p)
            counted = end - start
            start, end = np.maximum(start, 0), np.minimum(end, size)
            if not self.count_include_pad:
                counted = end - start
            index = np.arange(size)
            masks.append((index[None, :] >= start[:, None]) & (index[None, :] < end[:, None]))
            divisors.append(counted)
        return PoolOperator(
            tuple(in_shape), tuple(masks), tuple(divisors), np.dtype(dtype or np.float64)
        )

    def forward(self, a: Array) -> Array:
        return self.operator(a.shape[1:], a.dtype).product(a, "W")


@dataclass(frozen=True, eq=False)
class AdaptiveAvgPool:
    """torch's AdaptiveAvgPoolNd: window ``o`` of an axis of size ``I`` into ``O`` outputs
    covers ``floor(o I / O)`` to ``ceil((o + 1) I / O)``."""

    output_size: int | Sequence[int]
    dims: int = 2

    def __post_init__(self) -> None:
        if self.dims not in (1, 2, 3):
            raise ValueError(f"dims must be 1, 2 or 3; got {self.dims}")
        as_tuple(self.output_size, self.dims, "output_size", 1)

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        return self.operator(in_shape).out_shape

    def operator(
        self, in_shape: tuple[int, ...], dtype: np.dtype[np.floating] | None = None
    ) -> PoolOperator:
        sizes = as_tuple(self.output_size, self.dims, "output_size", 1)
        spatial = _spatial(in_shape, self.dims, "adaptive average pooling")
        masks, divisors = [], []
        for size, out in zip(spatial, sizes, strict=True):
            o = np.arange(out)
            start = (o * size) // out
            end = -((-(o + 1) * size) // out)
            index = np.arange(size)
            masks.append((index[None, :] >= start[:, None]) & (index[None, :] < end[:, None]))
            divisors.append(end - start)
        return PoolOperator(
            tuple(in_shape), tuple(masks), tuple(divisors), np.dtype(dtype or np.float64)
        )

    def forward(self, a: Array) -> Array:
        return self.operator(a.shape[1:], a.dtype).product(a, "W")


@dataclass(frozen=True, eq=False)
class PoolOperator:
    """Separable average pooling: along each axis ``d`` the weight of input ``i`` in output
    ``o`` is ``mask_d[o, i] / divisor_d[o]``; all weights are positive."""

    in_shape: tuple[int, ...]
    masks: tuple[np.ndarray, ...]
    divisors: tuple[np.ndarray, ...]
    dtype: np.dtype[np.floating]

    @cached_property
    def out_shape(self) -> tuple[int, ...]:
        return (self.in_shape[0], *(int(m.shape[0]) for m in self.masks))

    @property
    def constant(self) -> Array | None:
        return None

    def fixed(self, part: FramePart, weights: Weights) -> Array | None:
        return None

    @cached_property
    def bias(self) -> Array:
        return np.broadcast_to(np.zeros((), dtype=self.dtype), self.out_shape)

    def _matrices(self, weights: Weights, dtype: np.dtype) -> list[Array] | None:
        if weights == "neg":
            return None
        power = {"W": 1, "pos": 1, "square": 2, "ones": 0}[weights]
        return [
            mask.astype(dtype) / divisor[:, None].astype(dtype) ** power
            for mask, divisor in zip(self.masks, self.divisors, strict=True)
        ]

    def product(self, v: Array, weights: Weights) -> Array:
        matrices = self._matrices(weights, v.dtype)
        if matrices is None:
            return np.zeros((v.shape[0], *self.out_shape), dtype=v.dtype)
        out = v
        for axis, M in enumerate(matrices):
            out = np.moveaxis(np.tensordot(out, M, axes=([2 + axis], [1])), -1, 2 + axis)
        return out

    def transpose(self, s: Array, weights: Weights) -> Array:
        matrices = self._matrices(weights, s.dtype)
        if matrices is None:
            return np.zeros((s.shape[0], *self.in_shape), dtype=s.dtype)
        out = s
        for axis, M in enumerate(matrices):
            out = np.moveaxis(np.tensordot(out, M, axes=([2 + axis], [0])), -1, 2 + axis)
        return out


@dataclass(frozen=True, eq=False)
class MaxPool:
    """torch's MaxPoolNd: ``kernel``, ``stride`` (default: the kernel), symmetric ``padding``
    (with -inf, at most half the kernel), ``dilation``, ``ceil_mode``. Windows may overlap
    (kernel > stride) and maxima may tie."""

    kernel: int | Sequence[int]
    stride: int | Sequence[int] | None = None
    padding: int | Sequence[int] = 0
    dilation: int | Sequence[int] = 1
    ceil_mode: bool = False
    dims: int = 2
    _geometry: tuple[tuple[int, ...], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.dims not in (1, 2, 3):
            raise ValueError(f"dims must be 1, 2 or 3; got {self.dims}")
        kernel = as_tuple(self.kernel, self.dims, "kernel", 1)
        stride = kernel if self.stride is None else as_tuple(self.stride, self.dims, "stride", 1)
        pads = as_tuple(self.padding, self.dims, "padding", 0)
        dilation = as_tuple(self.dilation, self.dims, "dilation", 1)
        _check_pool_args(kernel, pads)
        object.__setattr__(self, "_geometry", (kernel, stride, pads, dilation))

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        kernel, stride, pads, dilation = self._geometry
        spatial = _spatial(in_shape, self.dims, "max pooling")
        out = tuple(
            _pool_geometry(size, k, s, p, d, self.ceil_mode)
            for size, k, s, p, d in zip(spatial, kernel, stride, pads, dilation, strict=True)
        )
        if min(out) < 1:
            raise ValueError(f"the pooling window {kernel} does not fit the input {in_shape}")
        return (in_shape[0], *out)

    def _padding(self, in_shape: tuple[int, ...]) -> list[tuple[int, int]]:
        """(before, after) per spatial axis: the padding and the overhang of ``ceil_mode``."""
        kernel, stride, pads, dilation = self._geometry
        out = self.output_shape(in_shape)[1:]
        result = []
        for size, o, k, s, p, d in zip(
            in_shape[1:], out, kernel, stride, pads, dilation, strict=True
        ):
            needed = (o - 1) * s + d * (k - 1) + 1
            result.append((p, max(p, needed - size - p)))
        return result

    def windows(self, a: Array) -> Array:
        """Every window of a batch, ``(n, C, *out, *kernel)`` (padding is -inf)."""
        kernel, stride, _, dilation = self._geometry
        padded = np.pad(a, [(0, 0), (0, 0), *self._padding(a.shape[1:])], constant_values=-np.inf)
        return windows(padded, kernel, stride, dilation, self.output_shape(a.shape[1:])[1:])

    def forward(self, a: Array) -> Array:
        view = self.windows(a)
        axes = tuple(range(-self.dims, 0))
        result: Array = view.max(axis=axes)
        return result

    def route(self, a: Array, R: Array) -> Array:
        """Winner-take-all: each window's ``R`` goes to its maximum, split evenly where the
        maximum occurs more than once (any split that conserves ``R`` is as correct; torch gives
        all of it to one of them). Overlapping windows add up."""
        kernel, stride, _, dilation = self._geometry
        view = self.windows(a)
        axes = tuple(range(-self.dims, 0))
        top = view.max(axis=axes, keepdims=True)
        winners = view == top
        count = winners.sum(axis=axes).astype(R.dtype)
        expand: tuple[Any, ...] = (Ellipsis, *([None] * self.dims))
        per_winner = (R / count)[expand]
        share = np.where(winners, per_winner, R.dtype.type(0))
        pads = self._padding(a.shape[1:])
        padded_spatial = tuple(size + b + e for size, (b, e) in zip(a.shape[2:], pads, strict=True))
        back = scatter(taps_first(share, self.dims), padded_spatial, kernel, stride, dilation)
        crop = tuple(slice(b, b + size) for size, (b, _) in zip(a.shape[2:], pads, strict=True))
        inside = (slice(None), slice(None), *crop)
        result: Array = back[inside]
        return result
