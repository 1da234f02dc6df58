"""Invariant 6: LRP is not input-invariant, and that is correct. These tests *find* the cases
that show where an invariant ends, each certified by a difference larger than its tolerance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, find, settings

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Network, explain
from lrp_invariants import strategies as lst
from lrp_invariants.bounds import agreement_tolerance, enclose_relevance
from lrp_invariants.cases import SeedCase
from lrp_invariants.constructions import rescale_hidden_unit
from lrp_invariants.invariants import (
    Comparison,
    layerwise_conservation,
    require,
    shift_decomposition_core,
)
from lrp_invariants.methods import METHODS

SEARCH = settings(max_examples=500, database=None, derandomize=True, phases=[Phase.generate])
"""The first case found is kept: each test claims that such a case exists and what holds on it,
which shrinking would not change (it took 20 s a test on two cores)."""


def _certainly_differ(comparison: Comparison) -> bool:
    return not comparison.holds() and bool(np.isfinite(comparison.tolerance).all())


def _lrp_input_relevance_moves(case: SeedCase) -> bool:
    p = case.precision
    rx1 = explain(case.net1, case.x1, case.classes, LRP0())[1].input
    rx2 = explain(case.net2, case.x2, case.classes, LRP0())[1].input
    tol = agreement_tolerance(
        enclose_relevance(case.net1, case.balls1, case.classes, LRP0(), p)[0].R,
        enclose_relevance(case.net2, case.balls2, case.classes, LRP0(), p)[0].R,
    )
    return _certainly_differ(Comparison("rx1 == rx2", rx2, rx1, tol))


@pytest.mark.full_tier
def test_lrp_relevance_of_net2_at_x1_plus_m_differs_from_net1_at_x1() -> None:
    case = find(lst.seed_cases(), _lrp_input_relevance_moves, settings=SEARCH)
    # none of it was lost: with the bias counted, both networks still conserve the logit
    for network, x in ((case.net1, case.x1), (case.net2, case.x2)):
        require(
            "the moved relevance went to the first bias",
            layerwise_conservation(network, x, case.classes, LRP0()),
        )


@pytest.mark.full_tier
def test_alpha_beta_breaks_the_shift_decomposition() -> None:
    rule = AlphaBeta(2.0, 1.0)
    case = find(
        lst.seed_cases(),
        lambda c: any(_certainly_differ(cmp) for cmp in shift_decomposition_core(c, rule)),
        settings=SEARCH,
    )
    comparison = shift_decomposition_core(case, rule)[0]
    assert not comparison.holds()


def test_epsilon_is_not_invariant_to_rescaling_a_unit() -> None:
    assert "rescaling" not in METHODS["lrp-epsilon"].properties
    # 1 -> 1 -> 1 with unit weights at x = 1, ε = 1/4: the input gets 1 / 1.25**2 = 0.64.
    # Rescaled by 2**-2 the unit's pre-activation 1/4 meets the same ε: 0.25 * 0.8 / 0.5 = 0.4
    net1 = Network.from_arrays([np.array([[1.0]]), np.array([[1.0]])], [np.zeros(1), np.zeros(1)])
    other = rescale_hidden_unit(net1, 0, 0, -2)
    x, classes = np.array([[1.0]]), np.array([0])
    assert explain(net1, x, classes, Epsilon(0.25))[1].input[0, 0] == 0.64
    assert explain(other, x, classes, Epsilon(0.25))[1].input[0, 0] == 0.4
    # LRP-0 has no ε to meet: it stays put
    assert explain(other, x, classes, LRP0())[1].input[0, 0] == 1.0
