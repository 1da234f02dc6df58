"""Invariant 7, metamorphic relations: reordering hidden units, rescaling a unit by a power of
two (for the rules that are positively homogeneous), batching, turning biases into relayed
inputs and repetition change nothing. Every method is checked on each drawn case."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lrp_invariants import explain
from lrp_invariants import strategies as lst
from lrp_invariants.cases import SeedCase
from lrp_invariants.invariants import PROPERTIES, check_property
from lrp_invariants.methods import METHODS


def _check_every_method(name: str, case: SeedCase, data: st.DataObject) -> None:
    if case.data is None:  # the pattern methods learn from a data set
        case = replace(case, data=data.draw(lst.data_sets(case)))
    for method in METHODS.values():
        if name in method.properties:
            check_property(PROPERTIES[name], case, method.reference, method, data.draw)


@given(lst.seed_cases(), st.data())
def test_permuting_hidden_units_changes_no_relevance(case: SeedCase, data: st.DataObject) -> None:
    _check_every_method("permutation", case, data)


@given(lst.seed_cases(), st.data())
def test_rescaling_a_hidden_unit_by_a_power_of_two_changes_no_relevance(
    case: SeedCase, data: st.DataObject
) -> None:
    _check_every_method("rescaling", case, data)


@given(lst.seed_cases(), st.data())
def test_a_batch_equals_its_samples_one_by_one(case: SeedCase, data: st.DataObject) -> None:
    _check_every_method("batch-consistency", case, data)


@given(lst.seed_cases(), st.data())
def test_biases_as_relayed_inputs_change_no_relevance_at_x(
    case: SeedCase, data: st.DataObject
) -> None:
    _check_every_method("bias-proxy-transparency", case, data)


@given(lst.seed_cases(), st.data())
def test_the_same_call_twice_gives_the_identical_result(
    case: SeedCase, data: st.DataObject
) -> None:
    _check_every_method("determinism", case, data)


@given(lst.seed_cases())
def test_explain_keeps_no_state_between_calls(case: SeedCase) -> None:
    rules = METHODS["lrp-epsilon"].rules_for(case.net1)
    before = explain(case.net1, case.x1, case.classes, rules)[1].input
    explain(case.net2, case.x2, case.classes, rules)  # a different network in between
    after = explain(case.net1, case.x1, case.classes, rules)[1].input
    np.testing.assert_array_equal(before, after)
