"""Invariant 2, gradient invariance: the sensitivity map does not see a compensated shift."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import PROPERTIES, check_property
from lrp_invariants.methods import METHODS


@given(lst.seed_cases(), st.data())
def test_gradient_of_net2_at_x1_plus_m_equals_gradient_of_net1_at_x1(
    case: SeedCase, data: st.DataObject
) -> None:
    method = METHODS["gradient"]
    check_property(PROPERTIES["input-invariance"], case, method.reference, method, data.draw)
