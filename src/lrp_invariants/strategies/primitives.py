"""Networks, inputs, chosen classes and shifts, and the drawing primitives the other
strategies share: argument checks, one cached strategy object per range, value arrays, masks.

>>> networks(max_depth=2, max_width=3).example()  # doctest: +SKIP
Network(3-1-3, dtype=float64, output='identity')
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from ..network import Array, Linear, Network

__all__ = ["SHIFT_KINDS", "FloatWidth", "classes", "inputs", "networks", "shifts"]

SHIFT_KINDS = ("constant", "pattern", "random", "large")
"""``constant``: the same value for every feature (-1, as Kindermans et al., among others);
``pattern``: a scaled input of the batch (the reply's 0.3 x a digit); ``random``: any vector of
the inputs' magnitude; ``large``: up to 2**20 times the inputs, so that ``x1 + m`` cancels."""

FloatWidth = Literal[32, 64]
_DTYPES: dict[np.dtype[Any], FloatWidth] = {np.dtype(np.float64): 64, np.dtype(np.float32): 32}
_DEFAULT_EXPONENTS = {64: 16, 32: 6}


def _check_range(name: str, value: tuple[int, int], low: int, high: int) -> None:
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or not all(isinstance(v, int) for v in value)
        or not low <= value[0] <= value[1] <= high
    ):
        raise InvalidArgument(
            f"{name}={value!r}: expected a pair of integers (min, max) with "
            f"{low} <= min <= max <= {high}"
        )


def _width_of(dtype: Any) -> FloatWidth:
    try:
        return _DTYPES[np.dtype(dtype)]
    except (TypeError, KeyError):
        raise InvalidArgument(
            f"dtype={dtype!r}: pass np.float64 (the default) or np.float32"
        ) from None


def _check_scale(
    scale_exponents: tuple[int, int], depth: tuple[int, int], width: int, max_width: int
) -> None:
    """Refuse scales whose products could overflow: the properties compare finite numbers."""
    _check_range("scale_exponents", scale_exponents, -1000, 1000)
    largest = max(abs(e) for e in scale_exponents)
    log2_max = 1023 if width == 64 else 127
    # per layer: |z| <= width * 2 * 2**e * |a| ... plus 2**40 for ε-divisions and bias proxies
    growth = depth[1] * (largest + 1 + math.log2(max_width + 1)) + 40
    if growth >= log2_max:
        raise InvalidArgument(
            f"scale_exponents={scale_exponents!r} with up to {depth[1]} layers of width "
            f"{max_width} can overflow float{width}: keep |exponent| <= "
            f"{int((log2_max - 40) / depth[1] - 1 - math.log2(max_width + 1))}"
        )


@functools.cache
def _integers(low: int, high: int) -> st.SearchStrategy[int]:
    """One strategy object per range: building strategies inside a draw costs more than the
    draw (Hypothesis validates each new object), so every inner strategy is built once."""
    return st.integers(low, high)


@functools.cache
def _floats(low: float, high: float, width: FloatWidth) -> st.SearchStrategy[float]:
    return st.floats(low, high, width=width)


@functools.cache
def _arrays(
    dtype: np.dtype[Any], shape: tuple[int, ...], low: float, high: float
) -> st.SearchStrategy[Array]:
    # the fill value (most entries of a large array) is never 0: zeros come from the drawn
    # entries and the exact-zero masks, not from whole arrays of them
    elements = _floats(low, high, _DTYPES[dtype])
    return hnp.arrays(dtype, shape, elements=elements, fill=elements.filter(bool))


@functools.cache
def _width_or_same(low: int, high: int, same: int) -> st.SearchStrategy[int]:
    return st.integers(low, high) | st.just(same)


_BIAS_KINDS = st.sampled_from(["zero", "random"])


def _mask(draw: st.DrawFn, n: int, label: str) -> Array:
    """``n`` booleans, none set in about half the cases and about a quarter of them in the
    others (Hypothesis draws large integers with most bits set, so one draw alone would set
    most of them: inputs mostly zero, units mostly dead). Shrinks to none set."""
    if not draw(st.booleans(), label=label):
        return np.zeros(n, dtype=bool)
    first, second = (draw(_integers(0, 2**n - 1), label=label) for _ in range(2))
    return _bits(first & second, n)


@st.composite
def _network(
    draw: st.DrawFn,
    depth: tuple[int, int],
    widths: tuple[int, int],
    n_inputs: int | None,
    n_outputs: int | None,
    width: FloatWidth,
    scale_exponents: tuple[int, int],
    input_bound: float,
    dead_units: bool,
    dense: bool = False,
) -> Network:
    dtype = np.dtype(np.float64 if width == 64 else np.float32)
    n_layers = draw(_integers(*depth), label="depth")
    sizes = [n_inputs if n_inputs is not None else draw(_integers(*widths), label="inputs")]
    for i in range(n_layers):
        last = i == n_layers - 1
        sizes.append(
            n_outputs
            if (last and n_outputs is not None)
            else draw(_width_or_same(*widths, sizes[-1]), label="width")
        )
    bound = np.full(sizes[0], input_bound)
    layers = []
    for i in range(n_layers):
        shape = (sizes[i], sizes[i + 1])
        exponent = draw(_integers(*scale_exponents), label="weight scale")
        W = _values(draw, dtype, shape, 2.0, dense) * dtype.type(2.0**exponent)
        kind = draw(_BIAS_KINDS, label="biases")
        b = np.zeros(sizes[i + 1], dtype)
        if kind == "random":
            b_exponent = draw(_integers(*scale_exponents), label="bias scale")
            b = _values(draw, dtype, (sizes[i + 1],), 2.0, dense) * dtype.type(2.0**b_exponent)
        reach = np.abs(W.astype(np.float64)).T @ bound  # max |a @ W| over inputs in range
        if dead_units and i < n_layers - 1:
            dead = _mask(draw, sizes[i + 1], "dead units")
            # strictly below zero for every input in range, with room for rounding
            b = np.where(dead, -(reach * (1 + 2.0**-4) + 2.0**exponent), b).astype(dtype)
        layers.append(Linear(W, b))
        bound = np.maximum(reach + np.abs(b.astype(np.float64)), 0)
    return Network(tuple(layers))


def networks(
    *,
    min_depth: int = 1,
    max_depth: int = 3,
    min_width: int = 1,
    max_width: int = 4,
    n_inputs: int | None = None,
    n_outputs: int | None = None,
    dtype: Any = np.float64,
    scale_exponents: tuple[int, int] | None = None,
    input_bound: float = 1.0,
    dead_units: bool = True,
) -> st.SearchStrategy[Network]:
    """ReLU MLPs of ``min_depth..max_depth`` Linear layers and widths ``min_width..max_width``.

    Each layer's weights are mantissas in [-2, 2] (zeros and small integers included) times
    ``2**e`` with ``e`` in ``scale_exponents`` (default ±16 for float64, ±6 for float32). Biases
    are zero or random at their own scale; with ``dead_units``, hidden units may get a bias that
    keeps them negative for every input with ``|x_i| <= input_bound``.

    >>> networks(max_depth=2, max_width=3).example()  # doctest: +SKIP
    Network(3-1-3, dtype=float64, output='identity')
    """
    width = _width_of(dtype)
    _check_range("(min_depth, max_depth)", (min_depth, max_depth), 1, 8)
    _check_range("(min_width, max_width)", (min_width, max_width), 1, 64)
    for name, value in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise InvalidArgument(f"{name}={value!r}: expected a positive integer or None")
    if scale_exponents is None:
        e = _DEFAULT_EXPONENTS[width]
        scale_exponents = (-e, e)
    _check_scale(scale_exponents, (min_depth, max_depth), width, max(max_width, n_inputs or 1))
    if not (isinstance(input_bound, (int, float)) and 0 < input_bound < 2.0**40):
        raise InvalidArgument(f"input_bound={input_bound!r}: expected a number in (0, 2**40)")
    return _network(
        (min_depth, max_depth),
        (min_width, max_width),
        n_inputs,
        n_outputs,
        width,
        scale_exponents,
        float(input_bound),
        bool(dead_units),
    )


def _values(
    draw: st.DrawFn, dtype: np.dtype[Any], shape: tuple[int, ...], bound: float, dense: bool
) -> Array:
    """An array of values in [-bound, bound]: drawn by Hypothesis element by element (they
    shrink to simple numbers), or, if ``dense``, full mantissas from a generator seeded by one
    draw. Large drawn arrays are mostly one fill value, often exact in any precision; code that
    loses precision from some size on shows only on dense ones."""
    if not dense:
        return draw(_arrays(dtype, shape, -bound, bound))
    rng = np.random.default_rng(draw(_integers(0, 2**32 - 1), label="dense values"))
    values = rng.uniform(-bound, bound, shape)
    return np.where(rng.random(shape) < 0.1, 0.0, values).astype(dtype)


def inputs(
    network: Network, *, min_batch: int = 1, max_batch: int = 3, bound: float = 1.0
) -> st.SearchStrategy[Array]:
    """Batches (n, d) for ``network`` with entries in [-bound, bound], exact zeros included.

    >>> inputs(network, max_batch=2).example()  # doctest: +SKIP
    array([[ 0. , -0.5]])
    """
    _check_range("(min_batch, max_batch)", (min_batch, max_batch), 1, 256)
    if not (isinstance(bound, (int, float)) and 0 < bound < 2.0**40):
        raise InvalidArgument(f"bound={bound!r}: expected a number in (0, 2**40)")
    _width_of(network.dtype)
    return _inputs(network, (min_batch, max_batch), float(bound))


def _draw_inputs(
    draw: st.DrawFn, network: Network, batch: tuple[int, int], bound: float, dense: bool = False
) -> Array:
    n = draw(_integers(*batch), label="batch size")
    x = _values(draw, network.dtype, (n, network.n_inputs), bound, dense)
    if dense:  # exact zeros are among the dense values already
        return x
    zeros = _mask(draw, x.size, "exact zeros").reshape(x.shape)
    return np.where(zeros, network.dtype.type(0), x)


_inputs = st.composite(_draw_inputs)


def _bits(mask: int, n: int) -> Array:
    """The lowest ``n`` bits of ``mask`` as booleans: one draw instead of ``n``."""
    return np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)


def classes(network: Network, n: int) -> st.SearchStrategy[Array]:
    """One chosen output per sample, any of them (not only the winning class).

    >>> classes(network, 3).example()  # doctest: +SKIP
    array([2, 0, 0])
    """
    if not isinstance(n, int) or n < 0:
        raise InvalidArgument(f"n={n!r}: expected a nonnegative integer")
    return _class_arrays(network.n_outputs, n)


def shifts(
    n_features: int,
    *,
    x: Array | None = None,
    dtype: Any = np.float64,
    bound: float = 1.0,
    kinds: tuple[str, ...] = SHIFT_KINDS,
) -> st.SearchStrategy[Array]:
    """Shifts ``m`` of shape (n_features,) of the kinds in :data:`SHIFT_KINDS`.

    ``pattern`` needs a batch ``x`` to take the pattern from; ``bound`` is the inputs' magnitude.

    >>> shifts(3, kinds=("constant",)).example()  # doctest: +SKIP
    array([-1., -1., -1.])
    """
    _width_of(dtype)
    if not isinstance(n_features, int) or n_features < 1:
        raise InvalidArgument(f"n_features={n_features!r}: expected a positive integer")
    unknown = set(kinds) - set(SHIFT_KINDS)
    if unknown or not kinds:
        raise InvalidArgument(f"kinds={kinds!r}: choose a nonempty subset of {SHIFT_KINDS}")
    if "pattern" in kinds and x is None:
        raise InvalidArgument("kinds includes 'pattern' but no batch x to take the pattern from")
    return _shifts(n_features, x, np.dtype(dtype), float(bound), tuple(kinds))


_SIGNS = st.sampled_from([-1.0, 1.0])


def _draw_shift(
    draw: st.DrawFn,
    n_features: int,
    x: Array | None,
    dtype: np.dtype[Any],
    bound: float,
    kinds: tuple[str, ...],
) -> Array:
    """One shift of a kind in ``kinds`` (in :data:`SHIFT_KINDS`' order, so that shrinking
    goes towards a constant shift)."""
    width = _DTYPES[dtype]
    offered = [
        kind for kind in SHIFT_KINDS if kind in kinds and (kind != "pattern" or x is not None)
    ]
    kind = offered[draw(_integers(0, len(offered) - 1), label="shift kind")]
    if kind == "constant":
        if draw(st.booleans(), label="unit constant"):
            value = draw(_floats(-4 * bound, 4 * bound, width))
        else:
            value = draw(_SIGNS)
        return np.full(n_features, value, dtype)
    if kind == "pattern":
        assert x is not None
        row = draw(_integers(0, x.shape[0] - 1), label="pattern row")
        return (draw(_floats(-1.0, 1.0, width)) * x[row]).astype(dtype)
    vector = draw(_arrays(dtype, (n_features,), -1.0, 1.0))
    if kind == "random":
        return (vector * bound).astype(dtype)
    return (vector * bound * 2.0 ** draw(_integers(4, 20), label="shift scale")).astype(dtype)


_shifts = st.composite(_draw_shift)


@functools.cache
def _class_arrays(n_outputs: int, n: int) -> st.SearchStrategy[Array]:
    return hnp.arrays(np.intp, n, elements=st.integers(0, n_outputs - 1))
