"""Relevance as a pure function of (network, trace, output relevance, rules).

:func:`lrp` walks the layers from the logits down to the input, applying one rule per Linear
layer, and keeps every layer's :class:`~lrp_invariants.rules.LayerRelevance`, so that each bias
relevance ``Rb``, the constant input's ``Rm`` and every stabiliser's share stay visible. ReLU
layers pass relevance through unchanged, so layer ``l``'s input relevance is the output relevance
of layer ``l - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .network import (
    Array,
    Network,
    Start,
    Trace,
    check_classes,
    check_shape,
    check_start,
    forward,
    starting_relevance,
)
from .rules import LayerRelevance, Rule


@dataclass(frozen=True)
class Relevance:
    """Every Linear layer's relevance, ``layers[0]`` being the input layer."""

    layers: tuple[LayerRelevance, ...]

    @property
    def input(self) -> Array:
        """Relevance of the network's input features, (n, d): the heatmap."""
        return self.layers[0].R

    @property
    def output_total(self) -> Array:
        """Per sample, the relevance the propagation started from."""
        return self.layers[-1].R_out.sum(axis=1)

    def total(self, layer: int) -> Array:
        """Per sample, layer ``layer``'s input relevance plus every sink at and above it.

        This is the reply's bias-proxy total: each bias acts as an always-on neuron relayed from
        the input, so the relevance it absorbed still counts at every layer below it. It equals
        :attr:`output_total` at every layer when relevance is conserved.
        """
        total = self.layers[layer].R.sum(axis=1)
        for above in self.layers[layer:]:
            total = total + above.sinks()
        return total


def _rules_per_layer(network: Network, rules: Rule | Sequence[Rule]) -> tuple[Rule, ...]:
    chosen = (rules,) * network.depth if isinstance(rules, Rule) else tuple(rules)
    if len(chosen) != network.depth:
        raise ValueError(
            f"got {len(chosen)} rules for {network.depth} Linear layers; pass one rule, or one "
            f"per layer (input layer first)"
        )
    for i, rule in enumerate(chosen):
        if not isinstance(rule, Rule):
            raise TypeError(f"rule for layer {i} is a {type(rule).__name__}, not a Rule")
        rule.check_layer(i, network.layers[i])
    return chosen


def logit_relevance(
    network: Network, trace: Trace, classes: ArrayLike, start: Start = "logit"
) -> Array:
    """The starting relevance: the chosen class's logit (or 1, ``start="one"``), zero for the
    other outputs."""
    chosen = check_classes(network, classes, trace.logits.shape[0])
    return starting_relevance(chosen, trace.logits, start)


def lrp(
    network: Network, trace: Trace, R_out: ArrayLike, rules: Rule | Sequence[Rule]
) -> Relevance:
    """Propagate ``R_out`` (n, outputs) from the logits to the input, one rule per layer."""
    per_layer = _rules_per_layer(network, rules)
    R = np.asarray(R_out)
    expected = trace.logits.shape
    if R.shape != expected:
        raise ValueError(f"R_out must have the logits' shape {expected}; got {R.shape}")
    if R.dtype != network.dtype:
        raise TypeError(f"R_out has dtype {R.dtype} but the network is {network.dtype}")
    if not np.all(np.isfinite(R)):
        raise ValueError("R_out contains NaN or inf")
    if len(trace.z) != network.depth or trace.a[0].shape[1] != network.n_inputs:
        raise ValueError("the trace does not belong to this network: run forward(network, x)")
    layers: list[LayerRelevance] = []
    for i in range(network.depth - 1, -1, -1):
        result = per_layer[i].backward(network.layers[i], trace.layer(i), R)
        layers.append(result)
        R = result.R
    return Relevance(tuple(reversed(layers)))


def explain(
    network: Network,
    x: ArrayLike,
    classes: ArrayLike,
    rules: Rule | Sequence[Rule],
    start: Start = "logit",
) -> tuple[Trace, Relevance]:
    """Forward ``x``, then propagate the chosen class logits back with ``rules`` (or ones,
    ``start="one"``, probabilities, ``start="probability"``, or a given (n, outputs) array)."""
    check_start(start)
    per_layer = _rules_per_layer(network, rules)
    batch = check_shape(network, x)  # the values are checked once, by forward
    chosen = check_classes(network, classes, batch.shape[0])
    trace = forward(network, batch, sign_split=[rule.uses_sign_split for rule in per_layer])
    return trace, lrp(network, trace, logit_relevance(network, trace, chosen, start), per_layer)
