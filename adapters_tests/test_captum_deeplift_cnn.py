"""Captum's DeepLift on CNNs with max pooling, measured on hand-built witnesses against this
package's DeepLIFT-Rescale (lrp_invariants.cnn.deeplift), which sums to f(x) - f(x0) exactly
where every value is a small integer. The gate does not judge DeepLift on CNNs yet (no
enclosure of it there): these are the measurements, pinned."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from captum.attr import DeepLift

from lrp_invariants.adapters.torch_cnn import torch_cnn
from lrp_invariants.bounds import Precision
from lrp_invariants.cnn import CNN, Conv, Dense, Flatten, MaxPool, ReLU, forward, layer_specs
from lrp_invariants.cnn.deeplift import deeplift_rescale


def _pooled(kernel: int, stride: int, width: int) -> CNN:
    """x -> relu(conv 1x1 of weight 1) -> max pool -> sum of the windows' maxima."""
    pool = MaxPool((kernel,), stride=(stride,), dims=1)
    windows = (width - kernel) // stride + 1
    return CNN(
        (Conv(np.ones((1, 1, 1))), ReLU(), pool, Flatten(), Dense(np.ones((windows, 1)))),
        (1, width),
    )


def _captum(cnn: CNN, x: np.ndarray, x0: np.ndarray) -> np.ndarray:
    model = torch_cnn(layer_specs(cnn), cnn.input_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attribution = DeepLift(model).attribute(
            torch.from_numpy(x), baselines=torch.from_numpy(x0), target=0
        )
    return np.asarray(attribution.detach().numpy())


def _delta(cnn: CNN, x: np.ndarray, x0: np.ndarray) -> np.ndarray:
    return forward(cnn, x).logits[:, 0] - forward(cnn, x0).logits[:, 0]


def _rounding(attribution: np.ndarray) -> float:
    """The most a sum of ``attribution``'s terms, each one rounding from its exact value, may
    be off in float64: ``γ_(k+1) Σ |terms|`` for ``k`` terms."""
    k = attribution.size
    return float(Precision.of(np.float64).gamma(k + 1) * np.abs(attribution).sum())


X = np.array([[[0.0, 3.0, 0.0]]])
X0 = np.array([[[2.0, 0.0, 1.0]]])


def test_through_overlapping_max_pooling_captum_loses_summation_to_delta() -> None:
    """Windows ``[0, 3]`` and ``[3, 0]`` share their winner at ``x``; at the baseline
    ``[2, 0, 1]`` each has another winner. Captum unpools the windows' differences onto the
    input's winner (``max_unpool``) and divides by that input's difference alone: its
    attributions add up to 6, where f(x) - f(x0) = 6 - 3 = 3 (every value here is exact)."""
    cnn = _pooled(2, 1, 3)
    assert _delta(cnn, X, X0).tolist() == [3.0]
    assert _captum(cnn, X, X0).sum() == 6.0
    rescale = deeplift_rescale(cnn, X, np.array([0]), X0)
    assert rescale.sum() == pytest.approx(3.0, abs=_rounding(rescale))


def test_without_overlap_captum_fails_where_the_baselines_winner_is_another_input() -> None:
    """Not only overlap: windows ``[0, 3] | [1, 4]`` against a baseline ``[2, 0] | [5, 1]``
    (each window's winner another input there): f(x) - f(x0) = (3 - 2) + (4 - 5) = 0, Captum's
    attributions add up to 6; this package's Rescale sums to 0."""
    cnn = _pooled(2, 2, 4)
    x, x0 = np.array([[[0.0, 3.0, 1.0, 4.0]]]), np.array([[[2.0, 0.0, 5.0, 1.0]]])
    assert _delta(cnn, x, x0).tolist() == [0.0]
    assert _captum(cnn, x, x0).sum() == 6.0
    rescale = deeplift_rescale(cnn, x, np.array([0]), x0)
    assert rescale.sum() == pytest.approx(0.0, abs=_rounding(rescale))


def test_where_the_winners_agree_captum_sums_to_delta() -> None:
    cnn = _pooled(2, 2, 4)
    x, x0 = np.array([[[0.0, 3.0, 1.0, 4.0]]]), np.array([[[0.0, 1.0, 0.0, 2.0]]])
    assert _captum(cnn, x, x0).sum() == _delta(cnn, x, x0)[0] == 4.0


def test_captums_zero_difference_fallback_takes_the_first_samples_gradient() -> None:
    """Where an input of the pool does not differ from its baseline, Captum falls back on
    ``grad_input[0]``: the first *sample's* gradient (the hook gets a tensor since Captum 0.6,
    captum#1276), broadcast over the batch. With a convolution of weights ``[1, -1]`` before
    the pool, that position's multiplier reaches inputs that do differ: the second sample's
    attributions change with the first beside it (found by a search over small integers)."""
    conv = Conv(np.array([[[1.0, -1.0]]]))
    pool = MaxPool((2,), stride=(1,), dims=1)
    cnn = CNN((conv, pool, Flatten(), Dense(np.ones((2, 1)))), (1, 4))
    xs = np.array([[[-1.0, 1.0, 1.0, -1.0]], [[0.0, 2.0, 2.0, 2.0]]])
    x0s = np.array([[[-1.0, 1.0, 2.0, 1.0]], [[2.0, 1.0, 1.0, -1.0]]])
    alone = _captum(cnn, xs[1:], x0s[1:])
    beside = _captum(cnn, xs, x0s)[1:]
    assert alone.sum() == pytest.approx(_delta(cnn, xs[1:], x0s[1:])[0], abs=_rounding(alone))
    assert np.abs(beside - alone).max() == pytest.approx(1.0, abs=_rounding(beside))
