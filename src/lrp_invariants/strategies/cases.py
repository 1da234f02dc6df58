"""Whole cases of the reply's experiment: drawn ones with their scale regimes and size tiers
(:func:`seed_cases`), and cases on *your* network and inputs (:func:`cases_on`).

>>> seed_cases(max_depth=2).example()  # doctest: +SKIP
SeedCase(net1=Network(2-3-1, ...), n=1, |x1| <= 0.5, |m| <= 1, classes=[0])
"""

from __future__ import annotations

import functools
from typing import Any, cast

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..cases import SeedCase
from ..network import Array, Network
from .placement import _on_boundaries, _Placement, _placements
from .primitives import (
    _DEFAULT_EXPONENTS,
    SHIFT_KINDS,
    _check_range,
    _class_arrays,
    _draw_inputs,
    _draw_shift,
    _integers,
    _network,
    _width_of,
    networks,
)

__all__ = ["SCALE_REGIMES", "cases_on", "seed_cases"]


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
