"""LRP-0 and LRP-ε: the relevance of a source is its share ``z_ij / (z_j + ε sign z_j)``.

The fast form divides once per output unit and distributes with one product by ``Wᵀ``; the
enclosure uses the form ``s_j = φ(z_j) h_j`` of :func:`enclose_stabilised`, whose ratio of a
unit's activation to its own pre-activation stays in [0, 1] however close ``z`` comes to zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds.balls import (
    F64,
    RADIUS_U,
    Ball,
    Factor,
    Precision,
    add,
    affine,
    association_slack,
    bound_matmul,
    bounded,
    divide,
    magnitude,
    monotone,
    mul,
    product_of,
    ratio_or_zero,
    relu,
    scale,
    times,
)
from ..bounds.forward import relu_step
from ..bounds.relevance import (
    Enclosed,
    LayerBalls,
    LayerInput,
    underflow_mass,
    underflow_of_sums,
    with_subnormal_relevance,
)
from ..network import Array, LayerTrace, Linear, blocks
from .base import (
    LayerRelevance,
    Rule,
    check_parameter,
    contributions,
    divide_or_zero,
    lost_where,
    share_or_zero,
    signed_stabiliser,
    stabiliser,
    to_sources,
)
from .modified import repaired
from .operator import LinearOperator, OperatorRelevance, absolute_terms, constant_batch


@dataclass(frozen=True)
class LRP0(Rule):
    """LRP-0 (Bach et al. eq. 56): R_i = sum_j a_i w_ij / z_j R_j, the reply's rule.

    On ReLU networks it equals gradient x input, with the bias relevance ``b_j R_j / z_j`` apart.
    """

    @property
    def name(self) -> str:
        return "lrp-0"

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        return repaired(self, layer, forward, R, lambda: self._fast(layer, forward, R))

    def _fast(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        s, c = blocks(R.dtype, R.shape, (R.shape[0], layer.n_in))
        s, zero = divide_or_zero(R, forward.z, out=s)
        return to_sources(layer, forward.a, R, s, lost_where(R, zero), out=c)

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        return share_or_zero(contributions(layer, a), z), (z == 0).astype(z.dtype)

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        return enclose_stabilised(layer, incoming, 0.0)

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        return propagate_stabilised(op, a, z, R, 0.0)

    @property
    def linear_in_contributions(self) -> bool:
        return True

    @property
    def scale_free(self) -> bool:
        return True


@dataclass(frozen=True)
class Epsilon(Rule):
    """LRP-ε (Bach et al. eq. 58): R_i = sum_j a_i w_ij / (z_j + ε sign(z_j)) R_j.

    The stabiliser absorbs ``Rs_j = ε sign(z_j) R_j / (z_j + ε sign(z_j))``; sign(0) = +1.
    """

    epsilon: float = 1e-9

    @property
    def name(self) -> str:
        return "lrp-epsilon"

    def __post_init__(self) -> None:
        check_parameter("epsilon", self.epsilon)

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        if self.epsilon == 0:
            return LRP0().backward(layer, forward, R)
        return repaired(self, layer, forward, R, lambda: self._fast(layer, forward, R))

    def _fast(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        z, eps = forward.z, forward.z.dtype.type(self.epsilon)
        s, c = blocks(R.dtype, R.shape, (R.shape[0], layer.n_in))
        # z + ε sign z, one rounding, sign(0) = +1 (also for -0.0); |z + ε sign z| >= ε > 0;
        # by blocks of rows, so that the sign masks stay small beside the batch
        signs = np.empty((min(_ROWS, z.shape[0]), z.shape[1]), dtype=z.dtype)
        for rows in _row_blocks(z.shape[0]):
            t, out = signs[: rows.stop - rows.start], s[rows]
            np.add(z[rows], 0.0, out=t)  # -0.0 + 0.0 = +0.0: sign(0) = +1
            np.abs(t, out=out)
            out += eps
            np.copysign(out, t, out=out)  # sign(z) (|z| + ε): rounding is symmetric in sign
        np.divide(R, s, out=s)
        np.matmul(s, layer.W.T, out=c)
        Rm = None if layer.constant is None else layer.constant * c
        c *= forward.a
        b, epsilon = layer.b, self.epsilon

        def sinks() -> tuple[Array, Array]:
            """``Rb = b s`` and ``Rs = ε sign(z) s``, from the one quotient kept per unit (called
            once, by :class:`LayerRelevance`)."""
            Rs = stabiliser(z, epsilon)
            Rs *= s
            s_ = s
            s_ *= b  # the quotient becomes Rb in place: it is not read again
            return s_, Rs

        def bounds() -> Array:
            """Per sample, a bound whose finiteness implies every ``Rb`` and ``Rs`` is."""
            largest = np.maximum(s.max(axis=1), -s.min(axis=1))
            return largest * max(float(np.abs(b).max(initial=0.0)), epsilon)

        return LayerRelevance(R_out=R, R=c, Rm=Rm, sinks=sinks, bounds=bounds)

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        stabilised = z + signed_stabiliser(z, self.epsilon)
        absorbed = share_or_zero(signed_stabiliser(z, self.epsilon)[:, None, :], stabilised)
        kept = np.where(stabilised == 0, 1, absorbed[:, 0, :]).astype(z.dtype)
        return share_or_zero(contributions(layer, a), stabilised), kept

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        return enclose_stabilised(layer, incoming, self.epsilon)

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        return propagate_stabilised(op, a, z, R, self.epsilon)

    def spec_values(self) -> list[str]:
        return [f"epsilon={self.epsilon!r}"]

    def describe(self) -> str:
        return f"{self.name}(epsilon={self.epsilon:g})"

    @property
    def linear_in_contributions(self) -> bool:
        return True

    @property
    def scale_free(self) -> bool:
        return self.epsilon == 0


def propagate_stabilised(
    op: LinearOperator, a: Array, z: Array, R: Array, epsilon: float
) -> OperatorRelevance:
    """LRP-0 (``epsilon = 0``) and LRP-ε at any linear layer: ``s = R / (z + ε sign z)``, every
    source gets its contribution times ``s``. A zero denominator passes nothing (0/0 -> 0)."""
    s: Array
    Rs: Array
    if epsilon:
        absorbed = stabiliser(z, epsilon)
        s = R / (z + absorbed)
        Rs = absorbed * s
    else:
        s, zero = divide_or_zero(R, z)
        Rs = np.array(lost_where(R, zero))
    down = op.transpose(s, "W")
    c = constant_batch(op)
    frame = op.fixed("value", "W")
    return OperatorRelevance(
        R_out=R,
        R=a * down,
        Rb=op.bias * s,
        Rs=Rs,
        Rm=None if c is None else c * down,
        Rp=None if frame is None else frame * s,
        magnitude=lambda: (
            absolute_terms(op, np.abs(s), a, c)
            + epsilon * np.abs(s).reshape(s.shape[0], -1).sum(axis=1)
        ),
    )


_ROWS = 256
"""Rows per block where a pass needs a temporary mask."""


def _row_blocks(n: int) -> list[slice]:
    return [slice(start, min(start + _ROWS, n)) for start in range(0, n, _ROWS)]


def _sign(v: F64) -> F64:
    """sign with sign(0) = +1, as the stabiliser reads it."""
    return np.where(v >= 0, 1.0, -1.0)


def _capped(s: Ball, R: Ball, den_low: F64, p: Precision) -> Ball:
    """``s = R / (z + ε sign z)`` where ``z``'s ball holds 0: which sign the code reads is
    unknown (and for ε = 0 how close to 0 it is), so the quotient's ball is unbounded; but
    ``|z + ε sign z| = |z| + ε`` whatever the sign: at least ε for ε > 0 (a computed ``z`` of
    exactly 0 gives ε), and for ε = 0 at least the grain of ``z`` (a computed ``z`` that is
    not 0 lies on it; one that is 0 passes nothing); so ``|s| <= max|R| / den_low``: the
    ball around 0 of that radius (rounded outward: the denominator's sum, the quotient, and a
    subnormal quotient's rounding)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cap = p.widen(R.upper / den_low, 4) + p.eta
    cap = np.where(np.isnan(cap), np.inf, cap)
    tighter = cap < s.rad
    return Ball(np.where(tighter, 0.0, s.mid), np.where(tighter, cap, s.rad))


def _two_evaluations(
    same: Ball, z: Ball, delta: F64, eps: float, top: bool, grain: float, p: Precision
) -> Ball:
    """``act(z) / (z' + ε sign z')`` where ``z`` (in the activation, or the logit itself) and
    ``z'`` (in the denominator) are two correct evaluations of the same pre-activation: code
    may recompute the denominator, ``Σ_i a_i w_ij + b_j``, in another order than its forward
    pass did, and where that sum cancels the two differ by far more than one rounding.

    Both are computed from the same activations, so they differ by at most ``delta``, the
    rounding of one evaluation of the sum (``2 γ_k Σ |terms|``); ``z`` itself may be anywhere in
    its ball. ``same`` is the ratio for ``z' = z``; the result also holds ``|z| / (|z| ± δ + ε)``
    over the ball where ``|z|`` exceeds ``δ`` (the sign is then certain).

    Within ``δ`` of zero (a kink) the two evaluations may even differ in sign, and ``z'`` may be
    as small as the grain of the sum (the least nonzero value it can take): there the ratio is
    only known to lie within ``±|z| / (grain + ε)``. That is as wide as the problem is
    ill-conditioned (LRP at a unit whose pre-activation cancels to within its rounding); code that
    evaluates ``z`` once is still held to ``same``'s tolerance everywhere else. A dead unit, an
    exact zero and a sum of one term (``δ = 0``) keep ``same``.
    """
    lo, hi = z.bounds(p)
    large = np.maximum(np.abs(lo), np.abs(hi))
    sure_sign = (lo > 0) | (hi < 0) if top else lo > 0
    live = (large > 0 if top else hi > 0) & (delta > 0)
    small = np.where(sure_sign, np.minimum(np.abs(lo), np.abs(hi)), 0.0)
    if not top:
        large = np.maximum(hi, 0.0)
    certain = sure_sign & (small > delta)
    outward = 1 + 4 * RADIUS_U
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # |z| / (|z| + δ + ε) grows with |z|: least at the smallest |z|; |z| / (|z| - δ + ε) is
        # largest at one end of the ball, whichever
        inner = small / (small + delta + eps) / outward
        outer = (
            np.maximum(small / (small - delta + eps), large / (large - delta + eps)) * outward
            + p.eta
        )
        spread = np.maximum(outer - same.mid, same.mid - inner)
        # at a kink: any sign, and a denominator down to the grain of the sum
        kink = (large + delta) / (max(grain, 0.0) + eps) * outward + p.eta
        kink = kink + np.abs(same.mid)
    spread = np.where(np.isnan(spread), np.inf, spread)
    kink = np.where(np.isnan(kink), np.inf, kink)
    rad = np.where(certain, np.maximum(same.rad, spread), np.maximum(same.rad, kink))
    return Ball(same.mid, np.where(live, rad, same.rad))


def enclose_stabilised(
    layer: LayerInput, incoming: Enclosed, eps: float
) -> tuple[LayerBalls, Enclosed]:
    """LRP-0 (eps = 0) and LRP-ε: s = R / (z + ε sign z).

    ``carry`` is what the layer above may have lost to underflow in ``R`` in an association
    unlike this one (see :func:`~lrp_invariants.bounds.relevance.underflow_of_sums`); the
    ``h``-form here never divides ``R`` itself, so that loss is divided by the denominator and
    added to ``s``.
    """
    W, bias, c, a, z, top, p = layer.W, layer.bias, layer.c, layer.a, layer.z, layer.top, layer.p
    R, h, carry, grains = incoming.R, incoming.h, incoming.carry, layer.grains
    low, high = magnitude(z, p).bounds(p)
    grain_a, grain_z = grains
    # |z + ε sign z| = |z| + ε: where z is surely not 0, |z| is at least its grain (a computed
    # nonzero z lies on it); where it may be 0, an exact 0 gives ε (and passes nothing where
    # ε = 0: then the grain again)
    may_be_zero = grain_z if eps == 0 else 0.0
    den_low = np.where(low > 0, np.maximum(low, grain_z), may_be_zero) + eps
    den_high = high + eps
    # how far two evaluations of z from the same activations may differ: one sum's rounding
    summed = bound_matmul(a.upper, np.abs(W)) + np.abs(bias.mid) + bias.rad
    if c is not None:
        summed = summed + np.abs(c) @ np.abs(W)
    n_terms = W.shape[0] * (1 if c is None else 2) + 1
    delta = 2 * p.gamma(n_terms) * summed
    if h is not None and top:
        # s = z / (z + ε sign z) = |z| / (|z| + ε), and 1[z != 0] for ε = 0; increasing on
        # |z| >= 0 only: the ball of |z| reaches below 0 where z's ball holds 0, and there the
        # least value is 0 (an exact zero logit passes nothing), not v / (v + ε) at a negative v
        factor = monotone(
            lambda v: (
                ratio_or_zero(np.maximum(v, 0), np.maximum(v, 0) + eps) if eps else (v > 0) * 1.0
            ),
            magnitude(z, p),
            p,
            2,
        )
        factor = _two_evaluations(factor, z, delta, eps, True, grain_z, p)
        s = mul(factor, h, p)
        Rs = scale(mul(monotone(_sign, z, p, 0), s, p), eps, p)
    elif h is not None:
        # s = relu(z) / (z + ε): 0 below zero, increasing above
        factor = monotone(
            lambda v: (
                ratio_or_zero(np.maximum(v, 0), np.maximum(v, 0) + eps) if eps else relu_step(v)
            ),
            z,
            p,
            2,
        )
        factor = _two_evaluations(factor, z, delta, eps, False, grain_z, p)
        s = with_subnormal_relevance(mul(factor, h, p), relu(z, p), h, den_low, p)
        if carry is not None:
            spread, cap_per_unit = carry
            with np.errstate(divide="ignore", invalid="ignore"):
                lost = np.where(den_low > 0, spread / np.where(den_low > 0, den_low, 1), np.inf)
            s = Ball(s.mid, s.rad + np.minimum(lost, times(cap_per_unit, factor.upper)))
        Rs = scale(mul(monotone(_sign, z, p, 0), s, p), eps, p)  # ε sign(z'_j) s_j
    else:
        sign = monotone(lambda v: np.where(v >= 0, 1.0, -1.0), z, p, 0)
        denominator = add(z, scale(sign, eps, p), p)
        s = bounded(divide(R, denominator, p))
        s = _capped(s, R, den_low, p)
        Rs = scale(mul(sign, s, p), eps, p)
        # a zero denominator (ε = 0; a unit below an input-blind rule may hold relevance with
        # z = 0) passes nothing: its R_j is kept back, all of it where z is exactly 0, and
        # anything from none to all where z may be 0
        d_lo, d_hi = denominator.bounds(p)
        exact = (denominator.mid == 0) & (denominator.rad == 0)
        maybe = (d_lo <= 0) & (d_hi >= 0) & ~exact
        Rs = Ball(
            Rs.mid + np.where(exact, R.mid, 0.0),
            Rs.rad + np.where(exact, R.rad, 0.0) + np.where(maybe, R.upper, 0.0),
        )
    below = affine(s, W.T, None, p)
    R_in = mul(a, below, p)
    Rm = None if c is None else mul(Ball.exact(np.broadcast_to(c, R_in.mid.shape)), below, p)
    Rb = mul(bias, s, p)
    terms = bound_matmul(a.upper, np.abs(W)) + bias.upper + eps
    if c is not None:
        terms = terms + np.abs(c) @ np.abs(W)
    mass = 2 * times(s.upper, terms).sum(axis=1) + 2 * R.upper.sum(axis=1) + Rs.upper.sum(axis=1)
    n_sources = W.shape[0] * (1 if c is None else 2) + 1
    length = n_sources + W.shape[0] + W.shape[1] + 6
    underflow = underflow_mass(s.upper, a.upper, length, p)
    # a quotient s_j in the subnormal range loses up to η, which the stabiliser's share ε s_j
    # multiplies by ε
    underflow = underflow + 2 * eps * p.eta * s.mid.shape[1]
    # the same products in every other association: a_i w_ij R_j / den_j, b_j R_j / den_j
    # the relevance of a logit is the logit itself: on the grain of z
    R_factor = Factor.of(R, p, grain_z if top else 0.0)
    inverse = Factor.reciprocal(den_low, den_high)
    slack_in, carry_out = underflow_of_sums(Factor.of(a, p, grain_a), W, R_factor, inverse, s, p)
    R_in = Ball(R_in.mid, R_in.rad + slack_in)
    underflow = underflow + slack_in.sum(axis=1)
    if Rm is not None and c is not None:
        constant = Factor.exact(np.broadcast_to(c, R_in.mid.shape))
        slack_m, _ = underflow_of_sums(constant, W, R_factor, inverse, s, p)
        Rm = Ball(Rm.mid, Rm.rad + slack_m)
        underflow = underflow + slack_m.sum(axis=1)
    bias_factor = Factor.of(
        Ball(np.broadcast_to(bias.mid, R.mid.shape), np.broadcast_to(bias.rad, R.mid.shape)), p
    )
    slack_b, _ = association_slack(
        [bias_factor, R_factor, inverse], product_of, p, times(bias_factor.upper, s.upper)
    )
    Rb = Ball(Rb.mid, Rb.rad + slack_b)
    underflow = underflow + slack_b.sum(axis=1)
    return LayerBalls(R, R_in, Rb, Rs, Rm, mass, length, underflow), Enclosed(
        R_in, below, carry_out
    )
