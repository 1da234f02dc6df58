"""Sliding windows and padding: the geometry every convolution and pooling layer shares.

Arrays are batches ``(n, C, *spatial)``. A window view never copies; its adjoint (``scatter``)
adds a window's values back where they came from with one strided addition per kernel tap (a
loop over the few taps, never over pixels or samples). Padding modes that copy inputs
(reflect, replicate, circular) are index maps per axis; their adjoint adds every copy back onto
the input it copies.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from ..network import Array

PADDING_MODES: tuple[str, ...] = ("zeros", "constant", "reflect", "replicate", "circular")
"""``zeros``; ``constant`` (a value, a fixed source of its own); ``reflect`` (torch's: the
border is not repeated), ``replicate`` (the border is), ``circular`` (wraps around)."""

_NUMPY_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}

Padding = tuple[tuple[int, int], ...]


def output_size(size: int, kernel: int, stride: int, dilation: int, ceil: bool = False) -> int:
    """Window positions along one (already padded) axis: ``floor((size - d (k - 1) - 1) / s) + 1``
    (``ceil`` for pooling's ``ceil_mode``); 0 where the window does not fit."""
    span = dilation * (kernel - 1) + 1
    if size < span:
        return 0
    steps = (size - span) / stride
    return (math.ceil(steps) if ceil else math.floor(steps)) + 1


def source_index(size: int, before: int, after: int, mode: str) -> NDArray[np.intp]:
    """For every position of a padded axis, the input position it holds (-1: a constant)."""
    index = np.arange(size)
    if mode in ("zeros", "constant"):
        return np.pad(index, (before, after), constant_values=-1)
    return np.pad(index, (before, after), mode=_NUMPY_MODES[mode])  # type: ignore[call-overload]


def check_padding(spatial: tuple[int, ...], padding: Padding, mode: str) -> None:
    """ValueError where a mode cannot pad an axis this much (as torch: reflect needs the pad
    below the size, circular at most the size)."""
    for axis, (size, (before, after)) in enumerate(zip(spatial, padding, strict=True)):
        if mode == "reflect" and max(before, after) >= size:
            raise ValueError(
                f"reflect padding ({before}, {after}) on spatial axis {axis} needs pads below "
                f"its size {size}"
            )
        if mode == "circular" and max(before, after) > size:
            raise ValueError(
                f"circular padding ({before}, {after}) on spatial axis {axis} needs pads at "
                f"most its size {size}"
            )


def pad_linear(v: Array, padding: Padding, mode: str) -> Array:
    """The linear part of padding a batch: zeros for ``zeros`` and ``constant`` (a constant's
    value is a source apart, :func:`frame`), copies of inputs for the other modes."""
    if mode in ("zeros", "constant"):
        return np.pad(v, [(0, 0), (0, 0), *padding])
    out = v
    for axis, (before, after) in enumerate(padding):
        index = source_index(v.shape[2 + axis], before, after, mode)
        out = np.take(out, index, axis=2 + axis)
    return out


def pad_adjoint(g: Array, spatial: tuple[int, ...], padding: Padding, mode: str) -> Array:
    """The transpose of :func:`pad_linear`: every padded position's value added onto the input
    it copies (dropped where it holds a constant)."""
    if mode in ("zeros", "constant"):
        crop = tuple(
            slice(before, before + size) for size, (before, _) in zip(spatial, padding, strict=True)
        )
        cropped = (slice(None), slice(None), *crop)
        return g[cropped]
    out = g
    for axis, (before, after) in enumerate(padding):
        index = source_index(spatial[axis], before, after, mode)
        onehot = (index[:, None] == np.arange(spatial[axis])[None, :]).astype(g.dtype)
        out = np.moveaxis(np.tensordot(out, onehot, axes=([2 + axis], [0])), -1, 2 + axis)
    return out


def frame(
    channels: int, spatial: tuple[int, ...], padding: Padding, value: float, dtype: np.dtype
) -> Array:
    """One sample's padded input with zeros inside and ``value`` in the padding: a constant
    padding's own contribution (``channels, *padded``)."""
    inside = np.zeros((channels, *spatial), dtype=dtype)
    return np.pad(inside, [(0, 0), *padding], constant_values=value)


def windows(
    padded: Array,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    out: tuple[int, ...],
) -> Array:
    """A read-only view ``(n, C, *out, *kernel)`` of every window of a padded batch."""
    dims = len(kernel)
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    view = sliding_window_view(padded, spans, axis=tuple(range(2, 2 + dims)))
    positions = tuple(slice(0, s * (o - 1) + 1, s) for s, o in zip(stride, out, strict=True))
    taps = tuple(slice(None, None, d) for d in dilation)
    index = (slice(None), slice(None), *positions, *taps)
    result: Array = view[index]
    return result


def scatter(
    cols: Array,
    padded_spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
) -> Array:
    """The transpose of :func:`windows`: ``cols`` ``(*kernel, n, C, *out)`` (taps first, so
    that each tap's values are contiguous) added back into a padded batch
    ``(n, C, *padded_spatial)``, one strided addition per kernel tap."""
    dims = len(kernel)
    out_shape = cols.shape[dims + 2 :]
    result = np.zeros((*cols.shape[dims : dims + 2], *padded_spatial), dtype=cols.dtype)
    for tap in itertools.product(*(range(k) for k in kernel)):
        target = tuple(
            slice(t * d, t * d + s * (o - 1) + 1, s)
            for t, d, s, o in zip(tap, dilation, stride, out_shape, strict=True)
        )
        index = (slice(None), slice(None), *target)
        result[index] += cols[tap]
    return result


def taps_first(cols: Array, dims: int) -> Array:
    """``(n, C, *out, *kernel) -> (*kernel, n, C, *out)``, contiguous (for :func:`scatter`)."""
    order = (*range(2 + dims, 2 + 2 * dims), 0, 1, *range(2, 2 + dims))
    return np.ascontiguousarray(cols.transpose(order))
