"""Each rule's fast form agrees with its obvious form, keeps every sink, and never makes a NaN."""

from __future__ import annotations

import numpy as np
import pytest

from lrp_invariants import (
    LRP0,
    AlphaBeta,
    Epsilon,
    Flat,
    Gamma,
    LayerRelevance,
    Linear,
    Network,
    Rule,
    WSquare,
    ZBox,
    ZPlus,
    explain,
    forward,
    gradient,
    logit_relevance,
    lrp,
    shift_as_input,
)
from lrp_invariants.bounds import (
    Precision,
    agreement_tolerance,
    conservation_tolerance,
    enclose_relevance,
    trace_balls,
)
from lrp_invariants.network import LayerTrace
from lrp_invariants.per_contribution import per_contribution_lrp

from .helpers import ALPHA_BETA_CONVENTIONS, hand_network, random_batch, random_network

RULES = [
    LRP0(),
    Epsilon(1e-9),
    Epsilon(0.5),
    AlphaBeta(2.0, 1.0),
    ZPlus(),
    *ALPHA_BETA_CONVENTIONS,
    WSquare(),
    Flat(),
    WSquare(epsilon=1e-6, bias="source"),
    Flat(epsilon=1e-6),
    Gamma(0.25),
    Gamma(0.25, epsilon=1e-6, bias="source"),
    Gamma(1.0, bias="ignored"),
    Gamma(0.25, sign_aware=False, bias="source"),
    Gamma(0.5, epsilon=0.1, sign_aware=False, bias="modified"),
    Gamma(0.0, bias="ignored"),
    ZBox(-3.0, 3.0),
    ZBox(-1.0, 2.0, epsilon=1e-6, bias="source"),
]
FIELDS = ("R", "Rb", "Rs")


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
@pytest.mark.parametrize("widths", [[3, 4, 2], [1, 1, 1], [5, 5, 5, 3], [4, 2]])
def test_fast_rule_agrees_with_the_per_contribution_reference(
    rng: np.random.Generator, rule: Rule, widths: list[int]
) -> None:
    network = shift_as_input(random_network(rng, widths), rng.normal(size=widths[0]))
    x = random_batch(rng, network, n=6)
    classes = rng.integers(0, widths[-1], size=6)
    trace = forward(network, x)
    start = logit_relevance(network, trace, classes)
    fast, slow = lrp(network, trace, start, rule), per_contribution_lrp(network, trace, start, rule)
    balls = enclose_relevance(network, trace_balls(network, trace), classes, rule)
    for layer in range(network.depth):
        for field in FIELDS:
            ball = getattr(balls[layer], field)
            error = np.abs(getattr(fast.layers[layer], field) - getattr(slow.layers[layer], field))
            assert np.all(error <= agreement_tolerance(ball, ball)), (layer, field)
    Rm = balls[0].Rm
    assert Rm is not None and fast.layers[0].Rm is not None and slow.layers[0].Rm is not None
    assert np.all(np.abs(fast.layers[0].Rm - slow.layers[0].Rm) <= agreement_tolerance(Rm, Rm))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_every_rule_conserves_relevance_once_every_sink_is_counted(
    rng: np.random.Generator, rule: Rule
) -> None:
    network = random_network(rng, [6, 5, 4, 3], scale=2.0)
    classes = rng.integers(0, 3, size=8)
    trace, relevance = explain(network, random_batch(rng, network, n=8), classes, rule)
    bound = conservation_tolerance(
        enclose_relevance(network, trace_balls(network, trace), classes, rule),
        Precision.of(np.float64),
    )
    for layer in range(network.depth):
        residual = relevance.total(layer) - relevance.output_total
        assert np.all(np.abs(residual) <= bound[:, layer]), layer


def test_lrp_0_on_the_hand_network_matches_the_hand_computation() -> None:
    trace, relevance = explain(hand_network(), np.array([[1.0, 2.0]]), np.array([0]), LRP0())
    first, top = relevance.layers
    # logit 5 = 4 * 2 (from a1[0]) + 0 * 3 - 3 (bias); s = 5 / 5 = 1
    np.testing.assert_array_equal(top.R, [[8.0, 0.0]])
    np.testing.assert_array_equal(top.Rb, [[-3.0]])
    # s1 = [8 / 4, 0 / -1] = [2, 0]; R_x = x * (W1 @ s1) = [1 * 2, 2 * 2]; Rb1 = b1 * s1
    np.testing.assert_array_equal(first.R, [[2.0, 4.0]])
    np.testing.assert_array_equal(first.Rb, [[2.0, 0.0]])
    # the bias-proxy totals are the logit at every layer: 6 + 2 - 3 = 8 - 3 = 5
    assert relevance.total(0)[0] == relevance.total(1)[0] == trace.logits[0, 0] == 5.0


def test_lrp_0_of_hand_net3_splits_the_heatmap_into_shifted_input_and_shift() -> None:
    m = np.array([1.0, 1.0])
    net3 = shift_as_input(hand_network(), m)
    _, relevance = explain(net3, np.array([[2.0, 3.0]]), np.array([0]), LRP0())
    first = relevance.layers[0]
    np.testing.assert_array_equal(first.R, [[4.0, 6.0]])  # rx3 = x3 * 2
    assert first.Rm is not None
    np.testing.assert_array_equal(first.Rm, [[-2.0, -2.0]])  # rm3 = -m * 2
    np.testing.assert_array_equal(first.R + first.Rm, [[2.0, 4.0]])  # = rx1


def test_alpha_beta_on_the_hand_network_matches_the_hand_computation() -> None:
    _, relevance = explain(hand_network(), np.array([[1.0, 2.0]]), np.array([0]), AlphaBeta())
    first, top = relevance.layers
    # top: contributions [8, 0] and bias -3: z+ = 8, z- = -3; R = 5
    # a1[0] gets 2 * 8/8 * 5 = 10; the bias gets -1 * (-3/-3) * 5 = -5
    np.testing.assert_array_equal(top.R, [[10.0, 0.0]])
    np.testing.assert_array_equal(top.Rb, [[-5.0]])
    # hidden unit 0: contributions 1, 2, bias 1 (all positive): z+ = 4, z- = 0
    # it passes 2 * 10 = 20 to its positive sources; its β share, -1 * 10, has nowhere to go
    np.testing.assert_array_equal(first.R, [[5.0, 10.0]])
    np.testing.assert_array_equal(first.Rb, [[5.0, 0.0]])
    np.testing.assert_array_equal(first.Rs, [[-10.0, 0.0]])


def test_lrp_0_equals_gradient_times_input_on_the_hand_network() -> None:
    network, x = hand_network(), np.array([[1.0, 2.0]])
    trace, relevance = explain(network, x, np.array([0]), LRP0())
    np.testing.assert_array_equal(relevance.input, gradient(network, trace, np.array([0])) * x)


def test_zero_denominator_passes_nothing_and_keeps_its_relevance_as_a_sink() -> None:
    layer = Linear(np.array([[1.0], [-1.0]]), np.zeros(1))
    a = np.array([[1.0, 1.0]])  # z = 0 exactly
    result = LRP0().backward(layer, LayerTrace(a, np.zeros((1, 1))), np.array([[3.0]]))
    np.testing.assert_array_equal(result.R, [[0.0, 0.0]])
    np.testing.assert_array_equal(result.Rs, [[3.0]])


def test_zero_over_zero_is_zero_not_nan() -> None:
    layer = Linear(np.array([[1.0], [-1.0]]), np.zeros(1))
    with np.errstate(all="raise"):
        result = LRP0().backward(
            layer, LayerTrace(np.ones((1, 2)), np.zeros((1, 1))), np.zeros((1, 1))
        )
    assert np.all(np.isfinite(result.R)) and np.all(result.R == 0) and np.all(result.Rs == 0)


def test_epsilon_takes_the_sign_of_zero_as_plus_one() -> None:
    layer = Linear(np.array([[1.0], [-1.0]]), np.zeros(1))
    result = Epsilon(0.5).backward(
        layer, LayerTrace(np.ones((1, 2)), np.zeros((1, 1))), np.array([[1.0]])
    )
    # s = 1 / (0 + 0.5) = 2: the inputs get +2 and -2, the stabiliser absorbs 0.5 * 2 = 1
    np.testing.assert_array_equal(result.R, [[2.0, -2.0]])
    np.testing.assert_array_equal(result.Rs, [[1.0]])


def test_epsilon_zero_is_lrp_0(rng: np.random.Generator) -> None:
    network = random_network(rng, [4, 3, 2])
    x, classes = random_batch(rng, network), np.array([0, 1, 1, 0])
    a = explain(network, x, classes, Epsilon(0.0))[1]
    b = explain(network, x, classes, LRP0())[1]
    for la, lb in zip(a.layers, b.layers, strict=True):
        np.testing.assert_array_equal(la.R, lb.R)
        np.testing.assert_array_equal(la.Rs, lb.Rs)


def test_alpha_beta_with_no_negative_source_keeps_the_beta_share() -> None:
    layer = Linear(np.array([[1.0], [2.0]]), np.zeros(1))
    result = AlphaBeta(2.0, 1.0).backward(
        layer, LayerTrace(np.ones((1, 2)), np.array([[3.0]])), np.array([[3.0]])
    )
    np.testing.assert_array_equal(result.R, [[2.0, 4.0]])  # α R split 1 : 2
    np.testing.assert_array_equal(result.Rs, [[-3.0]])  # -β R could not be passed


def test_alpha_beta_with_no_source_at_all_keeps_everything() -> None:
    layer = Linear(np.zeros((2, 1)), np.zeros(1))
    result = AlphaBeta(2.0, 1.0).backward(
        layer, LayerTrace(np.ones((1, 2)), np.zeros((1, 1))), np.array([[3.0]])
    )
    np.testing.assert_array_equal(result.R, [[0.0, 0.0]])
    np.testing.assert_array_equal(result.Rs, [[3.0]])


def test_alpha_beta_splits_negative_inputs_by_the_sign_of_each_contribution() -> None:
    layer = Linear(np.array([[1.0], [1.0]]), np.zeros(1))
    # contributions -1 and 3: z+ = 3, z- = -1, z = 2
    result = AlphaBeta(2.0, 1.0).backward(
        layer, LayerTrace(np.array([[-1.0, 3.0]]), np.array([[2.0]])), np.array([[2.0]])
    )
    np.testing.assert_array_equal(result.R, [[-2.0, 4.0]])


def test_zplus_is_alpha_one_beta_zero() -> None:
    assert (ZPlus().alpha, ZPlus().beta, ZPlus().name) == (1.0, 0.0, "lrp-zplus")


def test_alpha_beta_rejects_alpha_minus_beta_not_one() -> None:
    with pytest.raises(ValueError, match=r"alpha - beta must be 1.*use beta=1.0"):
        AlphaBeta(alpha=2.0, beta=0.5)


def test_alpha_beta_rejects_negative_beta() -> None:
    with pytest.raises(ValueError, match=r"beta >= 0"):
        AlphaBeta(alpha=0.5, beta=-0.5)


def test_epsilon_rejects_a_negative_stabiliser() -> None:
    with pytest.raises(ValueError, match=r"epsilon must be finite and >= 0"):
        Epsilon(-1e-9)


def test_w_square_with_an_all_zero_column_keeps_that_relevance() -> None:
    layer = Linear(np.array([[1.0, 0.0], [1.0, 0.0]]), np.zeros(2))
    result = WSquare().backward(
        layer, LayerTrace(np.ones((1, 2)), np.zeros((1, 2))), np.array([[2.0, 5.0]])
    )
    np.testing.assert_array_equal(result.R, [[1.0, 1.0]])
    np.testing.assert_array_equal(result.Rs, [[0.0, 5.0]])


def test_flat_shares_equally_over_inputs_and_constant_inputs() -> None:
    layer = Linear(np.ones((2, 1)), np.zeros(1), constant=np.ones(2))
    result = Flat().backward(layer, LayerTrace(np.ones((1, 2)), np.ones((1, 1))), np.array([[4.0]]))
    np.testing.assert_array_equal(result.R, [[1.0, 1.0]])
    assert result.Rm is not None
    np.testing.assert_array_equal(result.Rm, [[1.0, 1.0]])


def test_composite_applies_one_rule_per_layer_input_layer_first(rng: np.random.Generator) -> None:
    network = random_network(rng, [4, 3, 2])
    x, classes = random_batch(rng, network), np.array([0, 1, 0, 1])
    mixed = explain(network, x, classes, [WSquare(), Epsilon(1e-9)])[1]
    pure = explain(network, x, classes, Epsilon(1e-9))[1]
    np.testing.assert_array_equal(mixed.layers[1].R, pure.layers[1].R)
    assert not np.array_equal(mixed.input, pure.input)


def test_lrp_rejects_the_wrong_number_of_rules(rng: np.random.Generator) -> None:
    network = random_network(rng, [4, 3, 2])
    with pytest.raises(ValueError, match=r"got 3 rules for 2 Linear layers"):
        explain(network, random_batch(rng, network), np.zeros(4, int), [LRP0()] * 3)


def test_lrp_rejects_an_output_relevance_of_the_wrong_shape(rng: np.random.Generator) -> None:
    network = random_network(rng, [4, 3, 2])
    trace = forward(network, random_batch(rng, network))
    with pytest.raises(ValueError, match=r"R_out must have the logits' shape \(4, 2\)"):
        lrp(network, trace, np.ones((4, 3)), LRP0())


def test_lrp_rejects_a_nan_output_relevance(rng: np.random.Generator) -> None:
    network = random_network(rng, [4, 3, 2])
    trace = forward(network, random_batch(rng, network))
    with pytest.raises(ValueError, match=r"R_out contains NaN"):
        lrp(network, trace, np.full((4, 2), np.nan), LRP0())


def test_lrp_does_not_write_to_the_output_relevance(rng: np.random.Generator) -> None:
    network = random_network(rng, [4, 3, 2])
    trace = forward(network, random_batch(rng, network))
    start = logit_relevance(network, trace, np.zeros(4, int))
    start.flags.writeable = False
    lrp(network, trace, start, [AlphaBeta(), Epsilon()])


def test_lrp_starts_from_the_chosen_logit_only(rng: np.random.Generator) -> None:
    network = random_network(rng, [4, 3, 2])
    trace = forward(network, random_batch(rng, network))
    start = logit_relevance(network, trace, np.array([1, 0, 1, 0]))
    np.testing.assert_array_equal(start[[0, 2], 1], trace.logits[[0, 2], 1])
    np.testing.assert_array_equal(start[[0, 2], 0], 0)


def test_float32_networks_stay_in_float32(rng: np.random.Generator) -> None:
    network = random_network(rng, [4, 3, 2], dtype=np.float32)
    _, relevance = explain(network, random_batch(rng, network), np.zeros(4, int), Epsilon())
    assert all(
        layer.R.dtype == np.float32 and layer.Rb.dtype == np.float32 for layer in relevance.layers
    )


def test_explain_works_on_a_network_without_hidden_layers(rng: np.random.Generator) -> None:
    network = Network.from_arrays([rng.normal(size=(3, 2))], [rng.normal(size=2)])
    x = random_batch(rng, network)
    trace, relevance = explain(network, x, np.array([0, 1, 0, 1]), LRP0())
    np.testing.assert_allclose(
        relevance.total(0),
        trace.logits[np.arange(4), [0, 1, 0, 1]],
        rtol=Precision.of(np.float64).gamma(8),
    )


def test_epsilon_takes_the_sign_of_negative_zero_as_plus_one_too() -> None:
    layer = Linear(np.array([[1.0], [-1.0]]), np.zeros(1))
    result = Epsilon(0.5).backward(
        layer, LayerTrace(np.ones((1, 2)), np.array([[-0.0]])), np.array([[1.0]])
    )
    np.testing.assert_array_equal(result.R, [[2.0, -2.0]])
    np.testing.assert_array_equal(result.Rs, [[1.0]])


def test_epsilon_derives_its_sinks_when_first_read_bit_for_bit(rng: np.random.Generator) -> None:
    # ε keeps one quotient per unit and derives Rb = b s and Rs = ε sign(z) s from it on demand
    network = random_network(rng, (5, 7, 3))
    x = random_batch(rng, network, n=6)
    layer = network.layers[0]
    trace = forward(network, x)
    R = rng.normal(size=(6, 7))
    result = Epsilon(0.25).backward(layer, trace.layer(0), R)
    assert "not yet derived" in repr(result)
    z = trace.z[0]
    s = R / (z + np.where(z >= 0, 0.25, -0.25))
    np.testing.assert_array_equal(result.Rb, s * layer.b)
    np.testing.assert_array_equal(result.Rs, np.where(z >= 0, 0.25, -0.25) * s)
    assert "not yet derived" not in repr(result)


def test_layer_relevance_is_immutable_and_needs_its_sinks() -> None:
    R = np.zeros((1, 2))
    layer = LayerRelevance(R[:, :1], R, R[:, :1], R[:, :1])
    with pytest.raises(AttributeError, match="immutable"):
        layer.R = R  # type: ignore[misc]
    with pytest.raises(TypeError, match="sinks="):
        LayerRelevance(R[:, :1], R, Rb=R[:, :1])
