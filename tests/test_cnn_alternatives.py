"""Zero false alarms on CNNs: correct CNN attribution code written unlike this package's
(campaigns/cnn_alternatives.py: explicit tap loops, dense matrices, batch norms folded, sums
reversed) passes the gate's default derandomised run for every method it offers.

The long version, fresh seeds for every pair, is ``campaigns/cnn_soundness.py``
(docs/soundness.md, "CNN campaigns").
"""

from __future__ import annotations

import numpy as np
import pytest
from campaigns.cnn_alternatives import (
    CNN_ALTERNATIVES,
    conv_taps,
    fold_batch_norms,
    max_windows,
)

from lrp_invariants.architectures import ARCHITECTURES
from lrp_invariants.cnn import forward
from lrp_invariants.cnn.protocol import cnn_from_specs
from lrp_invariants.gate import run_gate
from lrp_invariants.methods import METHODS

from .example_counts import scaled

FAST = {
    "direct_loops": ("gradient-x-input", "lrp-epsilon", "lrp-alpha-beta", "lrp-w-square"),
    "dense_unrolled": ("gradient", "lrp-0", "lrp-epsilon"),
    "fused_batch_norm": ("saliency", "gradient-x-input"),
    "reversed_sums": ("lrp-zplus", "lrp-gamma", "lrp-alpha-beta", "lrp-flat"),
}
"""The pairs run in the fast tier; the full tier runs every pair."""

PAIRS = [
    pytest.param(
        name,
        method,
        id=f"{name}-{method}",
        marks=() if method in FAST[name] else (pytest.mark.full_tier,),
    )
    for name, (_, methods) in CNN_ALTERNATIVES.items()
    for method in methods
]


@pytest.mark.parametrize(("name", "method"), PAIRS)
def test_a_correct_cnn_alternative_passes_the_gate(name: str, method: str) -> None:
    factory, _ = CNN_ALTERNATIVES[name]
    # 30 cases a pair in the full tier (6 in the fast): the long version is the campaign,
    # campaigns/cnn_soundness.py, 62,400 cases without a false alarm (docs/soundness.md)
    report = run_gate(factory(method), method, architecture="cnn", examples=scaled(30))
    assert report.ok, report.render()


def test_every_method_judged_on_cnns_has_an_alternative() -> None:
    judged = {name for name, method in METHODS.items() if ARCHITECTURES["cnn"].judges(method)}
    offered = {m for _, methods in CNN_ALTERNATIVES.values() for m in methods}
    assert offered == judged


def test_the_taps_of_a_reflect_padded_convolution_read_each_copy_on_its_own() -> None:
    # one input row of 3, kernel 3, reflect padding 1: the left window reads x[1], x[0], x[1]
    taps = conv_taps((1, 1, 3), (1, 3), (1,), ((1, 1),), (1,), 1, "reflect", False)
    first = taps.dst == 0
    assert taps.src[first].tolist() == [1, 0, 1]
    assert taps.widx[first].tolist() == [0, 1, 2]


def test_constant_padding_taps_are_kept_as_the_frame_and_zero_padding_taps_dropped() -> None:
    framed = conv_taps((1, 1, 2), (1, 2), (1,), ((1, 0),), (1,), 1, "constant", True)
    zeros = conv_taps((1, 1, 2), (1, 2), (1,), ((1, 0),), (1,), 1, "zeros", False)
    assert framed.src.tolist() == [-1, 0, 0, 1]
    assert zeros.src.tolist() == [0, 0, 1]


def test_max_windows_mark_the_padding_and_ceil_mode_keeps_the_last_window() -> None:
    windows, shape = max_windows((1, 5), (2,), (2,), (1,), (1,), True)
    assert shape == (1, 3)
    assert windows.tolist() == [[-1, 0], [1, 2], [3, 4]]


def test_folding_a_batch_norm_keeps_the_function_bit_for_bit_on_integers() -> None:
    # scales 1 and -1, integer weights, biases and inputs: every sum is exact either way
    rng = np.random.default_rng(0)
    conv = {
        "kind": "conv",
        "weight": rng.integers(-4, 5, size=(2, 1, 3)).astype(np.float64),
        "bias": np.array([3.0, -2.0]),
        "stride": (1,),
        "padding": ((1, 1),),
        "padding_mode": "zeros",
        "padding_value": 0.0,
        "dilation": (1,),
        "groups": 1,
    }
    norm = {
        "kind": "batch_norm",
        "weight": np.array([2.0, -0.5]),
        "bias": np.array([0.25, 1.0]),
        "running_mean": np.array([1.0, -1.0]),
        "running_var": np.array([4.0, 0.25]),  # scales 2 / 2 and -0.5 / 0.5
        "eps": 0.0,
    }
    head = [{"kind": "flatten"}, {"kind": "linear", "weight": np.eye(8), "bias": None}]
    x = rng.integers(-8, 9, size=(2, 1, 4)).astype(np.float64)
    apart = cnn_from_specs([conv, norm, *head], (1, 4))
    folded = cnn_from_specs(fold_batch_norms([conv, norm, *head]), (1, 4))
    np.testing.assert_array_equal(forward(folded, x).logits, forward(apart, x).logits)
