"""Enclosures of LRP: every rule's relevances and sinks, layer by layer, on balls.

:func:`enclose_relevance` walks the layers down and asks each layer's rule for its enclosure
(``Rule.enclose``, beside the rule's formula in :mod:`lrp_invariants.rules`); this module holds
what those enclosures share: the per-contribution balls, shares of same-signed sums, and the
underflow slack of products in unknown association. Each enclosure mirrors its rule in ball
arithmetic (:mod:`lrp_invariants.bounds.balls`), so that its result encloses the exact relevance
and every correct evaluation of the same formula, in any order and association.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from ..network import Network, Start, check_start
from .balls import (
    F64,
    Ball,
    Factor,
    Precision,
    association_slack,
    bound_matmul,
    cap_factor,
    fraction,
    hull,
    magnitude,
    monotone,
    mul,
    product_of,
    times,
    total,
)
from .forward import ForwardBalls, class_selector
from .starts import start_ball

if TYPE_CHECKING:
    from ..rules.base import Rule as RuleLike


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


@dataclass(frozen=True, eq=False)
class LayerInput:
    """What a rule's enclosure reads of one Linear layer: its weights (exact), the balls of its
    bias, input and pre-activation, its constant input (net3's ``-m``, exact) if any, whether
    it is the top layer, the arithmetic, and the grains of its input and pre-activation."""

    W: F64
    bias: Ball
    c: F64 | None
    a: Ball
    z: Ball
    top: bool
    p: Precision
    grains: tuple[float, float]


@dataclass(frozen=True, eq=False)
class Enclosed:
    """The relevance a layer receives, as a ball ``R``; where the layer above knows it as
    ``act(z) h`` also ``h`` (the LRP-0/ε form, see :func:`enclose_relevance`); and ``carry``,
    what the layer above may have lost to underflow in an association unlike this module's."""

    R: Ball
    h: Ball | None = None
    carry: tuple[F64, F64] | None = None


def _per_layer(network: Network, rules: RuleLike | Sequence[RuleLike]) -> tuple[RuleLike, ...]:
    return (rules,) * network.depth if not isinstance(rules, Sequence) else tuple(rules)


def enclose_relevance(
    network: Network,
    forward: ForwardBalls,
    classes: ArrayLike,
    rules: RuleLike | Sequence[RuleLike],
    p: Precision | None = None,
    start: Start = "logit",
) -> tuple[LayerBalls, ...]:
    """Enclose LRP from the chosen class logit (or from 1, ``start="one"``, or from its softmax
    probability, ``start="probability"``), layer by layer (index 0 is the input layer).

    Each rule encloses its own layer (``rule.enclose``). LRP-0 and LRP-ε are evaluated in the
    form ``s_j = φ(z_j) h_j`` with ``R_j = act(z_j) h_j``, ``φ = act(z) / (z + ε sign z)``: the
    ratio of a neuron's activation to its own pre-activation is bounded (between 0 and 1) even
    where ``z`` is within rounding of zero. Sign-split rules (αβ) and the input-blind ones (w²,
    flat) are evaluated per contribution as fractions of same-signed sums, which lie in [0, 1]
    however small the sum. Where two evaluations of ``z`` may differ at a kink the bound can be
    infinite: it then says nothing, which is the honest answer there.
    """
    p = p or Precision.of(network.dtype)
    per_layer = _per_layer(network, rules)
    z_top = forward.z[-1]
    selector = class_selector(classes, z_top.mid.shape)
    if check_start(start) == "given":  # exact values, of every output
        given = Enclosed(Ball.exact(np.asarray(start, dtype=np.float64)))
        return _enclose_from(network, forward, per_layer, given, p)
    if start != "logit":  # ones, or probabilities: no logit to factor out
        first = start_ball(z_top, classes, start, p)
        R = Ball(selector * first.mid[:, None], selector * first.rad[:, None])
        return _enclose_from(network, forward, per_layer, Enclosed(R), p)
    # R = act(z) * h with act = identity at the logits
    incoming = Enclosed(mul(Ball.exact(selector), z_top, p), Ball.exact(selector))
    from_logit = _enclose_from(network, forward, per_layer, incoming, p)
    # Code may also start from 1 and multiply by the logit at the end (Captum's LRP): the same
    # value, but every underflow on the way is then counted in units of the logit. Where a
    # logit may exceed 1 in magnitude (and is away from 0), the enclosure of that order, scaled
    # by the logit, joins the first (below 1 its underflows weigh less than the first's).
    rows = np.arange(selector.shape[0])
    logit = z_top[rows, np.asarray(classes, dtype=np.intp)]
    low, high = magnitude(logit, p).bounds(p)
    scaled = np.flatnonzero((high > 1) & (low > 0))
    if not scaled.size:
        return from_logit
    unit = Enclosed(Ball.exact(selector[scaled]))
    normalised = _enclose_from(network, _rows_of(forward, scaled), per_layer, unit, p)
    return tuple(
        _joined(first, second, logit[scaled], scaled, p)
        for first, second in zip(from_logit, normalised, strict=True)
    )


def _rows_of(forward: ForwardBalls, rows: np.ndarray) -> ForwardBalls:
    """The forward balls of some samples (the grains, bounds over the batch, still hold)."""
    return ForwardBalls(
        tuple(a[rows] for a in forward.a),
        tuple(z[rows] for z in forward.z),
        forward.biases,
        forward.grains,
    )


def _joined(
    first: LayerBalls, normalised: LayerBalls, logit: Ball, rows: np.ndarray, p: Precision
) -> LayerBalls:
    """``first`` with, at ``rows``, the hull of its balls and ``logit`` times the normalised
    order's (one rounding more; its mass and underflow scaled by the logit too)."""
    scale_by = Ball(logit.mid[:, None], logit.rad[:, None])
    size = logit.upper * (1 + 2 * p.u)

    def join(ball: Ball | None, other: Ball | None) -> Ball | None:
        if ball is None or other is None:
            return ball
        joined = hull(ball[rows], mul(scale_by, other, p), p)
        mid, rad = ball.mid.copy(), ball.rad.copy()
        mid[rows], rad[rows] = joined.mid, joined.rad
        return Ball(mid, rad)

    mass, underflow = first.mass.copy(), first.underflow.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        mass[rows] = np.maximum(mass[rows], normalised.mass * size)
        underflow[rows] = np.maximum(underflow[rows], normalised.underflow * size)
    R_out, R, Rb, Rs = (
        join(first.R_out, normalised.R_out),
        join(first.R, normalised.R),
        join(first.Rb, normalised.Rb),
        join(first.Rs, normalised.Rs),
    )
    assert R_out is not None and R is not None and Rb is not None and Rs is not None
    return LayerBalls(
        R_out,
        R,
        Rb,
        Rs,
        join(first.Rm, normalised.Rm),
        mass,
        max(first.length, normalised.length + 1),
        underflow,
    )


def _enclose_from(
    network: Network,
    forward: ForwardBalls,
    per_layer: Sequence[RuleLike],
    incoming: Enclosed,
    p: Precision,
) -> tuple[LayerBalls, ...]:
    """Walk the layers down from ``incoming``, the relevance at the logits."""
    out: list[LayerBalls] = []
    for i in range(network.depth - 1, -1, -1):
        layer = network.layers[i]
        inputs = LayerInput(
            W=layer.W.astype(np.float64),
            bias=forward.biases[i],
            c=None if layer.constant is None else layer.constant.astype(np.float64),
            a=forward.a[i],
            z=forward.z[i],
            top=i == network.depth - 1,
            p=p,
            grains=_layer_grains(forward, i, p),
        )
        # a radius that overflows is infinite: a bound that says nothing (an ill-conditioned
        # unit, a kink), never an error
        with np.errstate(over="ignore"):
            result, incoming = per_layer[i].enclose(inputs, incoming)
        out.append(result)
    return tuple(reversed(out))


def _layer_grains(forward: ForwardBalls, i: int, p: Precision) -> tuple[float, float]:
    """Grains of layer ``i``'s input and of its pre-activation (0: nothing known)."""
    if not forward.grains:
        return 0.0, 0.0
    grain_a = p.grain(forward.a[0].mid) if i == 0 else forward.grains[i - 1]
    return grain_a, forward.grains[i]


def underflow_of_sums(
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
    with np.errstate(over="ignore"):  # a bound beyond the float range is inf, still a bound
        cap = cap_factor(4, p) * below
    return slack, (spread, cap)


def underflow_mass(s_upper: F64, a_upper: F64, length: int, p: Precision) -> F64:
    """Each of a layer's products may underflow once, by at most ``η``; an underflow in a
    denominator is then multiplied by ``|s_j|``, one in ``w_ij s_j`` by ``|a_i|``."""
    n_in, n_out = a_upper.shape[1], s_upper.shape[1]
    with np.errstate(invalid="ignore"):
        per_sample = s_upper.sum(axis=1) + n_out * a_upper.sum(axis=1) + n_in * n_out
    return p.eta * length * np.nan_to_num(per_sample, nan=np.inf)


def quotient_upper(numerator_upper: F64, denominator: Ball, p: Precision) -> F64:
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


def with_subnormal_relevance(s: Ball, unit: Ball, h: Ball, denominator: F64, p: Precision) -> Ball:
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


def contribution_balls(a: Ball, W: F64, bias: Ball, c: F64 | None, p: Precision) -> Ball:
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


def same_sign_shares(terms: Ball, p: Precision) -> tuple[Ball, Ball, Ball]:
    """Each same-signed term's share of its sum, whether the sum may be zero (0 or 1), and the
    sum itself."""
    summed = total(terms, axis=1, p=p)
    rest = Ball(
        summed.mid[:, None, :] - terms.mid,
        summed.rad[:, None, :] + terms.rad + 2 * p.u * np.abs(summed.mid[:, None, :] - terms.mid),
    )
    empty = monotone(lambda v: (v <= 0) * 1.0, summed, p, 0)
    return fraction(terms, rest, p), empty, summed


def distribute(
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


def term_underflow(
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
    :func:`~lrp_invariants.bounds.balls.association_slack`). Each term is its share (in
    [0, 1]) of ``coefficient x R_j``."""
    low, high = magnitude(side_sum, p).bounds(p)
    term = times(shares.upper, times(np.full((1, 1, 1), coefficient), R.upper[:, None, :]))
    return product_underflow(
        sources, weights, coefficient, R, np.maximum(np.maximum(low, 0), grain), high, term, p
    )


def product_underflow(
    sources: Factor,
    weights: Factor,
    coefficient: float,
    R: Ball,
    denominator_low: F64,
    denominator_high: F64,
    term_upper: F64,
    p: Precision,
) -> F64:
    """Per term (n, sources, out), what underflow may cost ``coefficient v_i w_ij R_j / d_j`` in
    any association, for ``denominator_low <= |d_j| <= denominator_high`` (n, out) and terms
    bounded by ``term_upper`` (n, sources, out)."""
    factors = [
        sources,
        weights,
        Factor.exact(np.full((1, 1, 1), coefficient)),
        Factor.of(Ball(R.mid[:, None, :], R.rad[:, None, :]), p),
        Factor.reciprocal(denominator_low[:, None, :], denominator_high[:, None, :]),
    ]
    return association_slack(factors, product_of, p, term_upper)[0]
