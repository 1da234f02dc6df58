"""A CNN written out as lists of taps, evaluated in exact rationals or in floats in any order.

Independent of the core's operators: every linear layer becomes, per output, the list of its
taps ``(input index or -1 for a constant padding, weight, frame value)`` and a bias, built by
literal loops from the layer's parameters. The same lists evaluate the forward pass, the
gradient and LRP-0/ε either exactly (``Fraction``) or as plain Python floats summed in a chosen
order (a direct-loop implementation other than the core's im2col).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

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
)

Number = Any  # Fraction or float
Order = Callable[[list[Any]], list[Any]]  # the order a sum adds its terms in

_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


@dataclass(frozen=True)
class Taps:
    """A linear layer: per output, its taps ``(input, weight, frame value)`` (input -1: a
    constant padding's frame) and its bias."""

    taps: list[list[tuple[int, float, float]]]
    bias: list[float]


def _source(size: int, before: int, after: int, mode: str) -> np.ndarray:
    index = np.arange(size)
    if mode in ("zeros", "constant"):
        return np.pad(index, (before, after), constant_values=-1)
    return np.pad(index, (before, after), mode=_MODES[mode])  # type: ignore[call-overload]


def conv_taps(conv: Conv, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Taps:
    W = conv.weight
    cin_g, cout_g = W.shape[1], W.shape[0] // conv.groups
    spatial = in_shape[1:]
    sources = [
        _source(size, b, e, conv.padding_mode)
        for size, (b, e) in zip(spatial, conv.pads, strict=True)
    ]
    taps, bias = [], []
    for co in range(out_shape[0]):
        group = co // cout_g
        for o in itertools.product(*(range(s) for s in out_shape[1:])):
            row = []
            for cl in range(cin_g):
                ci = group * cin_g + cl
                for t in itertools.product(*(range(k) for k in conv.kernel)):
                    at = [
                        int(src[oo * s + tt * d])
                        for src, oo, tt, s, d in zip(
                            sources, o, t, conv.strides, conv.dilations, strict=True
                        )
                    ]
                    w = float(W[(co, cl, *t)])
                    if min(at) < 0:
                        if conv.padding_mode == "constant" and conv.padding_value != 0:
                            row.append((-1, w, conv.padding_value))
                        continue
                    row.append((int(np.ravel_multi_index((ci, *at), in_shape)), w, 0.0))
            taps.append(row)
            b = (
                0.0
                if conv.bias is None
                else conv.bias[(co, *o)]
                if conv.bias.ndim > 1
                else conv.bias[co]
            )
            bias.append(float(b))
    return Taps(taps, bias)


def dense_taps(layer: Dense) -> Taps:
    n_in, n_out = layer.W.shape
    return Taps(
        [[(i, float(layer.W[i, j]), 0.0) for i in range(n_in)] for j in range(n_out)],
        [float(v) for v in layer.linear.b],
    )


def norm_taps(norm: BatchNorm, shape: tuple[int, ...]) -> Taps:
    size = int(np.prod(shape))
    per = size // shape[0]
    return Taps(
        [[(i, float(norm.scale[i // per]), 0.0)] for i in range(size)],
        [float(norm.shift[i // per]) for i in range(size)],
    )


def avg_taps(pool: AvgPool, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> Taps:
    """Average pooling without padding: weight exactly ``1 / k`` (a Fraction)."""
    kernel, stride, pads = pool._geometry
    assert not any(pads) and not pool.ceil_mode
    weight = Fraction(1, int(np.prod(kernel)))
    taps = []
    for c in range(out_shape[0]):
        for o in itertools.product(*(range(s) for s in out_shape[1:])):
            row = []
            for t in itertools.product(*(range(k) for k in kernel)):
                at = [oo * s + tt for oo, tt, s in zip(o, t, stride, strict=True)]
                row.append((int(np.ravel_multi_index((c, *at), in_shape)), weight, 0.0))
            taps.append(row)
    return Taps(taps, [0.0] * len(taps))  # type: ignore[arg-type]


def adaptive_taps(
    pool: AdaptiveAvgPool, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> Taps:
    """Adaptive average pooling: window ``o`` of ``I`` into ``O`` spans ``floor(o I / O)`` to
    ``ceil((o + 1) I / O)``, weight exactly one over its size."""
    spans = [
        [((o * size) // out, -((-(o + 1) * size) // out)) for o in range(out)]
        for size, out in zip(in_shape[1:], out_shape[1:], strict=True)
    ]
    taps = []
    for c in range(out_shape[0]):
        for o in itertools.product(*(range(s) for s in out_shape[1:])):
            ranges = [range(*spans[axis][oo]) for axis, oo in enumerate(o)]
            weight = Fraction(1, int(np.prod([len(r) for r in ranges])))
            taps.append(
                [
                    (int(np.ravel_multi_index((c, *at), in_shape)), weight, 0.0)
                    for at in itertools.product(*ranges)
                ]
            )
    return Taps(taps, [0.0] * len(taps))  # type: ignore[arg-type]


def max_windows(pool: MaxPool, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list:
    """Per output, the input indices of its window (padding left out)."""
    kernel, stride, pads, dilation = pool._geometry
    assert not pool.ceil_mode
    windows = []
    for c in range(out_shape[0]):
        for o in itertools.product(*(range(s) for s in out_shape[1:])):
            row = []
            for t in itertools.product(*(range(k) for k in kernel)):
                at = [
                    oo * s + tt * d - p
                    for oo, tt, s, d, p in zip(o, t, stride, dilation, pads, strict=True)
                ]
                if all(0 <= a < size for a, size in zip(at, in_shape[1:], strict=True)):
                    row.append(int(np.ravel_multi_index((c, *at), in_shape)))
            windows.append(row)
    return windows


def in_order(values: list[Any]) -> list[Any]:
    return values


def reversed_order(values: list[Any]) -> list[Any]:
    return values[::-1]


@dataclass
class Arith:
    """Exact (Fraction) or float arithmetic, with the order sums add their terms in."""

    exact: bool
    order: Order = in_order

    def num(self, v: Any) -> Any:
        return Fraction(v) if self.exact else float(v)

    def sum(self, terms: list[Any]) -> Any:
        total = self.num(0.0)
        for t in self.order(terms):
            total = total + t
        return total


def _plan(layers: Sequence[Any], shapes: Sequence[tuple[int, ...]]) -> list[Any]:
    plan = []
    for i, layer in enumerate(layers):
        if isinstance(layer, Conv):
            plan.append(conv_taps(layer, shapes[i], shapes[i + 1]))
        elif isinstance(layer, Dense):
            plan.append(dense_taps(layer))
        elif isinstance(layer, BatchNorm):
            plan.append(norm_taps(layer, shapes[i]))
        elif isinstance(layer, AvgPool):
            plan.append(avg_taps(layer, shapes[i], shapes[i + 1]))
        elif isinstance(layer, AdaptiveAvgPool):
            plan.append(adaptive_taps(layer, shapes[i], shapes[i + 1]))
        elif isinstance(layer, MaxPool):
            plan.append(max_windows(layer, shapes[i], shapes[i + 1]))
        elif isinstance(layer, Residual):
            inner = [shapes[i]]
            for sub in layer.branch:
                inner.append(sub.output_shape(inner[-1]))
            down = (
                None
                if layer.downsample is None
                else conv_taps(layer.downsample, shapes[i], shapes[i + 1])
            )
            plan.append((_plan(layer.branch, inner), down))
        else:
            plan.append(None)
    return plan


class Literal:
    """One sample of a CNN evaluated through its taps."""

    def __init__(self, cnn: CNN, arith: Arith) -> None:
        self.cnn, self.arith = cnn, arith
        self.plan = _plan(cnn.layers, cnn.shapes)

    def _affine(self, taps: Taps, a: list[Any]) -> list[Any]:
        A = self.arith
        out = []
        for row, b in zip(taps.taps, taps.bias, strict=True):
            terms = [A.num(w) * (a[i] if i >= 0 else A.num(f)) for i, w, f in row]
            out.append(A.sum([*terms, A.num(b)]))
        return out

    def forward(self, x: Sequence[float]) -> list[Any]:
        """Every layer's input and output, flat; a residual block's as (inputs, branch
        trace, shortcut, total)."""
        return self._run(self.cnn.layers, self.plan, [self.arith.num(v) for v in x])

    def _run(self, layers: Sequence[Any], plan: list[Any], a: list[Any]) -> list[Any]:
        trace = []
        for layer, step in zip(layers, plan, strict=True):
            entry: Any
            if isinstance(layer, ReLU):
                out = [v if v > 0 else self.arith.num(0.0) for v in a]
                entry = (a, out)
            elif isinstance(layer, Flatten):
                out, entry = a, (a, a)
            elif isinstance(layer, MaxPool):
                out = [max(a[i] for i in window) for window in step]
                entry = (a, out)
            elif isinstance(layer, Residual):
                inner_plan, down = step
                branch = self._run(layer.branch, inner_plan, a)
                short = a if down is None else self._affine(down, a)
                total = [u + v for u, v in zip(branch[-1][1], short, strict=True)]
                out = [v if v > 0 else self.arith.num(0.0) for v in total]
                entry = (a, out, branch, short, total)
            else:
                out = self._affine(step, a)
                entry = (a, out)
            trace.append(entry)
            a = out
        return trace

    def lrp(self, trace: list[Any], chosen: int, epsilon: float) -> list[Any]:
        """LRP-ε (LRP-0 for 0) from the chosen logit; per layer the input relevance; max
        pooling splits a tie evenly; the z-rule (LRP-0) at residual sums."""
        R = [self.arith.num(0.0)] * len(trace[-1][1])
        R[chosen] = trace[-1][1][chosen]
        return self._back(self.cnn.layers, self.plan, trace, R, epsilon, None)

    def gradient(self, trace: list[Any], chosen: int) -> list[Any]:
        g = [self.arith.num(0.0)] * len(trace[-1][1])
        g[chosen] = self.arith.num(1.0)
        return self._back(self.cnn.layers, self.plan, trace, g, None, None)[0]

    def _linear_back(
        self, taps: Taps, a: list[Any], z: list[Any], R: list[Any], eps: Any
    ) -> list[Any]:
        A = self.arith
        contributions: list[list[Any]] = [[] for _ in a]
        for j, row in enumerate(taps.taps):
            if eps is None:  # the gradient
                s = R[j]
                for i, w, _ in row:
                    if i >= 0:
                        contributions[i].append(A.num(w) * s)
                continue
            den = z[j] + (A.num(eps) if z[j] >= 0 else -A.num(eps))
            s = R[j] / den if den != 0 else A.num(0.0)
            for i, w, _ in row:
                if i >= 0:
                    contributions[i].append(a[i] * A.num(w) * s)
        return [A.sum(c) for c in contributions]

    def _back(
        self,
        layers: Sequence[Any],
        plan: list[Any],
        trace: list[Any],
        R: list[Any],
        eps: Any,
        _: Any,
    ) -> list[Any]:
        A = self.arith
        per_layer: list[Any] = []
        for layer, step, entry in zip(layers[::-1], plan[::-1], trace[::-1], strict=True):
            a = entry[0]
            if isinstance(layer, ReLU):
                if eps is None:
                    R = [g if v > 0 else A.num(0.0) for g, v in zip(R, a, strict=True)]
            elif isinstance(layer, Flatten):
                pass
            elif isinstance(layer, MaxPool):
                parts: list[list[Any]] = [[] for _ in a]
                for j, window in enumerate(step):
                    top = max(a[i] for i in window)
                    winners = [i for i in window if a[i] == top]
                    for i in winners:
                        parts[i].append(R[j] / len(winners))
                R = [A.sum(p) for p in parts]
            elif isinstance(layer, Residual):
                inner_plan, down = step
                _, _, branch, short, total = entry
                if eps is None:
                    R = [g if t > 0 else A.num(0.0) for g, t in zip(R, total, strict=True)]
                    to_branch, to_short = R, R
                else:
                    to_branch = [
                        b * r / t if t != 0 else A.num(0.0)
                        for b, r, t in zip(branch[-1][1], R, total, strict=True)
                    ]
                    to_short = [
                        s * r / t if t != 0 else A.num(0.0)
                        for s, r, t in zip(short, R, total, strict=True)
                    ]
                inner = self._back(layer.branch, inner_plan, branch, to_branch, eps, None)
                if down is not None:
                    to_short = self._linear_back(down, a, short, to_short, eps)
                R = [u + v for u, v in zip(inner[0], to_short, strict=True)]
            else:
                # LRP-0 at batch norm and pooling (CNNRules' defaults), the rule elsewhere
                weighted = isinstance(layer, Conv | Dense) or eps is None
                R = self._linear_back(step, a, entry[1], R, eps if weighted else 0.0)
            per_layer.append(R)
        return per_layer[::-1]
