"""Underflow in any association: the grain of a computation, the slack of a product whose
evaluation order is unknown, and their effect on the enclosures (``bounds/balls.py``)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from lrp_invariants import LRP0, Epsilon, Flat, Network, WSquare, explain
from lrp_invariants.bounds import Ball, Precision, enclose_forward, enclose_relevance
from lrp_invariants.bounds.balls import Factor, association_slack, product_of

P = Precision.of(np.float64)
ETA = P.eta


def test_the_grain_of_normal_numbers_is_their_least_lowest_set_bit() -> None:
    assert P.grain([1.0, -3.0, 0.0]) == 1.0
    assert P.grain([0.75, 6.0]) == 0.25
    assert P.grain([0.1]) == 2.0**-55  # 0.1 = 3602879701896397 x 2**-55
    assert P.grain([0.1, 1e-3]) < P.grain([0.1]) and P.grain([2.0**40 + 1]) == 1.0


def test_the_grain_of_subnormal_numbers_is_the_smallest_subnormal() -> None:
    assert P.grain([3 * ETA, 1.0]) == ETA


def test_the_grain_of_nothing_but_zeros_is_infinite() -> None:
    assert P.grain([0.0, -0.0]) == math.inf


def test_float32_grains_are_read_off_float32_values() -> None:
    assert Precision.of(np.float32).grain(np.float32([1.0])) == 1.0
    assert Precision.of(np.float32).grain(np.float32([0.1])) == 2.0**-27  # 13421773 x 2**-27


def test_a_sum_that_cancels_stays_on_the_grain_of_its_terms(rng: np.random.Generator) -> None:
    """The fact the grain rests on: a correctly rounded sum of multiples of g is 0 or >= g."""
    for _ in range(200):
        terms = rng.normal(size=6) * 2.0 ** rng.integers(-30, 30, size=6)
        terms = np.append(terms, -terms[:3])  # exact cancellation on the way
        grain = P.grain(terms)
        for order in itertools.islice(itertools.permutations(terms), 20):
            total = 0.0
            for t in order:
                total += t
            assert total == 0 or abs(total) >= grain
            assert Fraction(total) / Fraction(grain) == int(Fraction(total) / Fraction(grain))


def test_a_product_of_normal_factors_far_from_underflow_has_no_slack() -> None:
    factors = [Factor.exact(np.array([1.5, -2.0])), Factor.exact(np.array([0.25, 8.0]))]
    slack, spread = association_slack(factors, product_of, P)
    assert not slack.any() and not spread.any()


def test_a_share_that_rounds_in_the_subnormal_range_is_covered_in_every_order() -> None:
    """(a w) / Z x R with a w = 32 η, Z = 48, R = 96: any association, any rounding."""
    a, w, Z, R = 1.0, 32 * ETA, 48.0, 96.0
    exact = Fraction(a) * Fraction(w) / Fraction(Z) * Fraction(R)
    factors = [
        Factor.exact(np.array([a])),
        Factor.exact(np.array([w])),
        Factor.exact(np.array([R])),
        Factor.reciprocal(np.array([Z]), np.array([Z])),
    ]
    slack, _ = association_slack(factors, product_of, P)
    orders = [
        ((a * w) / Z) * R,  # shares first
        (a * w) * (R / Z),  # relevance per unit first
        ((a * w) * R) / Z,
        a * (w * (R / Z)),
        (a * w) * (R * (1 / Z)),
    ]
    for value in orders:
        assert abs(Fraction(value) - exact) <= Fraction(float(slack[0]))
    assert max(abs(Fraction(v) - exact) for v in orders) > 0  # the orders really differ


def test_the_slack_never_exceeds_a_few_times_the_term_where_a_denominator_may_vanish() -> None:
    factors = [
        Factor.exact(np.array([ETA])),
        Factor.reciprocal(np.array([0.0]), np.array([1.0])),  # 1 / d unbounded
    ]
    term = np.array([2.0])  # known by structure: the quotient is at most 2
    slack, spread = association_slack(factors, product_of, P, term)
    assert np.isinf(spread).all() and np.isfinite(slack).all() and slack[0] <= 3.01 * term[0]


def _kink() -> tuple[Network, Any]:
    """A 1-1-1 network whose first unit may round either way: ``x + b = -1 + 1 ± 2e-16``."""
    net = Network.from_arrays([np.array([[1.0]]), np.array([[1.0]])], [np.zeros(1), np.zeros(1)])
    fuzzy = Ball(np.array([[-1.0]]), np.array([[1e-16]]))
    return net, enclose_forward(net, fuzzy, Ball(np.array([1.0]), np.array([1e-16])), P)


def test_a_stabilised_kink_is_bounded_by_its_rounding_over_epsilon() -> None:
    """At a kink, two evaluations of z may differ in sign and the denominator's may be as small
    as its grain; ε keeps the ratio below (|z| + δ) / ε: a few 1e-16 over 1e-9 here."""
    net, balls = _kink()
    layers = enclose_relevance(net, balls, np.array([0]), Epsilon(1e-9), P)
    assert 0 < layers[0].R.rad[0, 0] <= 1e-11


def test_an_unstabilised_kink_is_bounded_only_by_the_grain_of_its_sum() -> None:
    """LRP-0 at the same kink divides by whatever the other evaluation gives, down to the
    grain of the sum: the bound is finite and says little, as the problem is ill-conditioned."""
    net, balls = _kink()
    layers = enclose_relevance(net, balls, np.array([0]), LRP0(), P)
    assert np.isfinite(layers[0].R.rad[0, 0]) and layers[0].R.rad[0, 0] > 1.0


@pytest.mark.parametrize("rule", [LRP0(), Epsilon(1e-9)], ids=["lrp-0", "lrp-epsilon"])
def test_subnormal_weights_widen_the_enclosure_only_by_multiples_of_eta(rule: LRP0) -> None:
    net = Network.from_arrays(
        [np.array([[1.0], [3 * ETA]]), np.array([[65536.0]])], [np.zeros(1), np.zeros(1)]
    )
    x = np.array([[1.0, 0.75]])
    relevance = explain(net, x, np.array([0]), rule)[1].input
    balls = enclose_forward(net, Ball.exact(x), p=P)
    ball = enclose_relevance(net, balls, np.array([0]), rule, P)[0].R
    radius = ball.rad
    assert np.all(np.abs(relevance - ball.mid) <= radius)
    assert radius[0, 1] >= 16384 * ETA  # the tensor form's loss on this witness
    # and not a vacuous bound: a few η in units of the logit (65536), which code that starts
    # from 1 and scales by the logit at the end (Captum's order) loses per rounding
    assert radius[0, 1] <= 32 * 65536 * ETA
    assert radius[0, 0] <= 1e-9  # the normal-range feature is untouched


def test_under_flush_to_zero_a_grain_stays_a_grid_not_the_smallest_normal() -> None:
    """x = [1.5 tiny, tiny] and W = [2, -2]: z = tiny exactly, a multiple of the inputs' grid
    (2**-1023) but not of 2 tiny: a grain floored at the smallest normal would claim z >= 2 tiny."""
    ftz = Precision.of(np.float64, flush=True)
    x = np.array([1.5 * ftz.tiny, ftz.tiny])
    assert ftz.grain(x) == ftz.tiny / 2 and ftz.product_grain(ftz.grain(x), 2.0) == ftz.tiny
    assert ftz.finest == ETA and Precision.of(np.float32).finest == 2.0**-149


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("above", [Flat(), WSquare()], ids=lambda r: r.describe())
def test_a_stabilised_unit_whose_z_is_exactly_zero_may_pass_its_relevance_over_epsilon(
    dtype: Any, above: Any
) -> None:
    """x1 - x2 with x1 == x2 under LRP-ε, relevance from an input-blind rule above (which
    sends it whatever the activation): the code divides by ε itself, ``s = R / ε``; the
    enclosure, whose ``z`` ball holds 0, must allow that much (not ``R / (grain + ε)``)."""
    W0, W1 = np.array([[1.0], [-1.0]], dtype), np.array([[1.0]], dtype)
    network = Network.from_arrays([W0, W1], [np.zeros(1, dtype), np.ones(1, dtype)])
    x = np.array([[1.0, 1.0]], dtype)
    rules = [Epsilon(1e-9), above]
    relevance = explain(network, x, [0], rules)[1].layers[0]
    p = Precision.of(dtype)
    balls = enclose_relevance(network, enclose_forward(network, Ball.exact(x), p=p), [0], rules, p)
    assert np.all(np.abs(relevance.R) > 1e8)  # R / ε, with R = 1 from the unit above
    assert np.all(np.abs(relevance.R - balls[0].R.mid) <= balls[0].R.rad)
