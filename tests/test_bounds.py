"""Ball arithmetic encloses every correct evaluation, stays exact where values are exact, and is
no wider than the textbook bound where the problem is well-conditioned."""

from __future__ import annotations

import numpy as np
import pytest

from lrp_invariants import (
    LRP0,
    AlphaBeta,
    Epsilon,
    Flat,
    Network,
    Rule,
    WSquare,
    ZPlus,
    compensate_shift,
    forward,
    gradient,
    logit_relevance,
    lrp,
)
from lrp_invariants.bounds import (
    Ball,
    Precision,
    agreement_tolerance,
    compensated_bias,
    count_kinks,
    enclose_forward,
    enclose_gradient,
    enclose_relevance,
    shifted_input,
)
from lrp_invariants.bounds.balls import affine, divide, fraction, relu

from .helpers import ALPHA_BETA_CONVENTIONS, random_batch, random_network

F64 = Precision.of(np.float64)


def test_gamma_is_the_textbook_constant() -> None:
    assert F64.gamma(10) == 10 * 2.0**-53 / (1 - 10 * 2.0**-53)


def test_gamma_refuses_sums_too_long_to_bound() -> None:
    with pytest.raises(ValueError, match=r"too long to bound"):
        Precision.of(np.float32).gamma(2**23)


def test_float32_precision_has_the_float32_unit_roundoff() -> None:
    assert Precision.of(np.float32).u == 2.0**-24


def test_exact_zeros_stay_exact_through_an_affine_layer() -> None:
    z = affine(Ball.exact(np.zeros((1, 3))), np.ones((3, 2)), Ball.exact(np.zeros(2)), F64)
    assert np.all(z.mid == 0) and np.all(z.rad == 0)


def test_relu_of_a_negative_ball_is_exactly_zero() -> None:
    a = relu(Ball(np.array([-1.0]), np.array([0.5])), F64)
    assert a.mid[0] == 0 and a.rad[0] == 0


def test_relu_of_a_ball_across_zero_covers_both_branches() -> None:
    a = relu(Ball(np.array([0.1]), np.array([0.5])), F64)
    assert a.mid[0] - a.rad[0] <= 0 and a.mid[0] + a.rad[0] >= 0.6


def test_fraction_of_a_sum_that_may_be_zero_is_bounded_not_infinite() -> None:
    # the share may be 0 (the term is 0) or 1 (it is the only term): the ball covers [0, 1]
    share = fraction(Ball(np.array([1e-300]), np.array([1e-300])), Ball.exact(np.array([0.0])), F64)
    assert share.mid[0] - share.rad[0] <= 0
    assert share.mid[0] + share.rad[0] >= 1
    assert np.isfinite(share.rad[0])


def test_fraction_of_nothing_is_exactly_zero() -> None:
    share = fraction(Ball.exact(np.array([0.0])), Ball.exact(np.array([0.0])), F64)
    assert share.mid[0] == 0 and share.rad[0] == 0


def test_division_by_a_ball_around_zero_is_unbounded() -> None:
    q = divide(Ball.exact(np.array([1.0])), Ball(np.array([1e-20]), np.array([1e-19])), F64)
    assert q.rad[0] == np.inf


def test_division_by_an_exact_zero_is_exactly_zero() -> None:
    q = divide(Ball.exact(np.array([1.0])), Ball.exact(np.array([0.0])), F64)
    assert q.mid[0] == 0 and q.rad[0] == 0


def test_logit_radius_is_within_twice_the_textbook_bound(rng: np.random.Generator) -> None:
    network = Network.from_arrays([rng.normal(size=(20, 3))], [rng.normal(size=3)])
    x = rng.normal(size=(5, 20))
    ball = enclose_forward(network, Ball.exact(x)).z[-1]
    textbook = F64.gamma(21) * (np.abs(x) @ np.abs(network.layers[0].W) + np.abs(network.biases[0]))
    assert np.all(ball.rad <= 2 * textbook * (1 + 1e-3))


@pytest.mark.parametrize("seed", range(20))
def test_forward_enclosure_contains_the_computed_trace(seed: int) -> None:
    rng = np.random.default_rng(seed)
    network = random_network(rng, rng.integers(1, 6, size=4), scale=10.0 ** rng.integers(-3, 4))
    x = random_batch(rng, network)
    trace, balls = forward(network, x), enclose_forward(network, Ball.exact(x))
    for z, ball in zip(trace.z, balls.z, strict=True):
        assert np.all(np.abs(z - ball.mid) <= ball.rad)


RULES = [
    LRP0(),
    Epsilon(1e-9),
    Epsilon(1.0),
    AlphaBeta(),
    ZPlus(),
    WSquare(),
    Flat(),
    *ALPHA_BETA_CONVENTIONS,
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
@pytest.mark.parametrize("seed", range(10))
def test_relevance_enclosure_contains_the_computed_relevance(seed: int, rule: Rule) -> None:
    rng = np.random.default_rng(seed)
    network = random_network(rng, rng.integers(1, 6, size=4), scale=10.0 ** rng.integers(-3, 4))
    x = random_batch(rng, network)
    classes = rng.integers(0, network.n_outputs, size=x.shape[0])
    trace = forward(network, x)
    relevance = lrp(network, trace, logit_relevance(network, trace, classes), rule)
    balls = enclose_relevance(network, enclose_forward(network, Ball.exact(x)), classes, rule)
    for layer, ball in zip(relevance.layers, balls, strict=True):
        for field in ("R_out", "R", "Rb", "Rs"):
            value, enclosure = getattr(layer, field), getattr(ball, field)
            assert np.all(np.abs(value - enclosure.mid) <= enclosure.rad), field


def test_shifted_input_ball_contains_the_exact_sum() -> None:
    x1, m = np.array([[0.1]]), np.array([0.2])
    ball = shifted_input(x1 + m, F64)
    # 0.1 + 0.2 rounds up to 0.30000000000000004; the exact sum of the two doubles is in the ball
    from fractions import Fraction

    exact = Fraction(0.1) + Fraction(0.2)
    assert abs(Fraction(float(ball.mid[0, 0])) - exact) <= Fraction(float(ball.rad[0, 0]))


def test_compensated_bias_ball_contains_the_exact_bias(rng: np.random.Generator) -> None:
    from fractions import Fraction

    W, b, m = rng.normal(size=(4, 2)), rng.normal(size=2), rng.normal(size=4) * 1e3
    ball = compensated_bias(b - m @ W, W, m, F64)
    for j in range(2):
        exact = Fraction(b[j]) - sum(Fraction(m[i]) * Fraction(W[i, j]) for i in range(4))
        assert abs(Fraction(ball.mid[j]) - exact) <= Fraction(ball.rad[j])


def test_a_relu_at_an_exact_cancellation_is_counted_as_a_kink() -> None:
    # net1 sees z = 1 - 1 = 0 exactly; net2 computes it from a shifted input with rounding
    network = Network.from_arrays(
        [np.array([[1.0], [-1.0]]), np.array([[1.0]])], [np.zeros(1), np.zeros(1)]
    )
    m = np.array([0.1, 0.7])
    net2 = compensate_shift(network, m)
    x2 = np.array([[1.0, 1.0]]) + m
    balls = enclose_forward(
        net2, shifted_input(x2, F64), compensated_bias(net2.biases[0], network.weights[0], m, F64)
    )
    assert count_kinks(balls, F64) == 1


def test_gradient_tolerance_covers_both_branches_of_a_kink() -> None:
    network = Network.from_arrays(
        [np.array([[1.0], [-1.0]]), np.array([[1.0]])], [np.zeros(1), np.zeros(1)]
    )
    x1 = np.array([[1.0, 1.0]])
    balls = enclose_forward(network, shifted_input(x1, F64))
    enclosure = enclose_gradient(network, balls, np.array([0]))
    inactive = gradient(network, forward(network, x1), np.array([0]))  # ReLU'(0) = 0
    active = np.array([[1.0, -1.0]])
    tol = agreement_tolerance(enclosure, enclosure)
    assert np.all(np.abs(inactive - active) <= tol)
