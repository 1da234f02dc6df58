"""Networks are validated immutable data; the forward pass returns a trace and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest

from lrp_invariants import Linear, Network, forward, gradient, predict_proba
from lrp_invariants.bounds import Precision

from .helpers import hand_network, random_batch, random_network


def test_layer_rejects_a_one_dimensional_weight_matrix() -> None:
    with pytest.raises(ValueError, match=r"W must be 2-D"):
        Linear(np.ones(3), np.ones(3))


def test_layer_rejects_a_bias_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match=r"b must have shape \(2,\)"):
        Linear(np.ones((3, 2)), np.ones(3))


def test_layer_rejects_integer_weights() -> None:
    with pytest.raises(TypeError, match=r"W has dtype int64"):
        Linear(np.ones((3, 2), dtype=np.int64), np.ones(2))


def test_layer_rejects_mixed_dtypes() -> None:
    with pytest.raises(TypeError, match=r"b has dtype float32 but W has dtype float64"):
        Linear(np.ones((3, 2)), np.ones(2, dtype=np.float32))


def test_layer_rejects_nan_and_names_its_index() -> None:
    W = np.ones((3, 2))
    W[1, 0] = np.nan
    with pytest.raises(ValueError, match=r"W contains nan at index \(1, 0\)"):
        Linear(W, np.ones(2))


def test_layer_rejects_an_infinite_bias() -> None:
    with pytest.raises(ValueError, match=r"b contains inf"):
        Linear(np.ones((3, 2)), np.array([0.0, np.inf]))


def test_layer_rejects_a_constant_input_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"constant must have shape \(3,\)"):
        Linear(np.ones((3, 2)), np.ones(2), constant=np.ones(2))


def test_layer_rejects_an_empty_weight_matrix() -> None:
    with pytest.raises(ValueError, match=r"at least one input and one output"):
        Linear(np.ones((0, 2)), np.ones(2))


def test_network_names_the_layer_whose_shapes_do_not_chain() -> None:
    with pytest.raises(ValueError, match=r"layer 1: W has 3 inputs but layer 0 has 2 outputs"):
        Network.from_arrays([np.ones((4, 2)), np.ones((3, 1))], [np.ones(2), np.ones(1)])


def test_network_names_the_layer_with_a_bad_array() -> None:
    with pytest.raises(ValueError, match=r"layer 1: b must have shape"):
        Network.from_arrays([np.ones((4, 2)), np.ones((2, 1))], [np.ones(2), np.ones(2)])


def test_network_rejects_layers_of_different_dtypes() -> None:
    with pytest.raises(TypeError, match=r"layer 1: dtype float32 differs"):
        Network(
            (
                Linear(np.ones((2, 2)), np.ones(2)),
                Linear(np.ones((2, 1), np.float32), np.ones(1, np.float32)),
            )
        )


def test_network_rejects_an_unknown_output_activation() -> None:
    with pytest.raises(ValueError, match=r"output must be one of"):
        Network.from_arrays([np.ones((2, 1))], [np.ones(1)], output="tanh")  # type: ignore[arg-type]


def test_network_rejects_mismatched_weight_and_bias_counts() -> None:
    with pytest.raises(ValueError, match=r"2 weight matrices but 1 bias"):
        Network.from_arrays([np.ones((2, 2)), np.ones((2, 1))], [np.ones(2)])


def test_network_rejects_an_empty_layer_list() -> None:
    with pytest.raises(ValueError, match=r"at least one Linear layer"):
        Network(())


def test_network_keeps_private_read_only_copies(rng: np.random.Generator) -> None:
    W, b = rng.normal(size=(3, 2)), rng.normal(size=2)
    network = Network.from_arrays([W], [b])
    W[0, 0] = 1e6
    assert network.layers[0].W[0, 0] != 1e6
    with pytest.raises(ValueError, match=r"read-only"):
        network.layers[0].W[0, 0] = 0.0


def test_forward_rejects_a_one_dimensional_input() -> None:
    with pytest.raises(
        ValueError, match=r"x must be 2-D \(n, 2\) \(a single sample: x\[None, :\]\)"
    ):
        forward(hand_network(), np.ones(2))


def test_forward_rejects_the_wrong_number_of_features() -> None:
    with pytest.raises(ValueError, match=r"x has 3 features but the network takes 2"):
        forward(hand_network(), np.ones((1, 3)))


def test_forward_rejects_an_input_of_another_dtype() -> None:
    with pytest.raises(TypeError, match=r"x has dtype float32 but the network is float64"):
        forward(hand_network(), np.ones((1, 2), dtype=np.float32))


def test_forward_rejects_integer_input() -> None:
    with pytest.raises(TypeError, match=r"x has dtype int64"):
        forward(hand_network(), np.ones((1, 2), dtype=np.int64))


def test_forward_rejects_nan_input() -> None:
    with pytest.raises(ValueError, match=r"x contains nan at index \(0, 1\)"):
        forward(hand_network(), np.array([[1.0, np.nan]]))


def test_forward_traces_every_layer_of_the_hand_network() -> None:
    trace = forward(hand_network(), np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(trace.z[0], [[4.0, -1.0]])
    np.testing.assert_array_equal(trace.a[1], [[4.0, 0.0]])
    np.testing.assert_array_equal(trace.logits, [[5.0]])
    assert [o.shape for o in trace.outputs] == [(1, 2), (1, 1)]


def test_forward_does_not_write_to_the_input(rng: np.random.Generator) -> None:
    network = random_network(rng, [3, 4, 2])
    x = random_batch(rng, network)
    x.flags.writeable = False  # any write would raise
    trace = forward(network, x)
    assert trace.a[0] is not x and not trace.a[0].flags.writeable


def test_forward_handles_an_empty_batch(rng: np.random.Generator) -> None:
    network = random_network(rng, [3, 4, 2])
    assert forward(network, np.zeros((0, 3))).logits.shape == (0, 2)


def test_gradient_of_the_hand_network_is_the_active_path() -> None:
    network = hand_network()
    trace = forward(network, np.array([[1.0, 2.0]]))
    # only hidden unit 0 is active: d logit / d x = W1[:, 0] * W2[0, 0]
    np.testing.assert_array_equal(gradient(network, trace, np.array([0])), [[2.0, 2.0]])


def test_gradient_takes_the_relu_derivative_at_zero_as_zero() -> None:
    network = Network.from_arrays(
        [np.array([[1.0]]), np.array([[1.0]])], [np.zeros(1), np.zeros(1)]
    )
    trace = forward(network, np.zeros((1, 1)))
    np.testing.assert_array_equal(gradient(network, trace, np.array([0])), [[0.0]])


def test_gradient_rejects_an_out_of_range_class() -> None:
    network = hand_network()
    with pytest.raises(ValueError, match=r"class 1 is out of range for 1 outputs"):
        gradient(network, forward(network, np.ones((1, 2))), np.array([1]))


def test_gradient_rejects_float_classes() -> None:
    network = hand_network()
    with pytest.raises(TypeError, match=r"classes must be integers"):
        gradient(network, forward(network, np.ones((1, 2))), np.array([0.0]))


def test_gradient_rejects_one_class_too_few() -> None:
    network = hand_network()
    with pytest.raises(ValueError, match=r"classes must have shape \(2,\)"):
        gradient(network, forward(network, np.ones((2, 2))), np.array([0]))


def test_softmax_probabilities_sum_to_one(rng: np.random.Generator) -> None:
    base = random_network(rng, [3, 4, 5])
    network = Network(base.layers, output="softmax")
    p = predict_proba(network, random_batch(rng, network))
    # five terms, each within a few roundings of exact: the sum of a softmax is 1 within γ_k
    bound = Precision.of(np.float64).gamma(2 * network.n_outputs + 4)
    assert np.all(np.abs(p.sum(axis=1) - 1) <= bound)


def test_logistic_output_with_one_unit_gives_two_columns(rng: np.random.Generator) -> None:
    base = random_network(rng, [3, 4, 1])
    network = Network(base.layers, output="logistic")
    p = predict_proba(network, random_batch(rng, network))
    assert p.shape == (4, 2)
    np.testing.assert_array_equal(p[:, 0], 1 - p[:, 1])


def test_logistic_output_does_not_overflow_for_huge_logits() -> None:
    network = Network.from_arrays([np.array([[1e300]])], [np.zeros(1)], output="logistic")
    with np.errstate(all="raise"):
        p = predict_proba(network, np.array([[-1.0], [1.0]]))
    np.testing.assert_array_equal(p, [[1.0, 0.0], [0.0, 1.0]])
