"""The numbers of a drawn CNN case: its parameters and inputs, as mantissas (or small
integers) times one power of two per layer, drawn entry by entry, from a palette or from a
seed. :mod:`.cnn_networks` chooses each layer's power of two and :mod:`.cnn` the inputs' (both
draw their arrays here).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import numpy as np
from hypothesis import strategies as st

from ..network import Array
from .primitives import _integers

CNN_VALUES = ("floats", "integers")
"""``floats``: mantissas 0 or of magnitude in [2**-24, 2] (small integers among them) times a
power of two per layer; ``integers``: integers in -3..3 times a power of two per layer, so
that every forward sum of a small CNN is exact (properties that claim bit-for-bit equality draw
these)."""

Values = Literal["floats", "integers"]


_ENTRIES = 48
"""Arrays up to this size may be drawn entry by entry; larger ones from a palette or a seed
(Hypothesis' buffer holds a few thousand choices, and a draw per entry of a 300-pixel image
would leave no room for the rest)."""

_ARRAY_KINDS = ("entries", "palette", "dense")

_MAGNITUDES = st.floats(2.0**-24, 2.0)


@st.composite
def _mantissa(draw: st.DrawFn) -> float:
    """A float parameter's mantissa: 0 in one draw in nine, or a magnitude in [2**-24, 2],
    negative in half of the others (one draw says which of the three; it shrinks to positive
    magnitudes, which shrink to 1); the layer's power of two gives the scale, so no drawn
    value is subnormal or near it (the CNN conservation bounds of tests/cnn_helpers.py do not
    count gradual underflow; tests/test_cnn_overflow.py and the dense suite's enclosures do).

    Zero is rarer than a third (as ``one_of(just(0.0), ...)`` would draw it), and is not what
    draws shrink to: a zero palette or head column kills the whole network, and a dead
    network's relevance is zero for right and wrong code alike (measured on 400 of the gate's
    CNN cases: with a third, about half had no relevance at the input; with zero as the
    simplest draw, Hypothesis' zero-extended draws were dead networks; docs/soundness.md "CNN
    campaigns"). Two draws per entry, not three: a CNN case holds hundreds of them, and the
    shrinker draws the case anew at every step."""
    kind = draw(_integers(0, 8), label="mantissa")
    if kind == 8:
        return 0.0
    magnitude = draw(_MAGNITUDES, label="mantissa")
    return -magnitude if kind % 2 else magnitude


_MANTISSAS = _mantissa()


def _array(
    draw: st.DrawFn,
    shape: tuple[int, ...],
    values: Values,
    scale: float,
    kinds: tuple[str, ...] = _ARRAY_KINDS,
) -> Array:
    """Integers in -3..3, or mantissas in [-2, 2], times ``scale``. ``entries``: drawn one by
    one (they shrink to zeros and small integers); ``palette``: up to six drawn values, repeated
    over the array by a seeded choice (ties on purpose: equal maxima in a pooling window);
    ``dense``: every entry from a seeded generator (full mantissas, a tenth of them 0)."""
    size = int(np.prod(shape))
    offered = [k for k in kinds if k != "entries" or size <= _ENTRIES]
    kind = offered[draw(_integers(0, len(offered) - 1), label="array kind")]
    element = _integers(-3, 3) if values == "integers" else _MANTISSAS
    if kind == "entries":
        entries = draw(_lists(element, size), label="entries")
        return np.array(entries, dtype=np.float64).reshape(shape) * scale
    rng = np.random.default_rng(draw(_integers(0, 2**32 - 1), label="array seed"))
    if kind == "palette":
        palette = np.array(draw(st.lists(element, min_size=2, max_size=6), label="palette"))
        return palette[rng.integers(0, len(palette), size)].reshape(shape) * scale
    if values == "integers":
        dense = rng.integers(-3, 4, size).astype(np.float64)
    else:
        dense = np.where(rng.random(size) < 0.1, 0.0, rng.uniform(-2.0, 2.0, size))
    return dense.reshape(shape) * scale


@functools.cache
def _lists(element: st.SearchStrategy[Any], size: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(element, min_size=size, max_size=size)
