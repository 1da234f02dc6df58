"""Exact integrated gradients and DeepLIFT-Rescale on CNNs (:mod:`lrp_invariants.cnn.integrated`,
:mod:`lrp_invariants.cnn.deeplift`).

Tolerances: on CNNs that unroll into dense ReLU networks (zero padding, so every matrix entry is
a weight the CNN multiplies), every comparison is held to the dense enclosures of the exact
values (:mod:`lrp_invariants.bounds.integrated`, :mod:`lrp_invariants.bounds.deeplift`), which
contain every correct evaluation in any summation order, the CNN's included. The hand-built
cases use small dyadic numbers whose every operation is exact in float64, so they are held to
equality; the linear CNN's IG and gradient come from the same arithmetic, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrp_invariants import strategies as lst
from lrp_invariants.bounds import Ball, Precision, agreement_tolerance, enclose_forward
from lrp_invariants.bounds.balls import add
from lrp_invariants.bounds.deeplift import enclose_deeplift
from lrp_invariants.bounds.integrated import enclose_integrated_gradients
from lrp_invariants.cnn import CNN, Conv, Dense, Flatten, MaxPool, ReLU, forward, gradient
from lrp_invariants.cnn.deeplift import deeplift_rescale, max_pool_share
from lrp_invariants.cnn.integrated import envelope_kinks, integrated_gradients, paths
from lrp_invariants.cnn.model import LINEAR_KINDS
from lrp_invariants.cnn.unroll import unroll
from lrp_invariants.deeplift import deeplift_rescale as dense_deeplift
from lrp_invariants.integrated import integrated_gradients as dense_ig
from lrp_invariants.integrated import paths as dense_paths
from lrp_invariants.invariants.baselines import completeness_comparison

from .example_counts import scaled

F64 = np.float64
P = Precision.of(F64)


def _alternating(cnn: CNN) -> CNN:
    """``cnn`` with a ReLU put between any two linear layers (Flatten skipped) and none twice:
    a CNN that :func:`unroll` turns into a dense ReLU network."""
    layers: list[Any] = []
    last_linear = False
    for layer in cnn.layers:
        if isinstance(layer, ReLU):
            if last_linear:
                layers.append(layer)
            last_linear = False
        elif isinstance(layer, LINEAR_KINDS):
            if last_linear:
                layers.append(ReLU())
            layers.append(layer)
            last_linear = True
        else:
            layers.append(layer)
    return CNN(tuple(layers), cnn.input_shape)


@st.composite
def unrollable_cases(draw: st.DrawFn) -> tuple[CNN, np.ndarray, np.ndarray, np.ndarray]:
    """A CNN of zero-padded convolutions, batch norms, average pooling and ReLUs, a batch, a
    baseline per sample (another draw: kinks and ties on the path) and a class per sample."""
    drawn = draw(
        lst.cnns(
            max_blocks=2,
            max_channels=2,
            sizes=(3, 6),
            padding_modes=("zeros",),
            pooling=("avg",),
            residual=False,
            scale_exponents=(-4, 4),
        )
    )
    cnn = _alternating(drawn)
    x = draw(lst.cnn_inputs(cnn, max_batch=3))
    x0 = draw(lst.cnn_inputs(cnn, min_batch=x.shape[0], max_batch=x.shape[0]))
    classes = np.array(
        draw(st.lists(st.integers(0, cnn.n_outputs - 1), min_size=len(x), max_size=len(x))),
        dtype=np.intp,
    )
    return cnn, x, x0, classes


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(a.shape[0], -1)


def _enclosures(cnn: CNN, x: np.ndarray, x0: np.ndarray, classes: np.ndarray) -> dict[str, Any]:
    """The unrolled network and its derived enclosures of both methods' exact values."""
    network = unroll(cnn)
    fwd = enclose_forward(network, Ball.exact(_flat(x)), p=P)
    ref = enclose_forward(network, Ball.exact(_flat(x0)), p=P)
    breakpoints = [path.t for path in dense_paths(network, _flat(x), classes, _flat(x0))]
    ig = enclose_integrated_gradients(network, fwd.a[0], ref.a[0], breakpoints, classes, P)
    delta = add(fwd.a[0], Ball(-ref.a[0].mid, ref.a[0].rad), P)
    dl = enclose_deeplift(network, fwd, ref, delta, classes, P)
    return {"network": network, "forward": fwd, "reference": ref, "ig": ig, "dl": dl}


def _within(computed: np.ndarray, ball: Ball) -> None:
    """A correct evaluation lies in the enclosure of the exact value: within its radius of the
    midpoint's evaluation's ball, i.e. |computed - mid| <= 2 rad (both in the ball)."""
    gap = np.abs(_flat(computed) - ball.mid)
    assert np.all(gap <= agreement_tolerance(ball, ball) / 2), (gap.max(), ball.rad.max())


# --------------------------------------------------------------------------------------------
# Against the unrolled dense network (derived enclosures).


@settings(max_examples=scaled(60))
@given(unrollable_cases())
def test_integrated_gradients_on_a_cnn_are_those_of_its_unrolled_network(case: Any) -> None:
    cnn, x, x0, classes = case
    enclosures = _enclosures(cnn, x, x0, classes)
    _within(integrated_gradients(cnn, x, classes, x0), enclosures["ig"])
    _within(dense_ig(enclosures["network"], _flat(x), classes, _flat(x0)), enclosures["ig"])


@settings(max_examples=scaled(60))
@given(unrollable_cases())
def test_deeplift_on_a_cnn_is_deeplift_on_its_unrolled_network(case: Any) -> None:
    cnn, x, x0, classes = case
    enclosures = _enclosures(cnn, x, x0, classes)
    _within(deeplift_rescale(cnn, x, classes, x0), enclosures["dl"])
    _within(dense_deeplift(enclosures["network"], _flat(x), classes, _flat(x0)), enclosures["dl"])


@settings(max_examples=scaled(60))
@given(unrollable_cases())
def test_both_methods_add_up_to_the_difference_of_the_logits(case: Any) -> None:
    cnn, x, x0, classes = case
    enclosures = _enclosures(cnn, x, x0, classes)
    for method, key in ((integrated_gradients, "ig"), (deeplift_rescale, "dl")):
        R = _flat(method(cnn, x, classes, x0))
        comparison = completeness_comparison(
            R, enclosures["forward"], enclosures["reference"], enclosures[key], classes, P
        )
        assert comparison.holds(), (method.__name__, comparison)


@settings(max_examples=scaled(40))
@given(unrollable_cases())
def test_each_sample_gets_the_same_attribution_alone_as_in_its_batch(case: Any) -> None:
    cnn, x, x0, classes = case
    enclosures = _enclosures(cnn, x, x0, classes)
    for method, key in ((integrated_gradients, "ig"), (deeplift_rescale, "dl")):
        batched = method(cnn, x, classes, x0)
        for i in range(len(x)):
            alone = method(cnn, x[i : i + 1], classes[i : i + 1], x0[i : i + 1])
            gap = np.abs(_flat(alone)[0] - _flat(batched)[i])
            ball = enclosures[key]
            assert np.all(gap <= agreement_tolerance(ball[i], ball[i])), method.__name__


# --------------------------------------------------------------------------------------------
# Exact cases (dyadic numbers: every operation below is exact in float64).


def _relu_cnn() -> CNN:
    """``f(x) = relu(x_1 - 1) + relu(x_2 - 1)`` on two pixels."""
    conv = Conv(np.ones((1, 1, 1)), np.array([-1.0]))
    return CNN((conv, ReLU(), Flatten(), Dense(np.ones((2, 1)))), (1, 2))


def test_one_kink_on_the_path_gives_the_hand_computed_integral() -> None:
    # from 0 to (4, 0): pixel 1 crosses its kink at t = 1/4, pixel 2 stays at -1
    x, x0 = np.array([[[4.0, 0.0]]]), np.zeros((1, 1, 2))
    (path,) = paths(_relu_cnn(), x, [0], x0)
    np.testing.assert_array_equal(path.t, [0.0, 0.25, 1.0])
    np.testing.assert_array_equal(integrated_gradients(_relu_cnn(), x, [0], x0), [[[3.0, 0.0]]])


def test_deeplift_at_one_relu_is_the_secant_slope() -> None:
    # pixel 1: z from -1 to 3, multiplier 3 / 4, relevance 4 * 3 / 4
    x = np.array([[[4.0, 0.0]]])
    np.testing.assert_array_equal(deeplift_rescale(_relu_cnn(), x, [0]), [[[3.0, 0.0]]])


def _overlapping_pool_cnn() -> CNN:
    """``f(a) = max(a_0, a_1) + max(a_1, a_2)``: windows of 2 at stride 1 share ``a_1``."""
    return CNN((MaxPool(2, stride=1, dims=1), Flatten(), Dense(np.ones((2, 1)))), (1, 3))


OVERLAP_X = np.array([[[6.0, 0.0, 2.0]]])
OVERLAP_X0 = np.array([[[0.0, 2.0, 0.0]]])
OVERLAP_RELEVANCE = np.array([[[4.5, -1.5, 1.0]]])
"""From (0, 2, 0) to (6, 0, 2): window 1's winner changes at t = 1/4, window 2's at t = 1/2;
IG = (6 * 3/4, -2 * (1/4 + 1/2), 2 * 1/2). DeepLIFT: window 1 passes Δmax = 4 = 3/4 * 6 +
1/4 * (-2), window 2 passes 0 = 1/2 * 2 + 1/2 * (-2): the same relevance; the sum is 8 - 4."""


def test_integrated_gradients_follow_winner_changes_in_overlapping_windows() -> None:
    cnn = _overlapping_pool_cnn()
    (path,) = paths(cnn, OVERLAP_X, [0], OVERLAP_X0)
    np.testing.assert_array_equal(path.t, [0.0, 0.25, 0.5, 1.0])
    R = integrated_gradients(cnn, OVERLAP_X, [0], OVERLAP_X0)
    np.testing.assert_array_equal(R, OVERLAP_RELEVANCE)


def test_deeplift_passes_each_windows_difference_in_overlapping_windows() -> None:
    cnn = _overlapping_pool_cnn()
    share = max_pool_share(cnn.layers[0], OVERLAP_X, OVERLAP_X0)
    np.testing.assert_array_equal(share, [[[0.75, 0.5]]])
    R = deeplift_rescale(cnn, OVERLAP_X, [0], OVERLAP_X0)
    np.testing.assert_array_equal(R, OVERLAP_RELEVANCE)
    logits = forward(cnn, OVERLAP_X).logits - forward(cnn, OVERLAP_X0).logits
    assert R.sum() == logits[0, 0] == 4.0


def test_deeplift_max_pooling_of_a_zero_and_a_unit_is_the_relus_rescale() -> None:
    # max(z, 0) with z from -1 to 3 is relu: the share of the input's winner is 3 / 4
    a, a0 = np.array([[[3.0, 0.0]]]), np.array([[[-1.0, 0.0]]])
    np.testing.assert_array_equal(max_pool_share(MaxPool(2, dims=1), a, a0), [[[0.75]]])


def _tied_pool_cnn() -> CNN:
    return CNN((MaxPool(2, dims=1), Flatten(), Dense(np.ones((1, 1)))), (1, 2))


def test_a_tie_along_the_whole_path_is_no_kink_and_splits_evenly() -> None:
    # max(x_1, x_2) from 0 to (1, 1): the inputs are equal all along the path
    x = np.ones((1, 1, 2))
    (path,) = paths(_tied_pool_cnn(), x, [0])
    np.testing.assert_array_equal(path.t, [0.0, 1.0])
    np.testing.assert_array_equal(integrated_gradients(_tied_pool_cnn(), x, [0]), [[[0.5, 0.5]]])
    np.testing.assert_array_equal(deeplift_rescale(_tied_pool_cnn(), x, [0]), [[[0.5, 0.5]]])


def test_another_tie_break_changes_the_attributions_but_not_their_sum() -> None:
    # torch's winner-take-one routes the tied window's gradient to the first maximum: (1, 0).
    # Both are subgradients along the path, whose directional derivative is the same.
    x = np.ones((1, 1, 2))
    even = integrated_gradients(_tied_pool_cnn(), x, [0])
    first = x * np.array([1.0, 0.0])
    assert even.sum() == first.sum() == forward(_tied_pool_cnn(), x).logits[0, 0]
    assert not np.array_equal(even, first)


def test_the_envelope_walks_every_winner_in_order_of_slope() -> None:
    # lines 1 - s, 0.75 (flat), 2 s - 0.5, and a copy of the first (a tie all along: no kink);
    # 2 s - 0.5 overtakes 1 - s at 1/2, but the flat line has taken over at 1/4 already
    a = np.array([[1.0, 0.75, -0.5, 1.0]])
    b = np.array([[0.0, 0.75, 1.5, 0.0]])
    rows, s = envelope_kinks(a, b)
    np.testing.assert_array_equal(rows, [0, 0])
    np.testing.assert_array_equal(s, [0.25, 0.625])


# --------------------------------------------------------------------------------------------
# A CNN that is linear along the path.


@settings(max_examples=scaled(40))
@given(
    lst.cnns(max_blocks=2, pooling=("avg",), residual=False).map(
        lambda cnn: CNN(tuple(k for k in cnn.layers if not isinstance(k, ReLU)), cnn.input_shape)
    ),
    st.data(),
)
def test_integrated_gradients_without_a_kink_are_gradient_times_the_difference(
    cnn: CNN, data: st.DataObject
) -> None:
    # one segment of length 1: IG = (x - x0) * (1 * g), g computed by the same code as the
    # gradient (which does not depend on the point): equal bit for bit
    x = data.draw(lst.cnn_inputs(cnn, max_batch=2))
    x0 = data.draw(lst.cnn_inputs(cnn, min_batch=len(x), max_batch=len(x)))
    classes = np.zeros(len(x), dtype=np.intp)
    g = gradient(cnn, forward(cnn, x), classes)
    np.testing.assert_array_equal(integrated_gradients(cnn, x, classes, x0), (x - x0) * g)


# --------------------------------------------------------------------------------------------
# Arguments.


def test_a_baseline_of_the_wrong_shape_is_refused_before_any_work() -> None:
    with pytest.raises(ValueError, match="baseline has shape"):
        integrated_gradients(_relu_cnn(), np.ones((1, 1, 2)), [0], np.zeros(3))
    with pytest.raises(ValueError, match="reference has shape"):
        deeplift_rescale(_relu_cnn(), np.ones((1, 1, 2)), [0], np.zeros((2, 1, 2)))


def test_user_arrays_are_not_modified() -> None:
    x, x0 = OVERLAP_X.copy(), OVERLAP_X0.copy()
    integrated_gradients(_overlapping_pool_cnn(), x, [0], x0)
    deeplift_rescale(_overlapping_pool_cnn(), x, [0], x0)
    np.testing.assert_array_equal(x, OVERLAP_X)
    np.testing.assert_array_equal(x0, OVERLAP_X0)
