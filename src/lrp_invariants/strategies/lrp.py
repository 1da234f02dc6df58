"""LRP's rules with drawn parameters, and composites (which rule each layer gets) for a case.

>>> rules().example()  # doctest: +SKIP
Gamma(gamma=0.5, epsilon=0.0, bias='source', sign_aware=False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..cases import SeedCase
from ..network import Array
from ..rules import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Rule, WSquare, ZBox, ZPlus

if TYPE_CHECKING:
    from ..configuration import Composite

__all__ = ["composites", "epsilons", "rules"]


def epsilons(max_exponent: int = 2) -> st.SearchStrategy[float]:
    """Stabilisers across scales: 0, and ``m x 10**k`` for ``m`` in [1, 10), ``-12 <= k <=
    max_exponent`` (large ones absorb most of the relevance, which must still be accounted for).

    >>> epsilons().example()  # doctest: +SKIP
    1e-06
    """
    if not isinstance(max_exponent, int) or not -12 <= max_exponent <= 12:
        raise InvalidArgument(f"max_exponent={max_exponent!r}: expected an int in [-12, 12]")
    scaled = st.builds(
        lambda m, k: m * 10.0**k,
        st.floats(1.0, 9.5, allow_nan=False),
        st.integers(-12, max_exponent),
    )
    return st.one_of(st.just(0.0), scaled)


def rules(max_gamma: float = 4.0) -> st.SearchStrategy[Rule]:
    """Every rule that does not depend on the inputs' range, with drawn parameters: ε, α with
    α - β = 1 (with and without a stabiliser, each bias convention, weights clamped once or
    contributions split), γ in [0, ``max_gamma``] with either extension and every bias
    convention, w² and flat with and without a stabiliser. (z^B's box depends on the inputs:
    :func:`composites`.)

    >>> rules().example()  # doctest: +SKIP
    Gamma(gamma=0.5, epsilon=0.0, bias='source', sign_aware=False)
    """
    if not (isinstance(max_gamma, (int, float)) and 0 <= max_gamma <= 16):
        raise InvalidArgument(f"max_gamma={max_gamma!r}: expected a number in [0, 16]")
    gammas = st.one_of(st.just(0.0), st.just(0.25), st.floats(0.0, float(max_gamma)))
    return st.one_of(
        st.just(LRP0()),
        st.builds(Epsilon, epsilons()),
        st.integers(2, 8).map(lambda k: AlphaBeta(k / 2, k / 2 - 1)),
        st.just(ZPlus()),
        # the libraries' conventions: a stabiliser, the bias ignored, the weights clamped once
        st.builds(
            lambda k, epsilon, bias: AlphaBeta(k / 2, k / 2 - 1, epsilon, bias),
            st.integers(2, 8),
            epsilons(),
            st.sampled_from(("source", "ignored", "whole")),
        ),
        st.builds(
            lambda k, epsilon, bias: AlphaBeta(k / 2, k / 2 - 1, epsilon, bias, False),
            st.integers(2, 8),
            epsilons(),
            st.sampled_from(("source", "ignored", "whole")),
        ),
        st.builds(
            Gamma,
            gammas,
            epsilons(),
            st.sampled_from(("modified", "source", "ignored")),
            st.booleans(),
        ),
        st.builds(WSquare, epsilons(), st.sampled_from(("ignored", "source"))),
        st.builds(Flat, epsilons()),
    )


def _box_for(x: Array, kind: str, pad: float) -> ZBox:
    """A box at the inputs' range, around it, or inside it (some inputs outside the box)."""
    low, high = float(np.min(x)), float(np.max(x))
    if kind == "around":
        return ZBox(low - pad, high + pad)
    if kind == "inside":
        middle = low + (high - low) / 2
        return ZBox(min(middle, low + pad), max(middle, high - pad))
    return ZBox(low, high)


@st.composite
def composites(draw: st.DrawFn, case: SeedCase) -> Composite:
    """A composite for ``case``: a first-layer rule (any of :func:`rules`, or z^B with a box at,
    around or inside the inputs' range), a hidden rule, and perhaps a last one.

    >>> composites(case).example()  # doctest: +SKIP
    Composite(hidden=Epsilon(epsilon=1e-06), first=ZBox(low=(-1.0,), ...), last=None, ...)
    """
    from ..configuration import Composite

    first = draw(
        st.one_of(
            rules(),
            st.builds(
                _box_for,
                st.just(case.x1),
                st.sampled_from(("at", "around", "inside")),
                st.floats(0.0, 4.0),
            ),
        )
    )
    return Composite(draw(rules()), first=first, last=draw(st.one_of(st.none(), rules())))
