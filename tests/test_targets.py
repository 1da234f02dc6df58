"""The built-in targets follow the gate protocol fn(weights, biases, x, classes) -> (n, d)."""

from __future__ import annotations

import numpy as np
import pytest

from lrp_invariants import LRP0, AlphaBeta, Epsilon, ZPlus, explain, forward, gradient, targets

from .helpers import random_batch, random_network

TARGETS = [
    targets.gradient,
    targets.gradient_x_input,
    targets.lrp_0,
    targets.lrp_epsilon,
    targets.lrp_alpha_beta,
    targets.lrp_zplus,
]


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.__name__)
def test_target_returns_one_relevance_per_input_feature(rng: np.random.Generator, target) -> None:  # type: ignore[no-untyped-def]
    network = random_network(rng, [5, 4, 3])
    x = random_batch(rng, network, n=7)
    relevance = target(network.weights, network.biases, x, rng.integers(0, 3, size=7))
    assert relevance.shape == (7, 5) and relevance.dtype == np.float64


@pytest.mark.parametrize(
    ("target", "rule"),
    [
        (targets.lrp_0, LRP0()),
        (targets.lrp_epsilon, Epsilon(1e-9)),
        (targets.lrp_alpha_beta, AlphaBeta(2.0, 1.0)),
        (targets.lrp_zplus, ZPlus()),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_lrp_target_is_the_core_rule(rng: np.random.Generator, target, rule) -> None:  # type: ignore[no-untyped-def]
    network = random_network(rng, [5, 4, 3])
    x, classes = random_batch(rng, network), np.array([0, 1, 2, 0])
    expected = explain(network, x, classes, rule)[1].input
    np.testing.assert_array_equal(target(network.weights, network.biases, x, classes), expected)


def test_gradient_target_is_the_core_gradient(rng: np.random.Generator) -> None:
    network = random_network(rng, [5, 4, 3])
    x, classes = random_batch(rng, network), np.array([0, 1, 2, 0])
    expected = gradient(network, forward(network, x), classes)
    np.testing.assert_array_equal(
        targets.gradient(network.weights, network.biases, x, classes), expected
    )


def test_target_rejects_weights_that_do_not_chain() -> None:
    with pytest.raises(ValueError, match=r"layer 1: W has 3 inputs but layer 0 has 2 outputs"):
        targets.lrp_0(
            [np.ones((2, 2)), np.ones((3, 1))],
            [np.ones(2), np.ones(1)],
            np.ones((1, 2)),
            np.zeros(1, int),
        )


def test_target_accepts_plain_lists_of_arrays(rng: np.random.Generator) -> None:
    network = random_network(rng, [3, 2])
    result = targets.lrp_epsilon(
        list(network.weights), list(network.biases), random_batch(rng, network), [0, 1, 0, 1]
    )
    assert result.shape == (4, 3)


@pytest.mark.parametrize("row", targets.ROWS, ids=lambda row: row.name)
def test_each_row_of_the_table_is_a_target_of_its_name(row: targets.Row) -> None:
    target = getattr(targets, row.name)
    assert target is targets.TARGETS[row.name]
    assert (target.__name__, target.__module__, target.__doc__) == (
        row.name,
        "lrp_invariants.targets",
        row.doc,
    )
    assert row.name in targets.__all__ and row.name in dir(targets)


def test_a_fifth_argument_is_taken_by_position_or_by_its_name(rng: np.random.Generator) -> None:
    network = random_network(rng, [3, 4, 2])
    x, classes = random_batch(rng, network), np.array([0, 1, 0, 1])
    x0 = random_batch(rng, network)
    by_position = targets.deeplift_rescale_from_baseline(
        network.weights, network.biases, x, classes, x0
    )
    by_name = targets.deeplift_rescale_from_baseline(
        network.weights, network.biases, x, classes, baseline=x0
    )
    np.testing.assert_array_equal(by_position, by_name)


def test_an_unknown_target_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'lrp_omega'"):
        targets.lrp_omega  # noqa: B018
