"""LRP-αβ and z⁺: positive and negative contributions, each a share of its own sign's sum.

``z_ij = v_i w_ij`` is split by its own sign (inputs may be negative); the bias and the constant
input are sources like any other. Shares of same-signed sums lie in [0, 1], which is what the
enclosure builds on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..bounds.balls import (
    Ball,
    Factor,
    add,
    mul,
    negative_part,
    relu,
    scale,
    times,
)
from ..bounds.relevance import (
    Enclosed,
    LayerBalls,
    LayerInput,
    contribution_balls,
    distribute,
    quotient_upper,
    same_sign_shares,
    term_underflow,
    underflow_mass,
)
from ..network import Array, LayerTrace, Linear
from .base import (
    LayerRelevance,
    Rule,
    contributions,
    divide_or_zero,
    lost_where,
    share_or_zero,
)
from .operator import (
    LinearOperator,
    OperatorRelevance,
    constant_batch,
    fixed_signed,
    signed_product,
    signed_transpose,
    summed,
)


@dataclass(frozen=True)
class AlphaBeta(Rule):
    """LRP-αβ (Bach et al. eq. 60): R_i = sum_j (α z_ij⁺ / z_j⁺ - β z_ij⁻ / z_j⁻) R_j.

    Convention: α - β = 1 and β >= 0, so a neuron with sources of both signs passes exactly its
    relevance. ``z_ij = a_i w_ij`` is split by its own sign (inputs may be negative); the bias and
    the constant input are sources like any other. A neuron with no positive (negative) source
    cannot pass its α (β) share; ``Rs`` records it: ``α R [z⁺ = 0] - β R [z⁻ = 0]``.
    """

    alpha: float = 2.0
    beta: float = 1.0
    uses_sign_split: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return "lrp-zplus" if (self.alpha, self.beta) == (1, 0) else "lrp-alpha-beta"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.alpha) and math.isfinite(self.beta)) or self.beta < 0:
            raise ValueError(
                f"need finite alpha, beta with beta >= 0; got {self.alpha}, {self.beta}"
            )
        if abs(self.alpha - self.beta - 1) > 4 * np.finfo(np.float64).eps * max(1, self.alpha):
            raise ValueError(
                f"alpha - beta must be 1 (this package's convention); got alpha={self.alpha}, "
                f"beta={self.beta}: use beta={self.alpha - 1} or alpha={self.beta + 1}"
            )

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        out, a, c = layer.n_out, forward.a, layer.constant
        split = forward.z_split if forward.z_split is not None else layer.split_preactivation(a)
        # s = [α R / z⁺ | -β R / z⁻]: one product with [W⁺ | W⁻]ᵀ then gives every source of
        # positive value its relevance per unit, Σ_j α w⁺_ij R_j / z⁺_j - β w⁻_ij R_j / z⁻_j
        s = np.empty_like(split)
        with np.errstate(over="ignore"):
            s[:, :out], zero_pos = divide_or_zero(self.alpha * R, split[:, :out])
            s[:, out:], zero_neg = divide_or_zero(-self.beta * R, split[:, out:])
        # a sum of tiny contributions can make s overflow although every share is at most 1:
        # those few (sample, unit) pairs take the explicit path below instead
        risky = _risky(s, layer)
        if risky is not None:
            s[risky] = 0
        # with β = 0 the negative half of s is zero: half the product does
        W_split = layer.W_split
        to_positive = s[:, :out] @ W_split[:, :out].T if self.beta == 0 else s @ W_split.T
        # a source of negative value flips the sign of each of its contributions: swap the halves
        to_negative = None
        if np.any(a < 0) or c is not None:
            to_negative = np.concatenate([s[:, out:], s[:, :out]], axis=1) @ layer.W_split.T
        result = LayerRelevance(
            R_out=R,
            R=_by_sign(a, to_positive, to_negative),
            Rb=_by_sign(layer.b, s[:, :out], s[:, out:]),
            Rs=lost_where(self.alpha * R, zero_pos) - lost_where(self.beta * R, zero_neg)
            if zero_pos is not None or zero_neg is not None
            else np.zeros_like(R),
            Rm=None if c is None else _by_sign(c, to_positive, to_negative),
        )
        for row, column in zip(*np.nonzero(risky if risky is not None else ()), strict=True):
            side, unit = divmod(int(column), out)
            weight = self.alpha * R[row, unit] if side == 0 else -self.beta * R[row, unit]
            _add_explicit_shares(result, layer, a[row], int(row), unit, side == 0, weight)
        return result

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        """αβ at any linear layer: every contribution (input, constant input, fixed frame, bias)
        split by its own sign, each side shared over its own sum."""
        c = constant_batch(op)
        frame_pos, frame_neg = fixed_signed(op, True), fixed_signed(op, False)
        b = op.bias
        z_pos = summed(
            z,
            signed_product(op, a, True),
            None if c is None else signed_product(op, c, True),
            frame_pos,
            np.maximum(b, 0),
        )
        z_neg = summed(
            z,
            signed_product(op, a, False),
            None if c is None else signed_product(op, c, False),
            frame_neg,
            np.minimum(b, 0),
        )
        with np.errstate(over="ignore"):
            s_pos, zero_pos = divide_or_zero(self.alpha * R, z_pos)
            s_neg, zero_neg = divide_or_zero(-self.beta * R, z_neg)
        Rp = None
        if frame_pos is not None and frame_neg is not None:
            Rp = frame_pos * s_pos + frame_neg * s_neg
        return OperatorRelevance(
            R_out=R,
            R=signed_transpose(op, a, s_pos, s_neg),
            Rb=_by_sign(b, s_pos, s_neg),
            Rs=lost_where(self.alpha * R, zero_pos) - lost_where(self.beta * R, zero_neg),
            Rm=None if c is None else signed_transpose(op, c, s_pos, s_neg),
            Rp=Rp,
            # each side's terms share one sign and add up to α R_j (β R_j): no cancellation
            magnitude=lambda: (self.alpha + self.beta) * np.abs(R).reshape(R.shape[0], -1).sum(1),
        )

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        zij = contributions(layer, a)
        positive, negative = np.maximum(zij, 0), np.minimum(zij, 0)
        z_pos, z_neg = positive.sum(axis=1), negative.sum(axis=1)
        share = self.alpha * share_or_zero(positive, z_pos) - self.beta * share_or_zero(
            negative, z_neg
        )
        kept = self.alpha * (z_pos == 0) - self.beta * (z_neg == 0)
        return share, kept.astype(z.dtype)

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        result = _enclose_alpha_beta(self, layer, incoming.R)
        return result, Enclosed(result.R)

    def spec(self) -> str:
        if (self.alpha, self.beta) == (1, 0):
            return "zplus"
        return f"alpha-beta:{self.alpha!r},{self.beta!r}"

    def describe(self) -> str:
        return f"{self.name}(alpha={self.alpha:g}, beta={self.beta:g})"

    @property
    def scale_free(self) -> bool:
        return True


def _risky(s: Array, layer: Linear) -> Array | None:
    """Where ``|s_j|`` is so large that its products with the weights, summed over ``2 out``
    columns, could overflow; None when nowhere (checked first on the largest entry alone)."""
    limit = np.finfo(s.dtype).max / (4 * (2 * layer.n_out + 1) * max(layer.weight_scale, 1.0))
    with np.errstate(invalid="ignore"):
        if max(float(s.max(initial=0)), -float(s.min(initial=0))) <= limit:
            return None
        return ~(np.abs(s) <= limit)


def _add_explicit_shares(
    result: LayerRelevance,
    layer: Linear,
    a_row: Array,
    row: int,
    unit: int,
    positive: bool,
    weight: float,
) -> None:
    """Add ``weight x z_ij / z_j`` over one sign's contributions of one unit, computed after an
    exact power-of-two rescaling so that neither the products nor their sum under- or overflow."""
    sources = [a_row]
    if layer.constant is not None:
        sources.append(layer.constant)
    values = np.concatenate([*sources, np.ones(1, layer.W.dtype)])
    weights = np.concatenate([layer.W[:, unit]] * len(sources) + [layer.b[unit : unit + 1]])
    mv, ev = np.frexp(values)
    mw, ew = np.frexp(weights)
    exponent = ev + ew
    mantissa = mv * mw  # exact: the product of two mantissas in [0.5, 1) needs no rounding
    side = mantissa > 0 if positive else mantissa < 0
    if not side.any():
        return
    # scale this sign's largest contribution to about 1: none of its peers can vanish
    part = np.zeros_like(mantissa)
    part[side] = np.ldexp(mantissa[side], exponent[side] - exponent[side].max())
    shares, zero = divide_or_zero(part, np.asarray(part.sum()))
    if zero is not None:
        return
    n_in = layer.n_in
    result.R[row] += weight * shares[:n_in]
    if layer.constant is not None and result.Rm is not None:
        result.Rm[row] += weight * shares[n_in : 2 * n_in]
    result.Rb[row, unit] += weight * shares[-1]


def _by_sign(v: Array, per_positive: Array, per_negative: Array | None) -> Array:
    """``v⁺ per_positive + v⁻ per_negative``: a source's relevance from its value's sign."""
    if per_negative is None or not np.any(v < 0):
        return v * per_positive
    return np.maximum(v, 0) * per_positive + np.minimum(v, 0) * per_negative


def ZPlus() -> AlphaBeta:
    """z⁺ as LRP-α1β0: only positive contributions ``(a_i w_ij)⁺`` (and ``b⁺``) carry relevance."""
    return AlphaBeta(alpha=1.0, beta=0.0)


def _enclose_alpha_beta(rule: AlphaBeta, layer: LayerInput, R: Ball) -> LayerBalls:
    """Per contribution: fractions of same-signed sums, which lie in [0, 1] however small the
    sum, times ``α R`` or ``β R``."""
    W, bias, c, a, p, grains = layer.W, layer.bias, layer.c, layer.a, layer.p, layer.grains
    grain_a, grain_z = grains  # a side's sum that is not 0 is on the grain of z's terms
    contributions = contribution_balls(a, W, bias, c, p)
    positive = relu(contributions, p)
    pos_share, pos_empty, pos_sum = same_sign_shares(positive, p)
    neg = negative_part(contributions, p)
    neg_share, neg_empty, neg_sum = same_sign_shares(Ball(-neg.mid, neg.rad), p)
    # the factors of each term v_i w_ij: the source's value and its weight
    n = a.mid.shape[0]
    ones = np.ones((n, 1))
    values = [a] + ([Ball.exact(np.broadcast_to(c, a.mid.shape))] if c is not None else [])
    sources = Factor.of(
        Ball(
            np.concatenate([v.mid for v in values] + [ones], axis=1)[:, :, None],
            np.concatenate([v.rad for v in values] + [0 * ones], axis=1)[:, :, None],
        ),
        p,
        min(grain_a, p.grain(c) if c is not None else math.inf, 1.0),
    )
    stacked = np.vstack([W] * len(values))
    weights = Factor.of(
        Ball(
            np.vstack([stacked, bias.mid[None, :]])[None],
            np.vstack([0 * stacked, bias.rad[None, :]])[None],
        ),
        p,
    )
    on_positive = (positive.upper > 0).astype(np.float64)
    on_negative = (neg.upper > 0).astype(np.float64)
    slack_p = times(
        on_positive,
        term_underflow(sources, weights, rule.alpha, R, pos_sum, pos_share, p, grain_z),
    )
    slack_n = times(
        on_negative, term_underflow(sources, weights, rule.beta, R, neg_sum, neg_share, p, grain_z)
    )
    Rp, Rbp, Rmp, mass_p = distribute(
        pos_share, scale(R, rule.alpha, p), W.shape[0], c is not None, p, slack_p
    )
    Rn, Rbn, Rmn, mass_n = distribute(
        neg_share, scale(R, rule.beta, p), W.shape[0], c is not None, p, slack_n
    )
    R_in = add(Rp, scale(Rn, -1.0, p), p)
    Rb = add(Rbp, scale(Rbn, -1.0, p), p)
    Rm = None if Rmp is None or Rmn is None else add(Rmp, scale(Rmn, -1.0, p), p)
    Rs = add(
        mul(pos_empty, scale(R, rule.alpha, p), p),
        scale(mul(neg_empty, scale(R, rule.beta, p), p), -1.0, p),
        p,
    )
    mass = 2 * (mass_p + mass_n) + 2 * R.upper.sum(axis=1) + Rs.upper.sum(axis=1)
    length = contributions.mid.shape[1] + 2 * W.shape[1] + W.shape[0] + 8
    with np.errstate(over="ignore"):  # two huge bounds may add up to an unbounded one
        s_upper = quotient_upper(rule.alpha * R.upper, pos_sum, p) + quotient_upper(
            times(np.full_like(R.upper, rule.beta), R.upper), neg_sum, p
        )
    underflow = underflow_mass(s_upper, a.upper, length, p)
    underflow = underflow + (slack_p + slack_n).sum(axis=(1, 2))
    return LayerBalls(R, R_in, Rb, Rs, Rm, mass, length, underflow)
