"""Enclosures of learned patterns and of PatternNet / PatternAttribution
(:mod:`lrp_invariants.patterns`).

**Which samples a unit learns from.** Before a ReLU a pattern averages over the samples where
the unit is active. A sample whose pre-activation ball lies above 0 is active in every correct
evaluation, one at or below 0 in none; one whose ball straddles 0 may be either, and one sample
more or less moves every mean: that unit's pattern is not determined by the data to within
rounding, and its ball is unbounded.

**Covariances, evaluated in any of the usual ways.** Over the ``k`` active samples,
``cov = mean(x̃ ỹ)`` with ``x̃ = x - mean(x)``. Code computes it centred (two passes), from raw
moments ``mean(x y) - mean(x) mean(y)``, or centred about another constant (this package's
core); every sum in any order. Each errs by at most ``γ_{2k+8}`` times

    ``T = mean|x y| + 3 mean|x| mean|y| + 2 mean|y| mean_all|x|``

(raw moments: ``γ_{2k+3} (mean|xy| + mean|x| mean|y|)``; centred: the centred products are at
most ``|x||y| + |x| mean|y| + mean|x| |y| + mean|x| mean|y|`` and each centring errs by
``γ_k mean``; the last term is a centre taken over all ``N`` samples), with ``N`` for ``k``
here, plus ``η`` per rounded product. The centre of the ball is one such evaluation and the code
under test another: twice that. The data themselves are balls (the forward pass on the data):
moving ``x`` by at most ``r_x`` moves ``x̃`` by at most ``r_x + mean(r_x)``, and
``|Δ(x̃ ỹ)| <= |x̃| |Δỹ| + |Δx̃| |ỹ| + |Δx̃| |Δỹ|`` bounds the covariance's move. A unit active
on at most one sample, or whose pre-activation is exactly 0 on every sample it learns from, has
the covariance 0 exactly in every evaluation (any other constant need not be: the mean of
three copies of ``b`` is not always ``b`` in floating point, and the pattern of a unit that does
not vary is then whatever the rounding makes it).

**The denominator** ``wᵀ cov`` equals ``var(y)`` in exact arithmetic; code computes either, so
the ball is the hull of both balls. Where it may be 0 without being exactly 0, the pattern is
unbounded (:func:`~lrp_invariants.bounds.balls.divide`); exactly 0 gives the pattern 0.

**The backward chain** is the gradient's, with ball matrices. A pattern the data leave
undetermined (unbounded ball) is taken as some finite number, as code computes it: a closed gate
or an unchosen class still passes exactly 0 through it. (Code whose pattern overflowed there
would return NaN; that needs an exact pattern beyond the float range, a covariance over a
variance of ~1e-308, which drawn cases do not reach.) Its underflow, in any association, is at
most ``η · width · K²`` times the chain of ``|M| + [M != 0]`` (each intermediate's entries sum
at most ``width`` products that each lose at most ``η``, and meet at most the rest of that
padded chain on the way out).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..network import Network
from .balls import F64, Ball, Precision, bounded, divide, hull, monotone, times
from .forward import ForwardBalls, class_selector, relu_step


def enclose_layer_patterns(W: ArrayLike, x: Ball, y: Ball, linear: bool, p: Precision) -> Ball:
    """A ball around one layer's patterns (in, out) learned from data whose layer inputs lie
    in ``x`` (N, in) and pre-activations in ``y`` (N, out); ``linear``: every sample counts
    (the output layer), else the active ones (see the module's docstring)."""
    W64 = np.asarray(W, dtype=np.float64)
    N = x.mid.shape[0]
    lo, hi = y.bounds(p)
    active: np.ndarray = np.ones(lo.shape, dtype=bool) if linear else lo > 0
    ambiguous: np.ndarray = np.zeros(lo.shape[1], dtype=bool)
    if not linear:
        ambiguous = np.asarray(((lo <= 0) & (hi > 0)).any(axis=0))
    S = active.astype(np.float64)
    count = S.sum(axis=0)
    k = np.where(count > 0, count, 1.0)[:, None]  # (out, 1)
    ax, ay = x.upper, y.upper
    with np.errstate(over="ignore", invalid="ignore"):
        centred = x.mid - x.mid.mean(axis=0)
        y_mean = (S * y.mid).sum(axis=0) / k[:, 0]
        deviation = S * (y.mid - y_mean)
        cov_mid = deviation.T @ centred / k  # (out, in)
        var_mid = (deviation**2).sum(axis=0) / k[:, 0]
        # magnitudes over the active samples (out, in) and (out,)
        mxy = (S * ay).T @ ax / k
        mx = S.T @ ax / k
        my = (S * ay).sum(axis=0) / k[:, 0]
        myy = (S * ay**2).sum(axis=0) / k[:, 0]
        T = mxy + 3 * mx * my[:, None] + 2 * my[:, None] * ax.mean(axis=0)[None, :]
        T_y = myy + 3 * my**2 + 2 * my * ay.mean(axis=0)
        g = 2 * p.gamma(2 * N + 8)
        slack = 2 * (2 * N + 8) * p.eta
        # moving the data within its balls
        rx, ry = x.rad, y.rad
        mrx = S.T @ rx / k
        mry = (S * ry).sum(axis=0) / k[:, 0]
        moved = (
            (S * ry).T @ ax / k
            + 3 * mx * mry[:, None]
            + (S * ay).T @ rx / k
            + 3 * mrx * my[:, None]
            + (S * ry).T @ rx / k
            + 3 * mrx * mry[:, None]
        )
        moved_var = 2 * ((S * ay * ry).sum(axis=0) / k[:, 0] + 3 * my * mry) + (
            (S * ry**2).sum(axis=0) / k[:, 0] + 3 * mry**2
        )
        cov = Ball(cov_mid, p.widen(moved + g * T + slack, 8))
        direct = Ball(var_mid, p.widen(moved_var + g * T_y + slack, 8))
        # wᵀ cov, one sum of `in` products per unit
        absW = np.abs(W64).T  # (out, in)
        through_w = Ball(
            np.einsum("ji,ij->j", cov_mid, W64),
            p.widen(
                (absW * cov.rad).sum(axis=1)
                + 2 * p.gamma(W64.shape[0]) * (absW * cov.upper).sum(axis=1)
                + W64.shape[0] * p.eta,
                4,
            ),
        )
    variance = hull(direct, through_w, p)
    # no variation to learn from, 0 in every evaluation: at most one sample, or every y of
    # the unit exactly 0 (sums of zeros are exact in any order)
    zero = ~((S > 0) & ((y.mid != 0) | (y.rad != 0))).any(axis=0)
    few = (count <= 1) | zero
    cov = Ball(np.where(few[:, None], 0.0, cov.mid), np.where(few[:, None], 0.0, cov.rad))
    variance = Ball(np.where(few, 0.0, variance.mid), np.where(few, 0.0, variance.rad))
    with np.errstate(over="ignore", invalid="ignore"):
        A = bounded(divide(cov, Ball(variance.mid[:, None], variance.rad[:, None]), p))
    unknown = ambiguous[:, None] | np.isnan(A.rad)
    return Ball(np.where(unknown, 0.0, A.mid).T, np.where(unknown, np.inf, A.rad).T)


def enclose_patterns(network: Network, data: ForwardBalls, p: Precision) -> tuple[Ball, ...]:
    """Every layer's pattern ball (in, out), from the balls of the forward pass on the data."""
    return tuple(
        enclose_layer_patterns(layer.W, data.a[i], data.z[i], i == network.depth - 1, p)
        for i, layer in enumerate(network.layers)
    )


def attribution_matrices(network: Network, patterns: Sequence[Ball], p: Precision) -> list[Ball]:
    """``W ⊙ A`` per layer (one rounding per entry); unbounded where ``A`` is."""
    result = []
    for layer, A in zip(network.layers, patterns, strict=True):
        W = layer.W.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            mid = W * A.mid
            rad = np.abs(W) * A.rad
            rad = rad + 2 * p.u * (np.abs(mid) + rad) + 2 * p.eta * (W != 0)
        unbounded = np.isinf(A.rad) | ~np.isfinite(rad)
        result.append(
            Ball(np.where(unbounded, 0.0, mid), np.where(unbounded, np.inf, p.widen(rad, 4)))
        )
    return result


def _product(x: F64, M: F64) -> F64:
    """``x @ M`` for nonnegative bounds, either of which may be inf, with ``0 * inf`` = 0."""
    x_inf, M_inf = np.isinf(x), np.isinf(M)
    with np.errstate(over="ignore"):
        finite = np.where(x_inf, 0.0, x) @ np.where(M_inf, 0.0, M)
    reached = x_inf.astype(np.float64) @ (M > 0) + (x > 0).astype(np.float64) @ M_inf
    return np.where(reached > 0, np.inf, finite)


def _poisoned(rad: F64) -> F64:
    """NaN (``inf - inf`` or an overflow) in a radius is an unbounded one: inf."""
    return np.where(np.isnan(rad), np.inf, rad)


def enclose_pattern_chain(
    network: Network,
    matrices: Sequence[Ball],
    forward: ForwardBalls,
    classes: ArrayLike,
    p: Precision,
) -> Ball:
    """Enclose ``y_c · M_0 D_1 M_1 ... D_L M_L e_c`` (n, d) at the input of ``forward``, the
    ``D`` the ReLU gates there, in any association (see the module's docstring)."""
    chosen = np.asarray(classes, dtype=np.intp)
    rows = np.arange(chosen.shape[0])
    selector = class_selector(chosen, forward.z[-1].mid.shape)
    logit = forward.z[-1][rows, chosen]
    g = Ball(selector * logit.mid[:, None], selector * logit.rad[:, None])
    padded = selector * (logit.upper[:, None] + 1)
    for i in range(network.depth - 1, -1, -1):
        M = matrices[i]
        width = M.mid.shape[1]
        with np.errstate(invalid="ignore", over="ignore"):
            mid = g.mid @ M.mid.T
            # ``0 * inf`` is 0 in these bounds: a factor that is exactly 0 passes nothing
            upper = M.upper.T
            rad = (
                _product(np.abs(g.mid), M.rad.T)
                + _product(g.rad, np.abs(M.mid).T)
                + _product(g.rad, M.rad.T)
                + 2 * p.gamma(width) * _product(g.upper, upper)
            )
            padded = _product(padded, upper + (upper > 0)).astype(np.float64)
        g = Ball(mid, p.widen(_poisoned(rad), width))
        if i > 0:
            gate = monotone(relu_step, forward.z[i - 1], p, 0)
            rad = times(np.abs(g.mid), gate.rad) + times(g.rad, gate.upper)
            padded = times(padded, gate.upper).astype(np.float64)
            g = Ball(g.mid * gate.mid, _poisoned(rad))
    K = network.depth + 1
    width = float(max(network.widths))
    with np.errstate(invalid="ignore", over="ignore"):
        underflow = p.eta * width * K * K * padded
    return bounded(Ball(g.mid, g.rad + underflow))


def enclose_pattern_method(
    method: str,
    network: Network,
    forward: ForwardBalls,
    data: ForwardBalls,
    classes: ArrayLike,
    p: Precision,
) -> Ball:
    """The ball of ``pattern-net`` or ``pattern-attribution`` (n, d) at the input of
    ``forward``, with patterns learned from the data of ``data``."""
    patterns = enclose_patterns(network, data, p)
    if method == "pattern-net":
        matrices = list(patterns)
    elif method == "pattern-attribution":
        matrices = attribution_matrices(network, patterns, p)
    else:
        raise ValueError(f"no pattern enclosure for {method!r}")
    return enclose_pattern_chain(network, matrices, forward, classes, p)
