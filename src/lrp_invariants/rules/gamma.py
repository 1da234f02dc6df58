"""LRP-γ (Montavon et al. 2019, eq. 4 of the overview): favour positive contributions.

Every contribution is modified to ``ρ_ij = z_ij + γ z_ij⁺`` and shared as in
:mod:`lrp_invariants.rules.modified`. Libraries extend the rule beyond nonnegative inputs and
positive units in two ways, both here:

* ``sign_aware=True`` (Zennit's generalised γ, Andéol et al. 2021): a unit with ``z_j > 0``
  favours positive contributions, ``z_ij + γ z_ij⁺``; one with ``z_j < 0`` favours negative
  ones, ``z_ij + γ z_ij⁻``; a unit with ``z_j = 0`` passes nothing (its ``R_j`` goes to ``Rs``).
* ``sign_aware=False`` (Captum's ``GammaRule``): ``a_i (w_ij + γ w⁺_ij)`` for every unit, the
  weights modified once whatever the signs of inputs and units.

On a ReLU layer's active units (``a >= 0``, ``z_j > 0``) the two agree. The bias follows
``bias``: a ``source`` as it is, ``ignored``, or ``modified`` like the weights (``b + γ b⁺``, and
``b + γ b⁻`` on a negative unit of the sign-aware form). γ = 0 is LRP-ε with that bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds.balls import Ball, add, mul, negative_part, relu
from ..bounds.relevance import Enclosed, LayerBalls, LayerInput, contribution_balls
from ..network import Array, LayerTrace, Linear
from .base import (
    BiasConvention,
    LayerRelevance,
    Rule,
    check_parameter,
    contributions,
)
from .epsilon import Epsilon
from .modified import (
    choose,
    enclose_terms,
    finish,
    hull,
    modified_shares,
    repaired,
    source_factors,
    stabilised_shares,
)
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

GAMMA_BIASES = ("modified", "source", "ignored")
"""The bias conventions LRP-γ takes (:data:`~lrp_invariants.rules.base.BIAS_CONVENTIONS`)."""  # noqa: RUF001


def _favouring(W: Array, gamma: float, positive: bool) -> Array:
    """``W + γ W⁺`` (or ``W + γ W⁻``), with one temporary."""
    part = np.maximum(W, 0) if positive else np.minimum(W, 0)
    part *= W.dtype.type(gamma)
    part += W
    return part


@dataclass(frozen=True)
class Gamma(Rule):
    """LRP-γ: ``R_i = Σ_j ρ_ij / (Σ_i' ρ_i'j + ρ_bj + ε sign) R_j`` with ``ρ = z + γ z⁺``.

    >>> Gamma(0.25)                        # Zennit's defaults but ε: sign-aware, modified bias
    >>> Gamma(0.25, sign_aware=False, bias="source")                      # Captum's GammaRule
    """

    gamma: float = 0.25
    epsilon: float = 0.0
    bias: BiasConvention = "modified"
    sign_aware: bool = True

    @property
    def name(self) -> str:
        return "lrp-gamma"

    def __post_init__(self) -> None:
        check_parameter("gamma", self.gamma)
        check_parameter("epsilon", self.epsilon)
        if self.bias not in GAMMA_BIASES:
            raise ValueError(f"bias must be one of {', '.join(GAMMA_BIASES)}; got {self.bias!r}")

    def spec_values(self) -> list[str]:
        values = [f"gamma={self.gamma!r}", f"epsilon={self.epsilon!r}", f"bias={self.bias}"]
        return values + ([] if self.sign_aware else ["weights-once"])

    def describe(self) -> str:
        form = "" if self.sign_aware else ", sign_aware=False"
        return (
            f"{self.name}(gamma={self.gamma:g}, epsilon={self.epsilon:g}, bias={self.bias}{form})"
        )

    @property
    def linear_in_contributions(self) -> bool:
        # a_i (w + γ w⁺) is linear in a_i; z + γ z⁺ is not (a split source splits its sign parts)
        return not self.sign_aware or self.gamma == 0

    @property
    def scale_free(self) -> bool:
        return self.epsilon == 0  # ρ is positively homogeneous, the bias modification too

    @property
    def bias_is_source(self) -> bool:
        # on the bias proxy a bias is the weight of an always-on input, modified like a weight
        return self.bias == "modified" or (self.gamma == 0 and self.bias == "source")

    def _biases(self, b: Array) -> tuple[Array, Array]:
        """The bias of a positive and of a negative unit."""
        if self.bias == "ignored":
            return np.zeros_like(b), np.zeros_like(b)
        if self.bias == "source":
            return b, b
        g = b.dtype.type(self.gamma)
        return b + g * np.maximum(b, 0), b + g * np.minimum(b, 0)

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        return repaired(self, layer, forward, R, lambda: self._fast(layer, forward, R))

    def _fast(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        W, a, c = layer.W, forward.a, layer.constant
        W_pos = _favouring(W, self.gamma, positive=True)
        b_pos, b_neg = self._biases(layer.b)
        if not self.sign_aware:
            D = a @ W_pos + b_pos if c is None else a @ W_pos + (c @ W_pos + b_pos)
            s, Rs = stabilised_shares(R, D, self.epsilon)
            below = s @ W_pos.T
            Rm = None if c is None else c * below
            return LayerRelevance(R_out=R, R=a * below, Rb=b_pos * s, Rs=Rs, Rm=Rm)
        on_pos, on_neg = forward.z > 0, forward.z < 0
        if c is None and not np.any(a < 0):
            return self._nonnegative_sources(layer, forward, R, W_pos, b_pos, b_neg)
        W_neg = _favouring(W, self.gamma, positive=False)
        # a source of negative value favours the other sign's weights: (a w)⁺ = a⁻ w⁻
        a_pos, a_neg = np.maximum(a, 0), np.minimum(a, 0)
        D_pos = a_pos @ W_pos + a_neg @ W_neg + b_pos
        D_neg = a_pos @ W_neg + a_neg @ W_pos + b_neg
        if c is not None:
            c_pos, c_neg = np.maximum(c, 0), np.minimum(c, 0)
            D_pos += c_pos @ W_pos + c_neg @ W_neg
            D_neg += c_pos @ W_neg + c_neg @ W_pos
        s, Rs = stabilised_shares(R, np.where(on_pos, D_pos, D_neg), self.epsilon, on_pos | on_neg)
        zero = s.dtype.type(0)
        s_pos, s_neg = np.where(on_pos, s, zero), np.where(on_neg, s, zero)
        to_positive = s_pos @ W_pos.T + s_neg @ W_neg.T  # per unit of a positive source
        to_negative = s_pos @ W_neg.T + s_neg @ W_pos.T
        Rm = None
        if c is not None:
            Rm = np.maximum(c, 0) * to_positive + np.minimum(c, 0) * to_negative
        return LayerRelevance(
            R_out=R,
            R=a_pos * to_positive + a_neg * to_negative,
            Rb=b_pos * s_pos + b_neg * s_neg,
            Rs=Rs,
            Rm=Rm,
        )

    def _nonnegative_sources(
        self,
        layer: Linear,
        forward: LayerTrace,
        R: Array,
        W_pos: Array,
        b_pos: Array,
        b_neg: Array,
    ) -> LayerRelevance:
        """A ReLU layer's case, inputs >= 0: ``ρ = a (w + γ w⁺)`` on positive units. Units with
        ``z_j < 0`` only need their own products where relevance reached them (at the logits,
        or below an input-blind rule)."""
        a, z = forward.a, forward.z
        on_pos, on_neg = z > 0, z < 0
        zero = R.dtype.type(0)
        negative = bool(np.any(np.where(on_neg, R, zero)))
        D = a @ W_pos
        D += b_pos
        if negative:
            W_neg = _favouring(layer.W, self.gamma, positive=False)
            D = np.where(on_pos, D, a @ W_neg + b_neg)
        s, Rs = stabilised_shares(R, D, self.epsilon, on_pos | on_neg)
        if not negative:
            below = s @ W_pos.T
            below *= a
            return LayerRelevance(R_out=R, R=below, Rb=b_pos * s, Rs=Rs)
        s_pos, s_neg = np.where(on_pos, s, zero), np.where(on_neg, s, zero)
        below = s_pos @ W_pos.T + s_neg @ W_neg.T
        return LayerRelevance(R_out=R, R=a * below, Rb=b_pos * s_pos + b_neg * s_neg, Rs=Rs)

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        """γ at any linear layer: ``ρ = z_ij + γ z_ij⁺`` on positive units (``⁻`` on negative
        ones), every source split by the sign of its own contribution; or, not sign-aware,
        ``v_i (w_ij + γ w⁺_ij)`` for every unit."""
        g = R.dtype.type(self.gamma)
        c = constant_batch(op)
        b_pos, b_neg = self._biases(op.bias)
        frame = op.fixed("value", "W")
        base = summed(z, op.product(a, "W"), None if c is None else op.product(c, "W"), frame)
        if not self.sign_aware:
            frame_pos = op.fixed("value", "pos")
            favoured = summed(
                z, op.product(a, "pos"), None if c is None else op.product(c, "pos"), frame_pos
            )
            s, Rs = stabilised_shares(R, base + g * favoured + b_pos, self.epsilon)
            down = op.transpose(s, "W") + g * op.transpose(s, "pos")
            return OperatorRelevance(
                R_out=R,
                R=a * down,
                Rb=b_pos * s,
                Rs=Rs,
                Rm=None if c is None else c * down,
                Rp=None if frame is None or frame_pos is None else (frame + g * frame_pos) * s,
                magnitude=lambda: self._magnitude(op, s, a, c),
            )
        frame_up, frame_down = fixed_signed(op, True), fixed_signed(op, False)
        up = summed(
            z,
            signed_product(op, a, True),
            None if c is None else signed_product(op, c, True),
            frame_up,
        )
        down = summed(
            z,
            signed_product(op, a, False),
            None if c is None else signed_product(op, c, False),
            frame_down,
        )
        on_pos, on_neg = z > 0, z < 0
        D = np.where(on_pos, base + g * up + b_pos, base + g * down + b_neg)
        s, Rs = stabilised_shares(R, D, self.epsilon, on_pos | on_neg)
        zero = s.dtype.type(0)
        s_pos, s_neg = np.where(on_pos, s, zero), np.where(on_neg, s, zero)
        through = op.transpose(s, "W")

        def relevance(v: Array) -> Array:
            result: Array = v * through + g * signed_transpose(op, v, s_pos, s_neg)
            return result

        Rp = None
        if frame is not None and frame_up is not None and frame_down is not None:
            Rp = frame * s + g * (frame_up * s_pos + frame_down * s_neg)
        return OperatorRelevance(
            R_out=R,
            R=relevance(a),
            Rb=b_pos * s_pos + b_neg * s_neg,
            Rs=Rs,
            Rm=None if c is None else relevance(c),
            Rp=Rp,
            magnitude=lambda: self._magnitude(op, s, a, c),
        )

    def _magnitude(self, op: LinearOperator, s: Array, a: Array, c: Array | None) -> Array:
        """``|ρ_ij| <= (1 + γ) |z_ij|``, the bias's too, and the stabiliser's ``ε |s_j|``."""
        s_abs = np.abs(s)
        result: Array = (1 + self.gamma) * absolute_terms(
            op, s_abs, a, c
        ) + self.epsilon * s_abs.reshape(s.shape[0], -1).sum(axis=1)
        return result

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        zij = contributions(layer, a)
        if self.bias == "ignored":
            zij[:, -1, :] = 0
        g = np.ones(zij.shape[1], zij.dtype) * self.gamma
        if self.bias != "modified":
            g[-1] = 0  # the bias is not modified
        g = g[None, :, None]
        if not self.sign_aware:
            values = np.concatenate(
                [a]
                + ([] if layer.constant is None else [np.broadcast_to(layer.constant, a.shape)])
                + [np.ones((a.shape[0], 1), a.dtype)],
                axis=1,
            )
            W_plus = np.vstack(
                [np.maximum(layer.W, 0)] * (1 if layer.constant is None else 2)
                + [np.maximum(layer.b, 0)[None, :]]
            )
            return modified_shares(zij + g * values[:, :, None] * W_plus[None], self.epsilon)
        positive = zij + g * np.maximum(zij, 0)
        negative = zij + g * np.minimum(zij, 0)
        rho = np.where((z > 0)[:, None, :], positive, negative)
        return modified_shares(rho, self.epsilon, z != 0)

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        if self.gamma == 0 and self.bias != "ignored" and not self.sign_aware:
            return Epsilon(self.epsilon).enclose(layer, incoming)  # exactly LRP-ε
        p, R = layer.p, incoming.R
        n_out = layer.W.shape[1]
        bias = layer.bias if self.bias != "ignored" else Ball.exact(np.zeros(n_out))
        C = contribution_balls(layer.a, layer.W, bias, layer.c, p)
        factors = source_factors(layer)
        coefficient = 1 + self.gamma
        g = np.full(C.mid.shape[1], self.gamma)
        if self.bias != "modified":
            g[-1] = 0
        g_ball = Ball.exact(np.broadcast_to(g[None, :, None], C.mid.shape))
        if not self.sign_aware:
            b_plus = relu(bias, p) if self.bias == "modified" else Ball.exact(np.zeros(n_out))
            C_plus = contribution_balls(layer.a, np.maximum(layer.W, 0), b_plus, layer.c, p)
            rho = add(C, mul(C_plus, Ball.exact(self.gamma), p), p)
            terms, Rs, s_upper, slack = enclose_terms(
                layer, R, rho, self.epsilon, factors, coefficient
            )
            return finish(layer, R, terms, Rs, s_upper, slack, epsilon=self.epsilon)
        pos = enclose_terms(
            layer, R, add(C, mul(relu(C, p), g_ball, p), p), self.epsilon, factors, coefficient
        )
        neg = enclose_terms(
            layer,
            R,
            add(C, mul(negative_part(C, p), g_ball, p), p),
            self.epsilon,
            factors,
            coefficient,
        )
        lo, hi = layer.z.bounds(p)
        on_pos, on_neg = lo > 0, hi < 0
        on_zero = (layer.z.mid == 0) & (layer.z.rad == 0)
        nothing = Ball.exact(np.zeros_like(C.mid))
        unsure = hull([pos[0], neg[0], nothing], p)
        terms = choose(
            on_pos[:, None, :],
            pos[0],
            choose(on_neg[:, None, :], neg[0], choose(on_zero[:, None, :], nothing, unsure)),
        )
        Rs = choose(
            on_pos, pos[1], choose(on_neg, neg[1], choose(on_zero, R, hull([pos[1], neg[1], R], p)))
        )
        s_upper = np.maximum(pos[2], neg[2])
        slack = np.maximum(pos[3], neg[3])
        return finish(layer, R, terms, Rs, s_upper, slack, epsilon=self.epsilon)
