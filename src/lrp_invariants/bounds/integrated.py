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
from .balls import F64, Ball, Precision, add, mul, total
from .forward import enclose_forward, enclose_gradient


def _points(x0: Ball, delta: Ball, t: F64, p: Precision) -> Ball:
    """Balls of the path points ``x0 + t (x - x0)`` for each ``t``, covering their rounding."""
    mid = x0.mid[None, :] + t[:, None] * delta.mid[None, :]
    rad = x0.rad[None, :] + t[:, None] * delta.rad[None, :]
    rad = rad + 4 * p.u * (np.abs(x0.mid)[None, :] + np.abs(t[:, None] * delta.mid[None, :]))
    return Ball(mid, p.widen(rad + 2 * p.eta, 4))


def _absolute_chain(network: Network, chosen: int) -> F64:
    """``|W_0| |W_1| ... |W_L e_c|`` (d,): no gradient on any mask pattern exceeds it."""
    v = np.abs(network.layers[-1].W[:, chosen].astype(np.float64))
    for layer in reversed(network.layers[:-1]):
        v = np.abs(layer.W.astype(np.float64)) @ v
    return v * (1 + 4 * network.depth * Precision.of(np.float64).u)


def _window(z_at: Ball, sides: list[tuple[Ball, float]], t: float, p: Precision) -> float:
    """The measure of the window around breakpoint ``t`` (see the module's docstring) within
    [0, 1]: ``sides`` are the neighbouring midpoints' balls and positions (one at either end of
    the path, where a unit may cross just inside: a zero at an end is no breakpoint)."""
    lo, hi = z_at.bounds(p)
    near = (lo <= 0) & (hi >= 0)
    if not near.any():
        return 0.0
    rho = (np.abs(z_at.mid) + z_at.rad)[near]
    reach = []
    for z, s in sides:
        # how far the unit is from zero at the neighbouring midpoint, per unit of t (none
        # measurable where the midpoint is the breakpoint itself, two adjacent floats apart)
        away = np.maximum(np.abs(z.mid[near]) - z.rad[near], 0.0)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            per_t = away / abs(s - t) if s != t else np.zeros_like(away)
        reach.append(np.where(np.isnan(per_t), 0.0, per_t))
    slope = np.minimum.reduce(reach)
    moving = slope > 0
    widths = np.divide(rho, slope, out=np.full_like(rho, np.inf), where=moving)
    whole = 2 * sum(abs(s - t) for _, s in sides)  # the neighbouring segments, entirely
    return float(min(widths.max() * (1 + 8 * p.u) * len(sides), whole))


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
        windows = 0.0
        at_breaks = enclose_forward(network, _points(x0_i, delta_i, t, p), first_bias, p)
        for b in range(len(t)):
            for layer in range(network.depth - 1):
                sides = [
                    (at_middles.z[layer][k], float(middles[k]))
                    for k in (b - 1, b)
                    if 0 <= k < len(middles)
                ]
                windows += _window(at_breaks.z[layer][b], sides, float(t[b]), p)
        spread = windows * 2 * _absolute_chain(network, int(chosen[i]))
        result = mul(delta_i, Ball(weighted.mid, weighted.rad + spread), p)
        mids.append(result.mid)
        rads.append(result.rad)
    return Ball(np.array(mids), np.array(rads))
