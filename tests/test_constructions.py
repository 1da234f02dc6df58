"""The seed's networks: net2, net3, the bias proxy and net1b are built as the seed describes."""

from __future__ import annotations

import numpy as np
import pytest

from lrp_invariants import (
    LRP0,
    bias_proxy,
    compensate_shift,
    explain,
    forward,
    net3_as_plain_network,
    proxy_input,
    shift_as_input,
    split_proxy_relevance,
    zero_first_bias,
)
from lrp_invariants.bounds import Ball, agreement_tolerance, enclose_forward

from .helpers import hand_network, random_batch, random_network


def test_net2_first_bias_is_b1_minus_m_at_w1() -> None:
    net2 = compensate_shift(hand_network(), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(net2.layers[0].b, [1.0 - 2.0, -2.0 - 0.0])


def test_net2_shares_every_layer_above_the_first_with_net1() -> None:
    net1 = hand_network()
    net2 = compensate_shift(net1, np.array([1.0, 1.0]))
    np.testing.assert_array_equal(net2.layers[0].W, net1.layers[0].W)
    assert all(a is b for a, b in zip(net2.layers[1:], net1.layers[1:], strict=True))


def test_net2_reproduces_net1_on_the_hand_network_exactly() -> None:
    net1, m = hand_network(), np.array([1.0, 1.0])
    x1 = np.array([[1.0, 2.0]])
    t1, t2 = forward(net1, x1), forward(compensate_shift(net1, m), x1 + m)
    for z1, z2 in zip(t1.z, t2.z, strict=True):
        np.testing.assert_array_equal(z1, z2)


def test_net3_keeps_b1_and_feeds_minus_m_through_w1() -> None:
    net3 = shift_as_input(hand_network(), np.array([1.0, 0.5]))
    first = net3.layers[0]
    np.testing.assert_array_equal(first.b, hand_network().layers[0].b)
    assert first.constant is not None
    np.testing.assert_array_equal(first.constant, [-1.0, -0.5])


def test_shift_must_have_one_value_per_feature() -> None:
    with pytest.raises(ValueError, match=r"m must have shape \(2,\), one value per input feature"):
        compensate_shift(hand_network(), np.ones(3))


def test_shift_must_be_finite() -> None:
    with pytest.raises(ValueError, match=r"m contains inf"):
        shift_as_input(hand_network(), np.array([1.0, np.inf]))


def test_net3_cannot_be_built_twice() -> None:
    net3 = shift_as_input(hand_network(), np.ones(2))
    with pytest.raises(ValueError, match=r"already has a constant input"):
        shift_as_input(net3, np.ones(2))


def test_net1b_has_a_zero_first_bias_and_keeps_the_rest() -> None:
    net1b = zero_first_bias(hand_network())
    np.testing.assert_array_equal(net1b.layers[0].b, [0.0, 0.0])
    np.testing.assert_array_equal(net1b.layers[1].b, hand_network().layers[1].b)


def test_bias_proxy_has_no_bias_and_one_constant_input_per_layer() -> None:
    proxy = bias_proxy(random_network(np.random.default_rng(0), [3, 4, 5, 2]))
    assert proxy.widths == (3 + 3, 4 + 2, 5 + 1, 2)
    assert all(not np.any(layer.b) for layer in proxy.layers)


def test_bias_proxy_computes_the_same_logits(rng: np.random.Generator) -> None:
    net1 = random_network(rng, [3, 4, 5, 2])
    x = random_batch(rng, net1)
    logits, proxy_logits = (
        forward(net1, x).logits,
        forward(bias_proxy(net1), proxy_input(net1, x)).logits,
    )
    ball = enclose_forward(net1, Ball.exact(x)).z[-1]
    proxy_net = bias_proxy(net1)
    proxy_ball = enclose_forward(proxy_net, Ball.exact(proxy_input(net1, x))).z[-1]
    assert np.all(np.abs(logits - proxy_logits) <= agreement_tolerance(ball, proxy_ball))


def test_bias_proxy_relevance_shows_each_bias_at_the_input_for_the_hand_network() -> None:
    net1 = hand_network()
    x = np.array([[1.0, 2.0]])
    proxy = bias_proxy(net1)
    _, relevance = explain(proxy, proxy_input(net1, x), np.array([0]), LRP0())
    Rx, Rbias = split_proxy_relevance(net1, relevance.input)
    np.testing.assert_array_equal(Rx, [[2.0, 4.0]])
    np.testing.assert_array_equal(Rbias, [[2.0, -3.0]])  # Rb of layer 0 (2 + 0), of layer 1 (-3)
    assert relevance.input.sum() == 5.0  # the logit: biases are inputs, nothing is absorbed


def test_split_proxy_relevance_rejects_the_wrong_width() -> None:
    with pytest.raises(ValueError, match=r"expected relevance of shape \(n, 4\)"):
        split_proxy_relevance(hand_network(), np.ones((1, 3)))


def test_plain_net3_stacks_w1_and_returns_minus_m() -> None:
    network, constant = net3_as_plain_network(hand_network(), np.array([1.0, 2.0]))
    np.testing.assert_array_equal(network.layers[0].W, np.vstack([hand_network().layers[0].W] * 2))
    np.testing.assert_array_equal(constant, [-1.0, -2.0])


def test_plain_net3_gives_the_same_relevance_halves_as_net3() -> None:
    net1, m = hand_network(), np.array([1.0, 1.0])
    x3 = np.array([[2.0, 3.0]])
    plain, constant = net3_as_plain_network(net1, m)
    _, relevance = explain(plain, np.hstack([x3, constant[None]]), np.array([0]), LRP0())
    _, custom = explain(shift_as_input(net1, m), x3, np.array([0]), LRP0())
    np.testing.assert_array_equal(relevance.input[:, :2], custom.input)
    assert custom.layers[0].Rm is not None
    np.testing.assert_array_equal(relevance.input[:, 2:], custom.layers[0].Rm)
