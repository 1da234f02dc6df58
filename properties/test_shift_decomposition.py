"""Invariant 4, shift decomposition: net3 feeds -m through W1 as a second, constant input; the
relevance of x1 then splits, element for element, into that of x3 and that of -m."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import LRP0, AlphaBeta, Epsilon, ZPlus
from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import (
    PROPERTIES,
    check_property,
    net2_net3_agreement,
    require,
    shift_decomposition_core,
)
from lrp_invariants.methods import METHODS


@given(lst.seed_cases())
def test_rx1_equals_rx3_plus_rm3_element_for_element(case: SeedCase) -> None:
    for rule in (LRP0(), Epsilon(1e-9), Epsilon(0.25)):
        require(f"{rule!r}: rx1 == rx3 + rm3", shift_decomposition_core(case, rule))


@given(lst.seed_cases(), st.data())
def test_rx1_equals_rx3_plus_rm3_through_the_plain_net3(
    case: SeedCase, data: st.DataObject
) -> None:
    for method in METHODS.values():
        if "shift-decomposition" in method.properties:
            check_property(
                PROPERTIES["shift-decomposition"], case, method.reference, method, data.draw
            )


@given(lst.seed_cases())
def test_net2_and_net3_agree_on_relevance_at_every_layer_but_the_input(case: SeedCase) -> None:
    for rule in (LRP0(), Epsilon(1e-9), AlphaBeta(2.0, 1.0), ZPlus()):
        require(f"{rule!r}: net2 and net3 agree above the input", net2_net3_agreement(case, rule))
