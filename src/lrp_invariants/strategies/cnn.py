"""Small convolutional networks, their inputs and the reply's cases on them.

The CNNs are drawn with the care the dense strategies take: hard cases on purpose, never filtered
out. Every convolution geometry of the core (stride, per-side padding up to the kernel in every
padding mode, dilation, groups, sizes the stride does not divide), pooling windows larger than
their stride, inputs with repeated values and periodic inputs (ties in max pooling that carry
relevance, on top of the ties at 0 that dead ReLUs leave), units placed on or next to their kink
and layers dead as a whole revived (:mod:`.cnn_placement`), weights whose scale is far from 1 (a
layer's parameters are mantissas times one power of two per layer, up to ``2**±60`` in the
extreme regime), batch norms with negative scales, residual blocks with and without a
downsample.

Every draw shrinks toward the smallest network: one block of a 1x1 convolution on one channel,
stride 1, no padding, zero padding mode, no pooling, no batch norm, no residual block, weights
of 1; one sample.

>>> from hypothesis import given
>>> @given(cnn_cases(max_blocks=2))  # doctest: +SKIP
... def test_conservation(case): ...
>>> cnns(max_blocks=1, values="integers").example()  # doctest: +SKIP
CNN(layers=(Conv(...), ReLU(), Flatten(), Dense(...)), input_shape=(1, 3, 3))
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import NDArray

from ..cnn import (
    CNN,
    Conv,
)
from ..cnn.geometry import PADDING_MODES
from ..network import Array
from .cnn_networks import (
    _EXTREME,
    CNN_SCALE_REGIMES,
    CNN_VALUES,
    POOLING_KINDS,
    Values,
    _array,
    _check_options,
    _cnns,
    _Options,
    cnns,
)
from .cnn_placement import _on_kinks, _revived
from .primitives import _check_range, _integers, _mask

__all__ = [
    "CNN_SCALE_REGIMES",
    "CNN_SHIFT_KINDS",
    "CNN_VALUES",
    "POOLING_KINDS",
    "CNNCase",
    "CNNSeedCase",
    "cnn_cases",
    "cnn_inputs",
    "cnn_seed_cases",
    "cnns",
]

CNN_SHIFT_KINDS = ("channel", "pixel")
"""``channel``: a constant per input channel (a batch norm's shift, a mean per colour);
``pixel``: a value per input position (a mean image)."""


@dataclass(frozen=True)
class CNNCase:
    """A CNN, a batch ``x`` of its inputs and one chosen class per sample."""

    cnn: CNN
    x: Array
    classes: NDArray[np.intp]


@dataclass(frozen=True)
class CNNSeedCase:
    """The reply's experiment on a CNN: net1, a batch x1, a shift ``m`` of one input's shape and
    one chosen class per sample; ``x2 = x1 + m`` is what net2 sees."""

    net1: CNN
    x1: Array
    m: Array
    classes: NDArray[np.intp]

    @property
    def x2(self) -> Array:
        result: Array = self.x1 + self.m
        return result


def _inputs(
    draw: st.DrawFn, cnn: CNN, batch: tuple[int, int], values: Values, scale: float
) -> Array:
    n = draw(_integers(*batch), label="batch size")
    channels, spatial = cnn.input_shape[0], cnn.input_shape[1:]
    if draw(st.booleans(), label="periodic input"):
        # a pattern of period 1 or 2 along each axis, tiled: equal receptive fields give equal
        # activations, so maxima tie in pooling windows that carry relevance
        periods = tuple(draw(_integers(1, 2), label="period") for _ in spatial)
        pattern = _array(draw, (n, channels, *periods), values, scale)
        tiles = [-(-size // period) for size, period in zip(spatial, periods, strict=True)]
        crop = (slice(None), slice(None), *(slice(0, size) for size in spatial))
        tiled: Array = np.tile(pattern, (1, 1, *tiles))
        return tiled[crop]
    x = _array(draw, (n, *cnn.input_shape), values, scale)
    if x.size <= 64:
        zeros = _mask(draw, x.size, "exact zeros").reshape(x.shape)
        x = np.where(zeros, 0.0, x)
    return x


def cnn_inputs(
    cnn: CNN,
    *,
    min_batch: int = 1,
    max_batch: int = 3,
    scale: float = 1.0,
    values: str = "floats",
) -> st.SearchStrategy[Array]:
    """Batches ``(n, *cnn.input_shape)``: entries drawn one by one, from a small palette of
    repeated values (ties), or dense, times ``scale``; exact zeros included; in half of the
    batches a pattern of period 1 or 2 along each axis, tiled (equal receptive fields:
    ties after a convolution, where pooling windows carry relevance).

    >>> cnn_inputs(cnn, max_batch=2, values="integers").example()  # doctest: +SKIP
    array([[[[ 0.,  1.], [ 1., -3.]]]])
    """
    if not isinstance(cnn, CNN):
        raise InvalidArgument(f"cnn must be a CNN; got {type(cnn).__name__}")
    _check_range("(min_batch, max_batch)", (min_batch, max_batch), 1, 256)
    if not (isinstance(scale, int | float) and 0 < scale < 2.0**64):
        raise InvalidArgument(f"scale={scale!r}: expected a number in (0, 2**64)")
    if values not in CNN_VALUES:
        raise InvalidArgument(f"values={values!r}: expected one of {CNN_VALUES}")
    return st.composite(_inputs)(cnn, (min_batch, max_batch), values, float(scale))  # type: ignore[arg-type]


@st.composite
def _case(
    draw: st.DrawFn,
    options: _Options,
    large: tuple[int, int, int] | None,
    batch: int,
    kinks: bool,
) -> CNNCase:
    regime = CNN_SCALE_REGIMES[draw(_integers(0, len(CNN_SCALE_REGIMES) - 1), label="regime")]
    batches = (1, batch)
    # one draw in eight, away from the ends of the range Hypothesis favours and from 0 (where
    # draws shrink to: the small tier), is of the large tier
    if large is not None and draw(_integers(0, 2**16 - 1), label="size tier") % 8 == 3:
        channels, size, n = large
        options = _replace(options, max_channels=channels, sizes=(max(3, size // 2), size))
        batches = (max(1, n // 2), n)
    cnn = draw(_cnns(options, regime))
    values = options.values
    scale = 1.0
    if regime == "extreme":
        scale = 2.0**-_EXTREME
    elif regime != "unit":
        low, high = options.scale_exponents
        scale = float(2.0 ** draw(_integers(low // 2, high // 2), label="input scale"))
    x = _inputs(draw, cnn, batches, values, scale)
    # in three cases in four (it shrinks to the network as drawn)
    if draw(_integers(0, 3), label="revive dead layers") > 0:
        cnn = _revived(cnn, x)
    if kinks:
        cnn = _on_kinks(draw, cnn, x)
    classes = np.array(
        [draw(_integers(0, cnn.n_outputs - 1), label="class") for _ in range(x.shape[0])],
        dtype=np.intp,
    )
    return CNNCase(cnn, x, classes)


def _replace(options: _Options, **changes: Any) -> _Options:
    fields = {name: getattr(options, name) for name in options.__dataclass_fields__}
    return _Options(**{**fields, **changes})


def _check_large(large: tuple[int, int, int] | None) -> None:
    if large is None:
        return
    if (
        not isinstance(large, tuple)
        or len(large) != 3
        or not all(isinstance(v, int) for v in large)
        or not (1 <= large[0] <= 16 and 3 <= large[1] <= 64 and 1 <= large[2] <= 256)
    ):
        raise InvalidArgument(
            f"large={large!r}: expected (max channels 1..16, side 3..64, batch 1..256)"
        )


def cnn_cases(
    *,
    max_blocks: int = 3,
    max_batch: int = 3,
    large: tuple[int, int, int] | None = None,
    kinks: bool = True,
    **cnn_options: Any,
) -> st.SearchStrategy[CNNCase]:
    """Whole cases: a CNN as :func:`cnns` draws it (``cnn_options`` are its arguments), a batch
    of up to ``max_batch`` samples and a chosen class per sample (any class, not only the
    winner). The scales follow a regime of :data:`CNN_SCALE_REGIMES`; with ``kinks`` a
    convolution's units may sit on (or next to) their ReLU's kink for one sample. With
    ``large=(channels, side, batch)`` one draw in eight is of the large tier: up to ``channels``
    channels, images of ``side // 2..side`` pixels a side, ``batch // 2..batch`` samples
    (where blocked or size-dependent code shows).

    >>> cnn_cases(max_blocks=2, large=(8, 16, 16)).example()  # doctest: +SKIP
    CNNCase(cnn=CNN(...), x=array(...), classes=array([0, 2]))
    """
    if not isinstance(max_batch, int) or not 1 <= max_batch <= 256:
        raise InvalidArgument(f"max_batch={max_batch!r}: expected an integer in [1, 256]")
    _check_large(large)
    options = _options(max_blocks, cnn_options)
    return _case(options, large, max_batch, bool(kinks))


def _options(max_blocks: int, cnn_options: dict[str, Any], plain_first: bool = False) -> _Options:
    unknown = set(cnn_options) - set(_CNN_ARGUMENTS)
    if unknown:
        raise InvalidArgument(f"unknown arguments {sorted(unknown)}; cnns takes {_CNN_ARGUMENTS}")
    chosen = {**_CNN_DEFAULTS, **cnn_options, "max_blocks": max_blocks}
    options = _check_options(*(chosen[name] for name in _CNN_ARGUMENTS))
    return _replace(options, plain_first=plain_first)


_CNN_DEFAULTS: dict[str, Any] = {
    "max_blocks": 3,
    "in_channels": (1, 3),
    "max_channels": 3,
    "sizes": (3, 10),
    "dims": (1, 2),
    "max_classes": 3,
    "padding_modes": PADDING_MODES,
    "pooling": True,
    "batch_norm": True,
    "residual": True,
    "values": "floats",
    "scale_exponents": (-16, 16),
}
_CNN_ARGUMENTS = tuple(_CNN_DEFAULTS)


@st.composite
def _seed_case(
    draw: st.DrawFn, options: _Options, batch: int, kinds: tuple[str, ...], kinks: bool
) -> CNNSeedCase:
    case = draw(_case(options, None, batch, kinks))
    m = _shift(draw, case.cnn.input_shape, options.values, case.x, kinds)
    return CNNSeedCase(case.cnn, case.x, m, case.classes)


def _shift(
    draw: st.DrawFn, shape: tuple[int, ...], values: Values, x: Array, kinds: tuple[str, ...]
) -> Array:
    """A shift of one input's shape: one value per channel or per pixel, of the inputs' size
    (in a quarter of the draws ``2**4..2**20`` times larger: ``x1 + m`` cancels)."""
    kind = kinds[draw(_integers(0, len(kinds) - 1), label="shift kind")]
    bound = float(np.max(np.abs(x), initial=0.0)) or 1.0
    exponent = math.frexp(bound)[1]
    if draw(_integers(0, 3), label="large shift") == 3:  # x1 + m cancels
        exponent += draw(_integers(4, 20), label="shift scale")
    scale = 2.0**exponent
    if kind == "channel":
        per_channel = _array(draw, (shape[0],), values, scale, ("entries",))
        return np.broadcast_to(per_channel.reshape(-1, *([1] * (len(shape) - 1))), shape).copy()
    return _array(draw, shape, values, scale)


@st.composite
def _case_on(
    draw: st.DrawFn, cnn: CNN, x: Array | None, max_batch: int, kinds: tuple[str, ...]
) -> CNNSeedCase:
    if x is None:
        x1 = _inputs(draw, cnn, (1, max_batch), "floats", 1.0)
    else:
        rows = draw(
            st.lists(_integers(0, len(x) - 1), min_size=1, max_size=max_batch, unique=True),
            label="rows of the inputs",
        )
        x1 = x[rows]
    m = _shift(draw, cnn.input_shape, "floats", x1, kinds).astype(cnn.dtype)
    classes = draw(
        st.lists(_integers(0, cnn.n_outputs - 1), min_size=len(x1), max_size=len(x1)),
        label="classes",
    )
    return CNNSeedCase(cnn, x1.astype(cnn.dtype), m, np.asarray(classes, dtype=np.intp))


def cnn_cases_on(
    cnn: CNN,
    x: Array | None = None,
    *,
    max_batch: int = 3,
    kinds: Sequence[str] = CNN_SHIFT_KINDS,
) -> st.SearchStrategy[CNNSeedCase]:
    """Cases on *your* CNN (its first layer a convolution, which net2 and net3 change):
    batches of rows of ``x`` ``(n, *cnn.input_shape)`` (or drawn inputs if None), shifts per
    channel or per pixel and classes drawn as :func:`cnn_seed_cases` draws them.

    >>> cnn_cases_on(my_cnn, X_test).example()  # doctest: +SKIP
    """
    if not isinstance(cnn, CNN):
        raise InvalidArgument(f"cnn must be a CNN; got {type(cnn).__name__}")
    if not isinstance(cnn.layers[0], Conv):
        raise InvalidArgument(
            f"the CNN's first layer must be a Conv (net2 and net3 change it); got "
            f"{type(cnn.layers[0]).__name__}"
        )
    if not isinstance(max_batch, int) or not 1 <= max_batch <= 256:
        raise InvalidArgument(f"max_batch={max_batch!r}: expected an integer in [1, 256]")
    chosen = tuple(k for k in CNN_SHIFT_KINDS if k in tuple(kinds))
    if not chosen or not set(kinds) <= set(CNN_SHIFT_KINDS):
        raise InvalidArgument(f"kinds={kinds!r}: choose a nonempty subset of {CNN_SHIFT_KINDS}")
    if x is not None:
        x = np.asarray(x)
        if x.shape[1:] != cnn.input_shape or not len(x):
            raise InvalidArgument(
                f"x has shape {x.shape}; the CNN takes (n, *{cnn.input_shape}), n >= 1"
            )
        if x.dtype != cnn.dtype or not np.all(np.isfinite(x)):
            raise InvalidArgument(f"x must be finite and of the CNN's dtype {cnn.dtype}")
    return _case_on(cnn, x, max_batch, chosen)


def cnn_seed_cases(
    *,
    max_blocks: int = 3,
    max_batch: int = 3,
    kinds: Sequence[str] = CNN_SHIFT_KINDS,
    kinks: bool = True,
    **cnn_options: Any,
) -> st.SearchStrategy[CNNSeedCase]:
    """The reply's cases on CNNs: net1 (whose first layer is a convolution, which net2 and net3
    change), a batch x1, a shift ``m`` of the input's shape (one value per channel or one per
    pixel, :data:`CNN_SHIFT_KINDS`; in a quarter of the cases ``2**4..2**20`` times the inputs,
    so that ``x1 + m`` cancels) and chosen classes.

    >>> cnn_seed_cases(kinds=("channel",), values="integers").example()  # doctest: +SKIP
    CNNSeedCase(net1=CNN(...), x1=array(...), m=array(...), classes=array([1]))
    """
    if not isinstance(max_batch, int) or not 1 <= max_batch <= 256:
        raise InvalidArgument(f"max_batch={max_batch!r}: expected an integer in [1, 256]")
    chosen = tuple(k for k in CNN_SHIFT_KINDS if k in tuple(kinds))
    if not chosen or not set(kinds) <= set(CNN_SHIFT_KINDS):
        raise InvalidArgument(f"kinds={kinds!r}: choose a nonempty subset of {CNN_SHIFT_KINDS}")
    options = _options(max_blocks, cnn_options, plain_first=True)
    return _seed_case(options, max_batch, chosen, bool(kinks))
