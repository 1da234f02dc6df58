"""Invariant 4, shift decomposition: net3 feeds -m through W1 as a second, constant input; the
relevance of x1 then splits, element for element, into that of x3 and that of -m."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Rule, ZPlus
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


@pytest.mark.parametrize("rule", [LRP0(), Epsilon(1e-9), Epsilon(0.25)], ids=lambda r: r.name)
@given(case=lst.seed_cases())
def test_rx1_equals_rx3_plus_rm3_element_for_element(rule: Rule, case: SeedCase) -> None:
    require(f"{rule.name}: rx1 == rx3 + rm3", shift_decomposition_core(case, rule))


@pytest.mark.parametrize("method", ["gradient-x-input", "lrp-0", "lrp-epsilon"])
@given(case=lst.seed_cases(), data=st.data())
def test_rx1_equals_rx3_plus_rm3_through_the_plain_net3(
    method: str, case: SeedCase, data: st.DataObject
) -> None:
    chosen = METHODS[method]
    check_property(PROPERTIES["shift-decomposition"], case, chosen.reference, chosen, data.draw)


@pytest.mark.parametrize("rule", [LRP0(), Epsilon(1e-9), AlphaBeta(2.0, 1.0), ZPlus()],
                         ids=lambda r: r.name)
@given(case=lst.seed_cases())
def test_net2_and_net3_agree_on_relevance_at_every_layer_but_the_input(
    rule: Rule, case: SeedCase
) -> None:
    require(f"{rule.name}: net2 and net3 agree above the input", net2_net3_agreement(case, rule))
