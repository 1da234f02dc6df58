"""What some methods take beside a case: a reference ``x0`` (DeepLIFT, integrated gradients),
a data set (PatternNet, PatternAttribution) or LRP's starting relevance given by the caller,
drawn at the case's dtype and input (or logits') scale.

>>> with_references(seed_cases()).example().x0  # doctest: +SKIP
array([[0.5, -1. ]])
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ..cases import ReferenceCase, SeedCase
from ..network import Array
from .cases import seed_cases
from .primitives import _arrays, _integers

__all__ = [
    "DATA_KINDS",
    "REFERENCE_KINDS",
    "START_KINDS",
    "data_sets",
    "reference_cases",
    "starting_relevances",
    "with_data",
    "with_references",
    "with_starting_relevance",
]

REFERENCE_KINDS = ("zero", "row", "batch")
"""References for DeepLIFT and integrated gradients: zeros (Captum's default), one row for
every sample, or one per sample."""


@st.composite
def _reference_case(draw: st.DrawFn, cases: st.SearchStrategy[SeedCase]) -> ReferenceCase:
    case = draw(cases)
    kind = REFERENCE_KINDS[draw(_integers(0, len(REFERENCE_KINDS) - 1), label="reference")]
    n, d = case.x1.shape
    if kind == "zero":
        return ReferenceCase(case, np.zeros_like(case.x1))
    scale = float(np.abs(case.x1).max()) or 1.0
    dtype = case.net1.dtype
    x0 = draw(_arrays(dtype, (d,) if kind == "row" else (n, d), -scale, scale))
    return ReferenceCase(case, np.broadcast_to(x0, (n, d)).copy())


def reference_cases(
    cases: st.SearchStrategy[SeedCase] | None = None,
) -> st.SearchStrategy[ReferenceCase]:
    """A seed case (from ``cases``, default :func:`seed_cases`) with a reference ``x0`` of the
    case's dtype and input scale: zeros, one row for all samples, or one per sample.

    >>> reference_cases().example()  # doctest: +SKIP
    ReferenceCase(case=SeedCase(...), x0=array([[0.5, -1. ]]))
    """
    if cases is not None and not isinstance(cases, st.SearchStrategy):
        raise InvalidArgument(f"cases must be a strategy of SeedCase; got {type(cases).__name__}")
    return _reference_case(cases if cases is not None else seed_cases())


@st.composite
def _with_reference(draw: st.DrawFn, cases: st.SearchStrategy[SeedCase]) -> SeedCase:
    reference_case = draw(_reference_case(cases))
    return replace(reference_case.case, x0=reference_case.x0)


def with_references(cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
    """Cases from ``cases`` that carry a reference batch ``x0`` (see :func:`reference_cases`):
    what the gate draws for a method that takes a given baseline.

    >>> with_references(seed_cases()).example().x0  # doctest: +SKIP
    array([[0., 0.]])
    """
    return _with_reference(cases)


DATA_KINDS = ("drawn", "with-inputs", "repeated")
"""Data sets that patterns are learned from: rows drawn at the inputs' scale; the explained
batch among drawn rows; rows repeated (a unit active only there does not vary: 0/0)."""


@st.composite
def data_sets(draw: st.DrawFn, case: SeedCase) -> Array:
    """A data set (N, d) for ``case``'s network, of its dtype and input scale, N from 1 to 12
    drawn rows (see :data:`DATA_KINDS`).

    >>> data_sets(case).example()  # doctest: +SKIP
    array([[ 0.5, -1. ], [ 2. ,  0. ]])
    """
    if not isinstance(case, SeedCase):
        raise InvalidArgument(f"case must be a SeedCase; got {type(case).__name__}")
    kind = DATA_KINDS[draw(_integers(0, len(DATA_KINDS) - 1), label="data")]
    d = case.x1.shape[1]
    scale = float(np.abs(case.x1).max()) or 1.0
    rows = draw(_integers(1, 12), label="data rows")
    drawn = draw(_arrays(case.net1.dtype, (rows, d), -scale, scale))
    if kind == "with-inputs":
        return np.vstack([case.x1, drawn])
    if kind == "repeated":
        times = draw(_integers(2, 4), label="repeats")
        return np.vstack([np.repeat(drawn[:1], times, axis=0), drawn[1:]])
    return drawn


@st.composite
def _with_data(draw: st.DrawFn, cases: st.SearchStrategy[SeedCase]) -> SeedCase:
    case = draw(cases)
    return replace(case, data=draw(data_sets(case)))


def with_data(cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
    """Cases from ``cases`` that carry a data set (see :func:`data_sets`): what the gate draws
    for a method that learns patterns (PatternNet, PatternAttribution).

    >>> with_data(seed_cases()).example().data.shape  # doctest: +SKIP
    (4, 2)
    """
    if not isinstance(cases, st.SearchStrategy):
        raise InvalidArgument(f"cases must be a strategy of SeedCase; got {type(cases).__name__}")
    return _with_data(cases)


START_KINDS = ("class", "every-output", "logits")
"""Relevance a caller starts LRP from: one drawn value at the chosen class, a drawn value at
every output (of either sign), or every output's own logit."""


@st.composite
def starting_relevances(draw: st.DrawFn, case: SeedCase) -> Array:
    """Starting relevance (n, outputs) for ``case``'s network at ``x1``, of its dtype and at its
    logits' scale (see :data:`START_KINDS`).

    >>> starting_relevances(case).example()  # doctest: +SKIP
    array([[ 0. , -1.5]])
    """
    if not isinstance(case, SeedCase):
        raise InvalidArgument(f"case must be a SeedCase; got {type(case).__name__}")
    from ..network import forward  # the strategies sit above the core

    logits = forward(case.net1, case.x1).logits
    kind = START_KINDS[draw(_integers(0, len(START_KINDS) - 1), label="start")]
    if kind == "logits":
        return np.array(logits, copy=True)
    scale = float(np.abs(logits).max()) or 1.0
    dtype, (n, k) = case.net1.dtype, logits.shape
    if kind == "every-output":
        return draw(_arrays(dtype, (n, k), -scale, scale))
    values = draw(_arrays(dtype, (n,), -scale, scale))
    relevance = np.zeros((n, k), dtype=dtype)
    relevance[np.arange(n), case.classes] = values
    return relevance


@st.composite
def _with_starting_relevance(draw: st.DrawFn, cases: st.SearchStrategy[SeedCase]) -> SeedCase:
    case = draw(cases)
    return replace(case, relevance=draw(starting_relevances(case)))


def with_starting_relevance(cases: st.SearchStrategy[SeedCase]) -> st.SearchStrategy[SeedCase]:
    """Cases from ``cases`` that carry a starting relevance (see :func:`starting_relevances`):
    what the gate draws for LRP claimed with ``start=given``.

    >>> with_starting_relevance(seed_cases()).example().relevance.shape  # doctest: +SKIP
    (1, 2)
    """
    if not isinstance(cases, st.SearchStrategy):
        raise InvalidArgument(f"cases must be a strategy of SeedCase; got {type(cases).__name__}")
    return _with_starting_relevance(cases)
