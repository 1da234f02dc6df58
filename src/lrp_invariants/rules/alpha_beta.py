"""LRP-αβ and z⁺: positive and negative contributions, each a share of its own sign's sum.

``z_ij = v_i w_ij`` is split by its own sign (inputs may be negative); the bias and the constant
input are sources like any other. The libraries' variants are parameters of the same rule: a
stabiliser, a bias left out or kept whole, weights clamped once instead of contributions split
(:class:`AlphaBeta`). The enclosures are in :mod:`.alpha_beta_enclosure`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from ..bounds.balls import Ball
from ..bounds.relevance import Enclosed, LayerBalls, LayerInput
from ..network import Array, LayerTrace, Linear
from .alpha_beta_enclosure import enclose_split, enclose_stabilised
from .base import (
    BiasConvention,
    LayerRelevance,
    Rule,
    check_parameter,
    contributions,
    divide_or_zero,
    lost_where,
    stabiliser,
)
from .modified import modified_shares, repaired, stabilised_shares
from .operator import (
    LinearOperator,
    OperatorRelevance,
    absolute_terms,
    constant_batch,
    fixed_signed,
    signed_product,
    signed_transpose,
    summed,
)

ALPHA_BETA_BIASES = ("source", "ignored", "whole")
"""The bias conventions αβ and z⁺ take (:data:`~lrp_invariants.rules.base.BIAS_CONVENTIONS`)."""


@dataclass(frozen=True)
class AlphaBeta(Rule):
    """LRP-αβ (Bach et al. eq. 60): R_i = sum_j (α z_ij⁺ / z_j⁺ - β z_ij⁻ / z_j⁻) R_j.

    Convention: α - β = 1 and β >= 0, so a neuron with sources of both signs passes exactly its
    relevance. ``z_ij = a_i w_ij`` is split by its own sign (inputs may be negative); the bias and
    the constant input are sources like any other. A neuron with no positive (negative) source
    cannot pass its α (β) share; ``Rs`` records it: ``α R [z⁺ = 0] - β R [z⁻ = 0]``.

    Where libraries differ (each measured: ``docs/methods.md``):

    * ``epsilon``: a stabiliser added to each side's sum with that sum's sign (sign(0) = +1), as
      Zennit's ``stabilizer`` and Captum's fixed 1e-9 are; the share it absorbs, ``ε sign(D±)
      s±``, goes to ``Rs``. (iNNvestigate's αβ has none: it replaces only an exact 0.)
    * ``bias``: ``source``, the weight of an always-on input like any other, split by its sign
      (``b⁺`` in the positive sum, ``b⁻`` in the negative: Zennit); ``ignored``, left out of
      both sums with ``Rb = 0`` (Zennit's ``zero_params=["bias"]``, iNNvestigate's ``*_IB``
      and ``z_plus``); ``whole``, as it is, whatever its sign, in each side's sum
      (iNNvestigate's ``alpha_2_beta_1`` and ``alpha_1_beta_0``, Captum's
      ``Alpha1_Beta0_Rule``). A side's sum then need not share its terms' sign.
    * ``sign_aware=False`` (``weights-once``): the weights are clamped once, ``a_i w⁺_ij`` and
      ``a_i w⁻_ij``, whatever the sign of ``a_i`` (Captum's ``Alpha1_Beta0_Rule``,
      iNNvestigate's ``z_plus_fast``); a ``source`` bias is clamped with them.

    >>> AlphaBeta(2.0, 1.0, epsilon=1e-6)                 # Zennit's AlphaBeta()
    >>> ZPlus(epsilon=1e-9, bias="whole", sign_aware=False)  # Captum's Alpha1_Beta0_Rule()
    >>> ZPlus(bias="ignored")                              # iNNvestigate's lrp.z_plus
    """

    alpha: float = 2.0
    beta: float = 1.0
    epsilon: float = 0.0
    bias: BiasConvention = "source"
    sign_aware: bool = True
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
        check_parameter("epsilon", self.epsilon)
        if self.bias not in ALPHA_BETA_BIASES:
            hint = " (that is LRP-gamma's; αβ clamps a source bias)" * (self.bias == "modified")
            raise ValueError(
                f"bias must be one of {', '.join(ALPHA_BETA_BIASES)} for αβ and z⁺; got "
                f"{self.bias!r}{hint}"
            )

    def _side_biases(self, b: Array) -> tuple[Array, Array]:
        """The bias in the positive and in the negative side's sum."""
        if self.bias == "ignored":
            return np.zeros_like(b), np.zeros_like(b)
        if self.bias == "whole":
            return b, b
        return np.maximum(b, 0), np.minimum(b, 0)  # a source: split by sign, or clamped

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        if self.sign_aware and self.bias != "whole":
            return self._by_contributions(layer, forward, R)
        # sums that need not share one sign: shares may exceed 1, and overflow is repaired
        # from the literal form
        return repaired(self, layer, forward, R, lambda: self._two_sums(layer, forward.a, R))

    def _by_contributions(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        out, a, c = layer.n_out, forward.a, layer.constant
        with_bias = self.bias == "source"
        split = forward.z_split if with_bias else None
        if split is None:
            split = layer.split_preactivation(a, with_bias=with_bias)
        # s = [α R / z⁺ | -β R / z⁻]: one product with [W⁺ | W⁻]ᵀ then gives every source of
        # positive value its relevance per unit, Σ_j α w⁺_ij R_j / z⁺_j - β w⁻_ij R_j / z⁻_j
        s = np.empty_like(split)
        zero_pos = zero_neg = absorbed = None
        with np.errstate(over="ignore"):
            if self.epsilon:
                absorbed = stabiliser(split, self.epsilon)
                np.divide(self.alpha * R, split[:, :out] + absorbed[:, :out], out=s[:, :out])
                np.divide(-self.beta * R, split[:, out:] + absorbed[:, out:], out=s[:, out:])
            else:
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
        if absorbed is not None:
            held = absorbed * s
            Rs = held[:, :out] + held[:, out:]
        elif zero_pos is not None or zero_neg is not None:
            Rs = lost_where(self.alpha * R, zero_pos) - lost_where(self.beta * R, zero_neg)
        else:
            Rs = np.zeros_like(R)
        result = LayerRelevance(
            R_out=R,
            R=_by_sign(a, to_positive, to_negative),
            Rb=_by_sign(layer.b, s[:, :out], s[:, out:]) if with_bias else np.zeros_like(R),
            Rs=Rs,
            Rm=None if c is None else _by_sign(c, to_positive, to_negative),
        )
        for row, column in zip(*np.nonzero(risky if risky is not None else ()), strict=True):
            side, unit = divmod(int(column), out)
            weight = self.alpha * R[row, unit] if side == 0 else -self.beta * R[row, unit]
            _add_explicit_shares(
                result, layer, a[row], (int(row), unit), side == 0, weight, self.epsilon, with_bias
            )
        return result

    def _two_sums(self, layer: Linear, a: Array, R: Array) -> LayerRelevance:
        """Each side's sum with its own bias part and stabiliser, ``s± = ±(α|β) R / D±``: the
        weights clamped once (``a w⁺``, ``a w⁻``), or contributions split with the whole bias
        in each sum."""
        out, c = layer.n_out, layer.constant
        b_pos, b_neg = self._side_biases(layer.b)
        W_split = layer.W_split
        W_pos, W_neg = W_split[:, :out], W_split[:, out:]
        if self.sign_aware:
            split = layer.split_preactivation(a, with_bias=False)
            D_pos, D_neg = split[:, :out] + b_pos, split[:, out:] + b_neg
        else:
            D_pos = a @ W_pos + (b_pos if c is None else c @ W_pos + b_pos)
            D_neg = a @ W_neg + (b_neg if c is None else c @ W_neg + b_neg)
        s_pos, Rs = stabilised_shares(self.alpha * R, D_pos, self.epsilon)
        s_neg, Rs_neg = stabilised_shares(-self.beta * R, D_neg, self.epsilon)
        Rb, Rs = b_pos * s_pos + b_neg * s_neg, Rs + Rs_neg
        if not self.sign_aware:
            below = s_pos @ W_pos.T + s_neg @ W_neg.T
            return LayerRelevance(
                R_out=R, R=a * below, Rb=Rb, Rs=Rs, Rm=None if c is None else c * below
            )
        to_positive = np.concatenate([s_pos, s_neg], axis=1) @ W_split.T
        to_negative = np.concatenate([s_neg, s_pos], axis=1) @ W_split.T
        Rm = None if c is None else _by_sign(c, to_positive, to_negative)
        return LayerRelevance(R_out=R, R=_by_sign(a, to_positive, to_negative), Rb=Rb, Rs=Rs, Rm=Rm)

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        """αβ at any linear layer: every contribution (input, constant input, fixed frame, bias)
        split by its own sign, each side shared over its own sum; or, weights-once, every
        source through ``W⁺`` and ``W⁻``."""
        if not self.sign_aware:
            return self._propagate_weights_once(op, a, z, R)
        c = constant_batch(op)
        frame_pos, frame_neg = fixed_signed(op, True), fixed_signed(op, False)
        b_pos, b_neg = self._side_biases(op.bias)
        z_pos = summed(
            z,
            signed_product(op, a, True),
            None if c is None else signed_product(op, c, True),
            frame_pos,
            b_pos,
        )
        z_neg = summed(
            z,
            signed_product(op, a, False),
            None if c is None else signed_product(op, c, False),
            frame_neg,
            b_neg,
        )
        s_pos, Rs = stabilised_shares(self.alpha * R, z_pos, self.epsilon)
        s_neg, Rs_neg = stabilised_shares(-self.beta * R, z_neg, self.epsilon)
        Rp = None
        if frame_pos is not None and frame_neg is not None:
            Rp = frame_pos * s_pos + frame_neg * s_neg
        return OperatorRelevance(
            R_out=R,
            R=signed_transpose(op, a, s_pos, s_neg),
            Rb=b_pos * s_pos + b_neg * s_neg,
            Rs=Rs + Rs_neg,
            Rm=None if c is None else signed_transpose(op, c, s_pos, s_neg),
            Rp=Rp,
            magnitude=lambda: self._magnitude(op, R, a, c, s_pos, s_neg),
        )

    def _propagate_weights_once(
        self, op: LinearOperator, a: Array, z: Array, R: Array
    ) -> OperatorRelevance:
        """Weights-once at any linear layer: ``v_i w⁺_ij`` and ``v_i w⁻_ij`` for every source
        (the fixed frame's values too), each side's sum with its own bias part."""
        c = constant_batch(op)
        b_pos, b_neg = self._side_biases(op.bias)
        frame_pos, frame_neg = op.fixed("value", "pos"), op.fixed("value", "neg")
        D_pos = summed(
            z, op.product(a, "pos"), None if c is None else op.product(c, "pos"), frame_pos, b_pos
        )
        s_pos, Rs = stabilised_shares(self.alpha * R, D_pos, self.epsilon)
        down = op.transpose(s_pos, "pos")
        s_neg = np.zeros_like(s_pos)
        if self.beta:
            D_neg = summed(
                z,
                op.product(a, "neg"),
                None if c is None else op.product(c, "neg"),
                frame_neg,
                b_neg,
            )
            s_neg, Rs_neg = stabilised_shares(-self.beta * R, D_neg, self.epsilon)
            down = down + op.transpose(s_neg, "neg")
            Rs = Rs + Rs_neg
        Rp = None
        if frame_pos is not None and frame_neg is not None:
            Rp = frame_pos * s_pos + frame_neg * s_neg

        return OperatorRelevance(
            R_out=R,
            R=a * down,
            Rb=b_pos * s_pos + b_neg * s_neg,
            Rs=np.array(Rs),
            Rm=None if c is None else c * down,
            Rp=Rp,
            magnitude=lambda: self._magnitude(op, R, a, c, s_pos, s_neg),
        )

    def _magnitude(
        self, op: LinearOperator, R: Array, a: Array, c: Array | None, s_pos: Array, s_neg: Array
    ) -> Array:
        """A bound on ``Σ |ρ_ij s_j|``: each side's terms share one sign and add up to at most
        ``α R_j`` (``β R_j``) where contributions are split and the bias split or ignored; else
        ``|v_i| |w_ij| (|s⁺_j| + |s⁻_j|)`` and the stabiliser's share."""
        if self.sign_aware and self.bias != "whole":
            bound: Array = (self.alpha + self.beta) * np.abs(R).reshape(R.shape[0], -1).sum(1)
            return bound
        s_abs = np.abs(s_pos) + np.abs(s_neg)
        result: Array = absolute_terms(op, s_abs, a, c) + self.epsilon * s_abs.reshape(
            s_abs.shape[0], -1
        ).sum(axis=1)
        return result

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        b_pos, b_neg = self._side_biases(layer.b)
        if self.sign_aware:
            zij = contributions(layer, a)
            positive, negative = np.maximum(zij, 0), np.minimum(zij, 0)
            positive[:, -1, :], negative[:, -1, :] = b_pos, b_neg
        else:  # the contributions of the layer with clamped weights and its side's bias
            W_pos, W_neg = layer.W_split[:, : layer.n_out], layer.W_split[:, layer.n_out :]
            positive = contributions(Linear(W_pos, b_pos, layer.constant), a)
            negative = contributions(Linear(W_neg, b_neg, layer.constant), a)
        share_pos, kept_pos = modified_shares(positive, self.epsilon)
        share_neg, kept_neg = modified_shares(negative, self.epsilon)
        return (
            self.alpha * share_pos - self.beta * share_neg,
            self.alpha * kept_pos - self.beta * kept_neg,
        )

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        if self.epsilon == 0 and self._splits_contributions(layer):
            if self.bias == "ignored":
                layer = replace(layer, bias=Ball.exact(np.zeros(layer.W.shape[1])))
            result = enclose_split(self, layer, incoming.R)
        else:
            result = enclose_stabilised(self, layer, incoming.R)
        return result, Enclosed(result.R)

    def _splits_contributions(self, layer: LayerInput) -> bool:
        """Whether every side's terms share one sign on this layer: contributions split with the
        bias split or ignored; weights-once too where every source is >= 0 (``a w⁺ = (a
        w)⁺``). The whole bias, of either sign, joins both sides."""
        if self.bias == "whole":
            return False
        if self.sign_aware:
            return True
        return layer.c is None and bool(np.all(layer.a.bounds(layer.p)[0] >= 0))

    def spec(self) -> str:
        base = (
            "zplus"
            if (self.alpha, self.beta) == (1, 0)
            else f"alpha-beta:{self.alpha!r},{self.beta!r}"
        )
        extra = self.spec_values()
        if not extra:
            return base
        return base + ("," if ":" in base else ":") + ",".join(extra)

    def spec_values(self) -> list[str]:
        """The parameters that differ from Bach et al.'s rule (no stabiliser, the bias a source
        split by its sign, contributions split by their own sign)."""
        values = [f"epsilon={self.epsilon!r}"] if self.epsilon else []
        values += [f"bias={self.bias}"] if self.bias != "source" else []
        return values + ([] if self.sign_aware else ["weights-once"])

    def describe(self) -> str:
        extra = "".join(f", {v}" for v in self.spec_values() if v != "weights-once") + (
            "" if self.sign_aware else ", sign_aware=False"
        )
        return f"{self.name}(alpha={self.alpha:g}, beta={self.beta:g}{extra})"

    @property
    def scale_free(self) -> bool:
        return self.epsilon == 0  # clamping, keeping or ignoring a bias is homogeneous

    @property
    def linear_in_contributions(self) -> bool:
        # a_i w⁺_ij is linear in a_i; (a_i w_ij)⁺ is not (a split source splits its sign parts)
        return not self.sign_aware

    @property
    def bias_is_source(self) -> bool:
        # on the bias proxy a bias is the weight of an always-on input: split by its sign as a
        # contribution, or clamped as a weight, which bias=source does; whole or ignored, not
        return self.bias == "source"


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
    where: tuple[int, int],
    positive: bool,
    weight: float,
    epsilon: float,
    with_bias: bool,
) -> None:
    """Add ``weight x z_ij / (z_j + ε sign z_j)`` over one sign's contributions of one unit (and
    the stabiliser's share to ``Rs``), computed after an exact power-of-two rescaling so that
    neither the products nor their sum under- or overflow."""
    row, unit = where
    sources = [a_row]
    if layer.constant is not None:
        sources.append(layer.constant)
    values = np.concatenate([*sources, np.ones(1, layer.W.dtype)])
    bias = layer.b[unit : unit + 1] if with_bias else np.zeros(1, layer.W.dtype)
    weights = np.concatenate([layer.W[:, unit]] * len(sources) + [bias])
    mv, ev = np.frexp(values)
    mw, ew = np.frexp(weights)
    exponent = ev + ew
    mantissa = mv * mw  # exact: the product of two mantissas in [0.5, 1) needs no rounding
    side = mantissa > 0 if positive else mantissa < 0
    if not side.any():  # an empty side: the stabiliser absorbs all (without one s was 0)
        if epsilon:
            result.Rs[row, unit] += weight
        return
    # scale this sign's largest contribution (or ε, if larger) to about 1: none of its peers
    # can vanish, and the scaled ε cannot overflow
    top = int(exponent[side].max())
    if epsilon:
        top = max(top, int(np.frexp(epsilon)[1]))
    part = np.zeros_like(mantissa)
    part[side] = np.ldexp(mantissa[side], exponent[side] - top)
    summed = part.sum()
    held = np.ldexp(epsilon, -top) * (1.0 if summed >= 0 else -1.0)
    shares, zero = divide_or_zero(part, np.asarray(summed + held))
    if zero is not None:
        return
    n_in = layer.n_in
    result.R[row] += weight * shares[:n_in]
    if layer.constant is not None and result.Rm is not None:
        result.Rm[row] += weight * shares[n_in : 2 * n_in]
    result.Rb[row, unit] += weight * shares[-1]
    if epsilon:
        result.Rs[row, unit] += weight * (held / (summed + held))


def _by_sign(v: Array, per_positive: Array, per_negative: Array | None) -> Array:
    """``v⁺ per_positive + v⁻ per_negative``: a source's relevance from its value's sign."""
    if per_negative is None or not np.any(v < 0):
        return v * per_positive
    return np.maximum(v, 0) * per_positive + np.minimum(v, 0) * per_negative


def ZPlus(
    epsilon: float = 0.0, bias: BiasConvention = "source", sign_aware: bool = True
) -> AlphaBeta:
    """z⁺ as LRP-α1β0: only positive contributions ``(a_i w_ij)⁺`` (and ``b⁺``) carry relevance;
    the library conventions as in :class:`AlphaBeta`."""
    return AlphaBeta(1.0, 0.0, epsilon, bias, sign_aware)
