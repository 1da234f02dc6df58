"""Convolutions (1-d, 2-d, or more spatial axes), as torch defines them, and their operator.

``weight`` is ``(C_out, C_in / groups, *kernel)``; the output at position ``o`` of channel ``j``
is ``Σ_{c, t} weight[j, c, t] padded[c, o * stride + t * dilation] + bias``. The bias is one
value per output channel or, where a shift met zero padding (net2, a batch norm folded into the
convolution on its right), a *bias map*: one value per output channel and position, of shape
``(C_out, *out_spatial)``. ``constant`` is net3's second input, fed through the same padding
(its linear part) and weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..network import Array
from ..rules.operator import FramePart, Weights, transform
from .checks import as_padding, as_tuple, frozen_parameter, same_dtype
from .geometry import (
    PADDING_MODES,
    Padding,
    check_padding,
    frame,
    output_size,
    pad_adjoint,
    pad_linear,
    scatter,
    windows,
)


@dataclass(frozen=True, eq=False)
class Conv:
    """A convolution ``(n, C_in, *spatial) -> (n, C_out, *out)`` (torch's ConvNd).

    >>> Conv(w, b, stride=2, padding=1, padding_mode="circular")
    >>> Conv(w, None, padding=((0, 1), (2, 0)), dilation=2, groups=2)   # per-side padding
    """

    weight: Array
    bias: Array | None = None
    stride: int | Sequence[int] = 1
    padding: int | Sequence[int] | Sequence[tuple[int, int]] = 0
    padding_mode: str = "zeros"
    padding_value: float = 0.0
    dilation: int | Sequence[int] = 1
    groups: int = 1
    constant: Array | None = None
    _geometry: tuple[tuple[int, ...], tuple[int, ...], Padding] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        W = frozen_parameter(self.weight, "weight")
        if not 3 <= W.ndim <= 5 or 0 in W.shape:
            raise ValueError(
                f"weight must be (C_out, C_in / groups, *kernel) with 1 to 3 spatial axes and "
                f"no empty axis; got shape {W.shape}"
            )
        dims = W.ndim - 2
        if isinstance(self.groups, bool) or not isinstance(self.groups, int | np.integer):
            raise TypeError(f"groups must be an int; got {self.groups!r}")
        if self.groups < 1 or W.shape[0] % self.groups:
            raise ValueError(
                f"groups={self.groups} must be >= 1 and divide C_out={W.shape[0]} (weight "
                f"shape {W.shape})"
            )
        if self.padding_mode not in PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {PADDING_MODES}; got {self.padding_mode!r}"
            )
        value = float(self.padding_value)
        if not np.isfinite(value):
            raise ValueError(f"padding_value must be finite; got {self.padding_value}")
        if value != 0 and self.padding_mode != "constant":
            raise ValueError(
                f"padding_value {value} needs padding_mode='constant'; got {self.padding_mode!r}"
            )
        stride = as_tuple(self.stride, dims, "stride", 1)
        dilation = as_tuple(self.dilation, dims, "dilation", 1)
        padding = as_padding(self.padding, dims)
        object.__setattr__(self, "weight", W)
        object.__setattr__(self, "_geometry", (stride, dilation, padding))
        object.__setattr__(self, "padding_value", value)
        if self.bias is not None:
            b = frozen_parameter(self.bias, "bias")
            same_dtype("bias", b, W, "weight")
            if b.ndim not in (1, 1 + dims) or b.shape[0] != W.shape[0]:
                raise ValueError(
                    f"bias must be (C_out,) = ({W.shape[0]},) or a bias map (C_out, *out); got "
                    f"shape {b.shape}"
                )
            object.__setattr__(self, "bias", b)
        if self.constant is not None:
            c = frozen_parameter(self.constant, "constant")
            same_dtype("constant", c, W, "weight")
            if c.ndim != 1 + dims or c.shape[0] != self.in_channels:
                raise ValueError(
                    f"constant must be one input sample (C_in={self.in_channels}, *spatial); "
                    f"got shape {c.shape}"
                )
            object.__setattr__(self, "constant", c)

    @property
    def dims(self) -> int:
        return self.weight.ndim - 2

    @property
    def kernel(self) -> tuple[int, ...]:
        return tuple(int(k) for k in self.weight.shape[2:])

    @property
    def strides(self) -> tuple[int, ...]:
        return self._geometry[0]

    @property
    def dilations(self) -> tuple[int, ...]:
        return self._geometry[1]

    @property
    def pads(self) -> Padding:
        """``(before, after)`` per spatial axis."""
        return self._geometry[2]

    @property
    def in_channels(self) -> int:
        return int(self.weight.shape[1]) * self.groups

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def dtype(self) -> np.dtype[np.floating]:
        return self.weight.dtype

    def output_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The per-sample output shape for input ``in_shape``; ValueError naming what is bad."""
        if len(in_shape) != 1 + self.dims or in_shape[0] != self.in_channels:
            raise ValueError(
                f"a {self.dims}-d convolution of {self.in_channels} input channels cannot take "
                f"inputs of shape {in_shape}"
            )
        spatial = in_shape[1:]
        check_padding(spatial, self.pads, self.padding_mode)
        out = []
        for axis, size in enumerate(spatial):
            before, after = self.pads[axis]
            o = output_size(
                size + before + after, self.kernel[axis], self.strides[axis], self.dilations[axis]
            )
            if o < 1:
                raise ValueError(
                    f"the kernel {self.kernel} (dilation {self.dilations}) does not fit spatial "
                    f"axis {axis} of size {size} padded by {(before, after)}"
                )
            out.append(o)
        shape = (self.out_channels, *out)
        if self.bias is not None and self.bias.ndim > 1 and self.bias.shape != shape:
            raise ValueError(f"the bias map has shape {self.bias.shape} but the output is {shape}")
        if self.constant is not None and self.constant.shape != in_shape:
            raise ValueError(
                f"the constant input has shape {self.constant.shape} but the input is {in_shape}"
            )
        return shape

    def operator(self, in_shape: tuple[int, ...]) -> ConvOperator:
        return ConvOperator(self, tuple(in_shape))

    def forward(self, a: Array) -> Array:
        """The convolution of a batch, bias, constant input and constant padding included."""
        op = self.operator(a.shape[1:])
        z = op.product(a, "W")
        if self.constant is not None:
            z += op.product(self.constant[None], "W")
        frame_part = op.fixed("value", "W")
        if frame_part is not None:
            z += frame_part
        z += op.bias
        return z


@dataclass(frozen=True, eq=False)
class ConvOperator:
    """A :class:`Conv` for one input shape, as the products a rule needs (im2col by sliding
    window views and one batched matrix product per call)."""

    conv: Conv
    in_shape: tuple[int, ...]

    @cached_property
    def out_shape(self) -> tuple[int, ...]:
        return self.conv.output_shape(self.in_shape)

    @cached_property
    def _padded_spatial(self) -> tuple[int, ...]:
        return tuple(s + b + a for s, (b, a) in zip(self.in_shape[1:], self.conv.pads, strict=True))

    @cached_property
    def bias(self) -> Array:
        b = self.conv.bias
        if b is None:
            out = np.zeros(self.out_shape, dtype=self.conv.dtype)
        elif b.ndim == 1:
            out = np.broadcast_to(b.reshape(-1, *([1] * self.conv.dims)), self.out_shape)
        else:
            out = b
        return out

    @property
    def constant(self) -> Array | None:
        return self.conv.constant

    def _matrix(self, weights: Weights) -> Array:
        """The transformed weights as ``(groups, C_in / groups * K, C_out / groups)``."""
        cache = self.__dict__.setdefault("_matrices", {})
        if weights not in cache:
            W = transform(self.conv.weight, weights)
            g = self.conv.groups
            M = W.reshape(g, W.shape[0] // g, -1).transpose(0, 2, 1)
            cache[weights] = np.ascontiguousarray(M)
        matrix: Array = cache[weights]
        return matrix

    def _apply_padded(self, padded: Array, weights: Weights) -> Array:
        conv, n = self.conv, padded.shape[0]
        out = self.out_shape[1:]
        g, dims = conv.groups, conv.dims
        positions = int(np.prod(out))
        view = windows(padded, conv.kernel, conv.strides, conv.dilations, out)
        view = view.reshape(n, g, conv.in_channels // g, *out, *conv.kernel)
        # im2col, one group after the other: (groups, n * positions, C_in / groups * K)
        order = (1, 0, *range(3, 3 + dims), 2, *range(3 + dims, 3 + 2 * dims))
        cols = view.transpose(order).reshape(g, n * positions, -1)
        M = self._matrix(weights)
        z = np.empty((g, n * positions, M.shape[2]), dtype=cols.dtype)
        for group in range(g):  # one plain matrix product per group (batched ones are slow)
            np.matmul(cols[group], M[group], out=z[group])
        z = z.reshape(g, n, positions, -1).transpose(1, 0, 3, 2)
        result: Array = z.reshape(n, conv.out_channels, *out)
        return result

    def product(self, v: Array, weights: Weights) -> Array:
        conv = self.conv
        return self._apply_padded(pad_linear(v, conv.pads, conv.padding_mode), weights)

    def transpose(self, s: Array, weights: Weights) -> Array:
        conv, n = self.conv, s.shape[0]
        out = self.out_shape[1:]
        g, dims = conv.groups, conv.dims
        positions = int(np.prod(out))
        per_group = s.reshape(n, g, conv.out_channels // g, positions).transpose(1, 0, 3, 2)
        per_group = per_group.reshape(g, n * positions, -1)
        M = self._matrix(weights)
        cols = np.empty((g, n * positions, M.shape[1]), dtype=s.dtype)
        for group in range(g):
            np.matmul(per_group[group], M[group].T, out=cols[group])
        cols = cols.reshape(g, n, *out, conv.in_channels // g, *conv.kernel)
        # taps first, then (n, C_in, *out): each tap's values contiguous for the scatter
        order = (*range(3 + dims, 3 + 2 * dims), 1, 0, 2 + dims, *range(2, 2 + dims))
        cols = cols.transpose(order).reshape(*conv.kernel, n, conv.in_channels, *out)
        padded = scatter(cols, self._padded_spatial, conv.kernel, conv.strides, conv.dilations)
        return pad_adjoint(padded, self.in_shape[1:], conv.pads, conv.padding_mode)

    def fixed(self, part: FramePart, weights: Weights) -> Array | None:
        conv = self.conv
        if conv.padding_mode != "constant" or conv.padding_value == 0:
            return None
        value = conv.padding_value
        scale = {
            "value": value,
            "positive": max(value, 0.0),
            "negative": min(value, 0.0),
            "indicator": 1.0,
        }[part]
        f = frame(conv.in_channels, self.in_shape[1:], conv.pads, scale, conv.dtype)
        result: Array = self._apply_padded(f[None], weights)[0]
        return result
