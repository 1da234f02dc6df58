"""Enclosures of LRP: every rule's relevances and sinks, layer by layer, on balls.

Each rule's enclosure mirrors :mod:`lrp_invariants.rules` in ball arithmetic
(:mod:`lrp_invariants.bounds.balls`), so that its result encloses the exact relevance and every
correct evaluation of the same formula, in any order and association.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..network import Network
from ..rules import LRP0, AlphaBeta, Epsilon, Flat, Rule, WSquare, column_normalised
from .balls import (
    F64,
    Ball,
    Factor,
    Precision,
    add,
    affine,
    association_slack,
    bound_matmul,
    cap_factor,
    divide,
    fraction,
    magnitude,
    monotone,
    mul,
    negative_part,
    product_of,
    ratio_or_zero,
    relu,
    scale,
    times,
    total,
)
from .forward import ForwardBalls, class_selector, relu_step


@dataclass(frozen=True, eq=False)
class LayerBalls:
    """Balls of one layer's relevances (see :class:`~lrp_invariants.rules.LayerRelevance`).

    ``mass`` (n,) bounds the sum of the absolute values of every term the layer's relevance
    identity adds up; ``length`` is the longest chain of roundings one of them goes through;
    ``underflow`` (n,) bounds what products that fall below the smallest normal number can add.
    """

    R_out: Ball
    R: Ball
    Rb: Ball
    Rs: Ball
    Rm: Ball | None
    mass: F64
    length: int
    underflow: F64


def _per_layer(network: Network, rules: Rule | Sequence[Rule]) -> tuple[Rule, ...]:
    return (rules,) * network.depth if isinstance(rules, Rule) else tuple(rules)


def enclose_relevance(
    network: Network,
    forward: ForwardBalls,
    classes: ArrayLike,
    rules: Rule | Sequence[Rule],
    p: Precision | None = None,
) -> tuple[LayerBalls, ...]:
    """Enclose LRP from the chosen class logit, layer by layer (index 0 is the input layer).

    LRP-0 and LRP-ε are evaluated in the form ``s_j = φ(z_j) h_j`` with ``R_j = act(z_j) h_j``,
    ``φ = act(z) / (z + ε sign z)``: the ratio of a neuron's activation to its own pre-activation
    is bounded (between 0 and 1) even where ``z`` is within rounding of zero. Sign-split rules
    (αβ) and the input-blind ones (w², flat) are evaluated per contribution as fractions of
    same-signed sums, which lie in [0, 1] however small the sum.
    """
    p = p or Precision.of(network.dtype)
    per_layer = _per_layer(network, rules)
    z_top = forward.z[-1]
    selector = class_selector(classes, z_top.mid.shape)
    R = mul(Ball.exact(selector), z_top, p)
    h: Ball | None = Ball.exact(selector)  # R = act(z) * h, act = identity at the logits
    carry: tuple[F64, F64] | None = None
    out: list[LayerBalls] = []
    for i in range(network.depth - 1, -1, -1):
        layer, rule, top = network.layers[i], per_layer[i], i == network.depth - 1
        a, z = forward.a[i], forward.z[i]
        bias = forward.biases[i]
        W = layer.W.astype(np.float64)
        c = None if layer.constant is None else layer.constant.astype(np.float64)
        grains = _layer_grains(forward, i, p)
        if isinstance(rule, (LRP0, Epsilon)):
            eps = rule.epsilon if isinstance(rule, Epsilon) else 0.0
            result, h, carry = _stabilised(W, bias, c, a, z, R, h, eps, top, p, carry, grains)
        elif isinstance(rule, AlphaBeta):
            result, h, carry = _alpha_beta(W, bias, c, a, z, R, rule, p, grains), None, None
        elif isinstance(rule, (WSquare, Flat)):
            result, h, carry = _input_blind(W, c, R, isinstance(rule, Flat), p), None, None
        else:
            raise NotImplementedError(f"no error bound is known for the rule {rule!r}")
        out.append(result)
        R = result.R
    return tuple(reversed(out))


def _layer_grains(forward: ForwardBalls, i: int, p: Precision) -> tuple[float, float]:
    """Grains of layer ``i``'s input and of its pre-activation (0: nothing known)."""
    if not forward.grains:
        return 0.0, 0.0
    grain_a = p.grain(forward.a[0].mid) if i == 0 else forward.grains[i - 1]
    return grain_a, forward.grains[i]


def _stabilised(
    W: F64,
    bias: Ball,
    c: F64 | None,
    a: Ball,
    z: Ball,
    R: Ball,
    h: Ball | None,
    eps: float,
    top: bool,
    p: Precision,
    carry: tuple[F64, F64] | None,
    grains: tuple[float, float],
) -> tuple[LayerBalls, Ball, tuple[F64, F64]]:
    """LRP-0 (eps = 0) and LRP-ε: s = R / (z + ε sign z).

    ``carry`` is what the layer above may have lost to underflow in ``R`` in an association
    unlike this module's (see :func:`_underflow_of_sums`); the ``h``-form here never divides
    ``R`` itself, so that loss is divided by the denominator and added to ``s``.
    """
    low, high = magnitude(z, p).bounds(p)
    grain_a, grain_z = grains
    # |z + ε sign z| = |z| + ε; a z that is not 0 is at least its grain (a zero passes nothing)
    den_low, den_high = np.maximum(np.maximum(low, 0), grain_z) + eps, high + eps
    if h is not None and top:
        # s = z / (z + ε sign z) = |z| / (|z| + ε), and 1[z != 0] for ε = 0
        factor = monotone(
            lambda v: ratio_or_zero(v, v + eps) if eps else (v > 0) * 1.0, magnitude(z, p), p, 2
        )
        s = mul(factor, h, p)
        absorbed = monotone(lambda v: eps * (v / (np.abs(v) + eps)) if eps else 0 * v, z, p, 4)
        Rs = mul(absorbed, h, p)
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
        s = _with_subnormal_relevance(mul(factor, h, p), relu(z, p), h, den_low, p)
        if carry is not None:
            spread, cap_per_unit = carry
            with np.errstate(divide="ignore", invalid="ignore"):
                lost = np.where(den_low > 0, spread / np.where(den_low > 0, den_low, 1), np.inf)
            s = Ball(s.mid, s.rad + np.minimum(lost, times(cap_per_unit, factor.upper)))
        Rs = scale(s, eps, p)  # the stabiliser's share, ε s_j, where s_j != 0 (z_j > 0)
    else:
        sign = monotone(lambda v: np.where(v >= 0, 1.0, -1.0), z, p, 0)
        denominator = add(z, scale(sign, eps, p), p)
        s = divide(R, denominator, p)
        Rs = scale(mul(sign, s, p), eps, p)
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
    underflow = _underflow_mass(s.upper, a.upper, length, p)
    # the same products in every other association: a_i w_ij R_j / den_j, b_j R_j / den_j
    # the relevance of a logit is the logit itself: on the grain of z
    R_factor = Factor.of(R, p, grain_z if top else 0.0)
    inverse = Factor.reciprocal(den_low, den_high)
    slack_in, carry_out = _underflow_of_sums(Factor.of(a, p, grain_a), W, R_factor, inverse, s, p)
    R_in = Ball(R_in.mid, R_in.rad + slack_in)
    underflow = underflow + slack_in.sum(axis=1)
    if Rm is not None and c is not None:
        constant = Factor.exact(np.broadcast_to(c, R_in.mid.shape))
        slack_m, _ = _underflow_of_sums(constant, W, R_factor, inverse, s, p)
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
    return LayerBalls(R, R_in, Rb, Rs, Rm, mass, length, underflow), below, carry_out


def _underflow_of_sums(
    a: Factor, W: F64, R: Factor, inverse: Factor, s: Ball, p: Precision
) -> tuple[F64, tuple[F64, F64]]:
    """Underflow slack of ``Σ_j a_i w_ij R_j / den_j`` in every association (n, in), and what
    the layer below needs to bound the same loss divided by its own denominators: the sum over
    intermediates of ``η x (other factors)``, and the cap per unit of ``a`` (see
    :func:`~lrp_invariants.bounds.balls.association_slack`)."""
    absW = np.abs(W)

    def combine(parts: Sequence[F64]) -> F64:
        return times(parts[0], bound_matmul(times(parts[2], parts[3]), parts[1].T))

    below = bound_matmul(s.upper, absW.T)  # Σ_j |w_ij| |s_j|, s = R / den bounded by structure
    slack, spread = association_slack(
        [a, Factor.exact(W), R, inverse], combine, p, times(a.upper, below)
    )
    return slack, (spread, cap_factor(4, p) * below)


def _underflow_mass(s_upper: F64, a_upper: F64, length: int, p: Precision) -> F64:
    """Each of a layer's products may underflow once, by at most ``η``; an underflow in a
    denominator is then multiplied by ``|s_j|``, one in ``w_ij s_j`` by ``|a_i|``."""
    n_in, n_out = a_upper.shape[1], s_upper.shape[1]
    with np.errstate(invalid="ignore"):
        per_sample = s_upper.sum(axis=1) + n_out * a_upper.sum(axis=1) + n_in * n_out
    return p.eta * length * np.nan_to_num(per_sample, nan=np.inf)


def _quotient_upper(numerator_upper: F64, denominator: Ball, p: Precision) -> F64:
    """An upper bound of ``|numerator / denominator|`` for a nonnegative sum as denominator;
    0 where nothing is divided (numerator 0, or a denominator exactly 0: nothing passes)."""
    low, _ = denominator.bounds(p)
    low = np.maximum(low, 0)
    exact_zero = (denominator.mid == 0) & (denominator.rad == 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # one rounded division: step one float outward, an ulp or (subnormal) the smallest step
        quotient = np.nextafter(numerator_upper / np.where(low > 0, low, 1), np.inf)
        bound = np.where(low > 0, quotient, np.inf)
    return np.where((numerator_upper == 0) | exact_zero, 0.0, bound)


def _with_subnormal_relevance(s: Ball, unit: Ball, h: Ball, denominator: F64, p: Precision) -> Ball:
    """Code under test divides the relevance ``R_j = fl(act_j h_j)``, not ``h_j``, by the
    denominator (at least ``denominator``). Where that product may be subnormal its absolute
    error, up to ``η``, is divided too: unbounded if the denominator may be zero."""
    product = times(unit.upper, h.upper)
    at_risk = (product > 0) & (product < p.tiny)
    if not np.any(at_risk):
        return s
    with np.errstate(divide="ignore"):
        extra = np.where(at_risk, p.eta / denominator, 0.0)
    return Ball(s.mid, s.rad + extra)


def _contributions(a: Ball, W: F64, bias: Ball, c: F64 | None, p: Precision) -> Ball:
    """Every source's contribution ``z_ij`` (n, sources, out): inputs, constant input, bias."""
    n = a.mid.shape[0]
    parts = [mul(Ball(a.mid[:, :, None], a.rad[:, :, None]), Ball.exact(W[None]), p)]
    if p.flush:  # a subnormal weight is read as 0: its contribution may be lost whole
        parts[0] = Ball(parts[0].mid, parts[0].rad + a.upper[:, :, None] * p.flushed(W)[None])
    if c is not None:
        parts.append(mul(Ball.exact(c[None, :, None]), Ball.exact(W[None]), p))
        lost = np.abs(c)[:, None] * p.flushed(W) + p.flushed(c)[:, None] * np.abs(W)
        parts[-1] = Ball(
            np.broadcast_to(parts[-1].mid, (n, *W.shape)),
            np.broadcast_to(parts[-1].rad + lost[None], (n, *W.shape)),
        )
    shape = (n, 1, W.shape[1])
    parts.append(Ball(np.broadcast_to(bias.mid, shape), np.broadcast_to(bias.rad, shape)))
    return Ball(
        np.concatenate([q.mid for q in parts], axis=1),
        np.concatenate([q.rad for q in parts], axis=1),
    )


def _shares(terms: Ball, p: Precision) -> tuple[Ball, Ball, Ball]:
    """Each same-signed term's share of its sum, whether the sum may be zero (0 or 1), and the
    sum itself."""
    summed = total(terms, axis=1, p=p)
    rest = Ball(
        summed.mid[:, None, :] - terms.mid,
        summed.rad[:, None, :] + terms.rad + 2 * p.u * np.abs(summed.mid[:, None, :] - terms.mid),
    )
    empty = monotone(lambda v: (v <= 0) * 1.0, summed, p, 0)
    return fraction(terms, rest, p), empty, summed


def _distribute(
    shares: Ball, R: Ball, n_in: int, has_constant: bool, p: Precision, slack: F64
) -> tuple[Ball, Ball, Ball | None, F64]:
    """Source relevance Σ_j share_ij R_j, split into inputs, constant input and bias;
    ``slack`` (n, sources, out) is what each term may lose to underflow in other associations."""
    per_term = mul(shares, Ball(R.mid[:, None, :], R.rad[:, None, :]), p)
    per_term = Ball(per_term.mid, per_term.rad + slack)
    to_inputs = total(per_term[:, :n_in, :], axis=2, p=p)
    Rm = total(per_term[:, n_in : 2 * n_in, :], axis=2, p=p) if has_constant else None
    Rb = per_term[:, -1, :]
    return to_inputs, Rb, Rm, per_term.upper.sum(axis=(1, 2))


def _term_underflow(
    sources: Factor,
    weights: Factor,
    coefficient: float,
    R: Ball,
    side_sum: Ball,
    shares: Ball,
    p: Precision,
    grain: float,
) -> F64:
    """Per term (n, sources, out), what underflow may cost ``coefficient x v_i w_ij x R_j / Z_j``
    in any association: shares first, relevance first, ``(v w R) / Z``, ... (see
    :func:`~lrp_invariants.bounds.balls.association_slack`)."""
    low, high = magnitude(side_sum, p).bounds(p)
    factors = [
        sources,
        weights,
        Factor.exact(np.full((1, 1, 1), coefficient)),
        Factor.of(Ball(R.mid[:, None, :], R.rad[:, None, :]), p),
        Factor.reciprocal(np.maximum(np.maximum(low, 0), grain)[:, None, :], high[:, None, :]),
    ]
    # each term is its share (in [0, 1]) of coefficient x R_j
    term = times(shares.upper, coefficient * R.upper[:, None, :])
    return association_slack(factors, product_of, p, term)[0]


def _alpha_beta(
    W: F64,
    bias: Ball,
    c: F64 | None,
    a: Ball,
    z: Ball,
    R: Ball,
    rule: AlphaBeta,
    p: Precision,
    grains: tuple[float, float],
) -> LayerBalls:
    grain_a, grain_z = grains  # a side's sum that is not 0 is on the grain of z's terms
    contributions = _contributions(a, W, bias, c, p)
    positive = relu(contributions, p)
    pos_share, pos_empty, pos_sum = _shares(positive, p)
    neg = negative_part(contributions, p)
    neg_share, neg_empty, neg_sum = _shares(Ball(-neg.mid, neg.rad), p)
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
        _term_underflow(sources, weights, rule.alpha, R, pos_sum, pos_share, p, grain_z),
    )
    slack_n = times(
        on_negative, _term_underflow(sources, weights, rule.beta, R, neg_sum, neg_share, p, grain_z)
    )
    Rp, Rbp, Rmp, mass_p = _distribute(
        pos_share, scale(R, rule.alpha, p), W.shape[0], c is not None, p, slack_p
    )
    Rn, Rbn, Rmn, mass_n = _distribute(
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
        s_upper = _quotient_upper(rule.alpha * R.upper, pos_sum, p) + _quotient_upper(
            times(np.full_like(R.upper, rule.beta), R.upper), neg_sum, p
        )
    underflow = _underflow_mass(s_upper, a.upper, length, p)
    underflow = underflow + (slack_p + slack_n).sum(axis=(1, 2))
    return LayerBalls(R, R_in, Rb, Rs, Rm, mass, length, underflow)


def _input_blind(W: F64, c: F64 | None, R: Ball, flat: bool, p: Precision) -> LayerBalls:
    """w² and flat: shares that depend on the weights only; the bias is no source.

    No gate method claims these rules, so their enclosure covers this package's evaluation
    (squares of column-normalised weights, which cannot underflow), not every association.
    """
    stacked = column_normalised(W if c is None else np.vstack([W, W]))
    n = R.mid.shape[0]
    weights = np.ones_like(stacked) if flat else stacked**2
    terms = Ball(
        np.broadcast_to(weights, (n, *weights.shape)),
        np.broadcast_to(0 if flat else p.u * weights, (n, *weights.shape)),
    )
    shares, empty, summed = _shares(terms, p)
    per_term = mul(shares, Ball(R.mid[:, None, :], R.rad[:, None, :]), p)
    R_all = total(per_term, axis=2, p=p)
    n_in = W.shape[0]
    Rm = None if c is None else R_all[:, n_in:]
    Rs = mul(empty, R, p)
    zero = Ball.exact(np.zeros_like(R.mid))
    mass = 2 * per_term.upper.sum(axis=(1, 2)) + 2 * R.upper.sum(axis=1) + Rs.upper.sum(axis=1)
    length = 2 * stacked.shape[0] + W.shape[1] + 8
    s_upper = _quotient_upper(R.upper, summed, p)
    underflow = _underflow_mass(s_upper, np.zeros((n, stacked.shape[0])), length, p)
    return LayerBalls(R, R_all[:, :n_in], zero, Rs, Rm, mass, length, underflow)
