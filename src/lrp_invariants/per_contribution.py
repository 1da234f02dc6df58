"""The deliberately slow, obvious LRP: every contribution ``z_ij`` written out.

Where :mod:`lrp_invariants.rules` uses two matrix products per layer, this module builds the
(n, sources, out) tensor of contributions — input neurons, then the constant input, then the
bias — and applies each rule's equation to it literally. It exists to be read and to check the
fast rules against; it needs memory proportional to n x in x out, so keep it to small networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .network import Array, Linear, Network, Trace
from .relevance import Relevance
from .rules import (
    LRP0,
    AlphaBeta,
    Epsilon,
    Flat,
    LayerRelevance,
    Rule,
    WSquare,
    column_normalised,
)


def contributions(layer: Linear, a: Array) -> Array:
    """``z_ij`` for every source i (inputs, constant inputs, bias) and output j: (n, S, out)."""
    n = a.shape[0]
    parts = [a[:, :, None] * layer.W[None, :, :]]
    if layer.constant is not None:
        parts.append(np.broadcast_to(layer.constant[:, None] * layer.W, (n, *layer.W.shape)))
    parts.append(np.broadcast_to(layer.b, (n, 1, layer.n_out)))
    return np.concatenate(parts, axis=1)


def _share(numerator: Array, denominator: Array) -> Array:
    """numerator / denominator, broadcasting the denominator over sources; 0 where it is 0."""
    den = np.broadcast_to(denominator[:, None, :], numerator.shape)
    out = np.zeros_like(numerator)
    np.divide(numerator, den, out=out, where=den != 0)
    return out


def shares(rule: Rule, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
    """The fraction of R_j that each source i receives, (n, S, out), and the fraction of R_j that
    no source receives, (n, out)."""
    zij = contributions(layer, a)
    if isinstance(rule, LRP0):
        return _share(zij, z), (z == 0).astype(z.dtype)
    if isinstance(rule, Epsilon):
        stabiliser = rule.epsilon * np.where(z >= 0, 1, -1).astype(z.dtype)
        stabilised = z + stabiliser
        absorbed = _share(stabiliser[:, None, :], stabilised)[:, 0, :]
        return _share(zij, stabilised), np.where(stabilised == 0, 1, absorbed).astype(z.dtype)
    if isinstance(rule, AlphaBeta):
        positive, negative = np.maximum(zij, 0), np.minimum(zij, 0)
        z_pos, z_neg = positive.sum(axis=1), negative.sum(axis=1)
        share = rule.alpha * _share(positive, z_pos) - rule.beta * _share(negative, z_neg)
        kept = rule.alpha * (z_pos == 0) - rule.beta * (z_neg == 0)
        return share, kept.astype(z.dtype)
    if isinstance(rule, (WSquare, Flat)):
        stacked = layer.W if layer.constant is None else np.vstack([layer.W, layer.W])
        stacked = column_normalised(stacked)  # shares are scale-free; squares stay normal
        weights = np.ones_like(stacked) if isinstance(rule, Flat) else stacked**2
        weights = np.broadcast_to(weights[None], zij[:, :-1].shape)  # the bias is no source
        column = weights.sum(axis=1)
        share = np.concatenate([_share(weights, column), np.zeros_like(zij[:, -1:])], axis=1)
        return share, (column == 0).astype(z.dtype)
    raise NotImplementedError(f"no per-contribution form for the rule {rule!r}")


def per_contribution_lrp(
    network: Network, trace: Trace, R_out: Array, rules: Rule | Sequence[Rule]
) -> Relevance:
    """LRP by explicit contributions: R_i = Σ_j share_ij R_j for every source i."""
    per_layer = (rules,) * network.depth if isinstance(rules, Rule) else tuple(rules)
    R = R_out
    layers = []
    for i in range(network.depth - 1, -1, -1):
        layer = network.layers[i]
        share, kept = shares(per_layer[i], layer, trace.a[i], trace.z[i])
        per_source = np.einsum("nsj,nj->ns", share, R)
        n_in = layer.n_in
        Rm = per_source[:, n_in : 2 * n_in] if layer.constant is not None else None
        Rb = share[:, -1, :] * R
        layers.append(LayerRelevance(R_out=R, R=per_source[:, :n_in], Rb=Rb, Rs=kept * R, Rm=Rm))
        R = per_source[:, :n_in]
    return Relevance(tuple(reversed(layers)))
