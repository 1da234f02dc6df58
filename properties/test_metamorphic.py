"""Invariant 7, metamorphic relations: reordering hidden units, rescaling a unit by a power of
two (for the rules that are positively homogeneous), batching and repetition change nothing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import explain
from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import PROPERTIES, check_property
from lrp_invariants.methods import METHODS


def _applicable(prop: str) -> list[str]:
    return [name for name, method in METHODS.items() if prop in method.properties]


@pytest.mark.parametrize("method", _applicable("permutation"))
@given(case=lst.seed_cases(), data=st.data())
def test_permuting_hidden_units_changes_no_relevance(
    method: str, case: SeedCase, data: st.DataObject
) -> None:
    chosen = METHODS[method]
    check_property(PROPERTIES["permutation"], case, chosen.reference, chosen, data.draw)


@pytest.mark.parametrize("method", _applicable("rescaling"))
@given(case=lst.seed_cases(), data=st.data())
def test_rescaling_a_hidden_unit_changes_no_relevance(
    method: str, case: SeedCase, data: st.DataObject
) -> None:
    chosen = METHODS[method]
    check_property(PROPERTIES["rescaling"], case, chosen.reference, chosen, data.draw)


@pytest.mark.parametrize("method", _applicable("batch-consistency"))
@given(case=lst.seed_cases(), data=st.data())
def test_a_batch_equals_its_samples_one_by_one(
    method: str, case: SeedCase, data: st.DataObject
) -> None:
    chosen = METHODS[method]
    check_property(PROPERTIES["batch-consistency"], case, chosen.reference, chosen, data.draw)


@pytest.mark.parametrize("method", _applicable("bias-proxy-transparency"))
@given(case=lst.seed_cases(), data=st.data())
def test_biases_as_relayed_inputs_change_no_relevance_at_x(
    method: str, case: SeedCase, data: st.DataObject
) -> None:
    chosen = METHODS[method]
    check_property(PROPERTIES["bias-proxy-transparency"], case, chosen.reference, chosen,
                   data.draw)


@pytest.mark.parametrize("method", list(METHODS))
@given(case=lst.seed_cases())
def test_the_same_call_twice_gives_the_identical_result(method: str, case: SeedCase) -> None:
    chosen = METHODS[method]
    weights, biases = case.net1.weights, case.net1.biases
    first = chosen.reference(weights, biases, case.x1, case.classes)
    second = chosen.reference(weights, biases, case.x1, case.classes)
    np.testing.assert_array_equal(first, second)


@given(case=lst.seed_cases())
def test_explain_keeps_no_state_between_calls(case: SeedCase) -> None:
    method = METHODS["lrp-epsilon"]
    assert method.rule is not None
    before = explain(case.net1, case.x1, case.classes, method.rule)[1].input
    explain(case.net2, case.x2, case.classes, method.rule)  # a different network in between
    after = explain(case.net1, case.x1, case.classes, method.rule)[1].input
    np.testing.assert_array_equal(before, after)
