"""Ball arithmetic: midpoint-radius intervals that enclose every correct floating-point result.

A :class:`Ball` ``(mid, rad)`` encloses a quantity's exact value and every value a correct
floating-point evaluation of it can produce (the model is explained once, in
:mod:`lrp_invariants.bounds`). The operations here (``affine``, ``add``, ``mul``, ``total``,
``monotone``, ``fraction``, ``divide``, ...) each return a ball for their result under that model;
they know nothing of networks or rules. The arithmetic they bound is a :class:`Precision`
(:mod:`.precision`, re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

# re-exported: the rules and the other enclosures import them from here
from .precision import F64 as F64
from .precision import RADIUS_ETA as RADIUS_ETA
from .precision import RADIUS_U as RADIUS_U
from .precision import Precision as Precision


@dataclass(frozen=True, eq=False)
class Ball:
    """``mid ± rad``: encloses a quantity's exact value and every correct evaluation of it."""

    mid: F64
    rad: F64

    @classmethod
    def exact(cls, value: ArrayLike) -> Ball:
        mid = np.asarray(value, dtype=np.float64)
        return cls(mid, np.zeros_like(mid))

    @property
    def upper(self) -> F64:
        """An upper bound of the magnitude: ``|mid| + rad``."""
        return np.abs(self.mid) + self.rad

    def bounds(self, p: Precision) -> tuple[F64, F64]:
        """Lower and upper ends, rounded outward (exact where the radius is zero)."""
        slack = np.where(
            self.rad > 0, self.rad + 2 * p.u * (np.abs(self.mid) + self.rad) + p.eta, 0
        )
        return self.mid - slack, self.mid + slack

    def __getitem__(self, index: Any) -> Ball:
        return Ball(self.mid[index], self.rad[index])


def bounded(ball: Ball) -> Ball:
    """``ball``, or where its centre overflowed (a quotient by a tiny denominator, a square
    beyond the float range) the ball that says nothing: centre 0, radius inf."""
    bad = ~np.isfinite(ball.mid)
    if not np.any(bad):
        return ball
    return Ball(np.where(bad, 0.0, ball.mid), np.where(bad, np.inf, ball.rad))


def hull(a: Ball, b: Ball, p: Precision) -> Ball:
    """The smallest ball around both (each encloses the same exact value, and between them
    every evaluation either covers): exact where both are the same exact number."""
    a_lo, a_hi = a.bounds(p)
    b_lo, b_hi = b.bounds(p)
    lo, hi = np.minimum(a_lo, b_lo), np.maximum(a_hi, b_hi)
    exact = (a.rad == 0) & (b.rad == 0) & (a.mid == b.mid)
    with np.errstate(over="ignore", invalid="ignore"):
        mid, rad = (lo + hi) / 2, (hi - lo) / 2
    unbounded = ~np.isfinite(mid) | ~np.isfinite(rad)
    return Ball(
        np.where(exact, a.mid, np.where(unbounded, a.mid, mid)),
        np.where(exact, 0.0, np.where(unbounded, np.inf, rad * (1 + 2 * p.u))),
    )


def times(x: F64, y: F64) -> F64:
    """``x * y`` for nonnegative bounds, where ``0 * inf`` is 0: a factor known to be exactly
    zero bounds the product by zero, however loose the other factor is."""
    with np.errstate(invalid="ignore", over="ignore"):
        product = x * y
    return np.where(np.isnan(product), 0.0, product)


def bound_matmul(x: F64, M: F64) -> F64:
    """``x @ M`` for nonnegative bounds, with ``0 * inf`` taken as 0 (see :func:`times`)."""
    infinite = np.isinf(x)
    with np.errstate(over="ignore"):
        if not infinite.any():
            return x @ M
        finite = np.where(infinite, 0.0, x) @ M
    reached = infinite.astype(np.float64) @ (M > 0).astype(np.float64)
    return np.where(reached > 0, np.inf, finite)


def underflow_slack(magnitudes: F64, W_mask: F64, p: Precision) -> F64:
    """η for every product that is not exactly zero (each may underflow once)."""
    return p.eta * ((magnitudes > 0).astype(np.float64) @ W_mask)


def affine(a: Ball, W: F64, bias: Ball | None, p: Precision, constant: F64 | None = None) -> Ball:
    """``a @ W + constant @ W + bias`` as one sum of ``K`` terms per output, in any order."""
    absW = np.abs(W)
    nonzero = (absW > 0).astype(np.float64)
    mid = a.mid @ W
    terms = bound_matmul(a.upper, absW)
    rad = bound_matmul(a.rad, absW)
    slack = underflow_slack(a.upper, nonzero, p)
    if p.flush:  # subnormal weights read as 0
        slack = slack + bound_matmul(a.upper, p.flushed(W))
    k = W.shape[0]
    if constant is not None:
        mid = mid + constant @ W
        terms = terms + np.abs(constant) @ absW
        slack = slack + underflow_slack(np.abs(constant), nonzero, p)
        if p.flush:
            slack = slack + p.flushed(constant) @ absW + np.abs(constant) @ p.flushed(W)
        k += W.shape[0]
    if bias is not None:
        mid = mid + bias.mid
        terms = terms + bias.upper
        rad = rad + bias.rad
        k += 1
    if p.flush:  # every partial sum below tiny may be flushed too
        slack = slack + k * p.eta
    rad = rad + 2 * p.gamma(k) * terms + slack
    return Ball(mid, p.widen(rad, k))


def add(a: Ball, b: Ball, p: Precision) -> Ball:
    mid = a.mid + b.mid
    with np.errstate(over="ignore"):  # an infinite radius stays infinite: no bound
        rad = a.rad + b.rad + p.eta * p.flush
        rad = rad + 2 * p.u * (np.abs(mid) + rad)
    return Ball(mid, p.widen(rad, 4))


def mul(a: Ball, b: Ball, p: Precision) -> Ball:
    """``a * b``. A product of two nonzero factors may underflow, even to zero: such a zero is
    not exact, so the underflow slack goes wherever neither factor is known to be zero."""
    mid = a.mid * b.mid
    with np.errstate(over="ignore"):  # an unbounded (inf) radius is a bound that says nothing
        spread = times(np.abs(a.mid), b.rad) + times(np.abs(b.mid), a.rad) + times(a.rad, b.rad)
        magnitude = np.abs(mid) + spread
        may_underflow = (a.upper > 0) & (b.upper > 0)
        rad = spread + 2 * p.u * magnitude + 2 * p.eta * may_underflow
    return Ball(mid, p.widen(rad, 6))


def scale(a: Ball, factor: float, p: Precision) -> Ball:
    return mul(a, Ball.exact(factor), p)


def _clip(a: Ball, low: float, high: float, p: Precision) -> Ball:
    """``min(max(a, low), high)``: exact and monotone, so the clipped ends bound it."""
    lo, hi = a.bounds(p)
    mid = np.clip(a.mid, low, high)
    rad = np.maximum(np.abs(np.clip(hi, low, high) - mid), np.abs(np.clip(lo, low, high) - mid))
    return Ball(mid, rad)


def relu(a: Ball, p: Precision) -> Ball:
    """ReLU: exactly 0 where every value in the ball is <= 0, the ball itself where all are >= 0."""
    return _clip(a, 0.0, np.inf, p)


def negative_part(a: Ball, p: Precision) -> Ball:
    return _clip(a, -np.inf, 0.0, p)


def total(a: Ball, axis: int, p: Precision) -> Ball:
    """The sum of the terms along ``axis``, in any order."""
    k = a.mid.shape[axis]
    rad = a.rad.sum(axis=axis) + 2 * p.gamma(k) * a.upper.sum(axis=axis) + k * p.eta * p.flush
    return Ball(a.mid.sum(axis=axis), p.widen(rad, k))


def monotone(f: Callable[[F64], F64], x: Ball, p: Precision, ops: int) -> Ball:
    """``f(x)`` for a monotone ``f`` (either direction) evaluated with at most ``ops`` roundings.

    A monotone function takes its extremes over an interval at the interval's ends. Each
    rounding errs by a factor ``1 ± u`` or, below the smallest normal number, by ``η``; ``f``
    must divide before it multiplies, so that no division amplifies such an ``η``.
    """
    lo, hi = x.bounds(p)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        f_lo, f_hi, mid = f(lo), f(hi), f(x.mid)
        largest = np.maximum(np.abs(f_lo), np.abs(f_hi))
        rad = (
            np.maximum(np.abs(f_hi - mid), np.abs(f_lo - mid))
            + 2 * p.gamma(ops) * largest
            + 2 * ops * p.eta * (largest > 0)
        )
    # an unbounded end (an infinite radius) can leave f undefined there: say nothing
    return Ball(mid, p.widen(np.where(np.isnan(rad), np.inf, rad), ops))


def magnitude(x: Ball, p: Precision) -> Ball:
    """``|x|``: exact, 1-Lipschitz."""
    lo, hi = x.bounds(p)
    low = np.where((lo <= 0) & (hi >= 0), 0, np.minimum(np.abs(lo), np.abs(hi)))
    high = np.maximum(np.abs(lo), np.abs(hi))
    mid = np.abs(x.mid)
    return Ball(mid, np.maximum(high - mid, mid - low))


def fraction(part: Ball, rest: Ball, p: Precision) -> Ball:
    """``part / (part + rest)`` for nonnegative ``part`` and ``rest``, with 0/0 -> 0.

    Increasing in ``part`` and decreasing in ``rest``, so the corners bound it; it lies in
    [0, 1] however small the denominator, which keeps sign-split rules well-conditioned.
    """
    p_lo, p_hi = part.bounds(p)
    r_lo, r_hi = rest.bounds(p)
    p_lo, r_lo = np.maximum(p_lo, 0), np.maximum(r_lo, 0)
    with np.errstate(invalid="ignore"):
        lo = np.where(np.isinf(r_hi), 0.0, ratio_or_zero(p_lo, p_lo + r_hi))
        hi = np.where(p_hi > 0, np.where(np.isinf(p_hi), 1.0, ratio_or_zero(p_hi, p_hi + r_lo)), 0)
    mid = np.clip(ratio_or_zero(part.mid, part.mid + rest.mid), 0, 1)
    # the quotient may round in the subnormal range, and so may its bounds computed here: η
    # wherever the part can be nonzero (0 only when nothing is divided)
    rad = np.maximum(hi - mid, mid - lo) + 4 * p.u * hi + p.eta * (p_hi > 0)
    return Ball(mid, p.widen(rad, 4))


def ratio_or_zero(numerator: F64, denominator: F64) -> F64:
    """``numerator / denominator``, 0 where the denominator is 0; a quotient beyond the float
    range is inf (the bound it feeds becomes vacuous, never wrong)."""
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape))
    with np.errstate(over="ignore"):
        np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def divide(numerator: Ball, denominator: Ball, p: Precision) -> Ball:
    """``numerator / denominator`` with 0 where the denominator is exactly 0; unbounded if it
    may be zero without being exactly zero (only reached when no structure says better)."""
    d_lo, d_hi = denominator.bounds(p)
    straddles = (d_lo <= 0) & (d_hi >= 0) & ~((denominator.mid == 0) & (denominator.rad == 0))
    safe = np.where(straddles, 1.0, np.minimum(np.abs(d_lo), np.abs(d_hi)))
    mid = ratio_or_zero(numerator.mid, denominator.mid)
    # |n/d - n0/d0| <= (|n - n0| + |n0/d0| |d - d0|) / min|d|
    spread = ratio_or_zero(numerator.rad + times(np.abs(mid), denominator.rad), safe)
    # the quotient of a nonzero numerator may underflow, here as in the code under test (a
    # denominator that is exactly 0 passes nothing: exactly 0)
    divided = (numerator.upper > 0) & ~((denominator.mid == 0) & (denominator.rad == 0))
    rad = spread + 2 * p.u * (np.abs(mid) + spread) + p.eta * divided
    rad = np.where(straddles, np.inf, rad)
    return Ball(mid, p.widen(rad, 6))


# --------------------------------------------------------------------------------------------
# Underflow in a product whose association is not known.
#
# Code under test may evaluate a product such as ``a_i w_ij R_j / d_j`` in any association:
# shares first ``((a w) / d) R``, relevance first ``a (w (R / d))``, ``(a w R) / d``, a reciprocal
# ``1 / d`` first, ... Each operation whose exact result lies below the smallest normal number
# rounds with an absolute error up to ``η / 2``, and that error is multiplied by every factor
# applied later. So for every *intermediate* (a subset of the factors whose product some
# association computes: two or more factors, or a reciprocal computed alone) the final result can
# be off by ``η / 2`` times the product of the other factors; summed over all subsets this is at
# most ``η Π_f (|f| + [f != 0])``, one product instead of one per subset (the extra subsets it
# counts only add multiples of ``η``). An intermediate of factors that are all exactly zero
# somewhere contributes nothing there, and one whose magnitude cannot fall below the smallest
# normal number contributes nothing at all. Independently of all that, a rounding never more than
# doubles a magnitude (0 is representable), so a product ``P`` of ``k`` factors comes out within
# ``(2**(k-1) + 1) |P|`` of itself whatever underflows: where the other factors are unbounded (a
# denominator that may be zero) the bound stays that of the term itself.


@dataclass(frozen=True, eq=False)
class Factor:
    """One factor of a product of unknown association: bounds on its magnitude.

    ``upper`` bounds ``|f|`` elementwise (``inf`` where unbounded); ``smallest`` bounds ``|f|``
    from below wherever ``f`` may be nonzero (0 when nothing better is known); ``computed`` marks
    a factor that is itself the result of an operation, such as a reciprocal ``1 / d``.
    """

    upper: F64
    smallest: float
    computed: bool = False

    @classmethod
    def exact(cls, values: ArrayLike) -> Factor:
        magnitude = np.abs(np.asarray(values, dtype=np.float64))
        nonzero = magnitude[magnitude > 0]
        return cls(magnitude, float(nonzero.min()) if nonzero.size else np.inf)

    @classmethod
    def of(cls, ball: Ball, p: Precision, grain: float = 0.0) -> Factor:
        """A ball's magnitude; a computed value that is nonzero is also at least its ``grain``
        (:meth:`Precision.grain`) however close to zero the ball reaches."""
        lo, hi = ball.bounds(p)
        lower = np.where((lo > 0) | (hi < 0), np.minimum(np.abs(lo), np.abs(hi)), 0.0)
        live = ball.upper > 0
        smallest = float(lower[live].min()) if np.any(live) else np.inf
        return cls(ball.upper, max(smallest, grain))

    @classmethod
    def reciprocal(cls, lower: F64, upper: F64) -> Factor:
        """``1 / d`` for ``lower <= |d| <= upper`` (a zero ``lower`` leaves it unbounded)."""
        with np.errstate(divide="ignore", over="ignore"):
            bound = np.where(lower > 0, 1.0 / np.where(lower > 0, lower, 1.0), np.inf)
        largest = float(np.max(upper, initial=0.0))
        return cls(bound, 1.0 / largest if largest > 0 else np.inf, computed=True)


def association_slack(
    factors: Sequence[Factor],
    combine: Callable[[Sequence[F64]], F64],
    p: Precision,
    magnitude: F64 | None = None,
) -> tuple[F64, F64]:
    """How far underflow can move ``combine(factors)`` in any association of each product.

    ``combine`` maps one array per factor to the quantity being bounded (a product, or a sum of
    products such as ``a ⊙ ((R ⊙ inv) @ Wᵀ)``); it must be a sum of products of its arguments,
    with nonnegative coefficients. ``magnitude`` bounds ``combine`` of the exact factors where
    structure knows better than the product of their bounds (a share ``z_ij / z_j`` lies in
    [0, 1] even where ``1 / z_j`` is unbounded); by default it is ``combine`` of the bounds.
    Returns the bound and its first part (``η`` times the other factors, summed), which a caller
    that divides the result later needs.
    """
    k = len(factors)
    if magnitude is None:
        magnitude = combine([f.upper for f in factors])
    # the product of the bounds may itself underflow here: η per operation of every term that
    # can be nonzero keeps the cap an upper bound
    live = combine([(f.upper > 0).astype(np.float64) for f in factors])
    threshold = p.tiny * (1 + 2 * p.gamma(k))
    if not any(
        _may_underflow([factors[i] for i in chosen], threshold)
        for size in range(1, k + 1)
        for chosen in combinations(range(k), size)
        if size > 1 or factors[chosen[0]].computed or p.flush  # flushing reads operands too
    ):
        zero = np.zeros_like(magnitude)
        return zero, zero
    with np.errstate(invalid="ignore", over="ignore"):
        spread = p.eta * (1 + 2 * p.gamma(k)) * combine([f.upper + (f.upper > 0) for f in factors])
    spread = np.where(np.isnan(spread), np.inf, spread)
    cap = cap_factor(k, p) * magnitude + 2 * k * p.eta * live
    return np.minimum(spread, cap), spread


def _may_underflow(chosen: Sequence[Factor], threshold: float) -> bool:
    smallest = [f.smallest for f in chosen]
    if math.inf in smallest:
        return False  # one of its factors is zero everywhere: so is the intermediate
    with np.errstate(over="ignore"):
        return bool(float(np.prod(smallest)) < threshold)


def cap_factor(k: int, p: Precision) -> float:
    """How far, in multiples of its own magnitude, underflow can move a product of ``k``
    factors: each of its ``k - 1`` roundings at most doubles a magnitude."""
    return (2.0 ** (k - 1) + 1) * (1 + 2 * p.gamma(k))


def product_of(parts: Sequence[F64]) -> F64:
    """``combine`` for a plain elementwise product (no sum)."""
    result: F64 = np.asarray(parts[0], dtype=np.float64)
    for part in parts[1:]:
        result = times(result, part)
    return result
