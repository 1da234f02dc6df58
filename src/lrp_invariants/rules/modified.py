"""What the rules with modified contributions share: γ, z^B, w² and flat (and the overflow repair
of LRP-0 and ε).

Such a rule replaces each contribution ``z_ij`` by a modified one ``ρ_ij`` (``z_ij + γ z_ij⁺``,
``(a_i - l_i) w⁺_ij + (a_i - h_i) w⁻_ij``, ...) and gives every source its share of the modified
sum, stabilised as LRP-ε is:

    R_i = Σ_j ρ_ij s_j,   s_j = R_j / (D_j + ε sign D_j),   D_j = Σ_i ρ_ij

The bias is the source ``ρ_bj`` (its relevance ``Rb``), the stabiliser absorbs ``ε sign(D_j) s_j``
(``Rs``), and a zero denominator (only possible with ε = 0) passes nothing: its ``R_j`` goes to
``Rs`` (0/0 -> 0). The identity ``R_j = Σ_i ρ_ij s_j + ρ_bj s_j + Rs_j`` holds for any ρ, which is
why conservation needs nothing of the modification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..bounds.balls import (
    F64,
    Ball,
    Factor,
    Precision,
    add,
    bounded,
    divide,
    magnitude,
    monotone,
    mul,
    scale,
    times,
    total,
)
from ..bounds.relevance import (
    Enclosed,
    LayerBalls,
    LayerInput,
    product_underflow,
    underflow_mass,
)
from ..network import Array, LayerTrace, Linear

if TYPE_CHECKING:
    from .base import Rule
from .base import (
    LayerRelevance,
    divide_or_zero,
    lost_where,
    share_or_zero,
    signed_stabiliser,
    stabiliser,
)


def stabilised_shares(
    R: Array, D: Array, epsilon: float, passes: NDArray[np.bool_] | None = None
) -> tuple[Array, Array]:
    """``s = R / (D + ε sign D)`` and what no source receives, ``ε sign(D) s`` plus every ``R_j``
    whose denominator is 0 or that ``passes`` (n, out) excludes."""
    R_passed = R if passes is None else np.where(passes, R, R.dtype.type(0))
    s: Array
    Rs: Array
    if epsilon:
        absorbed = stabiliser(D, epsilon)
        s = R_passed / (D + absorbed)
        Rs = absorbed * s
    else:
        s, zero = divide_or_zero(R_passed, D)
        Rs = lost_where(R_passed, zero)
    if passes is not None:
        Rs = Rs + np.where(passes, R.dtype.type(0), R)
    return s, Rs


def modified_shares(
    rho: Array, epsilon: float, passes: NDArray[np.bool_] | None = None
) -> tuple[Array, Array]:
    """The literal form: each source's fraction ``ρ_ij / (D_j + ε sign D_j)`` of ``R_j``
    (n, S, out), and the fraction no source receives (n, out)."""
    D = rho.sum(axis=1)
    absorbed = signed_stabiliser(D, epsilon)
    stabilised = D + absorbed
    share = share_or_zero(rho, stabilised)
    kept = np.where(stabilised == 0, 1.0, share_or_zero(absorbed[:, None, :], stabilised)[:, 0])
    if passes is not None:
        share = np.where(passes[:, None, :], share, 0)
        kept = np.where(passes, kept, 1.0)
    return share, kept.astype(rho.dtype)


def split_relevance(
    layer: Linear, R_out: Array, per_source: Array, Rb: Array, Rs: Array
) -> LayerRelevance:
    """Sort the (n, S) relevance of :func:`~lrp_invariants.rules.base.contributions`' sources
    into inputs and the constant input."""
    n_in = layer.n_in
    Rm = None if layer.constant is None else per_source[:, n_in : 2 * n_in]
    return LayerRelevance(R_out=R_out, R=per_source[:, :n_in], Rb=Rb, Rs=Rs, Rm=Rm)


def repaired(
    rule: Rule, layer: Linear, forward: LayerTrace, R: Array, fast: Callable[[], LayerRelevance]
) -> LayerRelevance:
    """Run the fast form, and recompute share first, from the rule's literal form, every sample
    where it overflowed: ``R_j / D_j`` exceeds the float range when a denominator is far
    smaller than the relevance it divides, while each share ``ρ_ij / D_j`` stays moderate."""
    with np.errstate(over="ignore", invalid="ignore"):
        result = fast()
    bad = result.may_be_unbounded()  # a finite row whose sum overflows is merely recomputed
    if not np.any(bad) or not np.all(np.isfinite(R[bad])):
        return result
    rows = np.flatnonzero(bad)
    with np.errstate(over="ignore", invalid="ignore"):
        share, kept = rule.shares(layer, forward.a[rows], forward.z[rows])
        per_source = np.einsum("nsj,nj->ns", share, R[rows])
    n_in = layer.n_in
    R_in, Rb, Rs = result.R.copy(), result.Rb.copy(), result.Rs.copy()
    R_in[rows] = per_source[:, :n_in]
    Rb[rows] = share[:, -1, :] * R[rows]
    Rs[rows] = kept * R[rows]
    Rm = None
    if result.Rm is not None:
        Rm = result.Rm.copy()
        Rm[rows] = per_source[:, n_in : 2 * n_in]
    return LayerRelevance(R_out=R, R=R_in, Rb=Rb, Rs=Rs, Rm=Rm)


# --------------------------------------------------------------------------------------------
# The enclosure.


def source_factors(layer: LayerInput, values: Ball | None = None) -> tuple[Factor, Factor]:
    """The two factors of each term ``v_i w_ij`` (n, S, out) for the underflow slack: the
    source's value (``values`` (n, in, out) in place of the inputs where a rule changes them)
    and its weight, the bias being the weight of a source 1."""
    p, a, c, W, bias = layer.p, layer.a, layer.c, layer.W, layer.bias
    n, n_out = a.mid.shape[0], W.shape[1]
    if values is None:
        values = Ball(
            np.broadcast_to(a.mid[:, :, None], (n, W.shape[0], n_out)),
            np.broadcast_to(a.rad[:, :, None], (n, W.shape[0], n_out)),
        )
    mids = [values.mid]
    rads = [values.rad]
    if c is not None:
        mids.append(np.broadcast_to(c[None, :, None], (n, c.shape[0], n_out)))
        rads.append(np.zeros((n, c.shape[0], n_out)))
    mids.append(np.ones((n, 1, n_out)))
    rads.append(np.zeros((n, 1, n_out)))
    sources = Factor.of(Ball(np.concatenate(mids, axis=1), np.concatenate(rads, axis=1)), p)
    stacked = np.vstack([W] * (1 if c is None else 2))
    weights = Factor.of(
        Ball(
            np.vstack([stacked, bias.mid[None, :]])[None],
            np.vstack([0 * stacked, bias.rad[None, :]])[None],
        ),
        p,
    )
    return sources, weights


def enclose_terms(
    layer: LayerInput,
    R: Ball,
    rho: Ball,
    epsilon: float,
    factors: tuple[Factor, Factor],
    coefficient: float,
    nonnegative: bool = False,
) -> tuple[Ball, Ball, F64, F64]:
    """Balls of every term ``ρ_ij s_j`` (n, S, out), underflow slack included, of what no source
    receives (n, out), a bound on ``|s_j|`` (n, out), and the underflow slack of the terms
    (n, S, out).

    ``s_j`` is divided out as a ball: unbounded where the denominator may be zero without being
    exactly zero (such a comparison is vacuous and counted, never a false alarm). With
    ``nonnegative`` every ``ρ_ij`` is >= 0 (one sign's side of αβ), so ``D_j`` is too: its ball
    is clipped at 0, which keeps ``D_j + ε`` away from 0.
    """
    p = layer.p
    rho = bounded(rho)
    D = total(rho, axis=1, p=p)
    if nonnegative:
        # D_j >= 0, so sign(D_j) = +1: the ball of [max(lo, 0), hi], whose lower end then stays
        # near 0 (a ball centred at 0 would say D may be negative, and D + ε sign D may be 0)
        lo, hi = D.bounds(p)
        lo = np.maximum(lo, 0.0)
        D = Ball(0.5 * lo + 0.5 * hi, p.widen(0.5 * hi - 0.5 * lo + 2 * p.u * hi, 4))
    if epsilon:
        sign = (
            Ball.exact(np.ones_like(D.mid))
            if nonnegative
            else monotone(lambda v: np.where(v >= 0, 1.0, -1.0), D, p, 0)
        )
        denominator = add(D, scale(sign, epsilon, p), p)
    else:
        denominator = D
    s = bounded(divide(R, denominator, p))
    exact_zero = (denominator.mid == 0) & (denominator.rad == 0)
    if epsilon:
        Rs = scale(mul(sign, s, p), epsilon, p)
    else:
        # a zero denominator passes nothing: all of R_j is kept back where it is exactly 0, and
        # anything from none to all where it may be 0 (a weight whose square underflows)
        d_lo, d_hi = denominator.bounds(p)
        maybe = (d_lo <= 0) & (d_hi >= 0) & ~exact_zero
        Rs = Ball(
            np.where(exact_zero, R.mid, 0.0),
            np.where(exact_zero, R.rad, 0.0) + np.where(maybe, R.upper, 0.0),
        )
    terms = mul(rho, Ball(s.mid[:, None, :], s.rad[:, None, :]), p)
    low, high = magnitude(denominator, p).bounds(p)
    sources, weights = factors
    slack = product_underflow(
        sources, weights, coefficient, R, np.maximum(low, 0), high, terms.upper, p
    )
    return Ball(terms.mid, terms.rad + slack), Rs, s.upper, slack


def hull(balls: list[Ball], p: Precision) -> Ball:
    """A ball holding every ball of ``balls`` (centred on the first)."""
    mid = balls[0].mid
    with np.errstate(invalid="ignore"):
        rad = np.max([np.abs(b.mid - mid) + b.rad for b in balls], axis=0)
    return Ball(mid, p.widen(np.where(np.isnan(rad), np.inf, rad), 2))


def choose(mask: NDArray[np.bool_], then: Ball, otherwise: Ball) -> Ball:
    """``then`` where ``mask``, else ``otherwise`` (mask broadcast to the balls)."""
    return Ball(np.where(mask, then.mid, otherwise.mid), np.where(mask, then.rad, otherwise.rad))


def finish(
    layer: LayerInput,
    R: Ball,
    terms: Ball,
    Rs: Ball,
    s_upper: F64,
    slack: F64,
    apart: F64 | None = None,
    epsilon: float = 0.0,
) -> tuple[LayerBalls, Enclosed]:
    """Sum the terms into sources, and bound what rounding and underflow may add to the
    layer's relevance identity. ``apart`` (n, S, out) bounds the parts of each ``ρ_ij`` where
    code may form it from several products that cancel (z^B's ``x w - l w⁺ - h w⁻``): rounding
    is relative to those parts, times ``|s_j|``, not to ``ρ_ij`` itself. ``epsilon`` is the
    rule's stabiliser: a quotient ``s_j`` in the subnormal range loses up to η, which the
    stabiliser's share ``ε s_j`` multiplies by ε (as in LRP-ε's enclosure)."""
    p, W, c = layer.p, layer.W, layer.c
    n_in = W.shape[0]
    R_in = total(terms[:, :n_in, :], axis=2, p=p)
    Rm = None if c is None else total(terms[:, n_in : 2 * n_in, :], axis=2, p=p)
    Rb = terms[:, -1, :]
    mass = 2 * terms.upper.sum(axis=(1, 2)) + 2 * R.upper.sum(axis=1) + Rs.upper.sum(axis=1)
    if apart is not None:
        mass = mass + 2 * times(apart, s_upper[:, None, :]).sum(axis=(1, 2))
    length = terms.mid.shape[1] + 2 * W.shape[1] + n_in + 8
    underflow = underflow_mass(s_upper, layer.a.upper, length, p)
    underflow = underflow + slack.sum(axis=(1, 2)) + 2 * epsilon * p.eta * W.shape[1]
    result = LayerBalls(R, R_in, Rb, Rs, Rm, mass, length, underflow)
    return result, Enclosed(R_in)
