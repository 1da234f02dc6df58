"""Hidden units on (or next to) their ReLU's kink: where :func:`~.cases.seed_cases` puts them.

The placement is drawn before the network, as a handful of numbers, and applied to the drawn
network and batch afterwards (:func:`_on_boundaries`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from ..network import Array, Linear, Network
from .primitives import _SIGNS, _bits, _integers

__all__ = ["BOUNDARY_PLACEMENTS"]

BOUNDARY_PLACEMENTS = ("none", "units", "pairs")
"""How :func:`seed_cases` puts hidden units on their ReLU's kink: ``units`` moves the biases
of chosen units so that one sample's pre-activation sits at zero, just below or just above it
(by a relative ``2**-k``); ``pairs`` also adds two samples, that sample scaled by ``1 ± 2**-j``,
which lie on both sides of those kinks. Rare in random draws, these cases are where methods
that look at other points than ``x`` (a path, a reference, a half-step) go wrong."""


@dataclass(frozen=True)
class _Placement:
    """Where :func:`_on_boundaries` puts units: drawn before the network, as a fixed handful
    of choices, so that shrinking the network does not shift them (and they shrink to none)."""

    kind: str
    row: int  # the sample on the kinks (modulo the number of samples that are not all zero)
    units: int  # bit ``unit % 8`` set: that unit is moved, in every hidden layer
    offset: int  # 0: on the kink; k: a relative 2**-k off it
    side: float
    pair: int  # the pair lies at that sample times 1 ± 2**-pair


_KINK_DISTANCES = (0, 52, 40, 26, 8, 2, 1)
"""How far from its kink a placed unit sits, as ``k`` in a relative ``2**-k`` (0: on it): at
the last bits of the pre-activation, a few more, half of them, and far off."""


@st.composite
def _placements(draw: st.DrawFn) -> _Placement:
    kind = BOUNDARY_PLACEMENTS[draw(_integers(0, len(BOUNDARY_PLACEMENTS) - 1))]
    if kind == "none":
        return _Placement(kind, 0, 0, 0, 1.0, 1)
    return _Placement(
        kind,
        draw(_integers(0, 255), label="sample on the kinks"),
        draw(_integers(1, 255), label="units on the kinks"),
        draw(st.sampled_from(_KINK_DISTANCES), label="distance from the kink"),
        draw(_SIGNS, label="side of the kink"),
        draw(_integers(1, 40), label="pair distance"),
    )


def _on_boundaries(net1: Network, x1: Array, placement: _Placement) -> tuple[Network, Array]:
    """``net1`` with the biases of chosen hidden units moved onto (or next to) the kink for one
    sample of ``x1``, and ``x1`` perhaps with a pair of samples around that sample."""
    if placement.kind == "none" or net1.depth < 2:
        return net1, x1
    dtype = net1.dtype
    # a sample that is not all zeros, where the kink depends on the inputs, if there is one
    nonzero = np.flatnonzero(np.any(x1 != 0, axis=1))
    row = int(nonzero[placement.row % len(nonzero)]) if len(nonzero) else 0
    a = x1[row]
    layers = list(net1.layers)
    for i, layer in enumerate(layers[:-1]):
        n = layer.b.shape[0]
        units = _bits(placement.units, 8)[np.arange(n) % 8]
        terms = a @ layer.W
        scale = np.abs(a) @ np.abs(layer.W) + np.abs(layer.b)
        off = placement.side * 2.0**-placement.offset * scale if placement.offset else 0.0
        b = np.where(units, -terms + off, layer.b).astype(dtype)
        layers[i] = Linear(layer.W, b)
        a = np.maximum(a @ layer.W + b, 0)
    net1 = Network(tuple(layers), net1.output)
    if placement.kind == "pairs":
        step = dtype.type(2.0**-placement.pair)
        pair = np.stack([x1[row] * (1 + step), x1[row] * (1 - step)]).astype(dtype)
        x1 = np.concatenate([x1, pair])
    return net1, x1
