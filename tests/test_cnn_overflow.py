"""Relevance at extreme scales on CNNs: a quotient ``R_j / D_j`` that overflows is recomputed
from the power-of-two rescaled problem (:func:`~lrp_invariants.rules.operator.
propagate_repaired`), a zero denominator passes nothing (0/0 -> 0), and weights of 2**±60 keep
relevance finite and conserved within the derived bounds."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Rule, WSquare, ZPlus
from lrp_invariants.bounds import Precision
from lrp_invariants.cnn import CNN, Conv, Dense, Flatten, MaxPool, ReLU, explain
from lrp_invariants.cnn.model import operator
from lrp_invariants.rules.operator import propagate_repaired
from tests.cnn_helpers import conservation_bounds

P = Precision.of(np.float64)
RULES: list[Rule] = [LRP0(), Epsilon(1e-9), ZPlus(), AlphaBeta(), Gamma(0.25), Flat()]
"""Every rule whose weight transform stays finite for weights of 2**600 (w² squares them to
2**1200, which no float64 holds: that rule needs |w| < 2**511)."""
ZERO_DENOMINATOR_RULES: list[Rule] = [LRP0(), ZPlus(), AlphaBeta(), Gamma(0.25)]


def tiny_under_large() -> tuple[CNN, np.ndarray]:
    """x = 2**-1000 through a 1x1 convolution, then two dense layers of weight 2**600: the
    convolution's quotient R / z is 2**1200 (beyond float64), its relevance 2**200."""
    big = np.ldexp(1.0, 600)
    cnn = CNN(
        (
            Conv(np.ones((1, 1, 1))),
            ReLU(),
            Flatten(),
            Dense(np.full((2, 1), big)),
            ReLU(),
            Dense(np.full((1, 1), big)),
        ),
        (1, 2),
    )
    x = np.array([[[np.ldexp(1.0, -1000), 0.0]], [[np.ldexp(1.0, -1001), np.ldexp(3.0, -1003)]]])
    return cnn, x


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
def test_an_overflowing_quotient_gives_finite_conserved_relevance(rule: Rule) -> None:
    cnn, x = tiny_under_large()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, relevance = explain(cnn, x, [0, 0], rule)
    for result in relevance.layers:
        assert np.all(np.isfinite(result.R))
    bounds = conservation_bounds(relevance, P)
    for layer in range(len(relevance.layers)):
        gap = np.abs(relevance.total(layer) - relevance.output_total)
        assert np.all(gap <= bounds[:, layer])


def test_lrp0_on_an_overflowing_quotient_is_input_times_its_gradient() -> None:
    cnn, x = tiny_under_large()
    _, relevance = explain(cnn, x, [0, 0], LRP0())
    # the gradient, 2**1200, overflows; x times it is exact (every factor a power of two)
    np.testing.assert_array_equal(relevance.input, np.ldexp(x, 1200))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
def test_a_sample_that_did_not_overflow_is_left_bit_for_bit(rule: Rule) -> None:
    conv = Conv(np.array([[[1.0, -0.5]]]), np.array([0.25]))
    op = operator(conv, (1, 3), np.dtype(np.float64))
    a = np.array([[[np.ldexp(1.0, -1000), 0.0, 0.0]], [[0.5, 0.25, 1.0]]])
    z = conv.forward(a)
    R = np.array([[[np.ldexp(1.0, 200), 0.0]], [[1.0, -2.0]]])
    with np.errstate(over="ignore", invalid="ignore"):
        fast = rule.propagate(op, a, z, R)
    repaired = propagate_repaired(rule, op, a, z, R)
    assert np.all(np.isfinite(repaired.R))
    np.testing.assert_array_equal(repaired.R[1], fast.R[1])


@pytest.mark.parametrize("rule", ZERO_DENOMINATOR_RULES, ids=lambda r: r.describe())
def test_a_zero_denominator_passes_nothing(rule: Rule) -> None:
    conv = Conv(np.array([[[1.0, -1.0]]]))
    op = operator(conv, (1, 3), np.dtype(np.float64))
    a = np.zeros((1, 1, 3))  # every pre-activation exactly 0, every denominator 0 (0/0 -> 0)
    R = np.ones((1, 1, 2))
    result = propagate_repaired(rule, op, a, np.zeros((1, 1, 2)), R)
    np.testing.assert_array_equal(result.R, 0.0)
    assert result.Rs is not None
    np.testing.assert_array_equal(result.sinks(), R.sum())


def extreme_cnn(rng: np.random.Generator) -> CNN:
    """Weights of 2**60 and 2**-60 times small integers, alternating per layer."""
    first = rng.integers(-3, 4, size=(3, 2, 3, 3)).astype(float) * np.ldexp(1.0, 60)
    second = rng.integers(-3, 4, size=(3, 3, 2, 2)).astype(float) * np.ldexp(1.0, -60)
    dense = rng.integers(-3, 4, size=(12, 2)).astype(float) * np.ldexp(1.0, 60)
    return CNN(
        (
            Conv(first, np.ldexp(rng.integers(-3, 4, 3).astype(float), 55), padding=1),
            ReLU(),
            MaxPool(2, stride=1),
            Conv(second, np.ldexp(rng.integers(-3, 4, 3).astype(float), -5), stride=2),
            ReLU(),
            Flatten(),
            Dense(dense),
        ),
        (2, 6, 6),
    )


@pytest.mark.parametrize("rule", [*RULES, WSquare()], ids=lambda r: r.describe())
def test_weights_of_two_to_the_sixty_keep_relevance_conserved(rule: Rule) -> None:
    rng = np.random.default_rng(60)
    cnn = extreme_cnn(rng)
    x = np.ldexp(rng.integers(-2, 3, size=(4, 2, 6, 6)).astype(float), -60)
    _, relevance = explain(cnn, x, [0, 1, 0, 1], rule)
    bounds = conservation_bounds(relevance, P)
    for layer in range(len(relevance.layers)):
        gap = np.abs(relevance.total(layer) - relevance.output_total)
        assert np.all(gap <= bounds[:, layer])
