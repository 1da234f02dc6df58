"""How far a correctly rounded LRP on a CNN may stray from conservation: the CNN counterpart of
:func:`lrp_invariants.bounds.conservation_tolerance`, from the enclosure's balls.

In exact arithmetic every layer hands on what it receives, less its sinks, whatever way max
pooling routes a tie; so the input relevance plus every sink equals the chosen logit, and a
computed pass is off by its rounding alone. Each layer's rounding is bounded by ``γ`` of its
longest sum times the absolute mass of the terms it adds (the rule's own dense bound on its
local matrix, :class:`~lrp_invariants.bounds.LayerBalls`), plus the sums that move relevance
between tensors (scattering the copies of a copying padding back, routing max pooling, adding a
residual block's two paths); the layers' bounds add up.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...bounds.balls import F64, Ball, Precision
from .relevance import CNNLayerBalls


def _mass(ball: Ball) -> F64:
    """Per sample, a bound on the sum of the absolute values the ball holds."""
    n = ball.mid.shape[0]
    upper: F64 = (np.abs(ball.mid) + ball.rad).reshape(n, -1).sum(axis=1)
    return upper


def _layer(layer: CNNLayerBalls, p: Precision) -> F64:
    n = layer.R_out.mid.shape[0]
    sizes = int(np.prod(layer.R.mid.shape[1:])) + int(np.prod(layer.R_out.mid.shape[1:]))
    # moving relevance between tensors: every value is added to at most ``sizes`` others
    moved = p.gamma(sizes + 8) * (2 * _mass(layer.R_out) + _mass(layer.R))
    bound: F64 = np.asarray(moved, dtype=np.float64).reshape(n)
    if layer.dense is not None:  # the rule's sums on the local matrix
        bound = bound + p.gamma(layer.dense.length) * layer.dense.mass + layer.dense.underflow
    if layer.block is not None:
        bound = bound + _layer(layer.block.sum, p) + cnn_conservation_bound(layer.block.branch, p)
        if layer.block.shortcut is not None:
            bound = bound + _layer(layer.block.shortcut, p)
    return bound


def cnn_conservation_bound(layers: Sequence[CNNLayerBalls], p: Precision) -> F64:
    """(n,) a bound on ``|sum(R_input) + sinks - R_top|`` of any correctly rounded LRP pass
    whose layers' exact values the balls enclose (index 0: the input layer)."""
    bound = np.sum([_layer(layer, p) for layer in layers], axis=0)
    widened: F64 = p.widen(bound, len(layers) + 2)
    return widened
