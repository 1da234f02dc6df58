"""Convolution geometry, drawn: every padding mode, per-side padding up to the kernel, stride,
dilation, groups, 1-d and 2-d, sizes the stride does not divide. On integer data every sum is
exact, so the fast convolution, its literal loops and its unrolled matrix agree bit for bit,
and the transpose is the matrix's transpose."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tests.cnn_helpers import literal_conv

from lrp_invariants.cnn import Conv
from lrp_invariants.cnn.geometry import PADDING_MODES
from lrp_invariants.cnn.unroll import dense_matrix
from lrp_invariants.network import Array


@st.composite
def convolutions(draw: st.DrawFn) -> tuple[Conv, Array, Array]:
    """A convolution, an integer batch for it and integer output relevance."""
    dims = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    mode = draw(st.sampled_from(PADDING_MODES))
    kernel, stride, dilation, padding, spatial = [], [], [], [], []
    for _ in range(dims):
        k, d = draw(st.integers(1, 4)), draw(st.integers(1, 3))
        size = draw(st.integers(1, 7))
        limit = (
            min(k, size - 1) if mode == "reflect" else (min(k, size) if mode == "circular" else k)
        )
        before, after = draw(st.integers(0, limit)), draw(st.integers(0, limit))
        # the dilated kernel must fit the padded axis: grow the axis where it does not
        size = max(size, d * (k - 1) + 1 - before - after)
        kernel.append(k)
        dilation.append(d)
        stride.append(draw(st.integers(1, 3)))
        padding.append((before, after))
        spatial.append(size)
    ints = st.integers(-3, 3)
    weight = np.array(
        draw(
            st.lists(
                ints,
                min_size=c_out * c_in // groups * int(np.prod(kernel)),
                max_size=c_out * c_in // groups * int(np.prod(kernel)),
            )
        ),
        dtype=np.float64,
    ).reshape(c_out, c_in // groups, *kernel)
    bias = np.array(draw(st.lists(ints, min_size=c_out, max_size=c_out)), dtype=np.float64)
    conv = Conv(
        weight,
        bias if draw(st.booleans()) else None,
        stride=tuple(stride),
        padding=tuple(padding),
        padding_mode=mode,
        padding_value=float(draw(ints)) if mode == "constant" else 0.0,
        dilation=tuple(dilation),
        groups=groups,
    )
    n = draw(st.integers(1, 2))
    shape = (c_in, *spatial)
    x = (
        np.array(
            draw(st.lists(ints, min_size=n * int(np.prod(shape)), max_size=n * int(np.prod(shape))))
        )
        .astype(np.float64)
        .reshape(n, *shape)
    )
    out = conv.output_shape(shape)
    s = (
        np.array(
            draw(st.lists(ints, min_size=n * int(np.prod(out)), max_size=n * int(np.prod(out))))
        )
        .astype(np.float64)
        .reshape(n, *out)
    )
    return conv, x, s


@given(convolutions())
def test_the_convolution_equals_its_literal_loops_and_its_unrolled_matrix(
    case: tuple[Conv, Array, Array],
) -> None:
    conv, x, _ = case
    z = conv.forward(x)
    assert np.array_equal(z, literal_conv(conv, x))
    W, b = dense_matrix(conv, x.shape[1:])
    n = x.shape[0]
    assert np.array_equal(z.reshape(n, -1), x.reshape(n, -1) @ W + b)


@given(convolutions())
def test_the_transpose_of_the_convolution_is_its_matrixs_transpose(
    case: tuple[Conv, Array, Array],
) -> None:
    conv, x, s = case
    W, _ = dense_matrix(conv, x.shape[1:])
    n = x.shape[0]
    back = conv.operator(x.shape[1:]).transpose(s, "W")
    assert np.array_equal(back.reshape(n, -1), s.reshape(n, -1) @ W.T)
