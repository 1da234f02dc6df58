"""Power: every deliberately broken implementation in tests/mutants.py is caught, with a
shrunk counterexample, by the property that speaks to its bug."""

from __future__ import annotations

import pytest

from lrp_invariants.gate import run_gate, run_property
from lrp_invariants.invariants import PROPERTIES
from lrp_invariants.methods import resolve_method

from . import mutants
from .mutants import MUTANTS

CATCHES: dict[str, str | tuple[str, ...]] = {
    "lrp0_bias_left_out_of_the_denominator": "bias-proxy-transparency",
    "lrp_epsilon_started_from_all_logits": "bias-proxy-conservation",
    "lrp_epsilon_started_from_a_probability": "bias-proxy-conservation",
    "lrp0_normalised_heatmap": "bias-proxy-conservation",
    "lrp0_batch_coupled_scaling": "batch-consistency",
    "lrp0_drops_negative_inputs": "shift-decomposition",
    "lrp_epsilon_in_float32": "bias-proxy-conservation",
    "lrp0_modifies_its_input": "batch-consistency",
    "lrp_epsilon_with_sign_of_zero_zero": "bias-proxy-transparency",
    "alpha_beta_with_alpha_minus_beta_not_one": "bias-proxy-conservation",
    # wrong only where every layer is square and W != W.T changes the gradient of the chosen
    # class: each property meets such a case now and then, the gate as a whole every time
    "gradient_with_torch_weight_layout": (
        "input-invariance",
        "bias-proxy-transparency",
        "permutation",
        "rescaling",
        "reference",
    ),
    "lrp0_bias_relevance_redistributed": "bias-proxy-transparency",
    "lrp_epsilon_unsigned_stabiliser": "bias-proxy-conservation",
    "lrp0_absolute_relevance": "bias-proxy-conservation",
    "gradient_x_input_cached_by_shape": "shift-decomposition",
    "gamma_bias_convention_swapped": "bias-proxy-transparency",
    "gamma_on_negative_weights": "reference",
    "zbox_bounds_swapped": "reference",
    "flat_on_the_last_layer_instead_of_the_first": "reference",
}


@pytest.fixture(autouse=True)
def _empty_mutant_cache() -> None:
    """The caching mutant keeps module state; start each test without it."""
    mutants._CACHE.clear()


def test_every_mutant_has_a_property_that_catches_it() -> None:
    assert set(CATCHES) == set(MUTANTS)
    assert len(MUTANTS) >= 10


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught(name: str) -> None:
    mutant, method = MUTANTS[name]
    names = CATCHES[name] if isinstance(CATCHES[name], tuple) else (CATCHES[name],)
    assert set(names) <= set(resolve_method(method).properties)
    report = run_gate(mutant, method, properties=names, shrink=False)
    assert not report.ok, f"{name} passed {names} on {report.properties[0].examples} examples"


@pytest.mark.parametrize(
    "name",
    ["lrp0_absolute_relevance", "lrp0_drops_negative_inputs", "lrp_epsilon_in_float32"],
)
def test_a_caught_mutant_comes_with_a_minimal_readable_counterexample(name: str) -> None:
    mutant, method = MUTANTS[name]
    prop = CATCHES[name]
    assert isinstance(prop, str)
    report = run_property(PROPERTIES[prop], mutant, resolve_method(method))
    assert report.case is not None
    # shrinking leaves a case a person can read: a unit or two per layer, one sample
    assert max(report.case.net1.widths) <= 2, report.case
    assert report.case.x1.shape[0] == 1, report.case
