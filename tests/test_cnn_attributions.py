"""Exact integrated gradients and DeepLIFT-Rescale on CNNs (:mod:`lrp_invariants.cnn.integrated`,
:mod:`lrp_invariants.cnn.deeplift`).

Tolerances: on CNNs that unroll into dense ReLU networks (zero padding, so every matrix entry is
a weight the CNN multiplies), every comparison is held to the dense enclosures of the exact
values (:mod:`lrp_invariants.bounds.integrated`, :mod:`lrp_invariants.bounds.deeplift`), which
contain every correct evaluation in any summation order, the CNN's included. On every layer
kind (max pooling, residual blocks, every padding mode) the sums are held to a bound derived
layer by layer from the CNN forward enclosures (:func:`_slack`: the telescoping of
``m . Δa`` through the layers, each layer's defect bounded). The hand-built cases use small
dyadic numbers whose every operation is exact in float64, so they are held to equality; the
linear CNN's IG and gradient come from the same arithmetic, bit for bit.
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
from lrp_invariants.cnn import (
    CNN,
    CNNTrace,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    Residual,
    forward,
    gradient,
)
from lrp_invariants.cnn import integrated as cnn_integrated
from lrp_invariants.cnn.bounds import CNNBalls, enclose_cnn_forward
from lrp_invariants.cnn.deeplift import deeplift_rescale, max_pool_share
from lrp_invariants.cnn.integrated import envelope_kinks, integrated_gradients, paths
from lrp_invariants.cnn.model import LINEAR_KINDS, Layer, operator
from lrp_invariants.cnn.unroll import unroll
from lrp_invariants.deeplift import deeplift_rescale as dense_deeplift
from lrp_invariants.integrated import integrated_gradients as dense_ig
from lrp_invariants.integrated import paths as dense_paths
from lrp_invariants.invariants.baselines import completeness_comparison

from .cnn_helpers import absolute_cnn
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
# Summation-to-delta on any CNN (max pooling, residual blocks, every padding mode).


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape))


def _terms(layer: Layer, shape_in: tuple[int, ...], shape_out: tuple[int, ...]) -> int:
    """A bound on the terms of any one sum of the layer's product or transpose."""
    taps = _size(layer.weight.shape[1:]) if isinstance(layer, Conv) else 1
    return _size(shape_in) + _size(shape_out) * taps + 8


def _relu_defect(z: np.ndarray, z0: np.ndarray, middle: np.ndarray | None) -> np.ndarray:
    """``|r Δz - Δrelu(z)|`` on computed ends, ``r`` the derivative at the segment's middle
    (integrated gradients); None: DeepLIFT's secant, which passes Δrelu(z) exactly (0)."""
    if middle is None:
        return np.zeros_like(z)
    r = (middle > 0).astype(z.dtype)
    result: np.ndarray = np.abs(r * (z - z0) - (np.maximum(z, 0) - np.maximum(z0, 0)))
    return result


def _pool_defect(pool: MaxPool, a: np.ndarray, a0: np.ndarray, middle: np.ndarray) -> np.ndarray:
    """Per window, ``|e Δa - Δmax(a)|`` on computed ends, ``e`` the winners at the middle."""
    with np.errstate(invalid="ignore"):  # -inf - -inf at the padding, never a winner
        view, view_mid = pool.windows(a) - pool.windows(a0), pool.windows(middle)
    axes = tuple(range(-pool.dims, 0))
    winners = view_mid == view_mid.max(axis=axes, keepdims=True)
    u = np.where(winners, view, 0).sum(axis=axes) / winners.sum(axis=axes)
    result: np.ndarray = np.abs(u - (pool.forward(a) - pool.forward(a0)))
    return result


def _slack(
    layers: tuple[Layer, ...],
    absolute: tuple[Layer, ...],
    traces: tuple[CNNTrace, CNNTrace, CNNTrace | None],
    balls: tuple[CNNBalls, CNNBalls],
    M: np.ndarray,
    owner: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Walk down ``layers`` from the multiplier bound ``M`` at their output: the bound at their
    input, and per row the sum of the layers' defects ``m_in . Δa_in - m_out . Δa_out``
    between the two ends (traces and forward balls at ``x`` and ``x0``, or at a segment's
    ends with the trace at its middle: integrated gradients' gradient there).

    ``M`` bounds the computed multipliers' magnitudes (a ReLU's and each window element's
    multiplier lie in [0, 1]; linear layers pass ``|A|^T M``, rounded up). With exact
    differences ``Δa`` (within ``D = |Δã| + 2 rad + 2 rad0`` of the computed ones, both in the
    forward balls): a linear layer's defect is its transpose's rounding, ``γ_k M_in . D_in``; a
    ReLU's, the factor from computed values applied to exact ones, ``M . (defect on computed
    ends + 4 (rad + rad0) + γ_5 D)``; a max pooling's, the same per window (its share from
    computed ends, a few sums and a quotient, two routings), bounded through every element.

    On a path (``owner``: each segment's sample) a correct walk puts a breakpoint where a unit
    crosses 0 or a window's winner changes, from values it computed: the defect on computed
    ends is rounding, first order in it as the dense enclosure's windows are: a unit's value
    at its computed crossing is within ``γ_8`` of its largest magnitude on the path plus six
    of its largest forward radii there (the two ends it was interpolated from, the end where
    it is read). Each defect counts up to that allowance only; a kink that was not found
    shows as a defect of the unit's own size."""
    p = P
    (trace, trace0, middle), (ball, ball0) = traces, balls
    n = M.shape[0]
    total = np.zeros(n)

    def rows(v: np.ndarray) -> np.ndarray:
        return v.reshape(n, -1).sum(axis=1)

    def envelope(v: np.ndarray) -> np.ndarray:
        """Per row, the largest value over the rows of its sample (its path)."""
        assert owner is not None
        largest = np.zeros((int(owner.max()) + 1, *v.shape[1:]))
        np.maximum.at(largest, owner, v)
        result: np.ndarray = largest[owner]
        return result

    def allowed(defect: np.ndarray, size: np.ndarray, rad: np.ndarray, k: int) -> np.ndarray:
        if owner is None:
            return defect
        return np.minimum(defect, P.gamma(k) * envelope(size) + 6 * envelope(rad))

    def differences(a: np.ndarray, a0: np.ndarray, b: Ball, b0: Ball) -> tuple[Any, Any]:
        rad = b.rad + b0.rad
        return np.abs(a - a0) + 2 * rad, rad

    for i in range(len(layers) - 1, -1, -1):
        layer, a, a0 = layers[i], trace.inputs[i], trace0.inputs[i]
        at_middle = None if middle is None else middle.inputs[i]
        D, rad = differences(a, a0, ball.inputs[i], ball0.inputs[i])
        if isinstance(layer, ReLU):
            defect = _relu_defect(a, a0, at_middle)
            size = np.maximum(np.abs(a), np.abs(a0))
            largest = np.maximum(ball.inputs[i].rad, ball0.inputs[i].rad)
            defect = allowed(defect, size, largest, 8)
            total += rows(M * (defect + 4 * rad + p.gamma(5) * D))
        elif isinstance(layer, Flatten):
            M = M.reshape(a.shape)
        elif isinstance(layer, MaxPool):
            K = _size(layer.windows(a[:1]).shape[2 + layer.dims :])
            if at_middle is not None:
                defect = _pool_defect(layer, a, a0, at_middle)
                size = layer.forward(np.maximum(np.abs(a), np.abs(a0)))
                largest = np.maximum(ball.inputs[i].rad, ball0.inputs[i].rad)
                defect = allowed(defect, size, K * layer.forward(largest), K + 8)
                total += rows(M * defect)
            M = K * layer.route(np.zeros_like(a), M) * (1 + p.gamma(K + 2))
            total += rows(M * (4 * rad + 4 * p.gamma(2 * K + 8) * D))
        elif isinstance(layer, Residual):
            block, block0 = trace.inner[i], trace0.inner[i]
            block_mid = None if middle is None else middle.inner[i]
            inner, inner0 = ball.inner[i], ball0.inner[i]
            assert block is not None and block0 is not None
            assert inner is not None and inner0 is not None
            Dt, rad_t = differences(block.total, block0.total, inner.total, inner0.total)
            defect = _relu_defect(
                block.total, block0.total, None if block_mid is None else block_mid.total
            )
            size = np.maximum(np.abs(block.total), np.abs(block0.total))
            defect = allowed(defect, size, np.maximum(inner.total.rad, inner0.total.rad), 8)
            total += rows(M * (defect + 4 * rad_t + p.gamma(5) * Dt))
            branch_layers = absolute[i].branch  # type: ignore[union-attr]
            M_branch, inside = _slack(
                layer.branch,
                branch_layers,
                (block.branch, block0.branch, None if block_mid is None else block_mid.branch),
                (inner.branch, inner0.branch),
                M,
                owner,
            )
            total += inside
            M_short = M
            down = absolute[i].downsample  # type: ignore[union-attr]
            if down is not None:
                k = _terms(down, a.shape[1:], M.shape[1:])
                M_short = down.operator(a.shape[1:]).transpose(M, "W") * (1 + p.gamma(k))
                total += rows(p.gamma(k) * M_short * D)
            M = (M_branch + M_short) * (1 + p.gamma(1))
            total += rows(p.gamma(1) * M * D)
        else:
            k = _terms(layer, a.shape[1:], M.shape[1:])
            M = operator(absolute[i], a.shape[1:], F64).transpose(M, "W") * (1 + p.gamma(k))
            total += rows(p.gamma(k) * M * D + k * p.eta)
    return M, total


def _selector(shape: tuple[int, ...], classes: np.ndarray) -> np.ndarray:
    M = np.zeros(shape)
    M[np.arange(len(classes)), classes] = 1.0
    return M


def _logit_gap(
    cnn: CNN, x: np.ndarray, x0: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``f(x) - f(x0)`` as computed, and twice the radii of the logits' balls."""
    rows = np.arange(len(classes))
    f = forward(cnn, x).logits[rows, classes] - forward(cnn, x0).logits[rows, classes]
    balls = enclose_cnn_forward(cnn, x, P).logits, enclose_cnn_forward(cnn, x0, P).logits
    return f, 2 * (balls[0].rad[rows, classes] + balls[1].rad[rows, classes]) + P.u * np.abs(f)


def integrated_gradients_sum_tolerance(
    cnn: CNN, x: np.ndarray, x0: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``f(x) - f(x0)`` as computed, and how far the sum of a correct exact IG may be from it,
    an a-posteriori certificate from the computed path: on each segment ``[P_k, P_k+1]``
    between computed breakpoints, ``g_k . (P_k+1 - P_k)`` with ``g_k`` the gradient chain at
    the middle differs from ``f(P_k+1) - f(P_k)`` by the layers' defects (:func:`_slack`: a
    kink inside the segment shows as a defect on its computed ends); the segments' sums
    telescope; ``(x - x0) t`` against the rounded points, the sums of the result, the path's
    last point against ``x`` (``M`` is a Lipschitz bound) and the logits' balls are added."""
    owner, t = cnn_integrated.breakpoints(cnn, x, x0)
    starts = np.flatnonzero(owner[:-1] == owner[1:])
    ends = cnn_integrated.path_points(x, x0, owner, t)
    a, b = ends[starts], ends[starts + 1]
    middles = cnn_integrated.path_points(x, x0, owner[starts], (t[starts] + t[starts + 1]) / 2)
    traces = (forward(cnn, b), forward(cnn, a), forward(cnn, middles))
    balls = (enclose_cnn_forward(cnn, b, P), enclose_cnn_forward(cnn, a, P))
    chosen = classes[owner[starts]]
    M_in, defects = _slack(
        cnn.layers,
        absolute_cnn(cnn).layers,
        traces,
        balls,
        _selector(traces[0].logits.shape, chosen),
        owner[starts],
    )
    n, d, K = len(x), _size(cnn.input_shape), len(starts)
    delta = np.abs(x - x0)
    lengths = (t[starts + 1] - t[starts]).reshape((-1,) + (1,) * len(cnn.input_shape))
    points = M_in * (
        2 * P.u * lengths * delta[owner[starts]] + 6 * P.u * (np.abs(x0) + delta)[owner[starts]]
    )
    per_segment = defects + _flat(points).sum(axis=1)
    tolerance = np.zeros(n)
    np.add.at(tolerance, owner[starts], per_segment)
    M = np.zeros(x.shape)
    np.maximum.at(M, owner[starts], M_in)
    last = np.abs(x - ends[np.flatnonzero(np.r_[owner[1:] != owner[:-1], True])])
    f, logits = _logit_gap(cnn, x, x0, classes)
    tolerance += _flat(M * (P.gamma(K + d + 2) * delta + last)).sum(axis=1) + logits + d * P.eta
    return f, P.widen(tolerance, 8)


def deeplift_sum_tolerance(
    cnn: CNN, x: np.ndarray, x0: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``f(x) - f(x0)`` as computed, and how far a correct DeepLIFT's sum may be from it: the
    layers' defects (:func:`_slack`), the input's ``(x - x0) * m`` and its sum (``γ_{d+2}``),
    and the logits' forward balls."""
    traces = (forward(cnn, x), forward(cnn, x0), None)
    balls = (enclose_cnn_forward(cnn, x, P), enclose_cnn_forward(cnn, x0, P))
    M = _selector(traces[0].logits.shape, classes)
    M_in, defects = _slack(cnn.layers, absolute_cnn(cnn).layers, traces, balls, M)
    d = _size(cnn.input_shape)
    spread = _flat(M_in * np.abs(x - x0)).sum(axis=1) * P.gamma(d + 2)
    f, logits = _logit_gap(cnn, x, x0, classes)
    return f, P.widen(defects + spread + logits + d * P.eta, 8)


@settings(max_examples=scaled(60))
@given(lst.cnn_cases(max_blocks=3), st.data())
def test_integrated_gradients_add_up_to_the_difference_on_every_layer_kind(
    case: Any, data: st.DataObject
) -> None:
    cnn, x, classes = case.cnn, case.x, case.classes
    x0 = data.draw(lst.cnn_inputs(cnn, min_batch=len(x), max_batch=len(x)), label="baseline")
    R = integrated_gradients(cnn, x, classes, x0)
    f, tolerance = integrated_gradients_sum_tolerance(cnn, x, x0, classes)
    gap = np.abs(_flat(R).sum(axis=1) - f)
    assert np.all(gap <= tolerance), (gap, tolerance)


@settings(max_examples=scaled(60))
@given(lst.cnn_cases(max_blocks=3), st.data())
def test_deeplift_sums_to_delta_on_every_layer_kind(case: Any, data: st.DataObject) -> None:
    cnn, x, classes = case.cnn, case.x, case.classes
    x0 = data.draw(lst.cnn_inputs(cnn, min_batch=len(x), max_batch=len(x)), label="reference")
    R = deeplift_rescale(cnn, x, classes, x0)
    f, tolerance = deeplift_sum_tolerance(cnn, x, x0, classes)
    gap = np.abs(_flat(R).sum(axis=1) - f)
    assert np.all(gap <= tolerance), (gap, tolerance)


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
