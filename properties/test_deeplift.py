"""DeepLIFT-Rescale against a reference point (issue 14): it adds up to ``f(x) - f(x0)``, it is
input-invariant when the reference moves with the shift and not when it stays at zero
(Kindermans et al.'s finding), and with a zero reference and zero biases it is gradient x
input. Every tolerance comes from the enclosure of :mod:`lrp_invariants.bounds.deeplift`."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import find, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lrp_invariants import Linear, Network
from lrp_invariants import strategies as lst
from lrp_invariants.bounds import Ball, agreement_tolerance, enclose_forward, enclose_gradient
from lrp_invariants.cases import ReferenceCase, SeedCase
from lrp_invariants.deeplift import deeplift_rescale, rescale_multipliers
from lrp_invariants.invariants import Comparison, require
from lrp_invariants.invariants.baselines import (
    completeness,
    shifted_reference_invariance,
    unmoved_reference_difference,
)
from lrp_invariants.network import forward, gradient

DEEPLIFT = "deeplift-rescale"


@given(lst.reference_cases())
def test_deeplift_relevance_adds_up_to_the_difference_of_the_logits(
    reference_case: ReferenceCase,
) -> None:
    require("summation to delta", completeness(deeplift_rescale, DEEPLIFT, reference_case))


@given(lst.reference_cases())
def test_deeplift_with_a_reference_moved_by_the_shift_is_input_invariant(
    reference_case: ReferenceCase,
) -> None:
    require(
        "input invariance with a shifted reference",
        shifted_reference_invariance(deeplift_rescale, DEEPLIFT, reference_case),
    )


def _zero_reference_moves(case: SeedCase) -> bool:
    """DeepLIFT against a zero reference on net2 at x2 certainly differs from net1 at x1."""
    zero = ReferenceCase(case, np.zeros_like(case.x1))
    comparison = unmoved_reference_difference(deeplift_rescale, DEEPLIFT, zero)
    return not comparison.holds() and bool(np.isfinite(comparison.tolerance).all())


def test_deeplift_with_a_fixed_zero_reference_is_not_input_invariant() -> None:
    case = find(
        lst.seed_cases(),
        _zero_reference_moves,
        settings=settings(max_examples=500, database=None, derandomize=True),
    )
    assert not np.array_equal(
        deeplift_rescale(case.net2, case.x2, case.classes),
        deeplift_rescale(case.net1, case.x1, case.classes),
    )


def _without_biases(network: Network) -> Network:
    return Network(
        tuple(Linear(layer.W, np.zeros_like(layer.b)) for layer in network.layers),
        network.output,
    )


@given(lst.seed_cases())
def test_deeplift_with_zero_reference_and_zero_biases_is_gradient_times_input(
    case: SeedCase,
) -> None:
    # every reference pre-activation is 0, so every multiplier is relu'(z)
    network = _without_biases(case.net1)
    p = case.precision
    reference_case = ReferenceCase(
        SeedCase(network, case.x1, case.m, case.classes), np.zeros_like(case.x1)
    )
    ball = reference_case.enclosure(DEEPLIFT)
    balls = enclose_forward(network, Ball.exact(case.x1), p=p)
    gxi = gradient(network, forward(network, case.x1), case.classes) * case.x1
    gxi_ball = enclose_gradient(network, balls, case.classes, p, times_input=True)
    require(
        "DeepLIFT-Rescale == gradient x input",
        [
            Comparison(
                "deeplift(x, 0) == x * gradient",
                deeplift_rescale(network, case.x1, case.classes),
                gxi,
                agreement_tolerance(ball, gxi_ball),
            )
        ],
    )


@given(
    hnp.arrays(np.float64, 8, elements=st.floats(allow_nan=False, allow_infinity=False)),
    hnp.arrays(np.float64, 8, elements=st.floats(allow_nan=False, allow_infinity=False)),
)
def test_multipliers_lie_in_zero_one_and_are_the_derivative_where_the_ends_meet(
    z: np.ndarray, z0: np.ndarray
) -> None:
    m = rescale_multipliers(z, z0)
    assert np.all((m >= 0) & (m <= 1))
    # opposite signs: the slope is z⁺ / (z - z0) however large the ends (no overflow to 0)
    # (two roundings: the difference and the quotient, or half an η where it underflows)
    u, eta = np.finfo(float).eps / 2, np.finfo(float).smallest_subnormal
    for a, b, slope in zip(z, z0, m, strict=True):
        if a > 0 > b:
            exact = Fraction(a) / (Fraction(a) - Fraction(b))
            assert abs(Fraction(slope) - exact) <= 2 * u * exact + Fraction(eta)
    same = z == z0
    assert np.array_equal(m[same], (z[same] > 0).astype(float))
