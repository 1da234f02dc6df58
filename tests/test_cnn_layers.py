"""CNN layers: validation before any work, frozen parameters, and forward passes that agree bit
for bit with literal loops and with their unrolled dense matrices (integer data: exact sums)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from lrp_invariants import Network
from lrp_invariants import forward as dense_forward
from lrp_invariants.cnn import (
    CNN,
    AdaptiveAvgPool,
    AvgPool,
    BatchNorm,
    Conv,
    Dense,
    Flatten,
    MaxPool,
    ReLU,
    Residual,
    forward,
)
from lrp_invariants.cnn.unroll import connections, dense_matrix, unroll
from lrp_invariants.network import Array

from .cnn_helpers import integer_conv, literal_conv

GEOMETRIES: list[tuple[tuple[int, ...], tuple[int, ...], dict[str, Any]]] = [
    # (input shape, kernel, geometry)
    ((3, 7, 6), (3, 2), {"stride": (2, 1), "padding": ((1, 2), (0, 1)), "dilation": (1, 2)}),
    ((4, 9), (3,), {"stride": 3, "padding": 2, "groups": 2, "dilation": 2}),
    ((2, 5, 5), (1, 1), {"stride": 2, "padding": 1}),
    ((2, 6, 7), (3, 3), {"stride": 2, "padding": 1}),  # the stride does not divide evenly
    ((4, 5, 4), (2, 3), {"padding": ((2, 0), (3, 1)), "groups": 4}),  # depthwise, pad = k
    ((1, 8), (4,), {"stride": 4}),
]
MODES = ["zeros", "constant", "reflect", "replicate", "circular"]


def _conv(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    kernel: tuple[int, ...],
    geometry: dict[str, Any],
    mode: str,
    bias: bool = True,
) -> Conv:
    extra = {"padding_value": 2.0} if mode == "constant" else {}
    return integer_conv(rng, shape[0], 4, kernel, padding_mode=mode, bias=bias, **geometry, **extra)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("shape", "kernel", "geometry"), GEOMETRIES)
def test_convolution_equals_its_literal_loops_bit_for_bit(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    kernel: tuple[int, ...],
    geometry: dict[str, Any],
    mode: str,
) -> None:
    conv = _conv(rng, shape, kernel, geometry, mode, bias=bool(rng.integers(2)))
    x = rng.integers(-4, 5, size=(2, *shape)).astype(np.float64)
    np.testing.assert_array_equal(conv.forward(x), literal_conv(conv, x))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("shape", "kernel", "geometry"), GEOMETRIES)
def test_convolution_equals_its_unrolled_matrix_bit_for_bit(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    kernel: tuple[int, ...],
    geometry: dict[str, Any],
    mode: str,
) -> None:
    conv = _conv(rng, shape, kernel, geometry, mode)
    x = rng.integers(-4, 5, size=(3, *shape)).astype(np.float64)
    W, b = dense_matrix(conv, shape)
    np.testing.assert_array_equal(conv.forward(x).reshape(3, -1), x.reshape(3, -1) @ W + b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("shape", "kernel", "geometry"), GEOMETRIES)
def test_transpose_is_the_adjoint_of_the_product(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    kernel: tuple[int, ...],
    geometry: dict[str, Any],
    mode: str,
) -> None:
    conv = _conv(rng, shape, kernel, geometry, mode)
    op = conv.operator(shape)
    W, _ = dense_matrix(conv, shape)
    s = rng.integers(-4, 5, size=(2, *op.out_shape)).astype(np.float64)
    np.testing.assert_array_equal(op.transpose(s, "W").reshape(2, -1), s.reshape(2, -1) @ W.T)


@pytest.mark.parametrize(("shape", "kernel", "geometry"), GEOMETRIES)
def test_zero_padding_connects_only_the_taps_that_see_inputs(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    kernel: tuple[int, ...],
    geometry: dict[str, Any],
) -> None:
    conv = _conv(rng, shape, kernel, geometry, "zeros")
    op = conv.operator(shape)
    counts = op.product(np.ones((1, *shape)), "ones").reshape(-1)
    # each output counts its taps inside the input: the column sums of the connection matrix
    np.testing.assert_array_equal(counts, connections(conv, shape).sum(axis=0))


def literal_avg_pool(pool: AvgPool, x: Array) -> Array:
    """torch's average pooling written out per output position (2-d)."""
    kernel, stride, pads = pool._geometry
    out = pool.output_shape(x.shape[1:])
    z = np.zeros((x.shape[0], *out))
    H, W_ = x.shape[2:]
    for i, j in itertools.product(range(out[1]), range(out[2])):
        h0, w0 = i * stride[0] - pads[0], j * stride[1] - pads[1]
        h1, w1 = min(h0 + kernel[0], H + pads[0]), min(w0 + kernel[1], W_ + pads[1])
        size = (h1 - h0) * (w1 - w0)
        h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W_)
        if not pool.count_include_pad:
            size = (h1 - h0) * (w1 - w0)
        z[:, :, i, j] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / size
    return z


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("count_include_pad", [False, True])
@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding"),
    [((2, 7, 6), 3, 2, 1), ((1, 5, 5), 2, 2, 1), ((2, 6, 7), (3, 2), (2, 3), (1, 0))],
)
def test_average_pooling_equals_torchs_definition(
    rng: np.random.Generator,
    shape: tuple[int, ...],
    kernel: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
) -> None:
    pool = AvgPool(kernel, stride, padding, ceil_mode, count_include_pad)
    x = rng.normal(size=(2, *shape))
    got, want = pool.forward(x), literal_avg_pool(pool, x)
    assert got.shape == want.shape
    # each output is a sum of at most k terms, divided: γ_{k+2} of the sum of magnitudes
    from lrp_invariants.bounds import Precision

    k = int(np.prod(pool._geometry[0]))
    bound = 2 * Precision.of(np.float64).gamma(k + 2) * literal_avg_pool(pool, np.abs(x))
    assert np.all(np.abs(got - want) <= bound)


def test_ceil_mode_drops_a_window_that_would_start_in_the_padding() -> None:
    # torch: input 4, kernel 2, stride 2, padding 1, ceil_mode -> 3 windows, not 4
    assert AvgPool(2, 2, 1, ceil_mode=True).output_shape((1, 4, 4)) == (1, 3, 3)
    assert MaxPool(2, 2, 1, ceil_mode=True).output_shape((1, 4, 4)) == (1, 3, 3)
    assert AvgPool(3, 2, 0, ceil_mode=True).output_shape((1, 6, 6)) == (1, 3, 3)


def test_adaptive_pooling_windows_cover_the_input_as_torch_does() -> None:
    op = AdaptiveAvgPool((3, 2)).operator((1, 7, 5))
    assert op.out_shape == (1, 3, 2)
    # 7 -> 3: [0, 3), [2, 5), [4, 7); 5 -> 2: [0, 3), [2, 5)
    np.testing.assert_array_equal(op.masks[0].sum(axis=1), [3, 3, 3])
    np.testing.assert_array_equal(np.argmax(op.masks[0], axis=1), [0, 2, 4])
    np.testing.assert_array_equal(op.masks[1].sum(axis=1), [3, 3])


def literal_max_pool(pool: MaxPool, x: Array) -> Array:
    kernel, stride, pads, dilation = pool._geometry
    out = pool.output_shape(x.shape[1:])
    z = np.full((x.shape[0], *out), -np.inf)
    for i, j in itertools.product(range(out[1]), range(out[2])):
        for s, t in itertools.product(range(kernel[0]), range(kernel[1])):
            h = i * stride[0] - pads[0] + s * dilation[0]
            w = j * stride[1] - pads[1] + t * dilation[1]
            if 0 <= h < x.shape[2] and 0 <= w < x.shape[3]:
                z[:, :, i, j] = np.maximum(z[:, :, i, j], x[:, :, h, w])
    return z


@pytest.mark.parametrize(
    "pool",
    [
        MaxPool(3, 2, 1),
        MaxPool(2, 1),
        MaxPool(3, 2, 1, ceil_mode=True),
        MaxPool((2, 3), 2, (1, 1), 2),
    ],
    ids=repr,
)
def test_max_pooling_equals_its_literal_loops(rng: np.random.Generator, pool: MaxPool) -> None:
    x = rng.integers(-2, 3, size=(2, 2, 7, 6)).astype(np.float64)  # many ties
    np.testing.assert_array_equal(pool.forward(x), literal_max_pool(pool, x))


def test_batch_norm_is_a_per_channel_scale_and_shift_with_eps_inside_the_root() -> None:
    norm = BatchNorm(
        np.array([2.0, -1.0]),
        np.array([0.5, 0.0]),
        np.array([1.0, 3.0]),
        np.array([3.0, 0.0]),
        eps=1.0,
    )
    x = np.array([[[3.0], [5.0]]])
    # (3 - 1) / 2 * 2 + 0.5 = 2.5; (5 - 3) / 1 * -1 + 0 = -2
    np.testing.assert_array_equal(norm.forward(x), [[[2.5], [-2.0]]])


def test_flatten_takes_channels_first_as_torch_does_on_nchw() -> None:
    x = np.arange(12.0).reshape(1, 3, 2, 2)
    np.testing.assert_array_equal(Flatten().forward(x)[0], np.arange(12.0))


def test_a_small_cnn_unrolls_into_a_dense_network_with_the_same_logits(
    rng: np.random.Generator,
) -> None:
    cnn = CNN(
        (
            integer_conv(rng, 2, 3, (3, 3), padding=1, padding_mode="circular"),
            ReLU(),
            integer_conv(rng, 3, 2, (2, 2), stride=2),
            ReLU(),
            AvgPool(2, 1),
            ReLU(),
            Flatten(),
            Dense(rng.integers(-3, 4, size=(8, 3)).astype(np.float64), np.ones(3)),
        ),
        (2, 6, 6),
    )
    x = rng.integers(-3, 4, size=(4, 2, 6, 6)).astype(np.float64)
    network = unroll(cnn)
    assert isinstance(network, Network) and network.widths == (72, 108, 18, 8, 3)
    dense = dense_forward(network, x.reshape(4, -1))
    # average pooling divides by 4: exact in binary
    np.testing.assert_array_equal(dense.logits, forward(cnn, x).logits)


def test_unroll_names_the_layer_where_the_structure_breaks(rng: np.random.Generator) -> None:
    cnn = CNN(
        (integer_conv(rng, 1, 2, (3,)), MaxPool(2, dims=1), Flatten(), Dense(np.ones((6, 1)))),
        (1, 8),
    )
    with pytest.raises(ValueError, match=r"layer 1 \(MaxPool\)"):
        unroll(cnn)


# --------------------------------------------------------------------------------------------
# Validation.


def test_a_cnn_names_the_layer_whose_shape_does_not_fit() -> None:
    conv = Conv(np.ones((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"layer 2 \(Conv\).*3 input channels"):
        CNN((conv, ReLU(), conv, Flatten(), Dense(np.ones((2, 1)))), (3, 5, 5))


def test_a_cnn_names_a_residual_branch_layer_that_does_not_fit() -> None:
    block = Residual((Conv(np.ones((2, 2, 3, 3)), padding=1), ReLU(), Conv(np.ones((3, 2, 1, 1)))))
    with pytest.raises(ValueError, match=r"layer 0 \(Residual\).*branch gives shape \(3, 4, 4\)"):
        CNN((block, Flatten(), Dense(np.ones((32, 1)))), (2, 4, 4))


def test_a_cnn_rejects_mixed_dtypes_naming_the_layer() -> None:
    with pytest.raises(TypeError, match=r"layer 2: dtype float32"):
        CNN((Conv(np.ones((1, 1, 2))), Flatten(), Dense(np.ones((3, 1), np.float32))), (1, 4))


def test_a_cnn_rejects_a_layer_of_another_kind() -> None:
    with pytest.raises(TypeError, match=r"layer 1: str is not a CNN layer"):
        CNN((Conv(np.ones((1, 1, 2))), "relu"), (1, 4))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"weight": np.ones((2, 2))}, ValueError, "weight must be"),
        ({"weight": np.ones((2, 2, 3), int)}, TypeError, "dtype int"),
        ({"weight": np.full((2, 2, 3), np.nan)}, ValueError, "nan"),
        ({"weight": np.ones((3, 2, 3)), "groups": 2}, ValueError, "divide C_out"),
        ({"weight": np.ones((2, 2, 3)), "bias": np.ones(3)}, ValueError, "bias must be"),
        ({"weight": np.ones((2, 2, 3)), "bias": np.ones(2, np.float32)}, TypeError, "float32"),
        ({"weight": np.ones((2, 2, 3)), "stride": 0}, ValueError, "stride must be >= 1"),
        ({"weight": np.ones((2, 2, 3)), "padding": -1}, ValueError, "padding must be >= 0"),
        ({"weight": np.ones((2, 2, 3)), "padding_mode": "same"}, ValueError, "padding_mode"),
        ({"weight": np.ones((2, 2, 3)), "padding_value": 1.0}, ValueError, "constant"),
    ],
)
def test_conv_rejects_bad_parameters_before_any_work(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Conv(**kwargs)


def test_reflect_padding_must_stay_below_the_size_as_in_torch() -> None:
    conv = Conv(np.ones((1, 1, 3)), padding=3, padding_mode="reflect")
    with pytest.raises(ValueError, match="reflect padding"):
        CNN((conv, Flatten()), (1, 3))


def test_batch_norm_rejects_a_negative_variance() -> None:
    with pytest.raises(ValueError, match="var must be >= 0"):
        BatchNorm(np.ones(2), np.ones(2), np.ones(2), np.array([1.0, -1.0]))


def test_pooling_padding_is_at_most_half_the_kernel() -> None:
    with pytest.raises(ValueError, match="at most half the kernel"):
        MaxPool(2, padding=2)


def test_layers_keep_private_read_only_copies_of_their_parameters() -> None:
    weight, bias = np.ones((2, 1, 3)), np.zeros(2)
    conv = Conv(weight, bias)
    weight[:] = 5
    bias[:] = 5
    assert conv.weight.max() == 1 and conv.bias is not None and conv.bias.max() == 0
    with pytest.raises(ValueError, match="read-only"):
        conv.weight[0, 0, 0] = 2


def test_forward_checks_the_batch_and_leaves_it_unchanged(rng: np.random.Generator) -> None:
    cnn = CNN((Conv(np.ones((1, 1, 2, 2))), Flatten()), (1, 3, 3))
    with pytest.raises(ValueError, match=r"x\[None\]"):
        forward(cnn, np.ones((1, 3, 3)))
    with pytest.raises(TypeError, match="float32"):
        forward(cnn, np.ones((2, 1, 3, 3), np.float32))
    x = rng.normal(size=(2, 1, 3, 3))
    copy = x.copy()
    forward(cnn, x)
    np.testing.assert_array_equal(x, copy)


def test_float32_cnns_stay_in_float32(rng: np.random.Generator) -> None:
    cnn = CNN(
        (
            Conv(rng.normal(size=(2, 1, 3)).astype(np.float32), np.ones(2, np.float32), padding=1),
            ReLU(),
            AvgPool(2, dims=1),
            MaxPool(2, 1, dims=1),
            Flatten(),
            Dense(np.ones((2, 2), np.float32)),
        ),
        (1, 5),
    )
    trace = forward(cnn, rng.normal(size=(3, 1, 5)).astype(np.float32))
    assert all(out.dtype == np.float32 for out in trace.outputs)
