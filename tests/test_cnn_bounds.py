"""CNN enclosures: the exact value (rationals) and every correct evaluation order lie inside;
wrong geometry and wrong routing lie outside; the radii are not vacuous.

Correct evaluations: the core (im2col), literal loops over taps summed in reverse, the unrolled
dense network, float32 against the float32 enclosure, a batch norm folded into its convolution.
Hard cases: exact and one-ulp ties in overlapping max pooling windows, pre-activations exactly
on their kinks, inputs scaled by 2**±60.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from lrp_invariants import forward as dense_forward
from lrp_invariants import gradient as dense_gradient
from lrp_invariants import logit_relevance as dense_logit_relevance
from lrp_invariants import lrp as dense_lrp
from lrp_invariants.bounds import (
    Ball,
    Precision,
    enclose_forward,
    enclose_gradient,
    enclose_relevance,
)
from lrp_invariants.bounds.operator import terms_per_output
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
    forward,
    gradient,
    gradient_x_input,
    logit_relevance,
    lrp,
)
from lrp_invariants.cnn.bounds import (
    CNNBalls,
    enclose_cnn_forward,
    enclose_cnn_gradient,
    enclose_cnn_relevance,
)
from lrp_invariants.cnn.bounds.relevance import _rescaling_loss
from lrp_invariants.cnn.canonize import fold_into_left
from lrp_invariants.cnn.relevance import weighted_layers
from lrp_invariants.cnn.unroll import unroll
from lrp_invariants.methods.lrp import lrp_method
from lrp_invariants.rules import (
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

from .cnn_exact import Arith, Literal, reversed_order

F64 = Precision.of(np.float64)

SEEDS = [0, *(pytest.param(seed, marks=pytest.mark.full_tier) for seed in (1, 2))]
"""One seed in the fast tier, three in the full one."""


def inside(ball: Ball, value: Any, p: Precision = F64) -> np.ndarray:
    """Elementwise: ``value`` within the ball's outward-rounded ends (exact for Fractions)."""
    lo, hi = ball.bounds(p)
    flat_lo, flat_hi = lo.ravel(), hi.ravel()
    values = np.asarray(value, dtype=object).ravel()
    return np.array(
        [
            Fraction(float(low)) <= Fraction(v) <= Fraction(float(high))
            if np.isfinite(low) and np.isfinite(high)
            else True
            for low, v, high in zip(flat_lo, values, flat_hi, strict=True)
        ]
    )


def conv(
    rng: np.random.Generator, c_out: int, c_in: int, kernel: tuple[int, ...], **kw: Any
) -> Conv:
    groups = kw.get("groups", 1)
    weight = rng.normal(size=(c_out, c_in // groups, *kernel))
    return Conv(weight, rng.normal(size=c_out), **kw)


def norm(rng: np.random.Generator, channels: int) -> BatchNorm:
    return BatchNorm(
        rng.normal(size=channels) * rng.choice([-1, 1], size=channels),
        rng.normal(size=channels),
        rng.normal(size=channels),
        rng.uniform(0.5, 2.0, size=channels),
    )


def plain(rng: np.random.Generator) -> CNN:
    """conv (zero padding) - relu - strided conv - relu - dense: unrolls to a dense MLP."""
    return CNN(
        (
            conv(rng, 3, 2, (3, 3), padding=1),
            ReLU(),
            conv(rng, 2, 3, (2, 2), stride=2),
            ReLU(),
            Flatten(),
            Dense(rng.normal(size=(8, 3)), rng.normal(size=3)),
        ),
        (2, 5, 5),
    )


def padded(mode: str) -> Callable[[np.random.Generator], CNN]:
    """A padding mode, dilation, groups, a batch norm of both signs, overlapping max pooling."""

    def build(rng: np.random.Generator) -> CNN:
        extra = {"padding_value": 0.75} if mode == "constant" else {}
        return CNN(
            (
                conv(
                    rng, 4, 2, (3, 3), padding=2, dilation=2, padding_mode=mode, groups=2, **extra
                ),
                norm(rng, 4),
                ReLU(),
                MaxPool(3, stride=2, padding=1),
                Flatten(),
                Dense(rng.normal(size=(36, 3)), rng.normal(size=3)),
            ),
            (2, 5, 5),
        )

    return build


def residual(rng: np.random.Generator) -> CNN:
    """An identity block and a downsampling block, average pooling, a 1-d convolution."""
    return CNN(
        (
            conv(rng, 3, 2, (3,), padding=1),
            ReLU(),
            Residual((conv(rng, 3, 3, (3,), padding=1), ReLU(), conv(rng, 3, 3, (1,)))),
            Residual(
                (conv(rng, 2, 3, (3,), stride=2, padding=1),),
                downsample=Conv(rng.normal(size=(2, 3, 1)), None, stride=2),
            ),
            AvgPool(2, dims=1),
            Flatten(),
            Dense(rng.normal(size=(4, 3)), rng.normal(size=3)),
        ),
        (2, 8),
    )


def mapped(rng: np.random.Generator) -> CNN:
    """A strided convolution with a bias map (net2's compensation, a folded batch norm) and
    adaptive average pooling of uneven windows."""
    first = Conv(rng.normal(size=(3, 2, 3, 3)), rng.normal(size=(3, 3, 3)), stride=2, padding=1)
    return CNN(
        (first, ReLU(), AdaptiveAvgPool(2), Flatten(), Dense(rng.normal(size=(12, 2)), None)),
        (2, 6, 5),
    )


BUILDERS = {
    "mapped": mapped,
    "plain": plain,
    "reflect": padded("reflect"),
    "replicate": padded("replicate"),
    "circular": padded("circular"),
    "constant": padded("constant"),
    "residual": residual,
}


def draw(name: str, seed: int, scale: float = 1.0) -> tuple[CNN, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cnn = BUILDERS[name](rng)
    x = rng.normal(size=(2, *cnn.input_shape)) * scale
    return cnn, x, rng.integers(0, cnn.n_outputs, size=2)


def literal_layers(trace: list[Any]) -> list[Any]:
    """Each layer's output in a literal trace (per sample)."""
    return [entry[1] for entry in trace]


def check_literal(cnn: CNN, x: np.ndarray, classes: np.ndarray, arith: Arith, eps: float) -> None:
    """Forward pass, gradient and LRP of the literal evaluation inside the enclosures."""
    balls = enclose_cnn_forward(cnn, x)
    rule: Rule = Epsilon(eps) if eps else LRP0()
    relevance = enclose_cnn_relevance(cnn, balls, classes, rule)
    g_ball = enclose_cnn_gradient(cnn, balls, classes)
    literal = Literal(cnn, arith)
    for n in range(x.shape[0]):
        trace = literal.forward(x[n].ravel())
        for i, out in enumerate(literal_layers(trace)):
            assert inside(balls.outputs[i][n], out).all(), f"layer {i} forward"
        assert inside(g_ball[n], literal.gradient(trace, int(classes[n]))).all(), "gradient"
        for i, R in enumerate(literal.lrp(trace, int(classes[n]), eps)):
            assert inside(relevance[i].R[n], R).all(), f"layer {i} relevance"


@pytest.mark.parametrize("eps", [0.0, 0.25])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_exact_value_lies_inside_every_enclosure(name: str, eps: float) -> None:
    cnn, x, classes = draw(name, 1)
    check_literal(cnn, x[:1], classes[:1], Arith(exact=True), eps)


@pytest.mark.parametrize("eps", [0.0, 0.25])
@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("seed", SEEDS)
def test_direct_loops_summed_in_reverse_lie_inside(name: str, seed: int, eps: float) -> None:
    cnn, x, classes = draw(name, seed)
    check_literal(cnn, x, classes, Arith(exact=False, order=reversed_order), eps)


RULES: list[Rule] = [
    LRP0(),
    Epsilon(0.25),
    AlphaBeta(2.0, 1.0),
    ZPlus(),
    Gamma(0.25),
    WSquare(),
]


def check_core(cnn: CNN, x: np.ndarray, classes: np.ndarray, rules: Rule | CNNRules) -> None:
    p = Precision.of(cnn.dtype)
    balls = enclose_cnn_forward(cnn, x)
    trace = forward(cnn, x)
    for out, ball in zip(trace.outputs, balls.outputs, strict=True):
        assert inside(ball, out, p).all()
    assert inside(enclose_cnn_gradient(cnn, balls, classes), gradient(cnn, trace, classes), p).all()
    times_input = enclose_cnn_gradient(cnn, balls, classes, times_input=True)
    assert inside(times_input, gradient_x_input(cnn, trace, classes), p).all()
    computed = lrp(cnn, trace, logit_relevance(cnn, trace, classes), rules)
    enclosed = enclose_cnn_relevance(cnn, balls, classes, rules)
    for i, (layer, ball) in enumerate(zip(computed.layers, enclosed, strict=True)):
        assert inside(ball.R, layer.R, p).all(), f"layer {i} R"
        assert inside(ball.R_out, layer.R_out, p).all(), f"layer {i} R_out"
        assert inside(ball.sinks, layer.sinks(), p).all(), f"layer {i} sinks"


def pairs(rules: list[Rule]) -> list[Any]:
    return [
        pytest.param(name, rule, id=f"{name}-{rule.describe()}")
        for name in sorted(BUILDERS)
        for rule in rules
    ]


@pytest.mark.parametrize(("name", "rule"), pairs(RULES))
@pytest.mark.parametrize("seed", SEEDS)
def test_the_core_evaluation_lies_inside_for_every_rule(name: str, seed: int, rule: Rule) -> None:
    cnn, x, classes = draw(name, seed)
    check_core(cnn, x, classes, CNNRules(weighted=rule, pooling=rule, batch_norm=rule, sums=rule))


@pytest.mark.parametrize("name", ["plain", "reflect", "circular", "mapped", "residual"])
@pytest.mark.parametrize("seed", range(2))
def test_z_box_at_the_first_layer_and_epsilon_above_lie_inside(name: str, seed: int) -> None:
    cnn, x, classes = draw(name, seed)
    count = len(weighted_layers(cnn.layers))
    rules = CNNRules(weighted=(ZBox(-4.0, 4.0), *[Epsilon(0.25)] * (count - 1)))
    check_core(cnn, x, classes, rules)


@pytest.mark.parametrize(("name", "rule"), pairs([Flat(), Flat(1e-6)]))
@pytest.mark.parametrize("seed", range(2))
def test_the_flat_rule_at_every_layer_kind_lies_inside(name: str, rule: Rule, seed: int) -> None:
    """Flat counts connections (a tap of weight 0 is one, a zero padding's is none): its
    enclosure is w²'s on the matrix of the layer's connections."""
    cnn, x, classes = draw(name, seed)
    check_core(cnn, x, classes, CNNRules(weighted=rule, pooling=rule, batch_norm=rule, sums=rule))


def test_the_flat_rule_counts_a_tap_of_weight_zero() -> None:
    """A 2-tap convolution whose second weight is 0: both inputs of a window share alike."""
    conv = Conv(np.array([[[1.0, 0.0]]]))
    cnn = CNN((conv, Flatten(), Dense(np.ones((2, 1)), None)), (1, 3))
    x = np.array([[[1.0, 2.0, 3.0]]])
    R = enclose_cnn_relevance(cnn, enclose_cnn_forward(cnn, x), np.array([0]), Flat())[0].R
    # logit 3 (= 1 + 2): 1.5 per window, split in halves: 0.75, 1.5, 0.75
    assert np.array_equal(R.mid, np.array([[[0.75, 1.5, 0.75]]]))


@pytest.mark.parametrize("rule", [Flat(), WSquare()], ids=lambda r: r.name)
def test_an_input_blind_rule_at_a_constant_padding_with_a_constant_input_is_refused(
    rule: Rule,
) -> None:
    """net3's constant input beside a non-zero constant padding: the enclosure would count the
    frame's connections twice (the gate's net3 has no constant padding of its own)."""
    conv = Conv(
        np.array([[[1.0, 2.0, -1.0]]]),
        np.array([0.25]),
        padding=1,
        padding_mode="constant",
        padding_value=2.0,
        constant=np.array([[0.5, -1.0, 2.0]]),
    )
    cnn = CNN((conv, ReLU(), Flatten(), Dense(np.ones((3, 1)), None)), (1, 3))
    x = np.array([[[1.0, 0.5, 3.0]]])
    with pytest.raises(NotImplementedError, match=r"layer 0: .* constant input"):
        enclose_cnn_relevance(cnn, enclose_cnn_forward(cnn, x), np.array([0]), rule)


@pytest.mark.parametrize("seed", range(3))
def test_z_box_at_a_constant_padding_reads_the_frame_as_ordinary_sources(seed: int) -> None:
    """z^B boxes the inputs, not the frame: the frame's taps are x w, a sink (Rp)."""
    cnn, x, classes = draw("constant", seed)
    count = len(weighted_layers(cnn.layers))
    check_core(cnn, x, classes, CNNRules(weighted=(ZBox(-3.0, 3.0), *[LRP0()] * (count - 1))))


def as_float32(cnn: CNN) -> CNN:
    def cast(layer: Any) -> Any:
        if isinstance(layer, Conv):
            return dataclasses.replace(
                layer,
                weight=layer.weight.astype(np.float32),
                bias=None if layer.bias is None else layer.bias.astype(np.float32),
            )
        if isinstance(layer, Dense):
            return Dense(layer.W.astype(np.float32), layer.linear.b.astype(np.float32))
        if isinstance(layer, BatchNorm):
            return BatchNorm(
                *(v.astype(np.float32) for v in (layer.gamma, layer.beta, layer.mean, layer.var)),
                eps=layer.eps,
            )
        if isinstance(layer, Residual):
            down = None if layer.downsample is None else cast(layer.downsample)
            return Residual(tuple(cast(sub) for sub in layer.branch), down)
        return layer

    return CNN(tuple(cast(layer) for layer in cnn.layers), cnn.input_shape)


@pytest.mark.parametrize(
    ("name", "rule"), pairs([LRP0(), Epsilon(0.25), AlphaBeta(2.0, 1.0), Gamma(0.25)])
)
def test_float32_evaluation_lies_inside_the_float32_enclosure(name: str, rule: Rule) -> None:
    cnn, x, classes = draw(name, 5)
    check_core(as_float32(cnn), x.astype(np.float32), classes, rule)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
@pytest.mark.parametrize("seed", range(4))
def test_the_unrolled_dense_network_lies_inside(seed: int, rule: Rule) -> None:
    cnn, x, classes = draw("plain", seed)
    network = unroll(cnn)
    flat = x.reshape(x.shape[0], -1)
    trace = dense_forward(network, flat)
    relevance = dense_lrp(network, trace, dense_logit_relevance(network, trace, classes), rule)
    balls = enclose_cnn_forward(cnn, x)
    enclosed = enclose_cnn_relevance(cnn, balls, classes, rule)
    assert inside(balls.logits, trace.z[-1]).all()
    assert inside(
        enclose_cnn_gradient(cnn, balls, classes), dense_gradient(network, trace, classes)
    ).all()
    assert inside(enclosed[0].R, relevance.input.reshape(x.shape)).all()


@pytest.mark.parametrize("seed", range(4))
def test_a_folded_batch_norm_lies_inside_the_unfused_enclosure(seed: int) -> None:
    rng = np.random.default_rng(seed)
    first, bn = conv(rng, 3, 2, (3, 3), padding=1), norm(rng, 3)
    tail = (ReLU(), Flatten(), Dense(rng.normal(size=(75, 2)), rng.normal(size=2)))
    cnn = CNN((first, bn, *tail), (2, 5, 5))
    fused = CNN((fold_into_left(first, bn), *tail), (2, 5, 5))
    x = rng.normal(size=(3, 2, 5, 5))
    classes = rng.integers(0, 2, size=3)
    balls = enclose_cnn_forward(cnn, x)
    trace = forward(fused, x)
    assert inside(balls.logits, trace.logits).all()
    assert inside(balls.outputs[1], trace.outputs[0]).all()
    assert inside(enclose_cnn_gradient(cnn, balls, classes), gradient(fused, trace, classes)).all()


# --------------------------------------------------------------------------------------------
# Hard cases.


def tied_pool(rng: np.random.Generator) -> tuple[CNN, np.ndarray]:
    """Max pooling first, on inputs with exact and one-ulp ties in overlapping windows."""
    cnn = CNN(
        (
            MaxPool(3, stride=1),
            conv(rng, 2, 1, (2, 2)),
            ReLU(),
            Flatten(),
            Dense(rng.normal(size=(8, 2)), rng.normal(size=2)),
        ),
        (1, 5, 5),
    )
    x = rng.normal(size=(3, 1, 5, 5))
    x[:, 0, 2, 2] = 4.0
    x[:, 0, 2, 3] = 4.0  # an exact tie shared by overlapping windows
    x[1, 0, 2, 3] = np.nextafter(4.0, 0.0)  # one ulp apart
    x[2, 0, 1, 1] = x[2, 0, 3, 3] = 4.0  # three-way
    return cnn, x


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
@pytest.mark.parametrize("seed", SEEDS)
def test_ties_in_max_pooling_lie_inside(seed: int, rule: Rule) -> None:
    cnn, x = tied_pool(np.random.default_rng(seed))
    classes = np.array([0, 1, 0])
    check_core(cnn, x, classes, rule)
    check_literal(cnn, x[:2], classes[:2], Arith(exact=True), 0.0)


def test_every_tie_break_that_conserves_lies_inside() -> None:
    """torch routes a tie to one of its maxima: the first or the last, both are inside."""
    cnn, x = tied_pool(np.random.default_rng(0))
    classes = np.array([0, 1, 0])
    balls = enclose_cnn_forward(cnn, x)
    pool_balls = enclose_cnn_relevance(cnn, balls, classes, LRP0())[0]
    trace = forward(cnn, x)
    R_out = lrp(cnn, trace, logit_relevance(cnn, trace, classes), LRP0()).layers[0].R_out
    for pick in (0, -1):
        routed = route_one(cnn.layers[0], x, R_out, pick)
        assert inside(pool_balls.R, routed).all()
        assert inside(pool_balls.total, routed.reshape(3, -1).sum(axis=1)).all()


def route_one(pool: MaxPool, a: np.ndarray, R: np.ndarray, pick: int) -> np.ndarray:
    """Winner-take-all with a tie given whole to one maximum (``pick``: first or last)."""
    out = np.zeros_like(a)
    windows = pool.windows(np.arange(a.size, dtype=np.float64).reshape(a.shape))
    values = pool.windows(a)
    for index in np.ndindex(R.shape):
        window, ids = values[index].ravel(), windows[index].ravel()
        winners = ids[window == window.max()]
        flat = int(winners[pick])
        out.flat[flat] += R[index]
    return out


def test_tie_routed_to_both_maxima_lies_outside() -> None:
    """The max_unpool defect: both maxima of a tie get the whole relevance (twice it)."""
    cnn, x = tied_pool(np.random.default_rng(0))
    classes = np.array([0, 1, 0])
    balls = enclose_cnn_forward(cnn, x)
    pool_balls = enclose_cnn_relevance(cnn, balls, classes, LRP0())[0]
    trace = forward(cnn, x)
    R_out = lrp(cnn, trace, logit_relevance(cnn, trace, classes), LRP0()).layers[0].R_out
    doubled = route_all(cnn.layers[0], x, R_out)
    assert not inside(pool_balls.total, doubled.reshape(3, -1).sum(axis=1))[[0, 2]].any()


def route_all(pool: MaxPool, a: np.ndarray, R: np.ndarray) -> np.ndarray:
    out = np.zeros_like(a)
    windows = pool.windows(np.arange(a.size, dtype=np.float64).reshape(a.shape))
    values = pool.windows(a)
    for index in np.ndindex(R.shape):
        window, ids = values[index].ravel(), windows[index].ravel()
        for flat in ids[window == window.max()]:
            out.flat[int(flat)] += R[index]
    return out


def on_kinks(rng: np.random.Generator) -> tuple[CNN, np.ndarray]:
    """Integer data whose first pre-activations are exactly 0 at some units."""
    weight = rng.integers(-2, 3, size=(2, 1, 2, 2)).astype(np.float64)
    first = Conv(weight, np.zeros(2))
    cnn = CNN(
        (first, ReLU(), Flatten(), Dense(rng.normal(size=(32, 2)), rng.normal(size=2))), (1, 5, 5)
    )
    x = rng.integers(-1, 2, size=(3, 1, 5, 5)).astype(np.float64)
    return cnn, x


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
@pytest.mark.parametrize("seed", SEEDS)
def test_pre_activations_on_their_kinks_lie_inside(seed: int, rule: Rule) -> None:
    cnn, x = on_kinks(np.random.default_rng(seed))
    assert np.any(forward(cnn, x).outputs[0] == 0)  # the case is there
    classes = np.array([0, 1, 1])
    check_core(cnn, x, classes, rule)
    check_literal(cnn, x[:1], classes[:1], Arith(exact=True), 0.0)


@pytest.mark.parametrize(
    "rule", [LRP0(), AlphaBeta(2.0, 1.0), Gamma(0.25)], ids=lambda r: r.describe()
)
@pytest.mark.parametrize("scale", [2.0**60, 2.0**-60])
@pytest.mark.parametrize("name", ["plain", "reflect", "residual"])
def test_extreme_scales_lie_inside(name: str, scale: float, rule: Rule) -> None:
    cnn, x, classes = draw(name, 2, scale)
    check_core(cnn, x, classes, rule)
    check_literal(cnn, x[:1], classes[:1], Arith(exact=False, order=reversed_order), 0.0)


def test_a_certain_winner_takes_all_exactly() -> None:
    """Away from ties the routing is exact: nothing reaches an entry that cannot win."""
    rng = np.random.default_rng(4)
    cnn, _ = tied_pool(rng)
    x = np.arange(25.0).reshape(1, 1, 5, 5) * rng.permutation([1.0, -1.0])[0]
    balls = enclose_cnn_forward(cnn, x)
    pool = enclose_cnn_relevance(cnn, balls, np.array([1]), LRP0())[0]
    trace = forward(cnn, x)
    winners = route_all(cnn.layers[0], x, np.ones_like(trace.outputs[0])) > 0
    assert np.all(pool.R.mid[~winners] == 0) and np.all(pool.R.rad[~winners] == 0)


def test_a_weight_whose_square_underflows_may_keep_back_all_relevance() -> None:
    """w² at a batch norm scale of 5e-277: the square is 0 in floats (the unit passes nothing,
    its relevance is a sink), not in exact arithmetic (it passes everything); both are inside
    (drawn-CNN campaign, seed 101)."""
    rng = np.random.default_rng(0)
    tiny = BatchNorm.affine(np.array([1.0, 5e-277]), np.array([0.5, 1.0]))
    cnn = CNN(
        (conv(rng, 2, 1, (2,)), tiny, ReLU(), Flatten(), Dense(rng.normal(size=(6, 2)), None)),
        (1, 4),
    )
    x = rng.normal(size=(2, 1, 4))
    rules = CNNRules(weighted=WSquare(), batch_norm=WSquare())
    check_core(cnn, x, np.array([0, 1]), rules)


# --------------------------------------------------------------------------------------------
# Mutants lie outside.


def test_a_wrong_padding_mode_lies_outside() -> None:
    cnn, x, _ = draw("reflect", 0)
    wrong = dataclasses.replace(cnn.layers[0], padding_mode="zeros")
    mutant = wrong.forward(x)
    assert not inside(enclose_cnn_forward(cnn, x).outputs[0], mutant).all()


def test_a_dropped_dilation_lies_outside() -> None:
    """Kernel 3 with dilation 2 and padding 2 against dilation 1 and padding 1: the same
    output shape, another function."""
    rng = np.random.default_rng(3)
    layer = conv(rng, 2, 2, (3, 3), padding=2, dilation=2)
    cnn = CNN((layer, ReLU(), Flatten(), Dense(rng.normal(size=(50, 2)), np.zeros(2))), (2, 5, 5))
    x = rng.normal(size=(2, 2, 5, 5))
    dropped = dataclasses.replace(layer, padding=1, dilation=1).forward(x)
    assert not inside(enclose_cnn_forward(cnn, x).outputs[0], dropped).all()


def test_relevance_doubled_at_a_residual_sum_lies_outside() -> None:
    """The whole relevance handed to both summands, ``out + identity``'s defect."""
    cnn, x, classes = draw("residual", 0)
    balls = enclose_cnn_forward(cnn, x)
    block = enclose_cnn_relevance(cnn, balls, classes, LRP0())[2].block
    assert block is not None
    trace = forward(cnn, x)
    R_out = lrp(cnn, trace, logit_relevance(cnn, trace, classes), LRP0()).layers[2].R_out
    both = np.stack([R_out, R_out], axis=1)
    assert not inside(block.sum.total, both.reshape(len(x), -1).sum(axis=1)).any()
    assert not inside(block.sum.R, both).all()


# --------------------------------------------------------------------------------------------
# Not vacuous.


def test_the_first_layer_radius_is_within_twice_the_textbook_bound() -> None:
    """``2 γ_k Σ|terms|`` with ``k`` the connections per output (and the widening's few ulps)."""
    cnn, x, _ = draw("plain", 0)
    layer = cnn.layers[0]
    assert isinstance(layer, Conv)
    op = layer.operator(cnn.input_shape)
    terms = op.product(np.abs(x), "pos") - op.product(np.abs(x), "neg") + np.abs(op.bias)
    textbook = F64.gamma(terms_per_output(op)) * terms
    assert np.all(enclose_cnn_forward(cnn, x).outputs[0].rad <= 2 * textbook * (1 + 1e-3))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.describe())
@pytest.mark.parametrize("seed", range(4))
def test_the_enclosure_is_no_wider_than_the_unrolled_dense_one(seed: int, rule: Rule) -> None:
    """The dense enclosures of the unrolled network are the ceiling: the forward pass and the
    gradient counted by receptive field are narrower, the relevance the same up to rounding."""
    cnn, x, classes = draw("plain", seed)
    network = unroll(cnn)
    flat = x.reshape(x.shape[0], -1)
    dense = enclose_forward(network, Ball.exact(flat))
    balls: CNNBalls = enclose_cnn_forward(cnn, x)
    assert np.all(balls.logits.rad <= dense.z[-1].rad)
    grad = enclose_cnn_gradient(cnn, balls, classes).rad.reshape(flat.shape)
    assert np.all(grad <= enclose_gradient(network, dense, classes).rad * (1 + 1e-6))
    cnn_R = enclose_cnn_relevance(cnn, balls, classes, rule)[0].R.rad.reshape(flat.shape)
    dense_R = enclose_relevance(network, dense, classes, rule)[0].R.rad
    # and what rescaling a sample whose quotients overflow may lose, far below the relevance
    R_upper = enclose_cnn_relevance(cnn, balls, classes, rule)[-1].R_out.upper.max(axis=1)
    widths = [layer.W.shape for layer in network.layers]
    rescaling = sum(
        _rescaling_loss(R_upper, i + o + 8, np.dtype(np.float64), F64) for i, o in widths
    )
    assert np.all(cnn_R <= 2 * dense_R + 8 * F64.eta + len(widths) * rescaling[:, None])


@pytest.mark.parametrize("rule", [LRP0(), Epsilon(1e-9)], ids=lambda r: r.describe())
def test_conservation_is_bounded_where_a_pre_activation_cancels_to_zero(rule: Rule) -> None:
    """x1 - x2 with x1 == x2: the pre-activation's ball holds 0 (its sign and, for LRP-0, its
    size are unknown), yet the unit's share is at most its relevance over ``|z| + ε`` (or the
    grain of the sum): conservation keeps a bound near the logit's rounding, and the core's
    own pass lies within it."""
    difference, copy = Conv(np.array([[[1.0, -1.0]]]), None), Conv(np.array([[[1.0]]]), None)
    layers = (difference, copy, ReLU(), Flatten())  # no ReLU between: the sign is unknown
    cnn = CNN((*layers, Dense(np.ones((2, 1)), np.zeros(1))), (1, 3))
    x = np.array([[[0.1, 0.1, -0.4]]])
    balls = enclose_cnn_forward(cnn, Ball.exact(x), F64)
    assert balls.outputs[0].mid[0, 0, 0] == 0 and balls.outputs[0].rad[0, 0, 0] > 0
    held = lrp_method(rule).cnn_conservation(cnn, balls, np.array([0]), F64)
    logit = held.logit.mid[0]
    assert held.rounding[0] < 1e-12 * logit and held.unassigned.rad[0] < 1e-12 * logit
    relevance = lrp(cnn, forward(cnn, x), logit_relevance(cnn, forward(cnn, x), [0]), rule)
    allowed = held.rounding[0] + held.unassigned.rad[0]
    assert abs(relevance.input[0].sum() - (logit - held.unassigned.mid[0])) <= allowed
