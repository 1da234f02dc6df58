"""Item 5 of the CNN invariants, layer kinds as sums and folds, on drawn CNNs
(:mod:`lrp_invariants.strategies.cnn`): average pooling is the linear layer its matrix says;
``x == a x + (1 - a) x`` inserted as a residual sum changes nothing; a batch norm folded into
its left or right convolution computes the same function, and LRP-0 on the folded network is
LRP-0 with the batch norm as its own layer.

Tolerances are derived from the roundings of each evaluation (``γ_k`` times the absolute terms,
``k η`` where a pre-activation may underflow); bit for bit where the transformation is exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tests.cnn_symmetry import (
    ALL_RULES,
    assert_conserved,
    split_sum,
)

from lrp_invariants import LRP0, AlphaBeta, Epsilon, Rule, ZPlus
from lrp_invariants.bounds import Precision
from lrp_invariants.cnn import (
    CNN,
    AvgPool,
    BatchNorm,
    CNNRules,
    Conv,
    Dense,
    Flatten,
    ReLU,
    explain,
    forward,
)
from lrp_invariants.cnn.canonize import fold_batch_norms, fold_into_left
from lrp_invariants.cnn.relevance import weighted_layers
from lrp_invariants.cnn.unroll import dense_matrix
from lrp_invariants.network import Array, Linear
from lrp_invariants.rules.operator import DenseOperator, propagate_repaired
from lrp_invariants.strategies import CNNCase, cnn_cases, cnn_inputs

P = Precision.of(np.float64)

rules_of = st.sampled_from


# --------------------------------------------------------------------------------------------
# Average pooling as a linear layer.


@st.composite
def _pooling(draw: st.DrawFn) -> tuple[AvgPool, tuple[int, ...]]:
    dims = draw(st.integers(1, 2))
    k = draw(st.integers(1, 3))
    pool = AvgPool(
        k,
        draw(st.integers(1, k)),
        draw(st.integers(0, k // 2)),
        ceil_mode=draw(st.booleans()),
        count_include_pad=draw(st.booleans()),
        dims=dims,
    )
    shape = (draw(st.integers(1, 2)), *(draw(st.integers(k, 6)) for _ in range(dims)))
    return pool, shape


@given(
    _pooling(), rules_of([LRP0(), Epsilon(1e-9), Epsilon(0.25), ZPlus(), AlphaBeta()]), st.data()
)
def test_average_pooling_distributes_relevance_as_its_matrix_does(
    pooled: tuple[AvgPool, tuple[int, ...]], rule: Rule, data: st.DataObject
) -> None:
    """On nonnegative inputs (a pooling reads ReLU outputs) every term is nonnegative: each
    evaluation of a pre-activation is within ``γ_k`` of the exact one, plus ``k η`` where it
    underflows, and so is each share, relative to its absolute terms."""
    pool, shape = pooled
    probe = CNN(
        (pool, Flatten(), Dense(np.ones((int(np.prod(pool.output_shape(shape))), 1)))), shape
    )
    a = np.abs(data.draw(cnn_inputs(probe), label="inputs"))  # palettes: ties
    op = pool.operator(shape, np.dtype(np.float64))
    z = op.product(a, "W")
    R = data.draw(
        cnn_inputs(
            CNN((Flatten(), Dense(np.ones((z[0].size, 1)))), z.shape[1:]),
            min_batch=a.shape[0],
            max_batch=a.shape[0],
        ),
        label="relevance",
    )
    W, b = dense_matrix(pool, shape)
    matrix = DenseOperator(Linear(W, b))
    n = a.shape[0]
    on_pool = propagate_repaired(rule, op, a, z, R)
    on_matrix = propagate_repaired(
        rule, matrix, a.reshape(n, -1), z.reshape(n, -1), R.reshape(n, -1)
    )
    # the pre-activation: k terms, relative γ_k plus k η of underflow; ε's denominator and the
    # quotient: a rounding each; every term a_i w_ij s_j: two; the sums: up to k terms; each
    # evaluation lies that far from the exact shares, and so both from each other twice over
    k = W.shape[0] + W.shape[1] + 8
    z_flat = z.reshape(n, -1)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        s_abs = np.abs(R.reshape(n, -1)) / np.where(z_flat == 0, np.inf, z_flat)
        relative = 2 * P.gamma(k) + 4 * k * P.eta / np.where(z_flat == 0, np.inf, z_flat)
        terms = np.abs(a.reshape(n, -1)) * ((s_abs * relative) @ W.T)
    terms = np.where(np.isnan(terms), np.inf, terms)  # a quotient beyond the float range
    alpha = getattr(rule, "alpha", 1.0)
    tolerance = alpha * terms + 2 * k * P.eta + 2 * P.gamma(k) * np.abs(on_matrix.R)
    assert np.all(np.abs(on_pool.R.reshape(n, -1) - on_matrix.R) <= tolerance)


# --------------------------------------------------------------------------------------------
# A sum that changes nothing.


@given(cnn_cases(), st.sampled_from([0.5, 2.0, -1.0, 0.0]), rules_of(ALL_RULES), st.data())
def test_a_residual_sum_of_a_x_and_one_minus_a_x_changes_no_relevance_under_the_z_rule(
    case: CNNCase, a: float, rule: Rule, data: st.DataObject
) -> None:
    """After a ReLU, ``relu(a x + (1 - a) x) = x`` exactly for these ``a``: the network computes
    the same values bit for bit, and the z-rule at the sum, the batch norm (``a``) and the 1x1
    shortcut (``1 - a``) hand the block's input the relevance at its output wherever ``x > 0``,
    up to the roundings of two quotients and four products per path."""
    relus = [i for i, layer in enumerate(case.cnn.layers[:-1]) if isinstance(layer, ReLU)]
    if not relus:
        return
    i = relus[data.draw(st.integers(0, len(relus) - 1), label="after relu")]
    shape = case.cnn.shapes[i + 1]
    block = split_sum(shape[0], len(shape) - 1, a)
    layers = case.cnn.layers
    split = CNN((*layers[: i + 1], block, *layers[i + 1 :]), case.cnn.input_shape)
    np.testing.assert_array_equal(forward(split, case.x).logits, forward(case.cnn, case.x).logits)
    weighted = [
        LRP0() if layer is block.downsample else rule for layer in weighted_layers(split.layers)
    ]
    _, original = explain(case.cnn, case.x, case.classes, CNNRules(weighted=rule))
    _, with_sum = explain(split, case.x, case.classes, CNNRules(weighted=tuple(weighted)))
    R = original.layers[i + 1].R  # the relevance at the block's output, bit for bit
    block_result = with_sum.layers[i + 1]
    np.testing.assert_array_equal(block_result.R_out, R)
    # an input-blind rule above (flat, w²) hands relevance to units at 0: a sum of zeros
    # passes nothing (0/0 -> 0), the block keeps it as a sink
    x = forward(case.cnn, case.x).outputs[i]
    passed = np.where(x > 0, R, 0.0)
    tolerance = P.gamma(8) * (abs(a) + abs(1 - a)) * np.abs(R)
    assert np.all(np.abs(block_result.R - passed) <= tolerance)
    kept = (R - passed).reshape(R.shape[0], -1).sum(axis=1)
    gap = np.abs(block_result.sinks() - kept)
    assert np.all(gap <= P.gamma(R[0].size + 8) * 2 * np.abs(R).reshape(R.shape[0], -1).sum(1))


# --------------------------------------------------------------------------------------------
# Canonization: batch norms folded into a neighbouring convolution.

EXACT: dict[str, Any] = {"values": "integers", "max_blocks": 2, "kinks": False}
"""Integer parameters (no unit moved beside its kink by a fraction): every sum is exact."""


def _unit(values: Array) -> float:
    """A power of two that divides every entry (each an integer in -3..3 times one power of
    two): a quarter of the smallest non-zero magnitude's binade."""
    nonzero = np.abs(values[values != 0])
    return float(np.ldexp(1.0, np.frexp(nonzero.min())[1] - 2)) if nonzero.size else 1.0


def _sums_exact(conv: Conv, x: Array, scales: Array, shifts: Array, grid: float) -> bool:
    """Whether every sum of ``conv(x * scale + shift)``, in either association (the bias added
    last, or folded into ``b + conv(shift)`` first), is exact: every term is a multiple of one
    grid and the largest sum has fewer than 53 bits of it. Not so in the extreme regime, where a
    bias of ``2**60`` meets contributions of order 1 (seed 5202 of the dev profile found one)."""
    W = np.abs(conv.weight)
    b = 0.0 if conv.bias is None else float(np.abs(conv.bias).max())
    terms = _unit(conv.weight) * min(float(scales.min()) * _unit(x), grid)
    largest = b + W.sum() * (
        float(scales.max()) * float(np.abs(x).max()) + float(np.abs(shifts).max())
    )
    return bool(largest < 2.0**52 * terms)


def _fold_preserves_the_function(case: CNNCase, data: st.DataObject) -> None:
    cnn = case.cnn
    np.testing.assert_array_equal(
        forward(fold_batch_norms(cnn, "left"), case.x).logits, forward(cnn, case.x).logits
    )
    first = cnn.layers[0]
    if isinstance(first, Conv) and first.padding_value == 0:
        c = cnn.input_shape[0]
        scales = np.ldexp(1.0, data.draw(st.lists(st.integers(-2, 2), min_size=c, max_size=c)))
        # on the inputs' grid (integers times the case's input scale): x * scale + shift exact
        grid = np.ldexp(1.0, np.frexp(np.max(np.abs(case.x), initial=1.0))[1])
        shifts = grid * np.array(data.draw(st.lists(st.integers(-3, 3), min_size=c, max_size=c)))
        if not _sums_exact(first, case.x, scales, shifts, grid):
            return  # the premise of bit-for-bit equality fails, not the fold: see _sums_exact
        cnn = CNN((BatchNorm.affine(scales, shifts), *cnn.layers), cnn.input_shape)
        pairs = zip(cnn.layers, cnn.layers[1:], strict=False)
        if any(
            isinstance(norm, BatchNorm) and isinstance(conv, Conv) and conv.padding_value != 0
            for norm, conv in pairs
        ):
            return  # refused, as documented: the padding would need a value per channel
        folded = fold_batch_norms(cnn, "right")
        np.testing.assert_array_equal(forward(folded, case.x).logits, forward(cnn, case.x).logits)


@given(cnn_cases(**EXACT), st.data())
def test_a_batch_norm_folded_left_or_right_computes_the_same_function(
    case: CNNCase, data: st.DataObject
) -> None:
    """Integer parameters and power-of-two batch norm scales: both forward passes are exact.
    Right: a batch norm put before the first convolution, folded into it."""
    _fold_preserves_the_function(case, data)


@given(cnn_cases(padding_modes=("zeros",), batch_norm=False, **EXACT), st.data())
def test_a_batch_norm_folded_right_through_zero_padding_computes_the_same_function(
    case: CNNCase, data: st.DataObject
) -> None:
    """Where the padding does not see the shift the folded bias is a map (the border windows
    read padding): drawn where that matters most, zero padding only (a non-zero constant
    padding cannot be folded through, and the test above draws it)."""
    _fold_preserves_the_function(case, data)


@given(cnn_cases(**EXACT))
def test_lrp0_on_the_folded_network_is_lrp0_with_the_batch_norm_as_its_own_layer(
    case: CNNCase,
) -> None:
    """At a convolution followed by a batch norm, LRP-0 of the pair and LRP-0 of the folded
    convolution give every input ``a_i scale w_ij R_j / y_j``; the pair's convolution passes
    nothing where its own output is exactly 0 (0/0 -> 0), so those units are left out of the
    folded side. Above the pair both networks compute the same values bit for bit."""
    cnn = case.cnn
    pairs = [
        i
        for i, layer in enumerate(cnn.layers[:-1])
        if isinstance(layer, Conv) and isinstance(cnn.layers[i + 1], BatchNorm)
    ]
    folded = fold_batch_norms(cnn, "left")
    _, apart = explain(cnn, case.x, case.classes, LRP0())
    trace = forward(cnn, case.x)
    for i in pairs:
        conv, norm = cnn.layers[i], cnn.layers[i + 1]
        assert isinstance(conv, Conv) and isinstance(norm, BatchNorm)
        merged = fold_into_left(conv, norm)
        a, z, y = trace.inputs[i], trace.outputs[i], trace.outputs[i + 1]
        R = apart.layers[i + 1].R_out
        passed = np.where(z == 0, 0.0, R)
        op = merged.operator(a.shape[1:])
        expected = propagate_repaired(LRP0(), op, a, y, passed).R
        s_abs = np.abs(passed) / np.where(y == 0, np.inf, np.abs(y))
        through = op.transpose(s_abs, "pos") - op.transpose(s_abs, "neg")
        k = int(np.prod(a.shape[1:])) + 8
        tolerance = 2 * P.gamma(k) * np.abs(a) * through
        assert np.all(np.abs(apart.layers[i].R - expected) <= tolerance)
    assert len(folded.layers) == len(cnn.layers) - len(pairs)
    assert_conserved(explain(folded, case.x, case.classes, LRP0())[1])
