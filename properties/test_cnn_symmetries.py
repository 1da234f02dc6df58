"""Item 5 of the CNN invariants, channels, on drawn CNNs (:mod:`lrp_invariants.strategies.cnn`):
every rule conserves relevance at every scale (2**±60 included); permuting hidden channels
changes only the order of sums; rescaling a channel by a power of two changes nothing at all for
the scale-free rules.

Tolerances are derived: conservation from each layer's terms (tests/cnn_helpers.py), agreement of
two evaluation orders from the dense enclosure of the unrolled network; bit for bit where the
transformation is exact. Layer kinds as sums and folds: properties/test_cnn_canonization.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tests.cnn_symmetry import (
    ALL_RULES,
    LINEAR_RULES,
    LOCAL_RULES,
    SCALE_FREE,
    assert_conserved,
    channel_pairs,
    groups_of,
    reorder_channels,
    unrolled_tolerance,
    with_relus,
)

from lrp_invariants import LRP0, Rule
from lrp_invariants.bounds import Precision
from lrp_invariants.cnn import (
    CNN,
    CNNRules,
    Dense,
    Flatten,
    MaxPool,
    explain,
)
from lrp_invariants.strategies import CNNCase, cnn_cases, cnn_inputs

P = Precision.of(np.float64)

rules_of = st.sampled_from


@given(cnn_cases(large=(6, 12, 12)), rules_of(ALL_RULES))
def test_every_rule_conserves_relevance_on_drawn_cnns_at_every_scale(
    case: CNNCase, rule: Rule
) -> None:
    _, relevance = explain(case.cnn, case.x, case.classes, CNNRules(weighted=rule))
    assert np.all(np.isfinite(relevance.input))
    assert_conserved(relevance)


# --------------------------------------------------------------------------------------------
# Channels: permuted, rescaled by powers of two.

UNROLLABLE: dict[str, Any] = {
    "batch_norm": False,
    "residual": False,
    "pooling": ("avg",),
    "sizes": (3, 6),
}


def _permutation_case(
    data: st.DataObject, case: CNNCase, rule: Rule
) -> tuple[CNN, CNN, np.ndarray] | None:
    cnn = with_relus(case.cnn)
    pairs = channel_pairs(cnn)
    if not pairs:
        return None
    pair = pairs[data.draw(st.integers(0, len(pairs) - 1), label="channel pair")]
    k = pair[0]
    channels = cnn.shapes[k + 1][0]
    groups = groups_of(cnn, pair)
    block = data.draw(st.permutations(range(channels // groups)), label="order in a group")
    order = np.concatenate([g * (channels // groups) + np.array(block) for g in range(groups)])
    return cnn, reorder_channels(cnn, pair, order, np.zeros(channels, dtype=int)), order


def _agrees_with_unrolled(cnn: CNN, permuted: CNN, case: CNNCase, rule: Rule) -> None:
    rules = CNNRules(weighted=rule, pooling=rule)
    _, relevance = explain(permuted, case.x, case.classes, rules)
    mid, tolerance = unrolled_tolerance(cnn, case.x, case.classes, rule)
    _, original = explain(cnn, case.x, case.classes, rules)
    # each evaluation lies within the enclosure's radius of the exact value, as its midpoint
    # does: half the agreement tolerance from the midpoint, all of it from each other
    assert np.all(np.abs(original.input - mid) <= tolerance / 2)
    assert np.all(np.abs(relevance.input - original.input) <= tolerance)


@given(cnn_cases(**UNROLLABLE), rules_of(LINEAR_RULES), st.data())
def test_permuting_hidden_channels_changes_no_relevance_of_rules_linear_in_the_weights(
    case: CNNCase, rule: Rule, data: st.DataObject
) -> None:
    drawn = _permutation_case(data, case, rule)
    if drawn is not None:
        cnn, permuted, _ = drawn
        _agrees_with_unrolled(cnn, permuted, case, rule)


@given(cnn_cases(padding_modes=("zeros",), **UNROLLABLE), rules_of(LOCAL_RULES), st.data())
def test_permuting_hidden_channels_changes_no_relevance_of_rules_local_to_a_tap(
    case: CNNCase, rule: Rule, data: st.DataObject
) -> None:
    drawn = _permutation_case(data, case, rule)
    if drawn is not None:
        cnn, permuted, _ = drawn
        _agrees_with_unrolled(cnn, permuted, case, rule)


@given(cnn_cases(values="integers"), rules_of(SCALE_FREE), st.data())
def test_rescaling_a_channel_by_a_power_of_two_changes_no_relevance_of_a_scale_free_rule(
    case: CNNCase, rule: Rule, data: st.DataObject
) -> None:
    """Every value of the rescaled network is the original times a power of two or equal to
    it, so every quotient a scale-free rule forms is the same: bit for bit. That needs values
    that never underflow (a subnormal loses bits that its rescaled twin keeps): integers times
    a power of two per layer, at every scale regime, units on their kinks included."""
    pairs = channel_pairs(case.cnn)
    if not pairs:
        return
    pair = pairs[data.draw(st.integers(0, len(pairs) - 1), label="channel pair")]
    channels = case.cnn.shapes[pair[0] + 1][0]
    exponents = np.array(
        data.draw(st.lists(st.integers(-3, 3), min_size=channels, max_size=channels))
    )
    scaled = reorder_channels(case.cnn, pair, np.arange(channels), exponents)
    _, original = explain(case.cnn, case.x, case.classes, CNNRules(weighted=rule))
    _, rescaled = explain(scaled, case.x, case.classes, CNNRules(weighted=rule))
    np.testing.assert_array_equal(rescaled.input, original.input)
    np.testing.assert_array_equal(rescaled.output_total, original.output_total)


# --------------------------------------------------------------------------------------------
# Max pooling: winner-take-all conserves, overlapping windows and ties included.


@st.composite
def _max_pooled(draw: st.DrawFn) -> CNN:
    """Max pooling with windows that overlap (stride below the kernel) before a dense head."""
    dims = draw(st.integers(1, 2))
    k = draw(st.integers(2, 3))
    pool = MaxPool(k, draw(st.integers(1, k - 1)), draw(st.integers(0, k // 2)), dims=dims)
    shape = (draw(st.integers(1, 2)), *(draw(st.integers(k, 6)) for _ in range(dims)))
    size = int(np.prod(pool.output_shape(shape)))
    weights = np.array(draw(st.lists(st.integers(-3, 3), min_size=size, max_size=size)), float)
    return CNN((pool, Flatten(), Dense(weights.reshape(size, 1))), shape)


@given(_max_pooled(), st.data())
def test_max_pooling_conserves_relevance_with_overlapping_windows_and_ties(
    cnn: CNN, data: st.DataObject
) -> None:
    """Inputs from palettes of a few values: equal maxima in a window and maxima shared by
    overlapping windows; any tie-break that conserves is correct."""
    x = data.draw(cnn_inputs(cnn, values="integers"), label="inputs")
    _, relevance = explain(cnn, x, np.zeros(x.shape[0], dtype=np.intp), LRP0())
    assert_conserved(relevance)
