"""The deliberately slow, obvious LRP: every contribution ``z_ij`` written out.

Where :mod:`lrp_invariants.rules` uses two matrix products per layer, this module builds the
(n, sources, out) tensor of contributions — input neurons, then the constant input, then the
bias — and applies each rule's equation to it literally (``Rule.shares``, beside the rule's fast
form in :mod:`lrp_invariants.rules`). It exists to be read and to check the
fast rules against; it needs memory proportional to n x in x out, so keep it to small networks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .network import Array, Network, Trace
from .relevance import Relevance
from .rules import LayerRelevance, Rule, contributions

__all__ = ["contributions", "per_contribution_lrp"]


def per_contribution_lrp(
    network: Network, trace: Trace, R_out: Array, rules: Rule | Sequence[Rule]
) -> Relevance:
    """LRP by explicit contributions: R_i = Σ_j share_ij R_j for every source i."""
    per_layer = (rules,) * network.depth if isinstance(rules, Rule) else tuple(rules)
    R = R_out
    layers = []
    for i in range(network.depth - 1, -1, -1):
        layer = network.layers[i]
        # a share whose denominator cancelled to a subnormal number may exceed the float range:
        # the literal form says inf there (its enclosure is unbounded too), never a warning
        with np.errstate(over="ignore", invalid="ignore"):
            share, kept = per_layer[i].shares(layer, trace.a[i], trace.z[i])
            per_source = np.einsum("nsj,nj->ns", share, R)
        n_in = layer.n_in
        Rm = per_source[:, n_in : 2 * n_in] if layer.constant is not None else None
        Rb = share[:, -1, :] * R
        layers.append(LayerRelevance(R_out=R, R=per_source[:, :n_in], Rb=Rb, Rs=kept * R, Rm=Rm))
        R = per_source[:, :n_in]
    return Relevance(tuple(reversed(layers)))
