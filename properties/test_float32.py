"""The core's invariants hold in float32 too, within float32's error bounds."""

from __future__ import annotations

import numpy as np
from hypothesis import given

from lrp_invariants import LRP0, AlphaBeta, Epsilon
from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import (
    activation_equivalence,
    layerwise_conservation,
    require,
    shift_decomposition_core,
)

FLOAT32_CASES = lst.seed_cases(dtype=np.float32)


@given(FLOAT32_CASES)
def test_float32_net2_reproduces_every_layer_of_net1(case: SeedCase) -> None:
    assert case.net1.dtype == np.float32
    require("float32 activation equivalence", activation_equivalence(case))


@given(FLOAT32_CASES)
def test_float32_relevance_is_conserved_with_every_sink(case: SeedCase) -> None:
    for rule in (LRP0(), Epsilon(1e-9), AlphaBeta(2.0, 1.0)):
        require(
            f"float32 {rule!r} conservation",
            layerwise_conservation(case.net1, case.x1, case.classes, rule),
        )


@given(FLOAT32_CASES)
def test_float32_rx1_equals_rx3_plus_rm3(case: SeedCase) -> None:
    for rule in (LRP0(), Epsilon(1e-9)):
        require(f"float32 {rule!r}: rx1 == rx3 + rm3", shift_decomposition_core(case, rule))
