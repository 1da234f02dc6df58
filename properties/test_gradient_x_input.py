"""Invariant 5: on ReLU networks LRP-0 is gradient x input, with the biases present."""

from __future__ import annotations

from hypothesis import given

from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import lrp_0_is_gradient_times_input, require


@given(lst.seed_cases())
def test_lrp_0_equals_gradient_times_input(case: SeedCase) -> None:
    require("LRP-0 is gradient x input", lrp_0_is_gradient_times_input(case))
