"""The enclosure of exact integrated gradients (:mod:`lrp_invariants.integrated`).

A correct evaluation finds the breakpoints of the path from pre-activations it computed, so
each breakpoint may sit anywhere that a crossing unit's pre-activation is within its forward
ball of zero: a *window* around the computed breakpoint, of half-width ``ρ / |σ|`` for a unit
whose ball at the breakpoint has radius ``ρ`` and whose pre-activation moves at ``|σ|`` per unit
of ``t``. Inside a window the gradient may take any mask pattern, so it is bounded by the
chain of absolute values ``G = |W_0| |W_1| ... |w_L[c]|``, and two patterns differ by at most
``2G``; between windows the masks are those of the segment's midpoint, whose gradient is
enclosed like any gradient (a unit whose ball there holds 0 may take either branch). So

    IG ∈ (x - x0) ⊙ Σ_k L_k ∇f(p(s_k))  ±  |x - x0| ⊙ Σ_b 2 h_b 2G,

with the segment sum and the products rounded like any sum and product. The windows are first
order in the rounding: the slope ``σ`` is read from the pre-activations at the neighbouring
midpoints, where the unit is affine in ``t`` if no other breakpoint lies between. A unit with no
measurable slope there (it stays within its ball of zero) makes both neighbouring segments its
window.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..network import Network
from .balls import F64, RADIUS_ETA, Ball, Precision, add, bound_matmul, mul, total
from .forward import enclose_forward, enclose_gradient


def _points(x0: Ball, delta: Ball, t: F64, p: Precision) -> Ball:
    """Balls of the path points ``x0 + t (x - x0)`` for each ``t``, covering their rounding."""
    mid = x0.mid[None, :] + t[:, None] * delta.mid[None, :]
    rad = x0.rad[None, :] + t[:, None] * delta.rad[None, :]
    rad = rad + 4 * p.u * (np.abs(x0.mid)[None, :] + np.abs(t[:, None] * delta.mid[None, :]))
    return Ball(mid, p.widen(rad + 2 * p.eta, 4))


def absolute_chain(network: Network, chosen: int) -> F64:
    """``|W_0| |W_1| ... |W_L e_c|`` (d,): no gradient on any mask pattern exceeds it. Each
    layer's product is rounded up: a sum of ``k`` nonnegative products in float64 errs by at
    most γ_k relative (any order) and ``k`` half-subnormals of underflow, which may have taken
    an entry to 0; an entry stays 0 only where it is exactly 0 (no product of nonzeros)."""
    float64 = Precision.of(np.float64)
    v = np.abs(network.layers[-1].W[:, chosen].astype(np.float64))
    for layer in reversed(network.layers[:-1]):
        A = np.abs(layer.W.astype(np.float64))
        k = A.shape[1]
        nonzero = (A > 0).astype(np.float64) @ (v > 0).astype(np.float64) > 0
        with np.errstate(over="ignore"):  # an overflow is an unbounded entry
            up = bound_matmul(v, A.T) * (1 + 2 * float64.gamma(k + 2)) + (k + 2) * RADIUS_ETA
        v = np.where(nonzero, up, 0.0)
    return v


def _windows(z_at: Ball, z_mid: Ball, t: F64, middles: F64, p: Precision) -> float:
    """The total measure of the windows around every breakpoint ``t`` (K + 1,) for one layer's
    units, within [0, 1] (see the module's docstring): ``z_at`` are the balls of the units at
    the breakpoints, ``z_mid`` at the K midpoints. The path's ends get windows too (one-sided):
    a unit may cross just inside them, and a zero at an end is no breakpoint."""
    lo, hi = z_at.bounds(p)
    near = (lo <= 0) & (hi >= 0)
    if not near.any():
        return 0.0
    rho = np.abs(z_at.mid) + z_at.rad
    away = np.maximum(np.abs(z_mid.mid) - z_mid.rad, 0.0)  # (K, units)
    # per unit of t, from the midpoint on either side (none on the far side of an end, none
    # where a midpoint is its breakpoint, two adjacent floats apart)
    left_gap, right_gap = t[1:] - middles, middles - t[:-1]  # (K,) each
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        from_left = np.divide(
            away, left_gap[:, None], out=np.zeros_like(away), where=left_gap[:, None] > 0
        )
        from_right = np.divide(
            away, right_gap[:, None], out=np.zeros_like(away), where=right_gap[:, None] > 0
        )
    n = len(t)
    slope = np.full(rho.shape, np.inf)
    slope[1:] = np.minimum(slope[1:], np.nan_to_num(from_left, nan=0.0))  # midpoint b-1
    slope[:-1] = np.minimum(slope[:-1], np.nan_to_num(from_right, nan=0.0))  # midpoint b
    sides = np.full(n, 2.0)
    sides[[0, -1]] = 1.0
    with np.errstate(over="ignore"):  # a subnormal slope: the window is every segment near
        widths = np.divide(rho, slope, out=np.full_like(rho, np.inf), where=slope > 0)
    widths = np.where(near, widths, 0.0).max(axis=1) * (1 + 8 * p.u) * sides
    whole = np.zeros(n)  # the neighbouring segments, entirely
    whole[1:] += 2 * left_gap
    whole[:-1] += 2 * right_gap
    # rounded up: the gaps and their doubling (3 operations) and the sum of n terms
    return float(p.widen(np.minimum(widths, whole).sum(), n + 3))


@np.errstate(over="ignore", invalid="ignore")  # overflows are unbounded radii (see the end)
def enclose_integrated_gradients(
    network: Network,
    x: Ball,
    x0: Ball,
    breakpoints: list[F64],
    classes: ArrayLike,
    p: Precision,
    first_bias: Ball | None = None,
) -> Ball:
    """Enclose integrated gradients (n, d) from ``x0`` to ``x`` (balls of the exact ends),
    given each sample's computed ``breakpoints`` (:func:`lrp_invariants.integrated.paths`).
    ``first_bias`` replaces the first layer's bias by a ball (net2's compensated bias)."""
    chosen = np.asarray(classes, dtype=np.intp)
    delta = add(x, Ball(-x0.mid, x0.rad), p)
    mids, rads = [], []
    for i, t in enumerate(breakpoints):
        lengths = np.diff(t)
        middles = (t[:-1] + t[1:]) / 2
        x0_i, delta_i = x0[i], delta[i]
        at_middles = enclose_forward(network, _points(x0_i, delta_i, middles, p), first_bias, p)
        g = enclose_gradient(network, at_middles, np.full(len(middles), chosen[i]), p)
        # the segments' sum, weighted by their lengths, in any order
        weighted = total(mul(Ball.exact(lengths[:, None]), g, p), axis=0, p=p)
        at_breaks = enclose_forward(network, _points(x0_i, delta_i, t, p), first_bias, p)
        windows = [
            _windows(at_breaks.z[layer], at_middles.z[layer], t, middles, p)
            for layer in range(network.depth - 1)
        ]
        # their sum and the two products, rounded up
        spread = p.widen(
            sum(windows) * 2 * absolute_chain(network, int(chosen[i])), len(windows) + 2
        )
        result = mul(delta_i, Ball(weighted.mid, weighted.rad + spread), p)
        mids.append(result.mid)
        rads.append(result.rad)
    rad = np.array(rads)
    # a radius that overflowed (or met inf x 0) is a bound that says nothing, never an error
    return Ball(np.array(mids), np.where(np.isnan(rad), np.inf, rad))


@np.errstate(over="ignore", invalid="ignore")  # overflows are unbounded radii (see the end)
def enclose_quadrature(
    network: Network,
    x: Ball,
    x0: Ball,
    nodes: F64,
    weights: F64,
    classes: ArrayLike,
    p: Precision,
    first_bias: Ball | None = None,
) -> Ball:
    """Enclose a quadrature of integrated gradients (n, d), ``(x - x0) ⊙ Σ_k w_k ∇f(p(α_k))``
    with the rule's ``nodes`` α and ``weights`` w (float64, as given), from ``x0`` to ``x``.

    Not the integral: the formula, as code evaluates it. Each node, its weight and the point
    ``x0 + α (x - x0)`` may be rounded to the arithmetic's precision (one relative ``u`` each,
    covered by the point's ball); the gradient at a point whose ball meets a kink takes either
    branch (:func:`~lrp_invariants.bounds.forward.enclose_gradient`); the weighted sum in any
    order, the product with ``x - x0`` before or after it (``K`` more roundings that may
    underflow: ``2 K η``)."""
    chosen = np.asarray(classes, dtype=np.intp)
    delta = add(x, Ball(-x0.mid, x0.rad), p)
    n, d = x.mid.shape
    K = len(nodes)
    points = [_points(x0[i], delta[i], np.asarray(nodes, dtype=np.float64), p) for i in range(n)]
    stacked = Ball(np.concatenate([b.mid for b in points]), np.concatenate([b.rad for b in points]))
    at_nodes = enclose_forward(network, stacked, first_bias, p)
    g = enclose_gradient(network, at_nodes, np.repeat(chosen, K), p)
    w = np.asarray(weights, dtype=np.float64)
    w_ball = Ball(np.tile(w, n)[:, None], np.tile(p.u * np.abs(w), n)[:, None])
    weighted = mul(w_ball, g, p)
    summed = total(Ball(weighted.mid.reshape(n, K, d), weighted.rad.reshape(n, K, d)), axis=1, p=p)
    result = mul(delta, summed, p)
    rad = result.rad + 2 * K * p.eta
    return Ball(result.mid, np.where(np.isnan(rad), np.inf, rad))
