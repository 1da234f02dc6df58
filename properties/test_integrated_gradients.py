"""Integrated gradients, exactly (issue 14): the breakpoint sum is the path integral (checked
against exact rational arithmetic), it adds up to ``f(x) - f(x0)``, it is input-invariant when
the baseline moves with the shift and not with a zero baseline (Kindermans et al.), and with a
zero baseline and zero biases it is gradient x input. Tolerances come from
:mod:`lrp_invariants.bounds.integrated`."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import find, given, settings
from hypothesis import strategies as st
from tests.example_counts import scaled
from tests.rational import exact_integrated_gradients, exact_quadrature

from lrp_invariants import Linear, Network
from lrp_invariants import strategies as lst
from lrp_invariants.bounds import Ball, agreement_tolerance, enclose_forward, enclose_gradient
from lrp_invariants.bounds.integrated import absolute_chain
from lrp_invariants.cases import ReferenceCase, SeedCase
from lrp_invariants.integrated import (
    QUADRATURES,
    integrated_gradients,
    quadrature,
    quadrature_error_bound,
    quadrature_integrated_gradients,
)
from lrp_invariants.invariants import Comparison, require
from lrp_invariants.invariants.baselines import (
    completeness,
    shifted_reference_invariance,
    unmoved_reference_difference,
)
from lrp_invariants.network import forward, gradient

IG = "integrated-gradients"


@settings(max_examples=scaled(60))
@given(lst.reference_cases(lst.seed_cases(max_depth=3, max_width=3, max_batch=2)))
def test_the_breakpoint_sum_is_the_exact_rational_path_integral(
    reference_case: ReferenceCase,
) -> None:
    case = reference_case.case
    ball = reference_case.enclosure(IG)
    ours = integrated_gradients(case.net1, case.x1, case.classes, reference_case.x0)
    exact = exact_integrated_gradients(case.net1, case.x1, reference_case.x0, case.classes)
    for i, row in enumerate(exact):
        for j, value in enumerate(row):
            # the exact value lies in the enclosure, and so does our evaluation
            mid, rad = Fraction(float(ball.mid[i, j])), Fraction(float(ball.rad[i, j]))
            assert abs(value - mid) <= rad, (i, j, float(value), ball.mid[i, j], ball.rad[i, j])
            assert abs(Fraction(float(ours[i, j])) - mid) <= rad


@given(lst.seed_cases(max_depth=4, max_width=6), st.data())
def test_the_absolute_chain_is_no_smaller_than_its_exact_value(
    case: SeedCase, data: st.DataObject
) -> None:
    # the window term of the enclosure scales G = |W_0| ... |w_L[c]|: rounded down anywhere
    # (a long sum, an underflow), it would shrink every window's allowance
    network = case.net1
    chosen = data.draw(st.integers(0, network.widths[-1] - 1), label="chosen")
    computed = absolute_chain(network, chosen)
    exact = [abs(Fraction(float(w))) for w in network.layers[-1].W[:, chosen]]
    for layer in reversed(network.layers[:-1]):
        W = [[abs(Fraction(float(w))) for w in row] for row in layer.W]
        exact = [sum((w * v for w, v in zip(row, exact, strict=True)), Fraction(0)) for row in W]
    for j, value in enumerate(exact):
        assert Fraction(float(computed[j])) >= value, (j, float(value), computed[j])


@given(lst.reference_cases())
def test_integrated_gradients_add_up_to_the_difference_of_the_logits(
    reference_case: ReferenceCase,
) -> None:
    require("completeness", completeness(integrated_gradients, IG, reference_case))


@given(lst.reference_cases())
def test_integrated_gradients_with_a_baseline_moved_by_the_shift_are_input_invariant(
    reference_case: ReferenceCase,
) -> None:
    require(
        "input invariance with a shifted baseline",
        shifted_reference_invariance(integrated_gradients, IG, reference_case),
    )


def _zero_baseline_moves(case: SeedCase) -> bool:
    zero = ReferenceCase(case, np.zeros_like(case.x1))
    comparison = unmoved_reference_difference(integrated_gradients, IG, zero)
    return not comparison.holds() and bool(np.isfinite(comparison.tolerance).all())


def test_integrated_gradients_with_a_fixed_zero_baseline_are_not_input_invariant() -> None:
    case = find(
        lst.seed_cases(),
        _zero_baseline_moves,
        settings=settings(max_examples=500, database=None, derandomize=True),
    )
    assert not np.array_equal(
        integrated_gradients(case.net2, case.x2, case.classes),
        integrated_gradients(case.net1, case.x1, case.classes),
    )


@given(lst.seed_cases())
def test_integrated_gradients_from_zero_without_biases_are_gradient_times_input(
    case: SeedCase,
) -> None:
    # without biases f is positively homogeneous: along t x every unit keeps its sign
    network = Network(
        tuple(Linear(layer.W, np.zeros_like(layer.b)) for layer in case.net1.layers),
        case.net1.output,
    )
    p = case.precision
    zero = ReferenceCase(SeedCase(network, case.x1, case.m, case.classes), np.zeros_like(case.x1))
    balls = enclose_forward(network, Ball.exact(case.x1), p=p)
    gxi = gradient(network, forward(network, case.x1), case.classes) * case.x1
    gxi_ball = enclose_gradient(network, balls, case.classes, p, times_input=True)
    require(
        "integrated gradients == gradient x input",
        [
            Comparison(
                "integrated_gradients(x, 0) == x * gradient",
                integrated_gradients(network, case.x1, case.classes),
                gxi,
                agreement_tolerance(zero.enclosure(IG), gxi_ball),
            )
        ],
    )


# small networks (the rationals grow long), every rule Captum offers, 2 to 12 nodes
SMALL_REFERENCE_CASES = lst.reference_cases(lst.seed_cases(max_depth=3, max_width=3, max_batch=2))
RULES, STEPS = st.sampled_from(QUADRATURES), st.integers(2, 12)


@settings(max_examples=scaled(60))
@given(SMALL_REFERENCE_CASES, RULES, STEPS)
def test_a_quadrature_is_within_its_derived_bound_of_the_exact_integral(
    reference_case: ReferenceCase, rule: str, steps: int
) -> None:
    # both sides exact (rationals); the bound is computed from float64 paths, so it is widened
    # by the radii of the rule's and the integral's enclosures, which cover what float64 does
    # not resolve (a unit within rounding of zero at a node): what the gate's report checks
    case = reference_case.case
    nodes, weights = quadrature(rule, steps)
    x0 = reference_case.x0
    exact = exact_integrated_gradients(case.net1, case.x1, x0, case.classes)
    rule_value = exact_quadrature(case.net1, case.x1, x0, case.classes, nodes, weights)
    with np.errstate(all="ignore"):
        bound = quadrature_error_bound(case.net1, case.x1, case.classes, x0, steps, rule)
    slack = (
        reference_case.enclosure(f"ig-quadrature:{rule}:{steps}").rad
        + reference_case.enclosure(IG).rad
    )
    for i, (row, approximate) in enumerate(zip(exact, rule_value, strict=True)):
        for j, (value, q) in enumerate(zip(row, approximate, strict=True)):
            if np.isfinite(bound[i, j]) and np.isfinite(slack[i, j]):
                allowed = Fraction(float(bound[i, j])) + Fraction(float(slack[i, j]))
                assert abs(q - value) <= allowed, (i, j, rule)


@settings(max_examples=scaled(60))
@given(SMALL_REFERENCE_CASES, RULES, STEPS)
def test_the_quadrature_enclosure_contains_the_exact_rule_and_its_evaluation(
    reference_case: ReferenceCase, rule: str, steps: int
) -> None:
    case = reference_case.case
    nodes, weights = quadrature(rule, steps)
    ball = reference_case.enclosure(f"ig-quadrature:{rule}:{steps}")
    exact = exact_quadrature(case.net1, case.x1, reference_case.x0, case.classes, nodes, weights)
    computed = quadrature_integrated_gradients(
        case.net1, case.x1, case.classes, reference_case.x0, steps, rule
    )
    assert np.all(np.abs(computed - ball.mid) <= ball.rad)
    for i, row in enumerate(exact):
        for j, value in enumerate(row):
            if np.isfinite(ball.rad[i, j]):
                assert abs(value - Fraction(float(ball.mid[i, j]))) <= Fraction(
                    float(ball.rad[i, j])
                ), (i, j)
