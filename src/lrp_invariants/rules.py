"""LRP rules: one class per rule, one formula per ``backward``.

Every rule redistributes a Linear layer's output relevance ``R`` (n, out) onto the layer's
*sources*: its input neurons ``a`` (n, in), the bias ``b`` (an always-on neuron, relevance ``Rb``)
and, in the reply's net3, the constant second input ``m`` (relevance ``Rm``). Whatever a rule does
not pass on — the share a stabiliser absorbs, or the share of a neuron with no source of the
required sign — is reported as ``Rs``. With every sink counted a rule conserves relevance exactly:

    R.sum(1) == R_in.sum(1) + Rb.sum(1) + Rm.sum(1) + Rs.sum(1)       (up to rounding)

Division conventions (never a NaN): a zero denominator passes nothing (0/0 -> 0) and its
neuron's relevance goes to ``Rs``; the ε stabiliser uses sign(0) = +1.

Equation numbers refer to Bach et al. (2015), PLoS ONE 10(7): e0130140, and to Montavon et al.
(2019), "Layer-Wise Relevance Propagation: An Overview", in LNCS 11700.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .network import Array, LayerTrace, Linear


def divide_or_zero(numerator: Array, denominator: Array) -> tuple[Array, Array | None]:
    """``numerator / denominator`` with 0 where the denominator is exactly zero.

    Also returns the mask of zero denominators, or None when there is none (the common case,
    which then costs one plain division and no mask).
    """
    if np.all(denominator):
        return numerator / denominator, None
    zero = denominator == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = numerator / denominator
    quotient[np.broadcast_to(zero, quotient.shape)] = 0
    return quotient, zero


def stabiliser(z: Array, epsilon: float) -> Array:
    """``ε sign(z)`` with sign(0) = +1, also for -0.0: ``ε - 2ε [z < 0]``, exact in floats."""
    eps = z.dtype.type(epsilon)
    result = np.multiply(z < 0, -2 * eps, dtype=z.dtype)
    result += eps
    return result


@dataclass(frozen=True)
class LayerRelevance:
    """A Linear layer's relevance: received ``R_out``, passed to inputs ``R``, and its sinks."""

    R_out: Array  # (n, out) relevance of the layer's output neurons
    R: Array  # (n, in) relevance of the layer's input neurons
    Rb: Array  # (n, out) relevance absorbed by each output neuron's bias
    Rs: Array  # (n, out) relevance not passed on (stabiliser, empty sign side, zero denominator)
    Rm: Array | None = None  # (n, in) relevance of the constant second input, if the layer has one

    def sinks(self) -> Array:
        """Per sample, all relevance this layer absorbed instead of passing it to its inputs."""
        total = self.Rb.sum(axis=1) + self.Rs.sum(axis=1)
        if self.Rm is not None:
            total = total + self.Rm.sum(axis=1)
        return total


class Rule(ABC):
    """Redistribute one Linear layer's output relevance over its sources."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The rule's name in reports, e.g. ``lrp-epsilon``."""

    uses_sign_split: ClassVar[bool] = False
    """Whether the rule divides by ``[z⁺ | z⁻]``, so the forward pass should keep it."""

    @abstractmethod
    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        """The relevance of each of ``layer``'s sources, from its input ``a``, ``z`` and ``R``."""


def _to_sources(layer: Linear, a: Array, R: Array, s: Array, Rs: Array) -> LayerRelevance:
    """Sources get ``a_i w_ij s_j``, bias ``b_j s_j``, constant ``m_i w_ij s_j``.

    ``s`` (n, out) is consumed: it becomes ``Rb`` in place, which spares a large allocation.
    """
    c = s @ layer.W.T
    Rm = None if layer.constant is None else layer.constant * c
    c *= a
    s *= layer.b
    return LayerRelevance(R_out=R, R=c, Rb=s, Rs=Rs, Rm=Rm)


def _lost(R: Array, zero: Array | None) -> Array:
    """The relevance of neurons whose denominator is zero: they pass nothing."""
    return np.zeros(R.shape, R.dtype) if zero is None else np.where(zero, R, R.dtype.type(0))


@dataclass(frozen=True)
class LRP0(Rule):
    """LRP-0 (Bach et al. eq. 56): R_i = sum_j a_i w_ij / z_j R_j, the reply's rule.

    On ReLU networks it equals gradient x input, with the bias relevance ``b_j R_j / z_j`` apart.
    """

    @property
    def name(self) -> str:
        return "lrp-0"

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        s, zero = divide_or_zero(R, forward.z)
        return _to_sources(layer, forward.a, R, s, _lost(R, zero))


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
        if not (math.isfinite(self.epsilon) and self.epsilon >= 0):
            raise ValueError(f"epsilon must be finite and >= 0; got {self.epsilon}")

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        if self.epsilon == 0:
            return LRP0().backward(layer, forward, R)
        absorbed = stabiliser(forward.z, self.epsilon)
        s = forward.z + absorbed  # |z + ε sign z| >= ε > 0: never a zero denominator
        np.divide(R, s, out=s)
        absorbed *= s
        return _to_sources(layer, forward.a, R, s, absorbed)


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
            Rs=_lost(self.alpha * R, zero_pos) - _lost(self.beta * R, zero_neg)
            if zero_pos is not None or zero_neg is not None
            else np.zeros_like(R),
            Rm=None if c is None else _by_sign(c, to_positive, to_negative),
        )
        for row, column in zip(*np.nonzero(risky if risky is not None else ()), strict=True):
            side, unit = divmod(int(column), out)
            weight = self.alpha * R[row, unit] if side == 0 else -self.beta * R[row, unit]
            _add_explicit_shares(result, layer, a[row], int(row), unit, side == 0, weight)
        return result


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


def column_normalised(W: Array) -> Array:
    """W with each column scaled by the power of two that brings its largest entry into [0.5, 1).

    The w² shares of a column do not change, and its squares can neither overflow nor vanish.
    """
    _, exponent = np.frexp(np.abs(W).max(axis=0))
    return np.ldexp(W, -exponent)


def _stacked_sources(layer: Linear) -> Array:
    """The layer's input weights, with the constant input's copy of W stacked below them."""
    return layer.W if layer.constant is None else np.vstack([layer.W, layer.W])


def _split_stacked(layer: Linear, R_out: Array, R_all: Array, Rs: Array) -> LayerRelevance:
    n_in = layer.n_in
    Rm = None if layer.constant is None else R_all[:, n_in:]
    return LayerRelevance(R_out=R_out, R=R_all[:, :n_in], Rb=np.zeros_like(R_out), Rs=Rs, Rm=Rm)


@dataclass(frozen=True)
class WSquare(Rule):
    """w² rule (Montavon et al. 2017): R_i = sum_j w_ij² / sum_i' w_i'j² R_j, ignoring inputs.

    The bias is not a source. A constant input shares W, so it receives its copy's share.
    """

    @property
    def name(self) -> str:
        return "lrp-w-square"

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        W2 = column_normalised(_stacked_sources(layer)) ** 2
        s, zero = divide_or_zero(R, W2.sum(axis=0))
        return _split_stacked(layer, R, s @ W2.T, _lost(R, zero))


@dataclass(frozen=True)
class Flat(Rule):
    """Flat rule (Lapuschkin et al. 2019): every input neuron gets an equal share of each R_j."""

    @property
    def name(self) -> str:
        return "lrp-flat"

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        n_sources = _stacked_sources(layer).shape[0]
        share = R.sum(axis=1, keepdims=True) / n_sources
        R_all = np.repeat(share, n_sources, axis=1)
        return _split_stacked(layer, R, R_all, np.zeros_like(R))
