"""Every tolerance in lrp-invariants, derived from floating-point error bounds.

The invariants compare two floating-point computations that are equal in exact arithmetic
(net1 at ``x1`` against net2 at ``x1 + m``, a batch against its samples, ...). How far two correct
implementations may drift apart depends on the sums involved, so the tolerance is computed, not
chosen: this module evaluates the same quantities in *ball arithmetic* (midpoint-radius intervals,
Rump 1999) and takes the radii as the tolerance.

The rounding model (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., ch. 2-3):
with unit roundoff ``u`` (2**-53 for float64, 2**-24 for float32) every elementary operation is
exact up to a factor ``1 + δ``, ``|δ| <= u``, plus an absolute ``η`` (the smallest subnormal) when
a product underflows; a sum of ``k`` terms computed in *any* order, with or without fused
multiply-adds, is off by at most ``γ_k Σ|terms|`` with ``γ_k = k u / (1 - k u)``.

A :class:`Ball` ``(mid, rad)`` guarantees that both the exact value of its quantity and every
value a correct floating-point evaluation of it can produce lie within ``rad`` of ``mid``. Two
evaluations ``A`` and ``B`` of quantities whose exact values are equal therefore satisfy
``|A - B| <= 2 (rad_A + rad_B)``: :func:`agreement_tolerance`. The radii grow where the problem is
ill-conditioned — cancellation in a pre-activation, a denominator near zero, a ReLU whose input
is within rounding of zero (a *kink*, where two correct evaluations may take different branches)
— and stay at a few ulps of ``Σ|terms|`` elsewhere. A kink makes a comparison vacuous for the
values it touches instead of raising a false alarm; :func:`count_kinks` reports how often.

Three kinds of tolerance come out of this one module:

* agreement of two computations of the same exact value (:func:`agreement_tolerance`);
* conservation of relevance within one computation (:func:`conservation_tolerance`): the sum of a
  layer's sources and sinks equals its output relevance up to ``γ_K`` times the sum of the
  absolute values of every term added on the way (``mass``), see :func:`conservation_tolerance`;
* probabilities against scikit-learn's (:func:`probability_tolerance`).

All ball arithmetic runs in float64; ``Precision`` carries the unit roundoff of the arithmetic
being bounded, so a float32 network gets float32 radii.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .network import Array, Network, Trace
from .rules import LRP0, AlphaBeta, Epsilon, Flat, Rule, WSquare, column_normalised

F64 = Array  # ball arithmetic runs in float64; the alias keeps numpy's typing simple


@dataclass(frozen=True)
class Precision:
    """The unit roundoff ``u`` and underflow unit ``eta`` of the arithmetic being bounded."""

    u: float
    eta: float
    tiny: float  # the smallest normal number: below it, products lose relative accuracy

    @classmethod
    def of(cls, dtype: np.dtype[np.floating] | type[np.floating]) -> Precision:
        info = np.finfo(dtype)
        return cls(u=float(info.eps) / 2, eta=float(info.smallest_subnormal), tiny=float(info.tiny))

    def gamma(self, k: int) -> float:
        """γ_k = k u / (1 - k u): the relative error bound of a sum of k terms."""
        ku = k * self.u
        if ku >= 0.5:
            raise ValueError(f"sums of {k} terms are too long to bound at u = {self.u}")
        return ku / (1 - ku)

    def widen(self, rad: F64, k: int) -> F64:
        """Cover the rounding of a radius computed by at most ``k`` operations (zero stays zero)."""
        return rad * (1 + 2 * self.gamma(k + 2))


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


def _times(x: F64, y: F64) -> F64:
    """``x * y`` for nonnegative bounds, where ``0 * inf`` is 0: a factor known to be exactly
    zero bounds the product by zero, however loose the other factor is."""
    with np.errstate(invalid="ignore", over="ignore"):
        product = x * y
    return np.where(np.isnan(product), 0.0, product)


def _bound_matmul(x: F64, M: F64) -> F64:
    """``x @ M`` for nonnegative bounds, with ``0 * inf`` taken as 0 (see :func:`_times`)."""
    infinite = np.isinf(x)
    with np.errstate(over="ignore"):
        if not infinite.any():
            return x @ M
        finite = np.where(infinite, 0.0, x) @ M
    reached = infinite.astype(np.float64) @ (M > 0).astype(np.float64)
    return np.where(reached > 0, np.inf, finite)


def _underflow(magnitudes: F64, W_mask: F64, p: Precision) -> F64:
    """η for every product that is not exactly zero (each may underflow once)."""
    return p.eta * ((magnitudes > 0).astype(np.float64) @ W_mask)


def affine(a: Ball, W: F64, bias: Ball | None, p: Precision, constant: F64 | None = None) -> Ball:
    """``a @ W + constant @ W + bias`` as one sum of ``K`` terms per output, in any order."""
    absW = np.abs(W)
    nonzero = (absW > 0).astype(np.float64)
    mid = a.mid @ W
    terms = _bound_matmul(a.upper, absW)
    rad = _bound_matmul(a.rad, absW)
    slack = _underflow(a.upper, nonzero, p)
    k = W.shape[0]
    if constant is not None:
        mid = mid + constant @ W
        terms = terms + np.abs(constant) @ absW
        slack = slack + _underflow(np.abs(constant), nonzero, p)
        k += W.shape[0]
    if bias is not None:
        mid = mid + bias.mid
        terms = terms + bias.upper
        rad = rad + bias.rad
        k += 1
    rad = rad + 2 * p.gamma(k) * terms + slack
    return Ball(mid, p.widen(rad, k))


def add(a: Ball, b: Ball, p: Precision) -> Ball:
    mid = a.mid + b.mid
    rad = a.rad + b.rad
    return Ball(mid, p.widen(rad + 2 * p.u * (np.abs(mid) + rad), 4))


def mul(a: Ball, b: Ball, p: Precision) -> Ball:
    """``a * b``. A product of two nonzero factors may underflow, even to zero: such a zero is
    not exact, so the underflow slack goes wherever neither factor is known to be zero."""
    mid = a.mid * b.mid
    spread = _times(np.abs(a.mid), b.rad) + _times(np.abs(b.mid), a.rad) + _times(a.rad, b.rad)
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
    rad = a.rad.sum(axis=axis) + 2 * p.gamma(k) * a.upper.sum(axis=axis)
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
        lo = np.where(np.isinf(r_hi), 0.0, _ratio(p_lo, p_lo + r_hi))
        hi = np.where(p_hi > 0, np.where(np.isinf(p_hi), 1.0, _ratio(p_hi, p_hi + r_lo)), 0)
    mid = np.clip(_ratio(part.mid, part.mid + rest.mid), 0, 1)
    rad = np.maximum(hi - mid, mid - lo) + 4 * p.u * hi
    return Ball(mid, p.widen(rad, 4))


def _ratio(numerator: F64, denominator: F64) -> F64:
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape))
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def divide(numerator: Ball, denominator: Ball, p: Precision) -> Ball:
    """``numerator / denominator`` with 0 where the denominator is exactly 0; unbounded if it
    may be zero without being exactly zero (only reached when no structure says better)."""
    d_lo, d_hi = denominator.bounds(p)
    straddles = (d_lo <= 0) & (d_hi >= 0) & ~((denominator.mid == 0) & (denominator.rad == 0))
    safe = np.where(straddles, 1.0, np.minimum(np.abs(d_lo), np.abs(d_hi)))
    mid = _ratio(numerator.mid, denominator.mid)
    # |n/d - n0/d0| <= (|n - n0| + |n0/d0| |d - d0|) / min|d|
    spread = _ratio(numerator.rad + _times(np.abs(mid), denominator.rad), safe)
    rad = spread + 2 * p.u * (np.abs(mid) + spread)
    rad = np.where(straddles, np.inf, rad)
    return Ball(mid, p.widen(rad, 6))


# --------------------------------------------------------------------------------------------
# Seeds: the uncertainty a construction introduces, so that balls enclose the exact shifted value.


def shifted_input(x2: ArrayLike, p: Precision) -> Ball:
    """``x2 = fl(x1 + m)`` encloses the exact ``x1 + m``: rounding to nearest errs by ``u|x2|``."""
    mid = np.asarray(x2, dtype=np.float64)
    return Ball(mid, p.widen(p.u * np.abs(mid) * (1 + 2 * p.u), 2))


def compensated_bias(b2: ArrayLike, W1: ArrayLike, m: ArrayLike, p: Precision) -> Ball:
    """``b2 = fl(b1 - fl(m @ W1))`` encloses the exact ``b1 - m @ W1``."""
    shift = np.abs(np.asarray(m, dtype=np.float64))
    absW = np.abs(np.asarray(W1, dtype=np.float64))
    mid = np.asarray(b2, dtype=np.float64)
    product = p.gamma(absW.shape[0]) * (shift @ absW) + _underflow(
        shift, (absW > 0).astype(np.float64), p
    )
    rad = product + p.u * (np.abs(mid) + product) * (1 + 2 * p.u)
    return Ball(mid, p.widen(rad, 4))


# --------------------------------------------------------------------------------------------
# Enclosures of a forward pass, of the gradient and of LRP.


@dataclass(frozen=True, eq=False)
class ForwardBalls:
    """Balls of every layer's input ``a[l]`` and pre-activation ``z[l]``."""

    a: tuple[Ball, ...]
    z: tuple[Ball, ...]


def enclose_forward(
    network: Network, x: Ball, first_bias: Ball | None = None, p: Precision | None = None
) -> ForwardBalls:
    """Enclose the forward pass of ``network`` on every input in ``x``.

    ``first_bias`` replaces the first layer's bias by a ball (net2's compensated bias).
    """
    p = p or Precision.of(network.dtype)
    a_balls, z_balls = [x], []
    a = x
    for i, layer in enumerate(network.layers):
        bias = first_bias if (i == 0 and first_bias is not None) else Ball.exact(layer.b)
        constant = None if layer.constant is None else layer.constant.astype(np.float64)
        z = affine(a, layer.W.astype(np.float64), bias, p, constant)
        z_balls.append(z)
        if i < network.depth - 1:
            a = relu(z, p)
            a_balls.append(a)
    return ForwardBalls(tuple(a_balls), tuple(z_balls))


def trace_balls(trace: Trace) -> ForwardBalls:
    """A computed trace taken as exact: for rules evaluated on that very trace."""
    return ForwardBalls(
        tuple(Ball.exact(a) for a in trace.a), tuple(Ball.exact(z) for z in trace.z)
    )


def count_kinks(forward: ForwardBalls, p: Precision) -> int:
    """How many hidden pre-activations may have either sign: their ReLU branch is not certain."""
    kinks = 0
    for z in forward.z[:-1]:
        lo, hi = z.bounds(p)
        kinks += int(np.count_nonzero((lo <= 0) & (hi > 0)))
    return kinks


def _one_hot(classes: ArrayLike, shape: tuple[int, ...]) -> F64:
    chosen = np.asarray(classes, dtype=np.intp)
    selector = np.zeros(shape)
    selector[np.arange(shape[0]), chosen] = 1
    return selector


def _step(z: F64) -> F64:
    return (z > 0).astype(np.float64)


def enclose_gradient(
    network: Network, forward: ForwardBalls, classes: ArrayLike, p: Precision | None = None
) -> Ball:
    """Enclose d logit[class] / d x; at a kink the ReLU derivative may be 0 or 1."""
    p = p or Precision.of(network.dtype)
    g = Ball.exact(_one_hot(classes, forward.z[-1].mid.shape))
    for i in range(network.depth - 1, -1, -1):
        g = affine(g, network.layers[i].W.T.astype(np.float64), None, p)
        if i > 0:
            g = mul(monotone(_step, forward.z[i - 1], p, 0), g, p)
    return g


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
    first_bias: Ball | None = None,
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
    selector = _one_hot(classes, z_top.mid.shape)
    R = mul(Ball.exact(selector), z_top, p)
    h: Ball | None = Ball.exact(selector)  # R = act(z) * h, act = identity at the logits
    out: list[LayerBalls] = []
    for i in range(network.depth - 1, -1, -1):
        layer, rule, top = network.layers[i], per_layer[i], i == network.depth - 1
        a, z = forward.a[i], forward.z[i]
        bias = first_bias if (i == 0 and first_bias is not None) else Ball.exact(layer.b)
        W = layer.W.astype(np.float64)
        c = None if layer.constant is None else layer.constant.astype(np.float64)
        if isinstance(rule, (LRP0, Epsilon)):
            eps = rule.epsilon if isinstance(rule, Epsilon) else 0.0
            result, h = _stabilised(W, bias, c, a, z, R, h, eps, top, p)
        elif isinstance(rule, AlphaBeta):
            result, h = _alpha_beta(W, bias, c, a, z, R, rule, p), None
        elif isinstance(rule, (WSquare, Flat)):
            result, h = _input_blind(W, c, R, isinstance(rule, Flat), p), None
        else:
            raise NotImplementedError(f"no error bound is known for the rule {rule!r}")
        out.append(result)
        R = result.R
    return tuple(reversed(out))


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
) -> tuple[LayerBalls, Ball]:
    """LRP-0 (eps = 0) and LRP-ε: s = R / (z + ε sign z)."""
    if h is not None and top:
        # s = z / (z + ε sign z) = |z| / (|z| + ε), and 1[z != 0] for ε = 0
        factor = monotone(
            lambda v: _ratio(v, v + eps) if eps else (v > 0) * 1.0, magnitude(z, p), p, 2
        )
        s = mul(factor, h, p)
        absorbed = monotone(lambda v: eps * (v / (np.abs(v) + eps)) if eps else 0 * v, z, p, 4)
        Rs = mul(absorbed, h, p)
    elif h is not None:
        # s = relu(z) / (z + ε): 0 below zero, increasing above
        factor = monotone(
            lambda v: _ratio(np.maximum(v, 0), np.maximum(v, 0) + eps) if eps else _step(v), z, p, 2
        )
        s = _with_subnormal_relevance(mul(factor, h, p), relu(z, p), h, z, eps, p)
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
    terms = _bound_matmul(a.upper, np.abs(W)) + bias.upper + eps
    if c is not None:
        terms = terms + np.abs(c) @ np.abs(W)
    mass = 2 * _times(s.upper, terms).sum(axis=1) + 2 * R.upper.sum(axis=1) + Rs.upper.sum(axis=1)
    n_sources = W.shape[0] * (1 if c is None else 2) + 1
    length = n_sources + W.shape[0] + W.shape[1] + 6
    underflow = _underflow_mass(s.upper, a.upper, length, p)
    return LayerBalls(R, R_in, Rb, Rs, Rm, mass, length, underflow), below


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
        bound = np.where(low > 0, numerator_upper / np.where(low > 0, low, 1), np.inf)
    return np.where((numerator_upper == 0) | exact_zero, 0.0, bound)


def _with_subnormal_relevance(
    s: Ball, unit: Ball, h: Ball, z: Ball, eps: float, p: Precision
) -> Ball:
    """Code under test divides the relevance ``R_j = fl(act_j h_j)``, not ``h_j``, by the
    denominator. Where that product may be subnormal its absolute error, up to ``η``, is divided
    too: unbounded if the denominator may be zero (a kink in the subnormal range)."""
    product = _times(unit.upper, h.upper)
    at_risk = (product > 0) & (product < p.tiny)
    if not np.any(at_risk):
        return s
    low, _ = magnitude(z, p).bounds(p)
    denominator = np.maximum(low, 0) + eps
    with np.errstate(divide="ignore"):
        extra = np.where(at_risk, p.eta / denominator, 0.0)
    return Ball(s.mid, s.rad + extra)


def _contributions(a: Ball, W: F64, bias: Ball, c: F64 | None, p: Precision) -> Ball:
    """Every source's contribution ``z_ij`` (n, sources, out): inputs, constant input, bias."""
    n = a.mid.shape[0]
    parts = [mul(Ball(a.mid[:, :, None], a.rad[:, :, None]), Ball.exact(W[None]), p)]
    if c is not None:
        parts.append(mul(Ball.exact(c[None, :, None]), Ball.exact(W[None]), p))
        parts[-1] = Ball(
            np.broadcast_to(parts[-1].mid, (n, *W.shape)),
            np.broadcast_to(parts[-1].rad, (n, *W.shape)),
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
    shares: Ball, R: Ball, n_in: int, has_constant: bool, p: Precision
) -> tuple[Ball, Ball, Ball | None, F64]:
    """Source relevance Σ_j share_ij R_j, split into inputs, constant input and bias."""
    per_term = mul(shares, Ball(R.mid[:, None, :], R.rad[:, None, :]), p)
    to_inputs = total(per_term[:, :n_in, :], axis=2, p=p)
    Rm = total(per_term[:, n_in : 2 * n_in, :], axis=2, p=p) if has_constant else None
    Rb = per_term[:, -1, :]
    return to_inputs, Rb, Rm, per_term.upper.sum(axis=(1, 2))


def _alpha_beta(
    W: F64, bias: Ball, c: F64 | None, a: Ball, z: Ball, R: Ball, rule: AlphaBeta, p: Precision
) -> LayerBalls:
    contributions = _contributions(a, W, bias, c, p)
    pos_share, pos_empty, pos_sum = _shares(relu(contributions, p), p)
    neg = negative_part(contributions, p)
    neg_share, neg_empty, neg_sum = _shares(Ball(-neg.mid, neg.rad), p)
    Rp, Rbp, Rmp, mass_p = _distribute(
        pos_share, scale(R, rule.alpha, p), W.shape[0], c is not None, p
    )
    Rn, Rbn, Rmn, mass_n = _distribute(
        neg_share, scale(R, rule.beta, p), W.shape[0], c is not None, p
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
    s_upper = _quotient_upper(rule.alpha * R.upper, pos_sum, p) + _quotient_upper(
        rule.beta * R.upper, neg_sum, p
    )
    underflow = _underflow_mass(s_upper, a.upper, length, p)
    return LayerBalls(R, R_in, Rb, Rs, Rm, mass, length, underflow)


def _input_blind(W: F64, c: F64 | None, R: Ball, flat: bool, p: Precision) -> LayerBalls:
    """w² and flat: shares that depend on the weights only; the bias is no source."""
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


# --------------------------------------------------------------------------------------------
# Tolerances.


def agreement_tolerance(a: Ball, b: Ball) -> F64:
    """How far two correct evaluations of quantities with equal exact values may differ.

    Each evaluation lies within ``rad`` of its ball's ``mid``, and the common exact value lies in
    both balls, so ``|A - B| <= 2 rad_A + 2 rad_B``.
    """
    return 2 * (a.rad + b.rad)


def conservation_tolerance(layers: Sequence[LayerBalls], p: Precision) -> F64:
    """(n, depth) bounds on ``total(l) - output_total``: input relevance at layer ``l`` plus
    every sink at and above it, against the relevance the propagation started from.

    In exact arithmetic a rule's sources and sinks add up to the layer's output relevance for
    *any* denominators it divides by, so the residual is rounding alone: each layer's sums of at
    most ``length`` terms are off by ``γ_length`` times their absolute ``mass`` (plus what
    underflowing products add), and the layers' residuals add up from the top.
    """
    per_layer = np.stack(
        [p.gamma(layer.length) * layer.mass + layer.underflow for layer in layers], axis=1
    )
    cumulative = np.cumsum(per_layer[:, ::-1], axis=1)[:, ::-1]
    return p.widen(cumulative, len(layers) + 2)


def probability_tolerance(logits: Ball, output: str, p: Precision) -> F64:
    """Bound on two correct evaluations of ``predict_proba`` from logits in ``logits``.

    Softmax and the logistic function are 1-Lipschitz in the max-norm of the logits (their
    derivatives are at most 1 and 1/4), and their own evaluation adds a few roundings per output.
    """
    spread = 2 * logits.rad.max(axis=1, keepdims=True)
    k = logits.mid.shape[1] + 8
    if output == "logistic" and logits.mid.shape[1] == 1:
        return 2 * (spread + p.gamma(k)) * np.ones((logits.mid.shape[0], 2))
    return 2 * (spread + p.gamma(k)) * np.ones_like(logits.mid)
