"""Invariant 1, activation equivalence: net2 @ x2 and net3 @ x3 compute, layer by layer, what
net1 computes at x1. This is the precondition of every other invariant."""

from __future__ import annotations

from hypothesis import given

from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import activation_equivalence, require


@given(lst.seed_cases())
def test_every_layer_of_net2_at_x1_plus_m_equals_net1_at_x1(case: SeedCase) -> None:
    require(
        "net2 (b2 = b1 - m @ W1) at x1 + m reproduces every layer of net1 at x1",
        activation_equivalence(case),
    )
