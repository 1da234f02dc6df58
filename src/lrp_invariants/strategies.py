"""Hypothesis strategies for ReLU MLPs, their inputs, chosen classes and input shifts.

Hard cases are generated on purpose, not filtered out: exact zeros in inputs and weights, zero
biases, units that are dead for every input in range, equal consecutive widths and width 1
(transposition bugs show), weights whose scale is far from 1 (each layer's weights are a
mantissa in [-2, 2] times a power of two), shifts much larger than the inputs (cancellation in
``x1 + m - m``), and pre-activations that cancel to zero exactly. What no rule can avoid —
comparisons at a ReLU that is within rounding of zero — the tolerances of
:mod:`lrp_invariants.bounds` account for.

Example::

    from hypothesis import given
    from lrp_invariants import strategies as lst

    @given(lst.seed_cases(max_depth=3, max_width=4))
    def test_net2_reproduces_net1(case):
        ...
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.extra import numpy as hnp

from .cases import ReferenceCase, SeedCase
from .network import Array, Linear, Network
from .rules import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Rule, WSquare, ZBox, ZPlus

if TYPE_CHECKING:
    from .configuration import Composite

__all__ = [
    "cases_on",
    "classes",
    "composites",
    "data_sets",
    "epsilons",
    "inputs",
    "networks",
    "rules",
    "seed_cases",
    "shifts",
    "with_data",
    "with_references",
]

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
    """One chosen output per sample, any of them (not only the winning class)."""
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


BOUNDARY_PLACEMENTS = ("none", "units", "pairs")
"""How :func:`seed_cases` puts hidden units on their ReLU's kink: ``units`` moves the biases
of chosen units so that one sample's pre-activation sits at zero, just below or just above it
(by a relative ``2**-k``); ``pairs`` also adds two samples, that sample scaled by ``1 ± 2**-j``,
which lie on both sides of those kinks. Rare in random draws, these cases are where methods
that look at other points than ``x`` (a path, a reference, a half-step) go wrong."""


@dataclass(frozen=True)
class _Placement:
    """Where :func:`_on_boundaries` puts units: drawn before the network, as a fixed handful
    of choices, so that shrinking the network does not shift them (and they shrink to none)."""

    kind: str
    row: int  # the sample on the kinks (modulo the number of samples that are not all zero)
    units: int  # bit ``unit % 8`` set: that unit is moved, in every hidden layer
    offset: int  # 0: on the kink; k: a relative 2**-k off it
    side: float
    pair: int  # the pair lies at that sample times 1 ± 2**-pair


_KINK_DISTANCES = (0, 52, 40, 26, 8, 2, 1)
"""How far from its kink a placed unit sits, as ``k`` in a relative ``2**-k`` (0: on it): at
the last bits of the pre-activation, a few more, half of them, and far off."""


@st.composite
def _placements(draw: st.DrawFn) -> _Placement:
    kind = BOUNDARY_PLACEMENTS[draw(_integers(0, len(BOUNDARY_PLACEMENTS) - 1))]
    if kind == "none":
        return _Placement(kind, 0, 0, 0, 1.0, 1)
    return _Placement(
        kind,
        draw(_integers(0, 255), label="sample on the kinks"),
        draw(_integers(1, 255), label="units on the kinks"),
        draw(st.sampled_from(_KINK_DISTANCES), label="distance from the kink"),
        draw(_SIGNS, label="side of the kink"),
        draw(_integers(1, 40), label="pair distance"),
    )


def _on_boundaries(net1: Network, x1: Array, placement: _Placement) -> tuple[Network, Array]:
    """``net1`` with the biases of chosen hidden units moved onto (or next to) the kink for one
    sample of ``x1``, and ``x1`` perhaps with a pair of samples around that sample."""
    if placement.kind == "none" or net1.depth < 2:
        return net1, x1
    dtype = net1.dtype
    # a sample that is not all zeros, where the kink depends on the inputs, if there is one
    nonzero = np.flatnonzero(np.any(x1 != 0, axis=1))
    row = int(nonzero[placement.row % len(nonzero)]) if len(nonzero) else 0
    a = x1[row]
    layers = list(net1.layers)
    for i, layer in enumerate(layers[:-1]):
        n = layer.b.shape[0]
        units = _bits(placement.units, 8)[np.arange(n) % 8]
        terms = a @ layer.W
        scale = np.abs(a) @ np.abs(layer.W) + np.abs(layer.b)
        off = placement.side * 2.0**-placement.offset * scale if placement.offset else 0.0
        b = np.where(units, -terms + off, layer.b).astype(dtype)
        layers[i] = Linear(layer.W, b)
        a = np.maximum(a @ layer.W + b, 0)
    net1 = Network(tuple(layers), net1.output)
    if placement.kind == "pairs":
        step = dtype.type(2.0**-placement.pair)
        pair = np.stack([x1[row] * (1 + step), x1[row] * (1 - step)]).astype(dtype)
        x1 = np.concatenate([x1, pair])
    return net1, x1


@st.composite
def _seed_case(
    draw: st.DrawFn,
    net_kwargs: dict[str, Any],
    batch: tuple[int, int],
    kinds: tuple[str, ...],
    large: tuple[tuple[int, int], tuple[int, int]] | None,
    boundaries: bool,
) -> SeedCase:
    width = _width_of(net_kwargs["dtype"])
    e = _DEFAULT_EXPONENTS[width]
    # scales: free, or all small, or all large, so that defects that live at one end of the
    # range show early instead of waiting for every exponent to land there at once
    regime = SCALE_REGIMES[draw(_integers(0, len(SCALE_REGIMES) - 1), label="scale regime")]
    low, high = {"free": (-e, e), "small": (-e, -3 * e // 4), "large": (3 * e // 4, e)}[regime]
    bound = 2.0 ** draw(_integers(low // 2, high // 2), label="input scale")
    placement = draw(_placements()) if boundaries else _Placement("none", 0, 0, 0, 1.0, 1)
    dense = False
    # one draw in eight, away from the ends of the range (which Hypothesis favours) and away
    # from 0 (where the draw shrinks to: the small tier)
    if large is not None and draw(_integers(0, 2**16 - 1), label="size tier") % 8 == 3:
        (min_width, max_width), batch = large
        net_kwargs = {**net_kwargs, "min_width": min_width, "max_width": max_width}
        dense = draw(_integers(0, 3), label="dense values") > 0  # mostly: precision shows
    net_kwargs = {**net_kwargs, "scale_exponents": (low, high)}
    net1 = draw(_network_strategy(tuple(sorted(net_kwargs.items())), bound, dense))
    x1 = _draw_inputs(draw, net1, batch, bound, dense)
    net1, x1 = _on_boundaries(net1, x1, placement)
    m = _draw_shift(draw, net1.n_inputs, x1, net1.dtype, bound, kinds)
    chosen: Array  # (the case's classes are typed as its other arrays)
    if dense:
        rng = np.random.default_rng(draw(_integers(0, 2**32 - 1), label="dense classes"))
        chosen = cast(Array, rng.integers(0, net1.n_outputs, x1.shape[0]).astype(np.intp))
    else:
        chosen = draw(_class_arrays(net1.n_outputs, x1.shape[0]))
    return SeedCase(net1, x1, m, chosen)


@functools.cache
def _network_strategy(
    net_kwargs: tuple[tuple[str, Any], ...], bound: float, dense: bool
) -> st.SearchStrategy[Network]:
    if not dense:
        return networks(**dict(net_kwargs), input_bound=bound)
    kw = dict(net_kwargs)
    width = _width_of(kw["dtype"])
    return _network(
        (1, kw["max_depth"]),
        (kw["min_width"], kw["max_width"]),
        None,
        None,
        width,
        kw["scale_exponents"],
        bound,
        kw["dead_units"],
        True,
    )


SCALE_REGIMES = ("free", "small", "large")
"""How :func:`seed_cases` picks the scales of a case: every exponent on its own (``free``), or
all of them in the lowest (``small``) or highest (``large``) quarter of the range."""


def seed_cases(
    *,
    max_depth: int = 3,
    max_width: int = 4,
    max_batch: int = 3,
    dtype: Any = np.float64,
    kinds: tuple[str, ...] = SHIFT_KINDS,
    dead_units: bool = True,
    large_width: tuple[int, int] | None = None,
    large_batch: tuple[int, int] = (8, 64),
    boundaries: bool = True,
) -> st.SearchStrategy[SeedCase]:
    """Whole cases of the reply's experiment: net1, a batch x1, a shift m and chosen classes.

    Most cases are small (up to ``max_width`` units per layer, ``max_batch`` samples), so that
    they shrink to something a person reads. With ``large_width=(low, high)`` one draw in eight
    (1/8 to 1/4 of a run's cases: Hypothesis reuses earlier cases' choices) has layers of
    ``low..high`` units and a batch of ``large_batch`` samples, where code that changes
    behaviour with size (blocked or chunked kernels, TF32 from some width on) shows.
    With ``boundaries``, hidden units are placed on or next to their kink
    (:data:`BOUNDARY_PLACEMENTS`); ``pairs`` adds two samples beyond ``max_batch``.

    >>> seed_cases(max_depth=2).example()  # doctest: +SKIP
    SeedCase(net1=Network(2-3-1, ...), n=1, |x1| <= 0.5, |m| <= 1, classes=[0])
    >>> seed_cases(large_width=(16, 64)).example()  # doctest: +SKIP
    SeedCase(net1=Network(17-40-3, ...), n=12, ...)
    """
    if not isinstance(max_batch, int) or not 1 <= max_batch <= 256:
        raise InvalidArgument(f"max_batch={max_batch!r}: expected an integer in [1, 256]")
    net_kwargs = {
        "max_depth": max_depth,
        "max_width": max_width,
        "dtype": dtype,
        "dead_units": dead_units,
    }
    networks(**net_kwargs)  # validate the arguments now, not at draw time
    if large_width is not None:
        _check_range("large_width", large_width, 1, 64)
        _check_range("large_batch", large_batch, 1, 256)
        networks(**{**net_kwargs, "min_width": large_width[0], "max_width": large_width[1]})
    if not set(kinds) <= set(SHIFT_KINDS) or not kinds:
        raise InvalidArgument(f"kinds={kinds!r}: choose a nonempty subset of {SHIFT_KINDS}")
    large = None
    if large_width is not None:
        large = ((large_width[0], large_width[1]), (large_batch[0], large_batch[1]))
    return _seed_case(net_kwargs, (1, max_batch), tuple(kinds), large, bool(boundaries))


@st.composite
def _case_on(
    draw: st.DrawFn, network: Network, x: Array | None, max_batch: int, kinds: tuple[str, ...]
) -> SeedCase:
    if x is None:
        x1 = _draw_inputs(draw, network, (1, max_batch), 1.0)
    else:
        rows = draw(
            st.lists(_integers(0, len(x) - 1), min_size=1, max_size=max_batch, unique=True),
            label="rows of the inputs",
        )
        x1 = x[rows]
    bound = float(np.max(np.abs(x1), initial=0.0)) or 1.0
    m = _draw_shift(draw, network.n_inputs, x1, network.dtype, bound, kinds)
    return SeedCase(network, x1, m, draw(_class_arrays(network.n_outputs, x1.shape[0])))


def cases_on(
    network: Network,
    x: Array | None = None,
    *,
    max_batch: int = 3,
    kinds: tuple[str, ...] = SHIFT_KINDS,
) -> st.SearchStrategy[SeedCase]:
    """Cases on *your* network: batches of rows of ``x`` (or drawn inputs in [-1, 1] if None),
    with shifts and classes drawn as :func:`seed_cases` draws them, and shrunk towards the
    first rows.

    >>> cases_on(network, X_test).example()  # doctest: +SKIP
    """
    if not isinstance(network, Network):
        raise InvalidArgument(f"network must be a Network; got {type(network).__name__}")
    if any(layer.constant is not None for layer in network.layers):
        raise InvalidArgument("network must have no constant inputs (give net1, not a net3)")
    if not isinstance(max_batch, int) or not 1 <= max_batch <= 256:
        raise InvalidArgument(f"max_batch={max_batch!r}: expected an integer in [1, 256]")
    if not set(kinds) <= set(SHIFT_KINDS) or not kinds:
        raise InvalidArgument(f"kinds={kinds!r}: choose a nonempty subset of {SHIFT_KINDS}")
    if x is not None:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != network.n_inputs or not len(x):
            raise InvalidArgument(
                f"x has shape {x.shape}; the network takes (n, {network.n_inputs}), n >= 1"
            )
        if x.dtype != network.dtype or not np.all(np.isfinite(x)):
            raise InvalidArgument(f"x must be finite and of the network's dtype {network.dtype}")
    return _case_on(network, x, max_batch, tuple(kinds))


# --------------------------------------------------------------------------------------------
# Rules with parameters, and composites.


def epsilons(max_exponent: int = 2) -> st.SearchStrategy[float]:
    """Stabilisers across scales: 0, and ``m x 10**k`` for ``m`` in [1, 10), ``-12 <= k <=
    max_exponent`` (large ones absorb most of the relevance, which must still be accounted for).

    >>> epsilons().example()  # doctest: +SKIP
    1e-06
    """
    if not isinstance(max_exponent, int) or not -12 <= max_exponent <= 12:
        raise InvalidArgument(f"max_exponent={max_exponent!r}: expected an int in [-12, 12]")
    scaled = st.builds(
        lambda m, k: m * 10.0**k,
        st.floats(1.0, 9.5, allow_nan=False),
        st.integers(-12, max_exponent),
    )
    return st.one_of(st.just(0.0), scaled)


def rules(max_gamma: float = 4.0) -> st.SearchStrategy[Rule]:
    """Every rule that does not depend on the inputs' range, with drawn parameters: ε, α with
    α - β = 1, γ in [0, ``max_gamma``] with either extension and every bias convention, w² and
    flat with and without a stabiliser. (z^B's box depends on the inputs: :func:`composites`.)

    >>> rules().example()  # doctest: +SKIP
    Gamma(gamma=0.5, epsilon=0.0, bias='source', sign_aware=False)
    """
    if not (isinstance(max_gamma, (int, float)) and 0 <= max_gamma <= 16):
        raise InvalidArgument(f"max_gamma={max_gamma!r}: expected a number in [0, 16]")
    gammas = st.one_of(st.just(0.0), st.just(0.25), st.floats(0.0, float(max_gamma)))
    return st.one_of(
        st.just(LRP0()),
        st.builds(Epsilon, epsilons()),
        st.integers(2, 8).map(lambda k: AlphaBeta(k / 2, k / 2 - 1)),
        st.just(ZPlus()),
        st.builds(
            Gamma,
            gammas,
            epsilons(),
            st.sampled_from(("modified", "source", "ignored")),
            st.booleans(),
        ),
        st.builds(WSquare, epsilons(), st.sampled_from(("ignored", "source"))),
        st.builds(Flat, epsilons()),
    )


def _box_for(x: Array, kind: str, pad: float) -> ZBox:
    """A box at the inputs' range, around it, or inside it (some inputs outside the box)."""
    low, high = float(np.min(x)), float(np.max(x))
    if kind == "around":
        return ZBox(low - pad, high + pad)
    if kind == "inside":
        middle = low + (high - low) / 2
        return ZBox(min(middle, low + pad), max(middle, high - pad))
    return ZBox(low, high)


@st.composite
def composites(draw: st.DrawFn, case: SeedCase) -> Composite:
    """A composite for ``case``: a first-layer rule (any of :func:`rules`, or z^B with a box at,
    around or inside the inputs' range), a hidden rule, and perhaps a last one."""
    from .configuration import Composite

    first = draw(
        st.one_of(
            rules(),
            st.builds(
                _box_for,
                st.just(case.x1),
                st.sampled_from(("at", "around", "inside")),
                st.floats(0.0, 4.0),
            ),
        )
    )
    return Composite(draw(rules()), first=first, last=draw(st.one_of(st.none(), rules())))


REFERENCE_KINDS = ("zero", "row", "batch")
"""References for DeepLIFT and integrated gradients: zeros (Captum's default), one row for
every sample, or one per sample."""


@st.composite
def _reference_case(draw: st.DrawFn, cases: st.SearchStrategy[SeedCase]) -> ReferenceCase:
    case = draw(cases)
    kind = REFERENCE_KINDS[draw(_integers(0, len(REFERENCE_KINDS) - 1), label="reference")]
    n, d = case.x1.shape
    if kind == "zero":
        return ReferenceCase(case, np.zeros_like(case.x1))
    scale = float(np.abs(case.x1).max()) or 1.0
    dtype = case.net1.dtype
    x0 = draw(_arrays(dtype, (d,) if kind == "row" else (n, d), -scale, scale))
    return ReferenceCase(case, np.broadcast_to(x0, (n, d)).copy())


def reference_cases(
    cases: st.SearchStrategy[SeedCase] | None = None,
) -> st.SearchStrategy[ReferenceCase]:
    """A seed case (from ``cases``, default :func:`seed_cases`) with a reference ``x0`` of the
    case's dtype and input scale: zeros, one row for all samples, or one per sample.

    >>> reference_cases().example()  # doctest: +SKIP
    ReferenceCase(case=SeedCase(...), x0=array([[0.5, -1. ]]))
    """
    if cases is not None and not isinstance(cases, st.SearchStrategy):
        raise InvalidArgument(f"cases must be a strategy of SeedCase; got {type(cases).__name__}")
    return _reference_case(cases if cases is not None else seed_cases())


@st.composite
def _with_reference(draw: st.DrawFn, cases: st.SearchStrategy[SeedCase]) -> SeedCase:
    reference_case = draw(_reference_case(cases))
    return replace(reference_case.case, x0=reference_case.x0)


def with_references(cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
    """Cases from ``cases`` that carry a reference batch ``x0`` (see :func:`reference_cases`):
    what the gate draws for a method that takes a given baseline."""
    return _with_reference(cases)


DATA_KINDS = ("drawn", "with-inputs", "repeated")
"""Data sets that patterns are learned from: rows drawn at the inputs' scale; the explained
batch among drawn rows; rows repeated (a unit active only there does not vary: 0/0)."""


@st.composite
def data_sets(draw: st.DrawFn, case: SeedCase) -> Array:
    """A data set (N, d) for ``case``'s network, of its dtype and input scale, N from 1 to 12
    drawn rows (see :data:`DATA_KINDS`).

    >>> data_sets(case).example()  # doctest: +SKIP
    array([[ 0.5, -1. ], [ 2. ,  0. ]])
    """
    if not isinstance(case, SeedCase):
        raise InvalidArgument(f"case must be a SeedCase; got {type(case).__name__}")
    kind = DATA_KINDS[draw(_integers(0, len(DATA_KINDS) - 1), label="data")]
    d = case.x1.shape[1]
    scale = float(np.abs(case.x1).max()) or 1.0
    rows = draw(_integers(1, 12), label="data rows")
    drawn = draw(_arrays(case.net1.dtype, (rows, d), -scale, scale))
    if kind == "with-inputs":
        return np.vstack([case.x1, drawn])
    if kind == "repeated":
        times = draw(_integers(2, 4), label="repeats")
        return np.vstack([np.repeat(drawn[:1], times, axis=0), drawn[1:]])
    return drawn


@st.composite
def _with_data(draw: st.DrawFn, cases: st.SearchStrategy[SeedCase]) -> SeedCase:
    case = draw(cases)
    return replace(case, data=draw(data_sets(case)))


def with_data(cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
    """Cases from ``cases`` that carry a data set (see :func:`data_sets`): what the gate draws
    for a method that learns patterns (PatternNet, PatternAttribution)."""
    if not isinstance(cases, st.SearchStrategy):
        raise InvalidArgument(f"cases must be a strategy of SeedCase; got {type(cases).__name__}")
    return _with_data(cases)
