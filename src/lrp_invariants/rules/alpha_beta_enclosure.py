"""The enclosures of LRP-αβ and z⁺ (:mod:`lrp_invariants.rules.alpha_beta`): balls holding
the exact relevance and every correct evaluation of it.

Without a stabiliser, contributions split by their own sign are shares of same-signed sums,
which lie in [0, 1] however small the sum (:func:`enclose_split`). With one, or with the
weights clamped once, each side is a modified rule whose quotient is divided out as a ball
(:func:`enclose_stabilised`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..bounds.balls import (
    F64,
    Ball,
    Factor,
    add,
    mul,
    negative_part,
    relu,
    scale,
    times,
    total,
)
from ..bounds.relevance import (
    LayerBalls,
    LayerInput,
    contribution_balls,
    distribute,
    quotient_upper,
    same_sign_shares,
    term_underflow,
    underflow_mass,
)
from .modified import enclose_terms, source_factors

if TYPE_CHECKING:
    from .alpha_beta import AlphaBeta


def enclose_split(rule: AlphaBeta, layer: LayerInput, R: Ball) -> LayerBalls:
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


def enclose_stabilised(rule: AlphaBeta, layer: LayerInput, R: Ball) -> LayerBalls:
    """Each side as a modified rule (:func:`~lrp_invariants.rules.modified.enclose_terms`):
    ``α R ρ⁺ / (D⁺ + ε)`` and ``-β R ρ⁻ / (D⁻ + ε sign D⁻)``, ``s`` divided out as a ball.

    Split by contributions, each side's terms share a sign: the negative side is enclosed by its
    magnitudes ``|ρ⁻| / (|D⁻| + ε)``, the same value for every ``D⁻ <= 0`` (at ``D⁻ = 0`` both
    give 0 to every source and ``-β R`` to ``Rs``), whose denominator stays >= ε. Weights-once,
    a source or the bias may have either sign: the side's sum is signed, and the ball is
    unbounded where it may be 0 without being exactly 0 (counted, never a false alarm)."""
    p, W, c = layer.p, layer.W, layer.c
    n_out = W.shape[1]
    nothing = Ball.exact(np.zeros(n_out))
    factors = source_factors(layer)
    if rule.sign_aware and rule.bias != "whole":
        bias = layer.bias if rule.bias == "source" else nothing
        C = contribution_balls(layer.a, W, bias, c, p)
        pos = enclose_terms(
            layer, scale(R, rule.alpha, p), relu(C, p), rule.epsilon, factors, 1.0, True
        )
        neg = None
        if rule.beta:
            magnitudes = scale(negative_part(C, p), -1.0, p)
            t, Rs, s_up, slack = enclose_terms(
                layer, scale(R, rule.beta, p), magnitudes, rule.epsilon, factors, 1.0, True
            )
            neg = (Ball(-t.mid, t.rad), Ball(-Rs.mid, Rs.rad), s_up, slack)
        return _both_sides(layer, R, rule, pos, neg)
    if rule.sign_aware:  # the whole bias joins each side's split contributions
        C = contribution_balls(layer.a, W, nothing, c, p)
        rho_pos = _with_bias(relu(C, p), layer.bias)
        rho_neg = _with_bias(negative_part(C, p), layer.bias)
    else:
        b_pos, b_neg = {
            "ignored": (nothing, nothing),
            "whole": (layer.bias, layer.bias),
            "source": (relu(layer.bias, p), negative_part(layer.bias, p)),
        }[rule.bias]
        rho_pos = contribution_balls(layer.a, np.maximum(W, 0), b_pos, c, p)
        rho_neg = contribution_balls(layer.a, np.minimum(W, 0), b_neg, c, p)
    pos = enclose_terms(layer, scale(R, rule.alpha, p), rho_pos, rule.epsilon, factors, 1.0)
    neg = None
    if rule.beta:
        neg = enclose_terms(layer, scale(R, -rule.beta, p), rho_neg, rule.epsilon, factors, 1.0)
    return _both_sides(layer, R, rule, pos, neg)


def _with_bias(terms: Ball, bias: Ball) -> Ball:
    """``terms`` (n, sources, out) with the bias's row, the last, replaced by ``bias`` (out,)."""
    mid, rad = np.array(terms.mid, copy=True), np.array(terms.rad, copy=True)
    mid[:, -1, :], rad[:, -1, :] = bias.mid, bias.rad
    return Ball(mid, rad)


Side = tuple[Ball, Ball, F64, F64]  # terms, Rs, a bound on |s|, underflow slack


def _both_sides(
    layer: LayerInput, R: Ball, rule: AlphaBeta, pos: Side, neg: Side | None
) -> LayerBalls:
    """Add the two sides' terms into sources; rounding is relative to each side's own terms,
    which may cancel between the sides."""
    p, W, c = layer.p, layer.W, layer.c
    terms, Rs, s_upper, slack = pos
    side_mass = terms.upper.sum(axis=(1, 2)) + Rs.upper.sum(axis=1)
    if neg is not None:
        side_mass = side_mass + neg[0].upper.sum(axis=(1, 2)) + neg[1].upper.sum(axis=1)
        terms, Rs = add(terms, neg[0], p), add(Rs, neg[1], p)
        s_upper, slack = s_upper + neg[2], slack + neg[3]
    n_in = W.shape[0]
    R_in = total(terms[:, :n_in, :], axis=2, p=p)
    Rm = None if c is None else total(terms[:, n_in : 2 * n_in, :], axis=2, p=p)
    mass = 2 * side_mass + 2 * (rule.alpha + rule.beta) * R.upper.sum(axis=1)
    length = terms.mid.shape[1] + 2 * W.shape[1] + n_in + 8
    underflow = underflow_mass(s_upper, layer.a.upper, length, p)
    # a quotient s_j in the subnormal range loses up to η, which ε s_j multiplies by ε
    underflow = underflow + slack.sum(axis=(1, 2)) + 4 * rule.epsilon * p.eta * W.shape[1]
    return LayerBalls(R, R_in, terms[:, -1, :], Rs, Rm, mass, length, underflow)
