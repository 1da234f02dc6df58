"""The seed's four invariants on CNNs: net2 (the input shifted by ``m``, the first convolution's
bias compensating it, as a bias map where zero or constant padding makes it position
dependent) has net1's activations and gradient; relevance is conserved layer by layer with every
sink counted (bias, batch norm shift, constant padding, stabiliser, net3's ``-m``); and net3,
taking ``-m`` as a constant input through the first convolution, splits net1's heatmap into
``rx3 + rm3`` for every padding mode.

The CNNs are drawn with small integer parameters and inputs, so every forward sum is exact: net1
and net2 then agree bit for bit at every layer, which is what the invariants say in exact
arithmetic; relevance divides, and its tolerances are derived from the terms' magnitudes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tests.cnn_helpers import conservation_bounds

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Flat, Gamma, Rule, WSquare, ZPlus
from lrp_invariants import strategies as lst
from lrp_invariants.bounds import Precision
from lrp_invariants.cnn import (
    CNN,
    AvgPool,
    CNNRules,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    explain,
    forward,
    gradient,
)
from lrp_invariants.cnn.constructions import compensate_shift, shift_as_input, without_sources
from lrp_invariants.cnn.geometry import PADDING_MODES
from lrp_invariants.network import Array

P = Precision.of(np.float64)


@dataclass(frozen=True)
class CNNSeedCase:
    net1: CNN
    x1: Array
    m: Array
    classes: Array

    @property
    def x2(self) -> Array:
        return self.x1 + self.m


def _integers(draw: st.DrawFn, shape: tuple[int, ...], low: int = -3, high: int = 3) -> Array:
    values = draw(
        st.lists(st.integers(low, high), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))
    )
    return np.array(values, dtype=np.float64).reshape(shape)


@st.composite
def cnn_seed_cases(draw: st.DrawFn) -> CNNSeedCase:
    """A small integer CNN (a first convolution of any padding mode, stride, dilation and
    groups, a pooling layer, a second convolution, a dense head), a batch and a shift."""
    dims = draw(st.sampled_from([1, 2]))
    channels = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, channels]))
    out_channels = groups * draw(st.integers(1, 2))
    mode = draw(st.sampled_from(PADDING_MODES))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    spatial = []
    padding = []
    for k, d in zip(kernel, dilation, strict=True):
        span = d * (k - 1) + 1
        size = draw(st.integers(max(3, span), 7))
        limit = min(k, size - 1) if mode == "reflect" else k
        padding.append((draw(st.integers(0, limit)), draw(st.integers(0, limit))))
        spatial.append(size)
    value = float(draw(st.integers(-2, 2))) if mode == "constant" else 0.0
    first = Conv(
        _integers(draw, (out_channels, channels // groups, *kernel)),
        _integers(draw, (out_channels,)) if draw(st.booleans()) else None,
        stride=stride,
        padding=tuple(padding),
        padding_mode=mode,
        padding_value=value,
        dilation=dilation,
        groups=groups,
    )
    shape = (channels, *spatial)
    layers: list[object] = [first, ReLU()]
    after = first.output_shape(shape)
    pooling = draw(st.sampled_from(["none", "max", "average"]))
    if pooling != "none" and min(after[1:]) >= 2:
        layers += [MaxPool(2, 1, dims=dims) if pooling == "max" else AvgPool(2, 1, dims=dims)]
    second = Conv(
        _integers(draw, (2, out_channels, *(3,) * dims)), _integers(draw, (2,)), padding=1
    )
    layers += [second, ReLU(), Flatten()]
    probe = CNN((*layers,), shape)  # type: ignore[arg-type]
    features = probe.output_shape[0]
    layers.append(Dense(_integers(draw, (features, 2)), _integers(draw, (2,))))
    net1 = CNN(tuple(layers), shape)  # type: ignore[arg-type]
    n = draw(st.integers(1, 3))
    x1 = _integers(draw, (n, *shape))
    if draw(st.booleans()):  # a constant shift of each channel
        m = np.broadcast_to(_integers(draw, (channels,) + (1,) * dims), shape).copy()
    else:
        m = _integers(draw, shape)
    classes = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    return CNNSeedCase(net1, x1, m, classes)


@given(cnn_seed_cases())
def test_net2_on_the_shifted_input_has_net1s_activations_at_every_layer(
    case: CNNSeedCase,
) -> None:
    net2 = compensate_shift(case.net1, case.m)
    one, two = forward(case.net1, case.x1), forward(net2, case.x2)
    for layer, (a, b) in enumerate(zip(one.outputs, two.outputs, strict=True)):
        assert np.array_equal(a, b), layer


@given(cnn_seed_cases())
def test_net2s_bias_is_a_scalar_per_channel_exactly_where_padding_commutes_with_the_shift(
    case: CNNSeedCase,
) -> None:
    first = case.net1.layers[0]
    assert isinstance(first, Conv)
    bias = compensate_shift(case.net1, case.m).layers[0].bias  # type: ignore[union-attr]
    flat = case.m.reshape(case.m.shape[0], -1)
    commutes = first.padding_mode in ("reflect", "replicate", "circular") and np.all(
        flat == flat[:, :1]
    )
    assert bias is not None and (bias.ndim == 1) == bool(commutes)


@given(cnn_seed_cases())
def test_net2s_gradient_on_the_shifted_input_is_net1s(case: CNNSeedCase) -> None:
    net2 = compensate_shift(case.net1, case.m)
    g1 = gradient(case.net1, forward(case.net1, case.x1), case.classes)
    g2 = gradient(net2, forward(net2, case.x2), case.classes)
    assert np.array_equal(g1, g2)


CONSERVING: list[Rule] = [
    LRP0(),
    Epsilon(0.25),
    AlphaBeta(2.0, 1.0),
    ZPlus(),
    Gamma(0.25),
    WSquare(),
    Flat(),
]


@given(cnn_seed_cases(), st.sampled_from(CONSERVING))
def test_relevance_plus_every_sink_at_and_above_is_the_logit_on_net1_net2_and_net3(
    case: CNNSeedCase, rule: Rule
) -> None:
    nets = (
        (case.net1, case.x1),
        (compensate_shift(case.net1, case.m), case.x2),
        (shift_as_input(case.net1, case.m), case.x2),
    )
    for cnn, x in nets:
        rules = CNNRules(weighted=rule, pooling=rule)
        _, relevance = explain(cnn, x, case.classes, rules)
        bound = conservation_bounds(relevance, P)
        for layer in range(len(cnn.layers)):
            residual = relevance.total(layer) - relevance.output_total
            assert np.all(np.abs(residual) <= bound[:, layer]), (repr(cnn), layer)


LINEAR_IN_CONTRIBUTIONS: list[Rule] = [
    LRP0(),
    Epsilon(0.25),
    Gamma(0.5, sign_aware=False, bias="source"),
]


@given(cnn_seed_cases(), st.sampled_from(LINEAR_IN_CONTRIBUTIONS), st.sampled_from(CONSERVING))
def test_net3_splits_net1s_heatmap_into_shifted_input_and_shift(
    case: CNNSeedCase, first: Rule, above: Rule
) -> None:
    assert first.linear_in_contributions
    rules = CNNRules(weighted=(first, above, above), pooling=above)
    _, r1 = explain(case.net1, case.x1, case.classes, rules)
    _, r3 = explain(shift_as_input(case.net1, case.m), case.x2, case.classes, rules)
    rx1, rx3, rm3 = r1.input, r3.input, r3.layers[0].Rm
    assert rm3 is not None
    # the layers above see the same numbers; the first layer's three products by the same
    # per-input factor and one sum differ by at most γ_4 of their magnitudes
    bound = P.gamma(4) * (np.abs(rx1) + np.abs(rx3) + np.abs(rm3))
    assert np.all(np.abs(rx1 - (rx3 + rm3)) <= bound)


@given(lst.cnn_cases(values="integers"))
def test_a_cnn_without_sources_is_positively_homogeneous_bit_for_bit(case: lst.CNNCase) -> None:
    # with no bias, batch norm shift or padding constant, f(2 x) == 2 f(x): doubling is exact
    # in every operation, so the sources the bias proxy would relay are all gone
    cnn = without_sources(case.cnn)
    assert np.array_equal(forward(cnn, 2 * case.x).logits, 2 * forward(cnn, case.x).logits)
