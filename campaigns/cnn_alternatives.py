"""Correct CNN attribution code written unlike this package's, as targets of the CNN protocol.

Each alternative is ``fn(layers, x, classes) -> relevance`` on the protocol's plain dicts
(:mod:`lrp_invariants.cnn.protocol`) and computes its method in an evaluation order of its own,
without ``lrp_invariants.cnn``'s forward, gradient or ``explain``:

* ``direct_loops``: every convolution, dense layer, average pooling and batch norm as a list of
  taps (input, output, weight) built by explicit loops over output positions and kernel taps,
  with this module's own padding index maps (all five modes), strides, dilations, groups and
  bias maps; forward and backward accumulate the taps one after the other in that order. Every
  rule reads each tap alone (the per-tap semantics of αβ, z⁺ and γ at copying padding).
* ``dense_unrolled``: every linear layer as its dense matrix (:func:`~lrp_invariants.cnn.unroll.
  dense_matrix`), products by matrices instead of im2col; max pooling and residual blocks by
  hand. LRP-0 and ε read the merged matrix entries, which is the same rule for them.
* ``fused_batch_norm``: each batch norm folded into the convolution before it (this module's
  own fold of the dicts), then the taps of ``direct_loops``: only rounding changes for the
  gradient family.
* ``reversed_sums``: the taps in reverse order (every sum runs backwards: last channel and tap
  first) and the rules in the shares-first form ``(z_ij / z_j) R_j``.

w² reads each tap's ``w²`` and flat counts each tap once (a copy made by copying padding is a
tap of its own, zero padding none, a non-zero constant padding's taps count).

Everywhere: LRP-0 at average pooling, batch norms and residual sums, winner-take-all at max
pooling with ties split evenly, a zero denominator passes nothing, ``sign(0) = +1`` in ε.
The gate must pass all of them (``tests/test_cnn_alternatives.py``, ``campaigns/
cnn_soundness.py``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from lrp_invariants.cnn.protocol import cnn_from_specs
from lrp_invariants.cnn.unroll import dense_matrix

Array = np.ndarray
Spec = dict[str, Any]
Target = Callable[[list[Spec], Array, Array], Array]

EPSILON = 1e-9  # the gate's lrp-epsilon
GAMMA = 0.25  # the gate's lrp-gamma (sign-aware, bias modified, no stabiliser)
ALPHA_BETA = {"lrp-alpha-beta": (2.0, 1.0), "lrp-zplus": (1.0, 0.0)}


# Geometry, written from torch's definitions.


def _conv_size(padded: int, kernel: int, stride: int, dilation: int) -> int:
    return (padded - dilation * (kernel - 1) - 1) // stride + 1


def _pool_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil: bool) -> int:
    """torch's pooling output size: with ``ceil_mode`` the last window must start inside the
    input or its left padding."""
    span = size + 2 * pad - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _source(u: int, size: int, mode: str) -> int:
    """The input position that position ``u`` (``-before`` .. ``size + after - 1``) of a padded
    axis reads; -1 for a constant."""
    if 0 <= u < size:
        return u
    if mode in ("zeros", "constant"):
        return -1
    if mode == "replicate":
        return 0 if u < 0 else size - 1
    if mode == "reflect":
        return -u if u < 0 else 2 * (size - 1) - u
    return u % size  # circular


def _flat(shape: Sequence[int], index: Sequence[int]) -> int:
    flat = 0
    for size, i in zip(shape, index, strict=True):
        flat = flat * size + i
    return flat


@dataclass(frozen=True)
class Taps:
    """A linear layer as lists: tap ``t`` adds ``weight[t] * a[src[t]]`` (``src = -1``: the
    constant padding value) to output ``dst[t]``; the weight is ``weights.ravel()[widx[t]]``."""

    src: Array
    dst: Array
    widx: Array
    out_shape: tuple[int, ...]


def _taps(src: list[int], dst: list[int], widx: list[int], out: tuple[int, ...]) -> Taps:
    return Taps(
        np.array(src, dtype=np.intp),
        np.array(dst, dtype=np.intp),
        np.array(widx, dtype=np.intp),
        out,
    )


@lru_cache(maxsize=256)
def conv_taps(
    w_shape: tuple[int, ...],
    in_shape: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[tuple[int, int], ...],
    dilation: tuple[int, ...],
    groups: int,
    mode: str,
    frame: bool,
) -> Taps:
    """A convolution's taps by loops over output channels, positions, input channels of the
    group and kernel taps; taps reading zero padding are left out, those reading a constant
    padding kept with ``src = -1`` where ``frame``."""
    c_out, per_group, kernel = w_shape[0], w_shape[1], w_shape[2:]
    spatial = in_shape[1:]
    out = tuple(
        _conv_size(size + b + a, k, s, d)
        for size, (b, a), k, s, d in zip(spatial, padding, kernel, stride, dilation, strict=True)
    )
    reads = [
        [[_source(o * s + t * d - b, size, mode) for t in range(k)] for o in range(o_size)]
        for size, (b, _), k, s, d, o_size in zip(
            spatial, padding, kernel, stride, dilation, out, strict=True
        )
    ]
    src: list[int] = []
    dst: list[int] = []
    widx: list[int] = []
    outs_per_group = c_out // groups
    for j in range(c_out):
        group = j // outs_per_group
        for position in itertools.product(*(range(o) for o in out)):
            target = _flat((c_out, *out), (j, *position))
            for c in range(per_group):
                channel = group * per_group + c
                for tap in itertools.product(*(range(k) for k in kernel)):
                    where = [reads[axis][position[axis]][tap[axis]] for axis in range(len(out))]
                    if min(where) < 0:
                        if not frame:
                            continue
                        source = -1
                    else:
                        source = _flat(in_shape, (channel, *where))
                    src.append(source)
                    dst.append(target)
                    widx.append(_flat(w_shape, (j, c, *tap)))
    return _taps(src, dst, widx, (c_out, *out))


@lru_cache(maxsize=256)
def dense_taps(n_out: int, n_in: int) -> Taps:
    """A dense layer ``(out, in)``: every pair, output by output."""
    src, dst, widx = [], [], []
    for j in range(n_out):
        for i in range(n_in):
            src.append(i)
            dst.append(j)
            widx.append(j * n_in + i)
    return _taps(src, dst, widx, (n_out,))


def _avg_axis(
    size: int, kernel: int, stride: int, pad: int, ceil: bool, include: bool
) -> list[tuple[range, int]]:
    """Per output position of one axis: its inputs and its divisor (torch's rules)."""
    result = []
    for o in range(_pool_size(size, kernel, stride, pad, 1, ceil)):
        start = o * stride - pad
        end = min(start + kernel, size + pad)
        divisor = end - start
        start, end = max(start, 0), min(end, size)
        result.append((range(start, end), divisor if include else end - start))
    return result


def _adaptive_axis(size: int, out: int) -> list[tuple[range, int]]:
    result = []
    for o in range(out):
        start, end = (o * size) // out, -((-(o + 1) * size) // out)
        result.append((range(start, end), end - start))
    return result


@lru_cache(maxsize=256)
def pool_taps(
    in_shape: tuple[int, ...], axes: tuple[tuple[tuple[tuple[int, ...], int], ...], ...]
) -> Taps:
    """An average pooling's taps (weights ``1 / divisor``, ``widx`` indexes the divisors)."""
    channels = in_shape[0]
    out = tuple(len(axis) for axis in axes)
    src, dst, divisors = [], [], []
    for c in range(channels):
        for position in itertools.product(*(range(o) for o in out)):
            target = _flat((channels, *out), (c, *position))
            windows = [axes[axis][position[axis]] for axis in range(len(out))]
            divisor = math.prod(w[1] for w in windows)
            for inputs in itertools.product(*(w[0] for w in windows)):
                src.append(_flat(in_shape, (c, *inputs)))
                dst.append(target)
                divisors.append(divisor)
    return _taps(src, dst, divisors, (channels, *out))


@lru_cache(maxsize=256)
def max_windows(
    in_shape: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
    ceil: bool,
) -> tuple[Array, tuple[int, ...]]:
    """Per output (flat), the inputs of its window that lie inside the input (max pooling pads
    with -inf), -1 for a tap in the padding: ``(outputs, taps)``; and the output shape."""
    channels, spatial = in_shape[0], in_shape[1:]
    out = tuple(
        _pool_size(size, k, s, p, d, ceil)
        for size, k, s, p, d in zip(spatial, kernel, stride, padding, dilation, strict=True)
    )
    result = []
    for c in range(channels):
        for position in itertools.product(*(range(o) for o in out)):
            window = []
            for tap in itertools.product(*(range(k) for k in kernel)):
                where = [
                    position[axis] * stride[axis] - padding[axis] + tap[axis] * dilation[axis]
                    for axis in range(len(out))
                ]
                inside = all(0 <= w < size for w, size in zip(where, spatial, strict=True))
                window.append(_flat(in_shape, (c, *where)) if inside else -1)
            result.append(window)
    return np.array(result, dtype=np.intp), (channels, *out)


# Linear layers: the taps (accumulated in order or reversed) or a dense matrix.


def _sum_into(index: Array, values: Array, size: int, reverse: bool) -> Array:
    """Per sample, ``values`` (n, T) added into ``size`` bins by ``index``, one after the other
    (in reverse where ``reverse``)."""
    if reverse:
        index, values = index[::-1], values[:, ::-1]
    out = np.empty((values.shape[0], size), dtype=np.float64)
    for k in range(values.shape[0]):
        out[k] = np.bincount(index, weights=values[k], minlength=size)
    return out


@dataclass(frozen=True, eq=False)
class TapLayer:
    """A linear layer as taps; ``weighted`` (convolution, dense) takes the method's rule, the
    others (pooling, batch norm) LRP-0; ``reverse``: every sum backwards, shares first."""

    taps: Taps
    weights: Array  # per tap
    frame: float  # the constant padding value read by taps with src = -1
    bias: Array  # per output (flat)
    n_in: int
    weighted: bool
    reverse: bool

    @property
    def out_shape(self) -> tuple[int, ...]:
        return self.taps.out_shape

    def _sources(self, a: Array) -> Array:
        """Each tap's source value per sample (n, T)."""
        src = self.taps.src
        padded = np.concatenate([a, np.full((a.shape[0], 1), self.frame)], axis=1)
        return padded[:, np.where(src < 0, a.shape[1], src)]

    def contributions(self, a: Array) -> Array:
        return self._sources(a) * self.weights

    def _out(self, values: Array) -> Array:
        return _sum_into(self.taps.dst, values, self.bias.size, self.reverse)

    def _in(self, values: Array) -> Array:
        inside = self.taps.src >= 0
        return _sum_into(self.taps.src[inside], values[:, inside], self.n_in, self.reverse)

    def forward(self, a: Array) -> Array:
        return self._out(self.contributions(a)) + self.bias

    def transpose(self, g: Array) -> Array:
        return self._in(g[:, self.taps.dst] * self.weights)

    def relevance(self, a: Array, z: Array, R: Array, method: str) -> Array:
        rule = method if self.weighted else "lrp-0"
        C = self.contributions(a)
        dst = self.taps.dst
        if rule in ("lrp-0", "lrp-epsilon"):
            den = z if rule != "lrp-epsilon" else z + np.where(z < 0, -EPSILON, EPSILON)
            return self._in(self._share(C, den, R))
        if rule in ALPHA_BETA:
            alpha, beta = ALPHA_BETA[rule]
            P, N = np.maximum(C, 0), np.minimum(C, 0)
            z_pos = self._out(P) + np.maximum(self.bias, 0)
            z_neg = self._out(N) + np.minimum(self.bias, 0)
            return self._in(self._share(P, z_pos, alpha * R) + self._share(N, z_neg, -beta * R))
        if rule == "lrp-gamma":
            up = z[:, dst] > 0
            rho = C + GAMMA * np.where(up, np.maximum(C, 0), np.minimum(C, 0))
            b = self.bias
            rho_b = np.where(z > 0, b + GAMMA * np.maximum(b, 0), b + GAMMA * np.minimum(b, 0))
            den = self._out(rho) + rho_b
            passed = np.where(z != 0, R, 0.0)  # a unit at exactly 0 passes nothing
            return self._in(self._share(rho, den, passed))
        if rule in ("lrp-w-square", "lrp-flat"):  # every tap's w² (or 1), a frame's taps too
            omega = np.broadcast_to(
                self.weights**2 if rule == "lrp-w-square" else np.ones_like(self.weights), C.shape
            )
            return self._in(self._share(omega, self._out(omega), R))
        raise ValueError(f"no rule {rule!r} here")

    def _share(self, C: Array, den: Array, R: Array) -> Array:
        """Each tap's ``C_t R_j / den_j`` (0 where ``den_j = 0``): quotient first in order,
        the tap's share first reversed."""
        dst = self.taps.dst
        safe = np.where(den == 0, 1.0, den)
        if self.reverse:
            share = C / safe[:, dst]
            return np.where(den[:, dst] == 0, 0.0, share * R[:, dst])
        s = np.where(den == 0, 0.0, R / safe)
        return C * s[:, dst]


@dataclass(frozen=True, eq=False)
class MatrixLayer:
    """A linear layer as its dense matrix ``(in, out)`` and bias vector (constant padding
    included): LRP-0 and ε only."""

    W: Array
    b: Array
    out_shape: tuple[int, ...]
    weighted: bool

    def forward(self, a: Array) -> Array:
        return a @ self.W + self.b

    def transpose(self, g: Array) -> Array:
        return g @ self.W.T

    def relevance(self, a: Array, z: Array, R: Array, method: str) -> Array:
        rule = method if self.weighted else "lrp-0"
        if rule == "lrp-epsilon":
            den = z + np.where(z < 0, -EPSILON, EPSILON)
        elif rule == "lrp-0":
            den = z
        else:
            raise ValueError(f"the dense form has no rule {rule!r}")
        s = np.where(den == 0, 0.0, R / np.where(den == 0, 1.0, den))
        return a * (s @ self.W.T)


# The CNN: nodes built from the dicts, then forward, gradient and relevance over them.


def _bn(spec: Spec) -> tuple[Array, Array]:
    scale = spec["weight"] / np.sqrt(spec["running_var"] + spec["eps"])
    return scale, spec["bias"] - spec["running_mean"] * scale


def _per_output(bias: Array | None, out: tuple[int, ...]) -> Array:
    if bias is None:
        return np.zeros(math.prod(out))
    if bias.ndim == 1:
        bias = bias.reshape(-1, *([1] * (len(out) - 1)))
    return np.broadcast_to(bias, out).ravel().astype(np.float64)


def tap_layer(spec: Spec, in_shape: tuple[int, ...], reverse: bool) -> TapLayer:
    """A convolution, dense layer, average pooling or batch norm as taps."""
    kind, n_in = spec["kind"], math.prod(in_shape)
    if kind == "conv":
        W = spec["weight"]
        frame = spec["padding_mode"] == "constant" and spec["padding_value"] != 0
        taps = conv_taps(
            W.shape,
            in_shape,
            tuple(spec["stride"]),
            tuple(tuple(p) for p in spec["padding"]),
            tuple(spec["dilation"]),
            spec["groups"],
            spec["padding_mode"],
            frame,
        )
        bias = _per_output(spec["bias"], taps.out_shape)
        weights = W.ravel()[taps.widx]
        return TapLayer(taps, weights, spec["padding_value"], bias, n_in, True, reverse)
    if kind == "linear":
        W = spec["weight"]
        taps = dense_taps(W.shape[0], W.shape[1])
        bias = np.zeros(W.shape[0]) if spec["bias"] is None else spec["bias"]
        return TapLayer(taps, W.ravel()[taps.widx], 0.0, bias, n_in, True, reverse)
    if kind == "batch_norm":
        scale, shift = _bn(spec)
        channels, size = in_shape[0], math.prod(in_shape[1:])
        src, widx = [], []
        for c in range(channels):
            for p in range(size):
                src.append(c * size + p)
                widx.append(c)
        taps = _taps(src, src, widx, in_shape)
        bias = np.repeat(shift, size)
        return TapLayer(taps, scale[taps.widx], 0.0, bias, n_in, False, reverse)
    spatial = in_shape[1:]
    if kind == "avg_pool":
        axes = tuple(
            tuple(
                (tuple(r), d)
                for r, d in _avg_axis(size, k, s, p, spec["ceil_mode"], spec["count_include_pad"])
            )
            for size, k, s, p in zip(
                spatial, spec["kernel_size"], _stride(spec), spec["padding"], strict=True
            )
        )
    else:  # adaptive_avg_pool
        axes = tuple(
            tuple((tuple(r), d) for r, d in _adaptive_axis(size, o))
            for size, o in zip(spatial, spec["output_size"], strict=True)
        )
    taps = pool_taps(tuple(in_shape), axes)
    weights = 1.0 / taps.widx.astype(np.float64)
    return TapLayer(taps, weights, 0.0, np.zeros(math.prod(taps.out_shape)), n_in, False, reverse)


LINEAR = ("conv", "linear", "batch_norm", "avg_pool", "adaptive_avg_pool")


def _stride(spec: Spec) -> tuple[int, ...]:
    stride = spec.get("stride")
    return tuple(spec["kernel_size"] if stride is None else stride)


Node = tuple[Any, ...]
MakeLinear = Callable[[Spec, Any, tuple[int, ...]], Any]


def build(
    specs: Sequence[Spec], layers: Sequence[Any], shape: tuple[int, ...], make: MakeLinear
) -> tuple[list[Node], tuple[int, ...]]:
    """Nodes ``(kind, ...)`` for the dicts (``layers``: the parsed layers beside them, for
    forms that need them), and the output shape."""
    nodes: list[Node] = []
    for spec, layer in zip(specs, layers, strict=True):
        kind = spec["kind"]
        if kind in LINEAR:
            linear = make(spec, layer, shape)
            nodes.append(("linear", linear))
            shape = linear.out_shape
        elif kind == "relu":
            nodes.append(("relu",))
        elif kind == "flatten":  # C order: the flat per-sample layout is already flattened
            shape = (math.prod(shape),)
            nodes.append(("flatten",))
        elif kind == "max_pool":
            windows, shape_out = max_windows(
                shape,
                tuple(spec["kernel_size"]),
                _stride(spec),
                tuple(spec["padding"]),
                tuple(spec["dilation"]),
                bool(spec["ceil_mode"]),
            )
            nodes.append(("max_pool", windows))
            shape = shape_out
        elif kind == "residual":
            branch, out = build(spec["branch"], layer.branch, shape, make)
            down = spec["downsample"]
            shortcut = None if down is None else make(down, layer.downsample, shape)
            nodes.append(("residual", branch, shortcut))
            shape = out
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return nodes, shape


def forward(nodes: Sequence[Node], a: Array) -> tuple[list[Any], Array]:
    """Each node's input (a residual node: its input, branch trace, branch output, shortcut,
    sum), and the output."""
    trace: list[Any] = []
    for node in nodes:
        if node[0] == "linear":
            z = node[1].forward(a)
            trace.append((a, z))
            a = z
        elif node[0] == "relu":
            trace.append((a,))
            a = np.maximum(a, 0.0)
        elif node[0] == "flatten":
            trace.append((a,))
        elif node[0] == "max_pool":
            trace.append((a,))
            a = _window_values(a, node[1]).max(axis=2)
        else:
            inner, out = forward(node[1], a)
            short = a if node[2] is None else node[2].forward(a)
            total = out + short
            trace.append((a, inner, out, short, total))
            a = np.maximum(total, 0.0)
    return trace, a


def _window_values(a: Array, windows: Array) -> Array:
    """``(n, outputs, taps)``: each window's values, -inf where it reads the padding."""
    padded = np.concatenate([a, np.full((a.shape[0], 1), -np.inf)], axis=1)
    return padded[:, np.where(windows < 0, a.shape[1], windows)]


def _route(a: Array, windows: Array, R: Array) -> Array:
    """Winner-take-all: each window's value to its maxima, split evenly at a tie."""
    values = _window_values(a, windows)
    winners = values == values.max(axis=2, keepdims=True)
    share = np.where(winners, (R / winners.sum(axis=2))[:, :, None], 0.0)
    inside = windows >= 0
    return _sum_into(windows[inside], share[:, inside], a.shape[1], False)


def backward(nodes: Sequence[Node], trace: Sequence[Any], R: Array, method: str | None) -> Array:
    """The gradient (``method`` None) or the relevance from the output down to the input."""
    for node, saved in zip(reversed(nodes), reversed(trace), strict=True):
        if node[0] == "linear":
            a, z = saved
            R = node[1].transpose(R) if method is None else node[1].relevance(a, z, R, method)
        elif node[0] == "relu":
            R = R * (saved[0] > 0) if method is None else R
        elif node[0] == "max_pool":
            R = _route(saved[0], node[1], R)
        elif node[0] == "residual":
            a, inner, out, short, total = saved
            if method is None:
                g = R * (total > 0)
                through = backward(node[1], inner, g, None)
                R = through + (g if node[2] is None else node[2].transpose(g))
            else:  # LRP-0 at the sum, then the branch and the downsample
                s = np.where(total == 0, 0.0, R / np.where(total == 0, 1.0, total))
                through = backward(node[1], inner, out * s, method)
                R_short = short * s
                if node[2] is not None:
                    R_short = node[2].relevance(a, short, R_short, method)
                R = through + R_short
    return R


GRADIENTS = ("gradient", "saliency", "gradient-x-input")


def attribute(nodes: Sequence[Node], x: Array, classes: Array, method: str) -> Array:
    """``method``'s attribution of the chosen classes on the built CNN, input-shaped."""
    n = x.shape[0]
    a = x.reshape(n, -1).astype(np.float64)
    trace, logits = forward(nodes, a)
    chosen = np.zeros_like(logits)
    chosen[np.arange(n), classes] = 1.0
    if method in GRADIENTS:
        g = backward(nodes, trace, chosen, None)
        result = a * g if method == "gradient-x-input" else np.abs(g) if method == "saliency" else g
    else:
        result = backward(nodes, trace, chosen * logits, method)
    return result.reshape(x.shape).astype(x.dtype)


# The alternatives.


def _tap_maker(reverse: bool) -> MakeLinear:
    return lambda spec, layer, shape: tap_layer(spec, shape, reverse)


def _matrix_maker(spec: Spec, layer: Any, shape: tuple[int, ...]) -> MatrixLayer:
    W, b = dense_matrix(layer, shape)
    out = tuple(layer.output_shape(shape))
    return MatrixLayer(W, b, out, spec["kind"] in ("conv", "linear"))


def fold_batch_norms(specs: Sequence[Spec]) -> list[Spec]:
    """The dicts with every batch norm that follows a convolution folded into it: weights
    times the scale per output channel, bias (or bias map) ``b scale + shift``."""
    folded: list[Spec] = []
    for spec in specs:
        previous = folded[-1] if folded else None
        if spec["kind"] == "batch_norm" and previous is not None and previous["kind"] == "conv":
            scale, shift = _bn(spec)
            W = previous["weight"]
            b = previous["bias"]
            per_channel = (-1, *([1] * (W.ndim - 1)))
            if b is None:
                bias = shift.copy()
            else:
                column = (-1, *([1] * (b.ndim - 1)))
                bias = b * scale.reshape(column) + shift.reshape(column)
            folded[-1] = {**previous, "weight": W * scale.reshape(per_channel), "bias": bias}
        elif spec["kind"] == "residual":
            folded.append({**spec, "branch": fold_batch_norms(spec["branch"])})
        else:
            folded.append(spec)
    return folded


def _parsed(specs: Sequence[Spec], x: Array) -> list[Any]:
    return list(cnn_from_specs(specs, x.shape[1:]).layers)


def _no_layers(specs: Sequence[Spec]) -> list[Any]:
    """Stand-ins for parsed layers where a form needs none (residual blocks need their
    branch's)."""
    return [_Blank(_no_layers(s["branch"])) if s["kind"] == "residual" else None for s in specs]


@dataclass(frozen=True)
class _Blank:
    branch: list[Any]
    downsample: None = None


def direct_loops(method: str) -> Target:
    """``method`` over taps built by explicit loops, accumulated in order."""

    def target(layers: list[Spec], x: Array, classes: Array) -> Array:
        cnn_from_specs(layers, x.shape[1:])  # the protocol's checks, nothing else
        nodes, _ = build(layers, _no_layers(layers), tuple(x.shape[1:]), _tap_maker(False))
        return attribute(nodes, x, classes, method)

    target.__qualname__ = f"direct_loops({method!r})"
    return target


def reversed_sums(method: str) -> Target:
    """``method`` over the taps summed backwards, shares first."""

    def target(layers: list[Spec], x: Array, classes: Array) -> Array:
        cnn_from_specs(layers, x.shape[1:])
        nodes, _ = build(layers, _no_layers(layers), tuple(x.shape[1:]), _tap_maker(True))
        return attribute(nodes, x, classes, method)

    target.__qualname__ = f"reversed_sums({method!r})"
    return target


def dense_unrolled(method: str) -> Target:
    """``method`` with every linear layer a dense matrix product."""

    def target(layers: list[Spec], x: Array, classes: Array) -> Array:
        nodes, _ = build(layers, _parsed(layers, x), tuple(x.shape[1:]), _matrix_maker)
        return attribute(nodes, x, classes, method)

    target.__qualname__ = f"dense_unrolled({method!r})"
    return target


def fused_batch_norm(method: str) -> Target:
    """``method`` (the gradient family) on the network with its batch norms folded."""

    def target(layers: list[Spec], x: Array, classes: Array) -> Array:
        cnn_from_specs(layers, x.shape[1:])
        folded = fold_batch_norms(layers)
        nodes, _ = build(folded, _no_layers(folded), tuple(x.shape[1:]), _tap_maker(False))
        return attribute(nodes, x, classes, method)

    target.__qualname__ = f"fused_batch_norm({method!r})"
    return target


CNN_ALTERNATIVES: dict[str, tuple[Callable[[str], Target], tuple[str, ...]]] = {
    "direct_loops": (
        direct_loops,
        (
            "gradient",
            "saliency",
            "gradient-x-input",
            "lrp-0",
            "lrp-epsilon",
            "lrp-alpha-beta",
            "lrp-zplus",
            "lrp-gamma",
            "lrp-w-square",
            "lrp-flat",
        ),
    ),
    "dense_unrolled": (
        dense_unrolled,
        ("gradient", "saliency", "gradient-x-input", "lrp-0", "lrp-epsilon"),
    ),
    "fused_batch_norm": (fused_batch_norm, ("gradient", "saliency", "gradient-x-input")),
    "reversed_sums": (
        reversed_sums,
        (
            "lrp-0",
            "lrp-epsilon",
            "lrp-alpha-beta",
            "lrp-zplus",
            "lrp-gamma",
            "lrp-w-square",
            "lrp-flat",
        ),
    ),
}
"""Each alternative: its factory (method -> target) and the methods it offers."""


def pairs() -> list[tuple[str, str, Target]]:
    """Every (alternative, method, target)."""
    return [
        (name, method, factory(method))
        for name, (factory, methods) in CNN_ALTERNATIVES.items()
        for method in methods
    ]
