"""Tolerances: how far two correct computations, or one computation's sums, may drift apart.

All three come from the balls of :mod:`lrp_invariants.bounds.forward` and
:mod:`lrp_invariants.bounds.relevance`; nothing here is chosen by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .balls import F64, Ball, Precision
from .relevance import LayerBalls

# --------------------------------------------------------------------------------------------
# Tolerances.


def agreement_tolerance(a: Ball, b: Ball) -> F64:
    """How far two correct evaluations of quantities with equal exact values may differ.

    Each evaluation lies within ``rad`` of its ball's ``mid``, and the common exact value lies in
    both balls, so ``|A - B| <= 2 rad_A + 2 rad_B`` (infinite where a radius is: no bound).
    """
    with np.errstate(over="ignore"):
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
