"""Hypothesis strategies for ReLU MLPs, their inputs, chosen classes and input shifts.

Hard cases are generated on purpose, not filtered out: exact zeros in inputs and weights, zero
biases, units that are dead for every input in range, equal consecutive widths and width 1
(transposition bugs show), weights whose scale is far from 1 (each layer's weights are a
mantissa in [-2, 2] times a power of two), shifts much larger than the inputs (cancellation in
``x1 + m - m``), and pre-activations that cancel to zero exactly. What no rule can avoid —
comparisons at a ReLU that is within rounding of zero — the tolerances of
:mod:`lrp_invariants.bounds` account for.

Example::

    from hypothesis import given
    from lrp_invariants import strategies as lst

    @given(lst.seed_cases(max_depth=3, max_width=4))
    def test_net2_reproduces_net1(case):
        ...
"""

from __future__ import annotations

from .cases import SCALE_REGIMES, cases_on, seed_cases
from .cnn import (
    CNN_SCALE_REGIMES,
    CNN_SHIFT_KINDS,
    CNN_VALUES,
    POOLING_KINDS,
    CNNCase,
    CNNSeedCase,
    cnn_cases,
    cnn_cases_on,
    cnn_inputs,
    cnn_seed_cases,
    cnns,
)
from .lrp import composites, epsilons, rules
from .placement import BOUNDARY_PLACEMENTS
from .primitives import SHIFT_KINDS, FloatWidth, classes, inputs, networks, shifts
from .references import (
    DATA_KINDS,
    REFERENCE_KINDS,
    START_KINDS,
    data_sets,
    reference_cases,
    starting_relevances,
    with_data,
    with_references,
    with_starting_relevance,
)

__all__ = [
    "BOUNDARY_PLACEMENTS",
    "CNN_SCALE_REGIMES",
    "CNN_SHIFT_KINDS",
    "CNN_VALUES",
    "DATA_KINDS",
    "POOLING_KINDS",
    "REFERENCE_KINDS",
    "SCALE_REGIMES",
    "SHIFT_KINDS",
    "START_KINDS",
    "CNNCase",
    "CNNSeedCase",
    "FloatWidth",
    "cases_on",
    "classes",
    "cnn_cases",
    "cnn_cases_on",
    "cnn_inputs",
    "cnn_seed_cases",
    "cnns",
    "composites",
    "data_sets",
    "epsilons",
    "inputs",
    "networks",
    "reference_cases",
    "rules",
    "seed_cases",
    "shifts",
    "starting_relevances",
    "with_data",
    "with_references",
    "with_starting_relevance",
]
