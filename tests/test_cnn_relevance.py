"""Relevance on CNNs: every rule at every layer kind conserves relevance once every sink is
counted; LRP-0 is gradient x input; max pooling, residual sums and batch norm behave as their
definitions say; the generic operator form of each rule agrees with its dense fast form, and a
convolution with its unrolled dense matrix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lrp_invariants import (
    LRP0,
    AlphaBeta,
    Epsilon,
    Flat,
    Gamma,
    Rule,
    WSquare,
    ZBox,
    ZPlus,
)
from lrp_invariants import (
    forward as dense_forward,
)
from lrp_invariants import (
    gradient as dense_gradient,
)
from lrp_invariants import (
    logit_relevance as dense_logit_relevance,
)
from lrp_invariants import (
    lrp as dense_lrp,
)
from lrp_invariants import (
    shift_as_input as dense_shift_as_input,
)
from lrp_invariants.bounds import (
    Ball,
    Precision,
    agreement_tolerance,
    enclose_forward,
    enclose_relevance,
    trace_balls,
)
from lrp_invariants.cnn import (
    CNN,
    AdaptiveAvgPool,
    AvgPool,
    BatchNorm,
    CNNRules,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    Residual,
    explain,
    forward,
    gradient,
    logit_relevance,
    lrp,
)
from lrp_invariants.cnn.canonize import fold_batch_norms, fold_into_right
from lrp_invariants.cnn.unroll import connections, dense_matrix, unroll
from lrp_invariants.network import Array
from lrp_invariants.rules.operator import DenseOperator, FramePart, Weights

from .cnn_helpers import (
    conservation_bounds,
    gaussian_conv,
    gaussian_norm,
    gradient_bound,
    integer_conv,
)
from .helpers import ALPHA_BETA_CONVENTIONS, random_batch, random_network

RULES: list[Rule] = [
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
    Gamma(0.25, sign_aware=False, bias="source"),
    Gamma(0.0, bias="ignored"),
    ZBox(-3.0, 3.0),
    ZBox(-1.0, 2.0, epsilon=1e-6, bias="source"),
]

P = Precision.of(np.float64)


def _head(rng: np.random.Generator, features: int) -> tuple[Flatten, Dense]:
    return Flatten(), Dense(rng.normal(size=(features, 3)), rng.normal(size=3))


def _cnn(rng: np.random.Generator, kind: str) -> CNN:
    """A small CNN that holds one layer kind of interest (Gaussian parameters)."""
    conv = gaussian_conv
    if kind == "conv, zero padding, stride, dilation":
        body = [conv(rng, 2, 3, (3, 2), padding=(2, 1), stride=(2, 1), dilation=(1, 2)), ReLU()]
    elif kind == "conv, constant padding":
        body = [
            conv(rng, 2, 3, (3, 3), padding=1, padding_mode="constant", padding_value=-0.7),
            ReLU(),
        ]
    elif kind == "conv, reflect, replicate, circular":
        body = [
            conv(rng, 2, 4, (3, 3), padding=1, padding_mode="reflect"),
            ReLU(),
            conv(rng, 4, 4, (2, 2), padding=(1, 0), padding_mode="replicate", groups=2),
            ReLU(),
            conv(rng, 4, 3, (3, 3), padding=2, padding_mode="circular"),
            ReLU(),
        ]
    elif kind == "average pooling":
        body = [
            conv(rng, 2, 3, (3, 3), padding=1),
            ReLU(),
            AvgPool(3, 2, 1, ceil_mode=True, count_include_pad=False),
        ]
    elif kind == "adaptive average pooling":
        body = [conv(rng, 2, 3, (2, 2)), ReLU(), AdaptiveAvgPool((2, 3))]
    elif kind == "max pooling, overlapping":
        body = [conv(rng, 2, 3, (2, 2), padding=1), ReLU(), MaxPool(3, 1, 1)]
    elif kind == "batch norm":
        body = [conv(rng, 2, 3, (3, 3), padding=1), gaussian_norm(rng, 3), ReLU()]
    elif kind == "residual, identity":
        body = [
            conv(rng, 2, 3, (3, 3), padding=1),
            ReLU(),
            Residual((conv(rng, 3, 3, (3, 3), padding=1), ReLU(), conv(rng, 3, 3, (1, 1)))),
        ]
    elif kind == "residual, downsample":
        body = [
            Residual(
                (
                    conv(rng, 2, 4, (3, 3), padding=1, stride=2),
                    ReLU(),
                    conv(rng, 4, 4, (3, 3), padding=1),
                ),
                conv(rng, 2, 4, (1, 1), stride=2),
            )
        ]
    else:
        raise AssertionError(kind)
    probe = CNN((*body, Flatten()), (2, 6, 5))
    return CNN((*body, *_head(rng, probe.output_shape[0])), (2, 6, 5))


KINDS = [
    "conv, zero padding, stride, dilation",
    "conv, constant padding",
    "conv, reflect, replicate, circular",
    "average pooling",
    "adaptive average pooling",
    "max pooling, overlapping",
    "batch norm",
    "residual, identity",
    "residual, downsample",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
def test_every_rule_conserves_relevance_at_every_layer_kind_once_every_sink_is_counted(
    rng: np.random.Generator, rule: Rule, kind: str
) -> None:
    cnn = _cnn(rng, kind)
    x = rng.normal(size=(4, *cnn.input_shape))
    rules = CNNRules(weighted=rule, pooling=rule, batch_norm=rule, sums=Epsilon(0.01))
    _, relevance = explain(cnn, x, np.array([0, 1, 2, 0]), rules)
    bound = conservation_bounds(relevance, P)
    for layer in range(len(cnn.layers)):
        residual = relevance.total(layer) - relevance.output_total
        assert np.all(np.abs(residual) <= bound[:, layer]), (layer, residual, bound[:, layer])
    assert np.any(relevance.input != 0)


def test_constant_padding_is_a_source_whose_relevance_is_reported() -> None:
    conv = Conv(
        np.ones((1, 1, 3)), np.zeros(1), padding=1, padding_mode="constant", padding_value=1.0
    )
    cnn = CNN((conv, Flatten(), Dense(np.ones((2, 1)))), (1, 2))
    trace, relevance = explain(cnn, np.array([[[1.0, 1.0]]]), np.array([0]), LRP0())
    # z = [1 + 1 + 1, 1 + 1 + 1] = [3, 3]: each output's padding tap holds a third of it
    np.testing.assert_array_equal(trace.logits, [[6.0]])
    first = relevance.layers[0]
    assert first.Rp is not None
    np.testing.assert_allclose(first.Rp, [[[1.0, 1.0]]], rtol=P.gamma(4))
    np.testing.assert_allclose(first.R, [[[2.0, 2.0]]], rtol=P.gamma(4))


def test_lrp_0_equals_gradient_times_input_on_a_relu_cnn(rng: np.random.Generator) -> None:
    for kind in KINDS:
        cnn = _cnn(rng, kind)
        x = rng.normal(size=(3, *cnn.input_shape))
        classes = np.array([0, 1, 2])
        trace, relevance = explain(cnn, x, classes, LRP0())
        g = gradient(cnn, trace, classes)
        bound = 4 * np.abs(x) * gradient_bound(cnn, trace, classes)
        assert np.all(np.abs(relevance.input - x * g) <= bound), kind
        assert np.any(g != 0), kind


def test_max_pooling_splits_a_tie_evenly_among_the_maxima() -> None:
    pool = MaxPool(2)
    a = np.array([[[[1.0, 1.0], [0.0, 1.0]]]])
    R = np.array([[[[3.0]]]])
    np.testing.assert_array_equal(pool.route(a, R), [[[[1.0, 1.0], [0.0, 1.0]]]])


def test_max_pooling_conserves_relevance_with_overlapping_windows_and_ties(
    rng: np.random.Generator,
) -> None:
    for pool in (
        MaxPool(3, 1, 1),
        MaxPool(2, 1),
        MaxPool(3, 2, 1, ceil_mode=True),
        MaxPool((2, 3), 1, 1, 2),
    ):
        a = rng.integers(0, 3, size=(3, 2, 7, 6)).astype(np.float64)
        R = rng.normal(size=(3, *pool.output_shape((2, 7, 6))))
        routed = pool.route(a, R)
        # each window's share R / count, summed over overlapping windows: γ of the window count
        windows = int(np.prod(pool.output_shape((2, 7, 6))))
        bound = P.gamma(windows + 9) * np.abs(R).sum(axis=(1, 2, 3)) * 2
        assert np.all(np.abs(routed.sum(axis=(1, 2, 3)) - R.sum(axis=(1, 2, 3))) <= bound)
        assert np.all(routed[pool.route(a, np.ones_like(R)) == 0] == 0)


def test_a_residual_branch_whose_last_weights_are_zero_is_the_identity(
    rng: np.random.Generator,
) -> None:
    conv = gaussian_conv(rng, 3, 3, (3, 3), padding=1)
    zero = Conv(np.zeros((3, 3, 1, 1)), np.zeros(3))
    first = gaussian_conv(rng, 2, 3, (3, 3), padding=1)
    head = _head(rng, 3 * 6 * 5)
    with_block = CNN((first, Residual((conv, ReLU(), zero)), *head), (2, 6, 5))
    plain = CNN((first, ReLU(), *head), (2, 6, 5))
    x = rng.normal(size=(4, 2, 6, 5))
    classes = np.array([0, 1, 2, 1])
    np.testing.assert_array_equal(forward(with_block, x).logits, forward(plain, x).logits)
    _, R_block = explain(with_block, x, classes, LRP0())
    _, R_plain = explain(plain, x, classes, LRP0())
    block = R_block.layers[1]
    assert not np.any(block.branch.input)  # type: ignore[union-attr]
    # the sum hands R back to the shortcut as x * (R / x): two roundings at most
    near = np.abs(R_block.layers[1].R - R_plain.layers[1].R) <= P.gamma(2) * np.abs(
        R_plain.layers[1].R
    )
    assert np.all(near)


# --------------------------------------------------------------------------------------------
# The rule at any layer kind is the rule at a dense layer.


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
def test_each_rules_operator_form_agrees_with_its_dense_fast_form(
    rng: np.random.Generator, rule: Rule
) -> None:
    network = dense_shift_as_input(random_network(rng, [4, 5, 3]), rng.normal(size=4))
    x = random_batch(rng, network, n=6)
    classes = rng.integers(0, 3, size=6)
    trace = dense_forward(network, x)
    start = dense_logit_relevance(network, trace, classes)
    fast = dense_lrp(network, trace, start, rule)
    balls = enclose_relevance(network, trace_balls(network, trace), classes, rule)
    R = start
    for i in range(network.depth - 1, -1, -1):
        layer = network.layers[i]
        generic = rule.propagate(DenseOperator(layer), trace.a[i], trace.z[i], R)
        for field in ("R", "Rb", "Rs", "Rm"):
            ball = getattr(balls[i], field)
            mine, theirs = getattr(generic, field), getattr(fast.layers[i], field)
            if ball is None:
                assert mine is None and theirs is None
                continue
            assert np.all(np.abs(mine - theirs) <= agreement_tolerance(ball, ball)), (i, field)
        R = generic.R


LOCAL_RULES = [r for r in RULES if not isinstance(r, Flat)]


@pytest.mark.parametrize("rule", LOCAL_RULES, ids=lambda r: r.describe())
def test_a_cnn_and_its_unrolled_network_give_the_same_relevance(
    rng: np.random.Generator, rule: Rule
) -> None:
    """With zero padding every tap of a window reads its own input or nothing, so the unrolled
    matrix holds the very weights the convolution multiplies: every rule local to a layer gives
    the same relevance (the flat rule too, where it counts the connections of the convolution,
    not every pair of the matrix: see the next test)."""
    cnn = CNN(
        (
            gaussian_conv(rng, 2, 3, (3, 2), padding=(1, 2), stride=(2, 1), dilation=(1, 2)),
            ReLU(),
            AvgPool(2, 1, count_include_pad=False, padding=1),
            ReLU(),
            Flatten(),
            Dense(rng.normal(size=(84, 3)), rng.normal(size=3)),
        ),
        (2, 5, 4),
    )
    network = unroll(cnn)
    x = rng.normal(size=(4, 2, 5, 4))
    classes = np.array([0, 1, 2, 0])
    _, relevance = explain(cnn, x, classes, CNNRules(weighted=rule, pooling=rule))
    flat_x = x.reshape(4, -1)
    trace = dense_forward(network, flat_x)
    dense = dense_lrp(network, trace, dense_logit_relevance(network, trace, classes), rule)
    balls = enclose_relevance(network, enclose_forward(network, Ball.exact(flat_x)), classes, rule)
    tolerance = agreement_tolerance(balls[0].R, balls[0].R)
    assert np.all(np.abs(relevance.input.reshape(4, -1) - dense.input) <= tolerance)
    assert np.any(np.isfinite(tolerance) & (dense.input != 0))


@dataclasses.dataclass(frozen=True)
class UnrolledOperator:
    """A dense matrix with the connections of the layer it unrolls (for the flat rule)."""

    W: Array
    mask: Array
    b: Array
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    constant: Array | None = None

    @property
    def bias(self) -> Array:
        return self.b

    def _matrix(self, weights: Weights) -> Array:
        return {
            "W": self.W,
            "pos": np.maximum(self.W, 0),
            "neg": np.minimum(self.W, 0),
            "square": self.W**2,
            "ones": self.mask,
        }[weights]

    def product(self, v: Array, weights: Weights) -> Array:
        result: Array = v @ self._matrix(weights)
        return result

    def transpose(self, s: Array, weights: Weights) -> Array:
        result: Array = s @ self._matrix(weights).T
        return result

    def fixed(self, part: FramePart, weights: Weights) -> Array | None:
        return None


def test_flat_counts_the_connections_of_a_convolution_not_every_pair_of_its_matrix(
    rng: np.random.Generator,
) -> None:
    conv = gaussian_conv(rng, 2, 3, (3, 3), padding=1, stride=2)
    shape = (2, 5, 5)
    W, b = dense_matrix(conv, shape)
    op, unrolled = (
        conv.operator(shape),
        UnrolledOperator(W, connections(conv, shape), b, (W.shape[0],), (W.shape[1],)),
    )
    a = np.abs(rng.normal(size=(2, *shape)))
    z = conv.forward(a)
    R = rng.normal(size=z.shape)
    on_conv = Flat().propagate(op, a, z, R)
    on_matrix = Flat().propagate(unrolled, a.reshape(2, -1), z.reshape(2, -1), R.reshape(2, -1))
    # the shares are 1 / (number of taps): sums of at most 18 equal terms, then one division
    tolerance = P.gamma(W.shape[1] + 4) * 2 * np.abs(R).sum(axis=(1, 2, 3))[:, None]
    assert np.all(np.abs(on_conv.R.reshape(2, -1) - on_matrix.R) <= tolerance)
    every_pair = Flat().propagate(
        dataclasses.replace(unrolled, mask=np.ones_like(W)),
        a.reshape(2, -1),
        z.reshape(2, -1),
        R.reshape(2, -1),
    )
    assert not np.allclose(every_pair.R, on_matrix.R)


# --------------------------------------------------------------------------------------------
# Batch norm: folded, or a layer of its own.


def _exact_norm(rng: np.random.Generator, channels: int) -> BatchNorm:
    """Scales that are signed powers of two and integer shifts: folding is exact."""
    scale = rng.choice([-2.0, -0.5, 0.5, 1.0, 2.0], size=channels)
    return BatchNorm.affine(scale, rng.integers(-3, 4, size=channels).astype(np.float64))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("side", ["left", "right"])
def test_a_folded_batch_norm_computes_the_same_function(
    rng: np.random.Generator, mode: str, side: str
) -> None:
    conv = integer_conv(rng, 2, 4, (3, 3), padding=1, stride=2, padding_mode=mode, groups=2)
    norm = _exact_norm(rng, 4 if side == "left" else 2)
    body = (conv, norm) if side == "left" else (norm, conv)
    cnn = CNN((*body, ReLU(), Flatten(), Dense(np.ones((36, 2)))), (2, 5, 6))
    folded = fold_batch_norms(cnn, side)
    assert not any(isinstance(layer, BatchNorm) for layer in folded.layers)
    x = rng.integers(-3, 4, size=(3, 2, 5, 6)).astype(np.float64)
    np.testing.assert_array_equal(forward(folded, x).logits, forward(cnn, x).logits)


def test_a_shift_folded_through_zero_padding_is_a_bias_map_not_a_bias_per_channel(
    rng: np.random.Generator,
) -> None:
    conv = integer_conv(rng, 2, 3, (3, 3), padding=1)
    norm = BatchNorm.affine(np.ones(2), np.array([1.0, -2.0]))
    folded = fold_into_right(norm, conv, (2, 4, 4))
    assert folded.bias is not None and folded.bias.shape == (3, 4, 4)
    # the centre sees the shift through all nine taps, a corner through four
    assert not np.all(folded.bias == folded.bias[:, :1, :1])
    x = rng.integers(-3, 4, size=(2, 2, 4, 4)).astype(np.float64)
    np.testing.assert_array_equal(folded.forward(x), conv.forward(norm.forward(x)))
    per_channel = dataclasses.replace(folded, bias=folded.bias[:, 1, 1])
    assert not np.array_equal(per_channel.forward(x), conv.forward(norm.forward(x)))


def test_the_attributions_of_a_folded_network_are_the_rules_on_it(
    rng: np.random.Generator,
) -> None:
    cnn = CNN(
        (
            integer_conv(rng, 2, 4, (3, 3), padding=1),
            _exact_norm(rng, 4),
            ReLU(),
            Flatten(),
            Dense(np.ones((64, 2))),
        ),
        (2, 4, 4),
    )
    folded = fold_batch_norms(cnn, "left")
    x = rng.integers(-3, 4, size=(2, 2, 4, 4)).astype(np.float64)
    classes = np.array([0, 1])
    _, on_folded = explain(folded, x, classes, Epsilon(0.1))
    trace = forward(folded, x)
    again = lrp(folded, trace, logit_relevance(folded, trace, classes), Epsilon(0.1))
    np.testing.assert_array_equal(on_folded.input, again.input)
    # as its own layer the batch norm keeps its shift's relevance: a sink the folded bias takes
    _, apart = explain(cnn, x, classes, CNNRules(weighted=Epsilon(0.1), batch_norm=LRP0()))
    assert apart.layers[1].Rb is not None and np.any(apart.layers[1].Rb != 0)


# --------------------------------------------------------------------------------------------
# Arguments.


def test_lrp_rejects_the_wrong_number_of_rules(rng: np.random.Generator) -> None:
    cnn = _cnn(rng, "batch norm")
    with pytest.raises(ValueError, match="got 3 rules for 2 convolution and dense layers"):
        explain(cnn, rng.normal(size=(1, 2, 6, 5)), np.array([0]), CNNRules(weighted=(LRP0(),) * 3))


def test_zbox_names_the_layer_whose_input_its_bounds_do_not_fit(rng: np.random.Generator) -> None:
    cnn = _cnn(rng, "batch norm")
    with pytest.raises(ValueError, match="layer 0: ZBox has 3 bounds"):
        explain(cnn, rng.normal(size=(1, 2, 6, 5)), np.array([0]), ZBox([0, 0, 0], [1, 1, 1]))


def test_zbox_takes_one_bound_per_channel(rng: np.random.Generator) -> None:
    cnn = CNN(
        (gaussian_conv(rng, 2, 3, (3, 3)), ReLU(), Flatten(), Dense(rng.normal(size=(12, 2)))),
        (2, 4, 4),
    )
    rules = CNNRules(weighted=(ZBox([-1.0, -2.0], [1.0, 2.0]), LRP0()))
    _, relevance = explain(cnn, rng.uniform(-1, 1, size=(2, 2, 4, 4)), np.array([0, 1]), rules)
    assert np.all(np.isfinite(relevance.input))


def test_lrp_does_not_write_to_its_inputs(rng: np.random.Generator) -> None:
    cnn = _cnn(rng, "residual, identity")
    x = rng.normal(size=(2, *cnn.input_shape))
    trace = forward(cnn, x)
    start = logit_relevance(cnn, trace, np.array([0, 1]))
    copies = [a.copy() for a in trace.inputs], start.copy()
    lrp(cnn, trace, start, AlphaBeta(2.0, 1.0))
    for before, after in zip(copies[0], trace.inputs, strict=True):
        np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(copies[1], start)


def test_the_gradient_of_a_cnn_is_the_gradient_of_its_unrolled_network(
    rng: np.random.Generator,
) -> None:
    cnn = CNN(
        (
            integer_conv(rng, 2, 3, (3, 3), padding=1, padding_mode="reflect", stride=2),
            ReLU(),
            AvgPool(2, 1),
            ReLU(),
            integer_conv(rng, 3, 2, (1, 2), dilation=(1, 2)),
            ReLU(),
            Flatten(),
            Dense(rng.integers(-3, 4, size=(4, 3)).astype(np.float64)),
        ),
        (2, 5, 8),
    )
    x = rng.integers(-3, 4, size=(4, 2, 5, 8)).astype(np.float64)
    classes = np.array([0, 1, 2, 1])
    network = unroll(cnn)
    dense = dense_gradient(network, dense_forward(network, x.reshape(4, -1)), classes)
    # integers and a divisor of 4: every sum is exact, in any order
    np.testing.assert_array_equal(gradient(cnn, forward(cnn, x), classes).reshape(4, -1), dense)


def test_batch_norms_in_residual_branches_are_folded_too(rng: np.random.Generator) -> None:
    block = Residual(
        (
            integer_conv(rng, 2, 2, (3, 3), padding=1),
            _exact_norm(rng, 2),
            ReLU(),
            integer_conv(rng, 2, 2, (1, 1)),
        )
    )
    cnn = CNN((block, Flatten(), Dense(np.ones((32, 2)))), (2, 4, 4))
    folded = fold_batch_norms(cnn, "left")
    inner = folded.layers[0]
    assert isinstance(inner, Residual) and len(inner.branch) == 3
    x = rng.integers(-3, 4, size=(2, 2, 4, 4)).astype(np.float64)
    np.testing.assert_array_equal(forward(folded, x).logits, forward(cnn, x).logits)


@pytest.mark.parametrize("rule", [Epsilon(0.25), AlphaBeta(2.0, 1.0), Gamma(0.25)], ids=repr)
def test_float32_cnns_explain_in_float32_and_conserve_relevance(
    rng: np.random.Generator, rule: Rule
) -> None:
    cnn = _cnn(rng, "residual, downsample")
    as32 = CNN(tuple(_as_float32(layer) for layer in cnn.layers), cnn.input_shape)
    x = rng.normal(size=(3, *cnn.input_shape)).astype(np.float32)
    _, relevance = explain(as32, x, np.array([0, 1, 2]), rule)
    assert relevance.input.dtype == np.float32
    bound = conservation_bounds(relevance, Precision.of(np.float32))
    for layer in range(len(as32.layers)):
        residual = relevance.total(layer) - relevance.output_total
        assert np.all(np.abs(residual) <= bound[:, layer]), layer


def _as_float32(layer: object) -> object:
    if isinstance(layer, Conv):
        bias = None if layer.bias is None else layer.bias.astype(np.float32)
        return dataclasses.replace(layer, weight=layer.weight.astype(np.float32), bias=bias)
    if isinstance(layer, Dense):
        return Dense(
            layer.W.astype(np.float32), None if layer.b is None else layer.b.astype(np.float32)
        )
    if isinstance(layer, Residual):
        down = None if layer.downsample is None else _as_float32(layer.downsample)
        return Residual(tuple(_as_float32(inner) for inner in layer.branch), down)  # type: ignore[arg-type]
    return layer


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_with_padding_that_copies_inputs_only_rules_linear_in_the_weights_agree_unrolled(
    rng: np.random.Generator, mode: str
) -> None:
    """Where a window reads one input through two taps (reflect and replicate at a border,
    circular on an axis shorter than the window), the matrix entry is their sum: LRP-0 and LRP-ε
    (linear in the weights) agree with the unrolled network; z⁺ splits each tap by sign on the
    layer, their sum on the matrix, and differs by far more than rounding."""
    cnn = CNN(
        (
            gaussian_conv(rng, 2, 3, (3, 3), padding=1, padding_mode=mode),
            ReLU(),
            Flatten(),
            Dense(rng.normal(size=(24, 2))),
        ),
        (2, 4, 2),
    )
    network = unroll(cnn)
    x = rng.normal(size=(3, 2, 4, 2))
    classes = np.array([0, 1, 0])
    flat_x = x.reshape(3, -1)
    trace = dense_forward(network, flat_x)
    for rule, agrees in ((LRP0(), True), (Epsilon(0.1), True), (ZPlus(), False)):
        _, relevance = explain(cnn, x, classes, rule)
        dense = dense_lrp(network, trace, dense_logit_relevance(network, trace, classes), rule)
        balls = enclose_relevance(
            network, enclose_forward(network, Ball.exact(flat_x)), classes, rule
        )
        within = np.abs(relevance.input.reshape(3, -1) - dense.input) <= agreement_tolerance(
            balls[0].R, balls[0].R
        )
        assert bool(np.all(within)) == agrees, rule


def test_a_rule_that_does_not_fit_a_residual_branch_names_the_block(
    rng: np.random.Generator,
) -> None:
    cnn = CNN(
        (
            gaussian_conv(rng, 2, 2, (3, 3), padding=1),
            Residual((gaussian_conv(rng, 2, 2, (3, 3), padding=1),)),
            Flatten(),
            Dense(rng.normal(size=(32, 1))),
        ),
        (2, 4, 4),
    )
    rules = CNNRules(weighted=(LRP0(), ZBox([0.0] * 3, [1.0] * 3), LRP0()))
    with pytest.raises(ValueError, match=r"layer 1, branch: layer 0: ZBox has 3 bounds"):
        explain(cnn, rng.normal(size=(1, 2, 4, 4)), np.array([0]), rules)
