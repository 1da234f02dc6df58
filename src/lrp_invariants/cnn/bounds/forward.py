"""Enclosures of a CNN's forward pass and gradient.

Forward pass and gradient go through each linear layer's
:class:`~lrp_invariants.rules.operator.LinearOperator` (:mod:`lrp_invariants.bounds.operator`):
rounding is bounded per output by its connection count, not the dense width. Max pooling is
exact where a window's winner is certain (its lower end above every other candidate's upper
end); elsewhere every candidate may win, and each may receive anything from none to all of the
window's relevance or gradient (the hull of every conserving tie-break). ReLU is as in the
dense enclosures; a residual block adds its branch and shortcut balls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ...bounds.balls import F64, Ball, Precision, add, monotone, mul, relu
from ...bounds.forward import class_selector, relu_step
from ...bounds.operator import enclose_product, enclose_transpose
from ..conv import Conv
from ..geometry import scatter, taps_first
from ..model import CNN, Layer, check_batch, operator
from ..pooling import MaxPool
from ..relevance import check_classes
from ..residual import Residual
from ..simple import Dense, Flatten, ReLU


@dataclass(frozen=True, eq=False)
class ResidualBalls:
    """A residual block's balls: its branch's, the shortcut's output and the sum's."""

    branch: CNNBalls
    shortcut: Ball
    total: Ball


@dataclass(frozen=True, eq=False)
class CNNBalls:
    """Balls of every layer's input and output (``outputs[-1]``: the logits), shaped as the
    trace's arrays; ``grains[i]``: a computed nonzero output of layer ``i`` is at least this
    (``input_grain`` for the input)."""

    inputs: tuple[Ball, ...]
    outputs: tuple[Ball, ...]
    inner: tuple[ResidualBalls | None, ...]
    grains: tuple[float, ...]
    input_grain: float

    @property
    def logits(self) -> Ball:
        return self.outputs[-1]


def reshaped(ball: Ball, shape: tuple[int, ...]) -> Ball:
    """``ball`` with its centre and radius in ``shape``."""
    return Ball(ball.mid.reshape(shape), ball.rad.reshape(shape))


def _weight_grain(layer: Layer, op: Any, p: Precision) -> float:
    """The grain of a layer's weights as products read them; η (nothing known) where a
    correct evaluation may divide (pooling's ``/ k``, a batch norm's ``/ sqrt(var + eps)``)."""
    if isinstance(layer, Conv):
        return p.grain(layer.weight)
    if isinstance(layer, Dense):
        return p.grain(layer.W)
    return p.eta


def _linear_grain(layer: Layer, op: Any, grain_in: float, p: Precision) -> float:
    if not isinstance(layer, Conv | Dense):
        return p.eta
    gw = _weight_grain(layer, op, p)
    parts = [p.product_grain(grain_in, gw), p.grain(op.bias)]
    if op.constant is not None:
        parts.append(p.product_grain(p.grain(op.constant), gw))
    if isinstance(layer, Conv) and layer.padding_mode == "constant":
        parts.append(p.product_grain(p.grain(layer.padding_value), gw))
    return max(min(parts), p.eta)


def _max_pool(layer: MaxPool, a: Ball, p: Precision) -> Ball:
    """Each window's maximum: exact operations, monotone in every entry, so the maxima of the
    ends bound it."""
    lo, hi = a.bounds(p)
    mid = layer.forward(a.mid)
    low, high = layer.forward(lo), layer.forward(hi)
    with np.errstate(over="ignore", invalid="ignore"):
        rad = np.maximum(high - mid, mid - low) * (1 + 4 * p.u)
    rad = np.where(np.isnan(rad), np.inf, rad)
    return Ball(mid, np.where(rad > 0, rad + p.eta, 0.0))


def _run(
    layers: tuple[Layer, ...],
    a: Ball,
    grain: float,
    p: Precision,
    dtype: np.dtype,
    first_bias_radius: F64 | None = None,
) -> CNNBalls:
    inputs, outputs, inner, grains = [], [], [], []
    grain_in = grain
    for index, layer in enumerate(layers):
        inputs.append(a)
        block = None
        shape = a.mid.shape[1:]
        if isinstance(layer, ReLU):
            out = relu(a, p)
        elif isinstance(layer, Flatten):
            out = reshaped(a, (a.mid.shape[0], -1))
        elif isinstance(layer, MaxPool):
            out = _max_pool(layer, a, p)
        elif isinstance(layer, Residual):
            branch = _run(layer.branch, a, grain, p, dtype)
            if layer.downsample is None:
                shortcut, short_grain = a, grain
            else:
                down = layer.downsample.operator(shape)
                shortcut = enclose_product(down, a, p)
                short_grain = _linear_grain(layer.downsample, down, grain, p)
            summed = add(branch.logits, shortcut, p)
            block = ResidualBalls(branch, shortcut, summed)
            out = relu(summed, p)
            grain = min(branch.grains[-1], short_grain)
        else:
            op = operator(layer, shape, np.dtype(np.float64))
            out = enclose_product(op, a, p)
            if index == 0 and first_bias_radius is not None:  # an inexact bias: its rounding
                out = Ball(out.mid, p.widen(out.rad + first_bias_radius, 1))
            grain = _linear_grain(layer, operator(layer, shape, dtype), grain, p)
        outputs.append(out)
        inner.append(block)
        grains.append(grain)
        a = out
    return CNNBalls(tuple(inputs), tuple(outputs), tuple(inner), tuple(grains), grain_in)


def enclose_cnn_forward(
    cnn: CNN,
    x: Ball | ArrayLike,
    p: Precision | None = None,
    first_bias_radius: ArrayLike | None = None,
) -> CNNBalls:
    """Enclose every layer's output of ``cnn`` on every input in ``x`` (an array: exact);
    ``first_bias_radius`` (broadcast to the first layer's output): how far the first layer's
    bias may lie from the exact one it stands for (net2's compensated bias)."""
    p = p or Precision.of(cnn.dtype)
    ball = x if isinstance(x, Ball) else Ball.exact(check_batch(cnn, x))
    if ball.mid.shape[1:] != cnn.input_shape:
        raise ValueError(f"x must have shape (n, {cnn.input_shape}); got {ball.mid.shape}")
    radius = None if first_bias_radius is None else np.asarray(first_bias_radius, np.float64)
    if radius is not None:
        if not isinstance(cnn.layers[0], Conv | Dense):
            raise ValueError("first_bias_radius needs a first Conv or Dense (a layer with a bias)")
        out = (ball.mid.shape[0], *cnn.shapes[1])
        if np.broadcast_shapes(radius.shape, out) != out:
            raise ValueError(f"first_bias_radius has shape {radius.shape}; the first output {out}")
    return _run(cnn.layers, ball, p.grain(ball.mid), p, cnn.dtype, radius)


# --------------------------------------------------------------------------------------------
# Max pooling's routing, for gradients and relevance alike.


def route_max_pool(layer: MaxPool, a: Ball, g: Ball, p: Precision) -> Ball:
    """Route ``g`` (n, C, *out) back to the pool's input ``a``: a window whose winner is
    certain gives it all of ``g``; where several entries may be the maximum, each of them may
    get anything between none and all of it (every tie-break that conserves ``g``)."""
    dims = layer.dims
    axes = tuple(range(-dims, 0))
    lo, hi = a.bounds(p)
    low_view, high_view = layer.windows(lo), layer.windows(hi)
    floor = low_view.max(axis=axes, keepdims=True)  # the winner is at least this
    candidate = high_view >= floor
    count = candidate.sum(axis=axes, keepdims=True)
    expand: tuple[Any, ...] = (Ellipsis, *([None] * dims))
    g_lo, g_hi = g.bounds(p)
    # a tie: anything in [min(0, g), max(0, g)]
    span_lo, span_hi = np.minimum(g_lo, 0.0)[expand], np.maximum(g_hi, 0.0)[expand]
    with np.errstate(over="ignore", invalid="ignore"):
        tie_mid = (span_lo + span_hi) / 2
        tie_rad = (span_hi - span_lo) / 2 * (1 + 4 * p.u) + p.eta
    single = count == 1
    mid = np.where(candidate, np.where(single, g.mid[expand], tie_mid), 0.0)
    rad = np.where(candidate, np.where(single, g.rad[expand], tie_rad), 0.0)
    rad = np.where(np.isnan(rad), np.inf, rad)
    kernel, stride, _, dilation = layer._geometry
    pads = layer._padding(a.mid.shape[1:])
    spatial = a.mid.shape[2:]
    padded = tuple(size + b + e for size, (b, e) in zip(spatial, pads, strict=True))
    crop = (
        slice(None),
        slice(None),
        *(slice(b, b + s) for s, (b, _) in zip(spatial, pads, strict=True)),
    )

    def back(values: F64) -> F64:
        result: F64 = scatter(taps_first(values, dims), padded, kernel, stride, dilation)[crop]
        return result

    upper = np.abs(mid) + rad
    overlap = int(back(np.ones((1, *mid.shape[1:]))).max(initial=1.0))
    with np.errstate(over="ignore", invalid="ignore"):
        spread = back(rad) + 2 * p.gamma(overlap + 2) * back(upper)
    spread = np.where(np.isnan(spread), np.inf, spread)
    return Ball(back(mid), p.widen(spread, 2 * overlap))


# --------------------------------------------------------------------------------------------
# Gradient.


def _gradient(layers: tuple[Layer, ...], balls: CNNBalls, g: Ball, p: Precision) -> Ball:
    for i in range(len(layers) - 1, -1, -1):
        layer, a = layers[i], balls.inputs[i]
        if isinstance(layer, ReLU):
            g = mul(monotone(relu_step, a, p, 0), g, p)
        elif isinstance(layer, Flatten):
            g = reshaped(g, a.mid.shape)
        elif isinstance(layer, MaxPool):
            g = route_max_pool(layer, a, g, p)
        elif isinstance(layer, Residual):
            block = balls.inner[i]
            assert block is not None
            g = mul(monotone(relu_step, block.total, p, 0), g, p)
            through = _gradient(layer.branch, block.branch, g, p)
            short = (
                g
                if layer.downsample is None
                else enclose_transpose(layer.downsample.operator(a.mid.shape[1:]), g, p)
            )
            g = add(through, short, p)
        else:
            g = enclose_transpose(operator(layer, a.mid.shape[1:], np.dtype(np.float64)), g, p)
    return g


def enclose_cnn_gradient(
    cnn: CNN,
    balls: CNNBalls,
    classes: ArrayLike,
    p: Precision | None = None,
    times_input: bool = False,
) -> Ball:
    """Enclose d logit[class] / d x (times x with ``times_input``) evaluated backward (reverse
    mode) in any summation order; at a ReLU kink the derivative may be 0 or 1, at a possible
    tie in max pooling any conserving split of the gradient."""
    p = p or Precision.of(cnn.dtype)
    n = balls.logits.mid.shape[0]
    chosen = check_classes(cnn, classes, n)
    g = Ball.exact(class_selector(chosen, balls.logits.mid.shape))
    g = _gradient(cnn.layers, balls, g, p)
    return mul(balls.inputs[0], g, p) if times_input else g
