"""The input-blind rules, w² and flat: shares that depend on the weights alone.

Meant for the first layer, where the input's values should not decide how relevance spreads.
The bias is no source; a constant input (net3's ``-m``) shares ``W``, so it receives its copy's
share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds.balls import F64, Ball, Precision, mul, total
from ..bounds.relevance import (
    Enclosed,
    LayerBalls,
    LayerInput,
    quotient_upper,
    same_sign_shares,
    underflow_mass,
)
from ..network import Array, LayerTrace, Linear
from .base import LayerRelevance, Rule, divide_or_zero, lost_where, share_or_zero


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
        return _split_stacked(layer, R, s @ W2.T, lost_where(R, zero))

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        return _weight_shares(layer, a, column_normalised(_stacked_sources(layer)) ** 2)

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        result = _enclose_input_blind(layer.W, layer.c, incoming.R, False, layer.p)
        return result, Enclosed(result.R)


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

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        return _weight_shares(layer, a, np.ones_like(_stacked_sources(layer)))

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        result = _enclose_input_blind(layer.W, layer.c, incoming.R, True, layer.p)
        return result, Enclosed(result.R)

    @property
    def linear_in_contributions(self) -> bool:
        return True  # a source split in two (net3's copy of W) splits its share in two

    @property
    def scale_free(self) -> bool:
        return True


def _weight_shares(layer: Linear, a: Array, weights: Array) -> tuple[Array, Array]:
    """The literal form of an input-blind rule: each source's weight over its column's sum; the
    bias receives nothing."""
    n = a.shape[0]
    weights = np.broadcast_to(weights[None], (n, *weights.shape))
    column = weights.sum(axis=1)
    bias = np.zeros((n, 1, layer.n_out), a.dtype)
    share = np.concatenate([share_or_zero(weights, column), bias], axis=1)
    return share, (column == 0).astype(a.dtype)


def _enclose_input_blind(W: F64, c: F64 | None, R: Ball, flat: bool, p: Precision) -> LayerBalls:
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
    shares, empty, summed = same_sign_shares(terms, p)
    per_term = mul(shares, Ball(R.mid[:, None, :], R.rad[:, None, :]), p)
    R_all = total(per_term, axis=2, p=p)
    n_in = W.shape[0]
    Rm = None if c is None else R_all[:, n_in:]
    Rs = mul(empty, R, p)
    zero = Ball.exact(np.zeros_like(R.mid))
    mass = 2 * per_term.upper.sum(axis=(1, 2)) + 2 * R.upper.sum(axis=1) + Rs.upper.sum(axis=1)
    length = 2 * stacked.shape[0] + W.shape[1] + 8
    s_upper = quotient_upper(R.upper, summed, p)
    underflow = underflow_mass(s_upper, np.zeros((n, stacked.shape[0])), length, p)
    return LayerBalls(R, R_all[:, :n_in], zero, Rs, Rm, mass, length, underflow)
