"""Small convolutional networks drawn with the care the dense strategies take: every
convolution geometry of the core, pooling windows larger than their stride, batch norms with
negative scales, residual blocks, parameters as mantissas times one power of two per layer (up
to ``2**±60``; :mod:`.cnn_values` draws the arrays). :mod:`.cnn` draws their inputs and the
reply's cases on them.

>>> cnns(max_blocks=1, values="integers").example()  # doctest: +SKIP
CNN(layers=(Conv(...), ReLU(), Flatten(), Dense(...)), input_shape=(1, 3, 3))
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..cnn import (
    CNN,
    AvgPool,
    BatchNorm,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    Residual,
)
from ..cnn.geometry import PADDING_MODES

# re-exported: strategies.cnn imports them from here
from .cnn_values import CNN_VALUES as CNN_VALUES
from .cnn_values import Values as Values
from .cnn_values import _array as _array
from .cnn_values import _lists
from .primitives import _check_range, _integers

CNN_SCALE_REGIMES = ("unit", "free", "small", "large", "extreme")
"""The power of two of each layer's parameters and of the inputs: ``unit`` (all ``2**0``),
``free`` (each in the ``scale_exponents`` range on its own), ``small`` and ``large`` (all in the
range's lowest or highest quarter), ``extreme`` (alternately ``2**+60`` and ``2**-60``, the
inputs at ``2**∓60``: every product far from 1 and far from the float range's ends)."""

POOLING_KINDS: tuple[str, ...] = ("max", "avg")
"""Pooling layers :func:`cnns` may put at the end of a block (``pooling=True``: both)."""

_EXTREME = 60


@dataclass(frozen=True)
class _Options:
    """Validated arguments of :func:`cnns` (hashable: strategies are cached per options)."""

    max_blocks: int
    in_channels: tuple[int, int]
    max_channels: int
    sizes: tuple[int, int]
    dims: tuple[int, ...]
    max_classes: int
    padding_modes: tuple[str, ...]
    pooling: tuple[str, ...]
    batch_norm: bool
    residual: bool
    values: Values
    scale_exponents: tuple[int, int]
    plain_first: bool = False  # the first block a convolution (net2 and net3 change it)


def _check_options(
    max_blocks: int,
    in_channels: tuple[int, int],
    max_channels: int,
    sizes: tuple[int, int],
    dims: Sequence[int],
    max_classes: int,
    padding_modes: Sequence[str],
    pooling: bool | Sequence[str],
    batch_norm: bool,
    residual: bool,
    values: str,
    scale_exponents: tuple[int, int],
) -> _Options:
    if not isinstance(max_blocks, int) or not 1 <= max_blocks <= 4:
        raise InvalidArgument(f"max_blocks={max_blocks!r}: expected an integer in [1, 4]")
    _check_range("in_channels", in_channels, 1, 8)
    if not isinstance(max_channels, int) or not 1 <= max_channels <= 16:
        raise InvalidArgument(f"max_channels={max_channels!r}: expected an integer in [1, 16]")
    _check_range("sizes", sizes, 1, 64)
    dims = tuple(dims)
    if not dims or not set(dims) <= {1, 2}:
        raise InvalidArgument(f"dims={dims!r}: choose a nonempty subset of (1, 2)")
    if not isinstance(max_classes, int) or not 1 <= max_classes <= 16:
        raise InvalidArgument(f"max_classes={max_classes!r}: expected an integer in [1, 16]")
    modes = tuple(padding_modes)
    if not modes or not set(modes) <= set(PADDING_MODES):
        raise InvalidArgument(
            f"padding_modes={modes!r}: choose a nonempty subset of {PADDING_MODES}"
        )
    if values not in CNN_VALUES:
        raise InvalidArgument(f"values={values!r}: expected one of {CNN_VALUES}")
    _check_range("scale_exponents", scale_exponents, -_EXTREME, _EXTREME)
    if isinstance(pooling, bool):
        pools = POOLING_KINDS if pooling else ()
    else:
        pools = tuple(pooling)
        if not set(pools) <= set(POOLING_KINDS):
            raise InvalidArgument(
                f"pooling={pooling!r}: True, False or a subset of {POOLING_KINDS}"
            )
    return _Options(
        max_blocks,
        in_channels,
        max_channels,
        sizes,
        tuple(sorted(dims)),
        max_classes,
        tuple(m for m in PADDING_MODES if m in modes),  # shrink toward zero padding
        tuple(k for k in POOLING_KINDS if k in pools),
        bool(batch_norm),
        bool(residual),
        values,  # type: ignore[arg-type]
        scale_exponents,
    )


def cnns(
    *,
    max_blocks: int = 3,
    in_channels: tuple[int, int] = (1, 3),
    max_channels: int = 3,
    sizes: tuple[int, int] = (3, 10),
    dims: Sequence[int] = (1, 2),
    max_classes: int = 3,
    padding_modes: Sequence[str] = PADDING_MODES,
    pooling: bool | Sequence[str] = True,
    batch_norm: bool = True,
    residual: bool = True,
    values: str = "floats",
    scale_exponents: tuple[int, int] = (-16, 16),
) -> st.SearchStrategy[CNN]:
    """CNNs of 1..``max_blocks`` blocks, then Flatten and a Dense head of 1..``max_classes``
    outputs, in float64.

    A block is a convolution (+ batch norm) (+ ReLU) (+ max or average pooling), or a residual
    block (``relu(branch(x) + x)`` or with a strided 1x1 downsample). Inputs have
    ``in_channels`` channels and ``sizes`` pixels a side (1-d or 2-d, ``dims``); convolutions
    have 1..``max_channels`` output channels and draw every geometry the core supports in
    ``padding_modes``; ``pooling`` is True, False or the kinds of :data:`POOLING_KINDS` to draw.
    ``values`` and ``scale_exponents`` choose the parameters (see
    :data:`CNN_VALUES`; the extreme regime of :func:`cnn_cases` ignores the range).
    Arguments are checked when called, not at draw time.

    >>> cnns(max_blocks=2, padding_modes=("zeros", "reflect")).example()  # doctest: +SKIP
    CNN(layers=(Conv(...), BatchNorm(...), ReLU(), MaxPool(kernel=3, stride=2), ...), ...)
    """
    options = _check_options(
        max_blocks,
        in_channels,
        max_channels,
        sizes,
        dims,
        max_classes,
        padding_modes,
        pooling,
        batch_norm,
        residual,
        values,
        scale_exponents,
    )
    return _cnns(options, None)


@functools.cache
def _cnns(options: _Options, regime: str | None) -> st.SearchStrategy[CNN]:
    return _draw_cnn(options, regime)


def _scale(draw: st.DrawFn, options: _Options, regime: str, index: int) -> float:
    """The power of two of one layer's parameters (index: the layer's place in forward order)."""
    low, high = options.scale_exponents
    quarter = (high - low) // 4
    if regime == "unit":
        return 1.0
    if regime == "extreme":
        return float(2.0 ** (_EXTREME if index % 2 == 0 else -_EXTREME))
    if regime == "small":
        high = low + quarter
    elif regime == "large":
        low = high - quarter
    return float(2.0 ** draw(_integers(low, high), label="layer scale"))


def _conv(
    draw: st.DrawFn,
    options: _Options,
    regime: str,
    index: int,
    in_shape: tuple[int, ...],
    c_out: int,
    *,
    same: bool = False,
    stride: int | None = None,
) -> Conv:
    """A convolution of ``in_shape``'s channels to ``c_out`` (rounded to a multiple of the
    groups) with a drawn geometry; ``same``: ``c_out`` exactly, an odd kernel and the padding
    that keeps the size at stride 1 (a residual branch)."""
    c_in, spatial = in_shape[0], in_shape[1:]
    # with ``same`` (a residual branch) the width is the shortcut's: groups must divide it
    offered = [g for g in (2, 3) if c_in % g == 0 and (not same or c_out % g == 0)]
    groups = draw(st.sampled_from([1, *offered]), label="groups")
    c_out = max(groups, c_out - c_out % groups)
    kernel, dilation, pads, strides = [], [], [], []
    mode = options.padding_modes[draw(_integers(0, len(options.padding_modes) - 1), label="mode")]
    for size in spatial:
        if same:
            k = draw(st.sampled_from([1, 3]), label="kernel")
            d = draw(_integers(1, 2), label="dilation") if k > 1 else 1
            p = d * (k - 1) // 2
            before = after = p
            if (mode == "reflect" and p >= size) or (mode == "circular" and p > size):
                k, d, before, after = 1, 1, 0, 0
            kernel.append(k)
            dilation.append(d)
            pads.append((before, after))
            strides.append(1 if stride is None else stride)
            continue
        k = draw(_integers(1, 3), label="kernel")
        d = draw(_integers(1, 2), label="dilation") if k > 1 else 1
        s = draw(_integers(1, 3), label="stride")
        before = draw(_integers(0, k), label="padding before")
        after = draw(st.sampled_from([before, *range(k + 1)]), label="padding after")
        limit = size - 1 if mode == "reflect" else size
        before, after = min(before, limit), min(after, limit)
        # the window must fit the padded axis: shrink the dilation, then the kernel
        while d * (k - 1) + 1 > size + before + after and (d > 1 or k > 1):
            if d > 1:
                d -= 1
            else:
                k -= 1
        kernel.append(k)
        dilation.append(d)
        pads.append((before, after))
        strides.append(s)
    scale = _scale(draw, options, regime, index)
    weight = _array(draw, (c_out, c_in // groups, *kernel), options.values, scale)
    bias = None
    if draw(st.booleans(), label="bias"):
        bias = _array(draw, (c_out,), options.values, scale)
    value = 0.0
    if mode == "constant":
        value = float(draw(_integers(-3, 3), label="padding value")) * _scale(
            draw, options, regime, index + 1
        )
    return Conv(
        weight,
        bias,
        stride=tuple(strides),
        padding=tuple(pads),
        padding_mode=mode,
        padding_value=value,
        dilation=tuple(dilation),
        groups=groups,
    )


def _norm(draw: st.DrawFn, options: _Options, regime: str, index: int, channels: int) -> BatchNorm:
    """A batch norm in eval mode, negative scales included: exact signed powers of two and
    integer shifts for integer values, general statistics (with ``eps``) otherwise."""
    scale = _scale(draw, options, regime, index)
    if options.values == "integers":
        exponents = draw(_lists(_integers(-2, 2), channels), label="batch norm scales")
        signs = draw(_lists(st.sampled_from([1.0, -1.0]), channels), label="batch norm signs")
        return BatchNorm.affine(
            np.ldexp(np.array(signs), exponents),
            _array(draw, (channels,), "integers", scale),
        )
    gamma = _array(draw, (channels,), "floats", 1.0)
    beta = _array(draw, (channels,), "floats", scale)
    mean = _array(draw, (channels,), "floats", scale)
    var = np.abs(_array(draw, (channels,), "floats", 1.0)) + 0.25
    return BatchNorm(gamma, beta, mean, var)


def _pool(
    draw: st.DrawFn, shape: tuple[int, ...], kinds: tuple[str, ...]
) -> MaxPool | AvgPool | None:
    """Max or average pooling (of ``kinds``), windows larger than their stride included
    (overlaps), with padding and ``ceil_mode``; None if the drawn window does not fit."""
    # no pooling in a sixth of the blocks, max pooling (where winner-take-all routes and
    # overlapping windows share maxima) in two thirds where both kinds are offered
    offered = ["none", *kinds * 5] if len(kinds) == 1 else ["none", "avg", *["max"] * 4]
    kind = offered[draw(_integers(0, 5), label="pooling")]
    if kind == "none":
        return None
    dims = len(shape) - 1
    # overlapping windows (stride < kernel) in half the pools: where max pooling's backward
    # must add the relevance of two windows that share a maximum
    if draw(st.booleans(), label="overlapping windows"):
        k = draw(_integers(2, 3), label="pool kernel")
        s = draw(_integers(1, k - 1), label="pool stride")
    else:
        k = draw(_integers(1, 3), label="pool kernel")
        s = k
    p = draw(_integers(0, k // 2), label="pool padding")
    ceil = draw(st.booleans(), label="ceil mode")
    pool: MaxPool | AvgPool
    if kind == "max":
        pool = MaxPool(k, s, p, ceil_mode=ceil, dims=dims)
    else:
        include = draw(st.booleans(), label="count include pad")
        pool = AvgPool(k, s, p, ceil_mode=ceil, count_include_pad=include, dims=dims)
    try:
        pool.output_shape(shape)
    except ValueError:
        return None
    return pool


def _residual(
    draw: st.DrawFn, options: _Options, regime: str, index: int, shape: tuple[int, ...]
) -> Residual:
    """``relu(branch(x) + x)``, or with a 1x1 downsample (another width or a stride of 2)."""
    c_in = shape[0]
    c_out = draw(_integers(1, options.max_channels), label="residual channels")
    stride = draw(_integers(1, 2), label="residual stride")
    if c_out == c_in and stride == 1 and draw(st.booleans(), label="identity shortcut"):
        down = None
    else:
        scale = _scale(draw, options, regime, index + 2)
        weight = _array(draw, (c_out, c_in, *([1] * (len(shape) - 1))), options.values, scale)
        down = Conv(weight, stride=stride)
    first = _conv(draw, options, regime, index, shape, c_out, same=True, stride=stride)
    inner = first.output_shape(shape)
    layers: list[Any] = [first]
    if options.batch_norm and draw(st.booleans(), label="branch batch norm"):
        layers.append(_norm(draw, options, regime, index + 1, inner[0]))
    layers.append(ReLU())
    layers.append(_conv(draw, options, regime, index + 1, inner, c_out, same=True, stride=1))
    return Residual(tuple(layers), down)


@st.composite
def _draw_cnn(draw: st.DrawFn, options: _Options, regime: str | None) -> CNN:
    if regime is None:
        regime = CNN_SCALE_REGIMES[draw(_integers(0, len(CNN_SCALE_REGIMES) - 1), label="regime")]
    dims = options.dims[draw(_integers(0, len(options.dims) - 1), label="dims")]
    c_in = draw(_integers(*options.in_channels), label="input channels")
    spatial = tuple(draw(_integers(*options.sizes), label="size") for _ in range(dims))
    input_shape = (c_in, *spatial)
    shape = input_shape
    layers: list[Any] = []
    n_blocks = draw(_integers(1, options.max_blocks), label="blocks")
    for block in range(n_blocks):
        index = 3 * block
        plain = block == 0 and options.plain_first
        # a residual block in half the blocks after the first: the sum is where relevance is
        # counted twice or dropped, and it needs a live branch and a live shortcut to show
        if options.residual and not plain and draw(st.booleans(), label="residual block"):
            candidate = _residual(draw, options, regime, index, shape)
            try:
                shape = candidate.output_shape(shape)
            except ValueError:
                continue
            layers.append(candidate)
            continue
        c_out = draw(_integers(1, options.max_channels), label="channels")
        conv = _conv(draw, options, regime, index, shape, c_out)
        shape = conv.output_shape(shape)
        layers.append(conv)
        if options.batch_norm and draw(st.booleans(), label="batch norm"):
            layers.append(_norm(draw, options, regime, index + 1, shape[0]))
        if draw(_integers(0, 3), label="relu") > 0:
            layers.append(ReLU())
        if options.pooling:
            pool = _pool(draw, shape, options.pooling)
            if pool is not None:
                shape = pool.output_shape(shape)
                layers.append(pool)
    features = int(np.prod(shape))
    classes = draw(_integers(1, options.max_classes), label="classes")
    scale = _scale(draw, options, regime, 3 * n_blocks)
    W = _array(draw, (features, classes), options.values, scale)
    b = _array(draw, (classes,), options.values, scale) if draw(st.booleans()) else None
    layers += [Flatten(), Dense(W, b)]
    return CNN(tuple(layers), input_shape)
