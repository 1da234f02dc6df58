"""Reductions: a smaller case is the same case with samples, inputs or units taken out, and the
gate reports a failure on the smallest case that still fails, whatever Hypothesis' shrinker
managed on its own."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from lrp_invariants import forward
from lrp_invariants import strategies as lst
from lrp_invariants.bounds import Ball, agreement_tolerance, enclose_forward
from lrp_invariants.cases import SeedCase
from lrp_invariants.gate import run_gate, run_property
from lrp_invariants.invariants import PROPERTIES
from lrp_invariants.methods import resolve_method
from lrp_invariants.network import Linear, Network
from lrp_invariants.reduce import (
    smaller_cases,
    without_inputs,
    without_samples,
    without_units,
)

from .example_counts import scaled
from .helpers import random_batch, random_network
from .mutants import MUTANTS


def _case(rng: np.random.Generator, widths: tuple[int, ...], n: int = 4) -> SeedCase:
    net1 = random_network(rng, widths)
    x1 = random_batch(rng, net1, n)
    m = rng.normal(size=widths[0])
    return SeedCase(net1, x1, m, np.arange(n) % widths[-1])


def test_removing_samples_keeps_the_other_rows_and_their_classes() -> None:
    case = _case(np.random.default_rng(0), (3, 4, 5), n=5)
    smaller = without_samples(case, np.array([1, 3]))
    assert np.array_equal(smaller.x1, case.x1[[0, 2, 4]])
    assert np.array_equal(smaller.classes, case.classes[[0, 2, 4]])
    assert smaller.net1 is case.net1 and smaller.m is case.m


def _same_logits(a: Network, xa: np.ndarray, b: Network, xb: np.ndarray) -> None:
    """The two networks' logits agree within their forward enclosures (the sums differ in
    length, so not bit for bit)."""
    ball_a = enclose_forward(a, Ball.exact(xa)).z[-1]
    ball_b = enclose_forward(b, Ball.exact(xb)).z[-1]
    error = np.abs(forward(a, xa).z[-1] - forward(b, xb).z[-1])
    assert np.all(error <= agreement_tolerance(ball_a, ball_b))


def test_removing_inputs_computes_what_zeroing_them_computes() -> None:
    case = _case(np.random.default_rng(1), (5, 4, 3))
    smaller = without_inputs(case, np.array([0, 3]))
    zeroed = case.x1.copy()
    zeroed[:, [0, 3]] = 0
    _same_logits(smaller.net1, smaller.x1, case.net1, zeroed)
    assert np.array_equal(smaller.m, case.m[[1, 2, 4]])


def test_removing_hidden_units_computes_what_silencing_them_computes() -> None:
    case = _case(np.random.default_rng(2), (3, 6, 4, 2))
    smaller = without_units(case, 1, np.array([1, 2]))
    first, second, last = case.net1.layers
    W = second.W.copy()
    W[:, [1, 2]] = 0
    b = second.b.copy()
    b[[1, 2]] = 0
    silenced = Network((first, Linear(W, b), last))
    assert smaller.net1.widths == (3, 6, 2, 2)
    _same_logits(smaller.net1, case.x1, silenced, case.x1)


def test_removing_output_units_renumbers_the_chosen_classes() -> None:
    case = _case(np.random.default_rng(3), (2, 3, 5), n=2)
    case = SeedCase(case.net1, case.x1, case.m, np.array([4, 1]))
    smaller = without_units(case, 1, np.array([0, 2, 3]))
    assert smaller.classes.tolist() == [1, 0]
    logits = forward(case.net1, case.x1).z[-1]
    assert np.array_equal(forward(smaller.net1, smaller.x1).z[-1], logits[:, [1, 4]])


def test_a_chosen_class_is_never_removed() -> None:
    case = _case(np.random.default_rng(4), (2, 3, 5), n=2)
    with pytest.raises(ValueError, match="chosen class"):
        without_units(case, 1, case.classes[:1])
    last = case.net1.depth - 1
    for smaller in smaller_cases(case):
        if smaller.net1.widths[-1] < case.net1.widths[-1]:
            assert smaller.net1.layers[last].n_out >= len(set(case.classes.tolist()))


@settings(max_examples=scaled(60), deadline=None)
@given(lst.seed_cases(max_width=6, max_batch=4))
def test_every_smaller_case_is_valid_smaller_and_leaves_the_original_untouched(
    case: SeedCase,
) -> None:
    before = [case.x1.copy(), case.m.copy(), *(layer.W.copy() for layer in case.net1.layers)]
    for smaller in smaller_cases(case):
        sizes = (smaller.x1.shape[0], *smaller.net1.widths)
        original = (case.x1.shape[0], *case.net1.widths)
        assert all(1 <= s <= o for s, o in zip(sizes, original, strict=True))
        assert sum(sizes) < sum(original)
    after = [case.x1, case.m, *(layer.W for layer in case.net1.layers)]
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_a_failure_on_a_wide_fixed_network_is_reported_on_a_unit_or_two() -> None:
    # Hypothesis cannot shrink the widths of a given network; the reductions do
    network = random_network(np.random.default_rng(5), (16, 16, 16, 10))
    mutant, method = MUTANTS["lrp0_absolute_relevance"]
    prop = PROPERTIES["bias-proxy-conservation"]
    report = run_property(prop, mutant, resolve_method(method), cases=lst.cases_on(network))
    assert report.case is not None and report.minimised
    assert max(report.case.net1.widths) <= 2, report.case
    assert report.case.x1.shape[0] == 1


def test_a_users_own_network_is_not_reduced_when_asked_not_to() -> None:
    network = random_network(np.random.default_rng(5), (16, 16, 16, 10))
    mutant, method = MUTANTS["lrp0_absolute_relevance"]
    report = run_gate(
        mutant,
        method,
        properties=["bias-proxy-conservation"],
        cases=lst.cases_on(network),
        reduce=False,
    )
    case = report.properties[0].case
    assert case is not None and case.net1.widths == (16, 16, 16, 10)
