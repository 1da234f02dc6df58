"""LRP rules: one class per rule, one formula per ``backward``.

Every rule redistributes a Linear layer's output relevance ``R`` (n, out) onto the layer's
*sources*: its input neurons ``a`` (n, in), the bias ``b`` (an always-on neuron, relevance ``Rb``)
and, in the seed's net3, the constant second input ``m`` (relevance ``Rm``). Whatever a rule does
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

import numpy as np

from .network import Array, Linear


def divide(numerator: Array, denominator: Array) -> Array:
    """``numerator / denominator`` with 0 wherever the denominator is exactly zero."""
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape), numerator.dtype)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def sign(z: Array) -> Array:
    """The stabiliser's sign: +1 for z >= 0, -1 below (sign(0) = +1)."""
    return np.where(z >= 0, 1, -1).astype(z.dtype)


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

    @abstractmethod
    def backward(self, layer: Linear, a: Array, z: Array, R: Array) -> LayerRelevance:
        """The relevance of each of ``layer``'s sources, from its input ``a``, ``z`` and ``R``."""


def _to_sources(layer: Linear, a: Array, R: Array, s: Array, Rs: Array) -> LayerRelevance:
    """Sources get ``a_i w_ij s_j``, bias ``b_j s_j``, constant ``m_i w_ij s_j``."""
    c = s @ layer.W.T
    Rm = None if layer.constant is None else layer.constant * c
    return LayerRelevance(R_out=R, R=a * c, Rb=layer.b * s, Rs=Rs, Rm=Rm)


@dataclass(frozen=True)
class LRP0(Rule):
    """LRP-0 (Bach et al. eq. 56): R_i = sum_j a_i w_ij / z_j R_j, the seed's rule.

    On ReLU networks it equals gradient x input, with the bias relevance ``b_j R_j / z_j`` apart.
    """

    @property
    def name(self) -> str:
        return "lrp-0"

    def backward(self, layer: Linear, a: Array, z: Array, R: Array) -> LayerRelevance:
        s = divide(R, z)
        Rs = np.where(z == 0, R, 0).astype(R.dtype)
        return _to_sources(layer, a, R, s, Rs)


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

    def backward(self, layer: Linear, a: Array, z: Array, R: Array) -> LayerRelevance:
        stabiliser = self.epsilon * sign(z)
        denominator = z + stabiliser
        s = divide(R, denominator)
        Rs = np.where(denominator == 0, R, stabiliser * s)
        return _to_sources(layer, a, R, s, Rs)


def _split(v: Array) -> tuple[Array, Array]:
    return np.maximum(v, 0), np.minimum(v, 0)


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

    def backward(self, layer: Linear, a: Array, z: Array, R: Array) -> LayerRelevance:
        Wp, Wn = _split(layer.W)
        ap, an = _split(a)
        mixed_signs = bool(np.any(an))
        z_pos = ap @ Wp + np.maximum(layer.b, 0)
        z_neg = ap @ Wn + np.minimum(layer.b, 0)
        if mixed_signs:
            z_pos += an @ Wn
            z_neg += an @ Wp
        if layer.constant is not None:
            cp, cn = _split(layer.constant)
            z_pos += cp @ Wp + cn @ Wn
            z_neg += cp @ Wn + cn @ Wp
        s_pos = divide(self.alpha * R, z_pos)
        s_neg = divide(self.beta * R, z_neg)
        # A source v with weights W receives v⁺ (s⁺ W⁺ᵀ - s⁻ W⁻ᵀ) + v⁻ (s⁺ W⁻ᵀ - s⁻ W⁺ᵀ).
        to_pos_sources = s_pos @ Wp.T - s_neg @ Wn.T
        R_in = ap * to_pos_sources
        to_neg_sources = None
        if mixed_signs or layer.constant is not None:
            to_neg_sources = s_pos @ Wn.T - s_neg @ Wp.T
            R_in += an * to_neg_sources
        bp, bn = _split(layer.b)
        Rb = bp * s_pos - bn * s_neg
        Rs = np.where(z_pos == 0, self.alpha * R, 0) - np.where(z_neg == 0, self.beta * R, 0)
        Rm = None
        if layer.constant is not None:
            assert to_neg_sources is not None
            Rm = cp * to_pos_sources + cn * to_neg_sources
        return LayerRelevance(R_out=R, R=R_in, Rb=Rb, Rs=Rs.astype(R.dtype), Rm=Rm)


def ZPlus() -> AlphaBeta:
    """z⁺ as LRP-α1β0: only positive contributions ``(a_i w_ij)⁺`` (and ``b⁺``) carry relevance."""
    return AlphaBeta(alpha=1.0, beta=0.0)


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

    def backward(self, layer: Linear, a: Array, z: Array, R: Array) -> LayerRelevance:
        W2 = _stacked_sources(layer) ** 2
        s = divide(R, W2.sum(axis=0))
        Rs = np.where(W2.sum(axis=0) == 0, R, 0).astype(R.dtype)
        return _split_stacked(layer, R, s @ W2.T, Rs)


@dataclass(frozen=True)
class Flat(Rule):
    """Flat rule (Lapuschkin et al. 2019): every input neuron gets an equal share of each R_j."""

    @property
    def name(self) -> str:
        return "lrp-flat"

    def backward(self, layer: Linear, a: Array, z: Array, R: Array) -> LayerRelevance:
        n_sources = _stacked_sources(layer).shape[0]
        share = R.sum(axis=1, keepdims=True) / n_sources
        R_all = np.repeat(share, n_sources, axis=1)
        return _split_stacked(layer, R, R_all, np.zeros_like(R))
