"""z^B, the box rule (Montavon et al. 2017, deep Taylor decomposition): for inputs in a box.

Meant for the first layer, where inputs lie between known bounds ``low <= x <= high`` (pixel
values): a source's modified contribution is ``ρ_ij = x_i w_ij - l_i w⁺_ij - h_i w⁻_ij``, which is
``>= 0`` for every input inside the box, and the shares follow
:mod:`lrp_invariants.rules.modified`. The bounds are one number for every feature, or one per
feature.

The bias: Zennit's ``ZBox`` subtracts three forward passes whose biases cancel
(``b - b⁺ - b⁻ = 0``), so the bias is ``ignored``, the default here (the enclosure covers the
rounding of that cancellation); ``source`` adds it to the denominator as an always-on source.
A constant input (net3's ``-m`` in this package's own construction) is an ordinary source
``m_i w_ij``; a target that sees net3 as a plain network of ``2d`` inputs boxes ``-m`` too, so
shift decomposition is not a property of z^B.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..bounds.balls import Ball, Factor, add, mul
from ..bounds.relevance import Enclosed, LayerBalls, LayerInput, contribution_balls
from ..network import Array, LayerTrace, Linear
from .base import LayerRelevance, Rule, check_parameter, contributions
from .modified import (
    enclose_terms,
    finish,
    modified_shares,
    repaired,
    source_factors,
    stabilised_shares,
)
from .operator import LinearOperator, OperatorRelevance, absolute_terms, constant_batch, summed

ZBOX_BIAS = ("ignored", "source")


def _as_bounds(value: float | Sequence[float], name: str) -> tuple[float, ...]:
    values = tuple(float(v) for v in np.atleast_1d(np.asarray(value, dtype=np.float64)))
    if not values or not all(math.isfinite(v) for v in values):
        raise ValueError(f"{name} must be finite numbers; got {value!r}")
    return values


@dataclass(frozen=True, init=False)
class ZBox(Rule):
    """z^B: ``R_i = Σ_j (x_i w_ij - l_i w⁺_ij - h_i w⁻_ij) / (D_j + ε sign D_j) R_j``.

    >>> ZBox(0.0, 1.0)                                 # pixels in [0, 1], Zennit's ZBox(0, 1)
    >>> ZBox([-1.0, -2.0], [1.0, 2.0], bias="source")  # per-feature bounds
    """

    low: tuple[float, ...]
    high: tuple[float, ...]
    epsilon: float
    bias: str

    def __init__(
        self,
        low: float | Sequence[float],
        high: float | Sequence[float],
        epsilon: float = 0.0,
        bias: str = "ignored",
    ) -> None:
        lows, highs = _as_bounds(low, "low"), _as_bounds(high, "high")
        if len(lows) != len(highs) and 1 not in (len(lows), len(highs)):
            raise ValueError(
                f"low and high need one bound each, or one per feature: got {len(lows)} and "
                f"{len(highs)}"
            )
        width = max(len(lows), len(highs))
        lows, highs = lows * (width // len(lows)), highs * (width // len(highs))
        if any(lo > hi for lo, hi in zip(lows, highs, strict=True)):
            raise ValueError(f"low must not exceed high; got low={low!r}, high={high!r}")
        check_parameter("epsilon", epsilon)
        if bias not in ZBOX_BIAS:
            raise ValueError(
                f"ZBox's bias must be 'ignored' (Zennit) or 'source'; got {bias!r} (modifying "
                "it like the weights, b - b⁺ - b⁻, is 0: that is 'ignored')"
            )
        object.__setattr__(self, "low", lows)
        object.__setattr__(self, "high", highs)
        object.__setattr__(self, "epsilon", float(epsilon))
        object.__setattr__(self, "bias", bias)

    @property
    def name(self) -> str:
        return "lrp-zbox"

    def spec_values(self) -> list[str]:
        return [
            "low=" + "/".join(repr(v) for v in self.low),
            "high=" + "/".join(repr(v) for v in self.high),
            f"epsilon={self.epsilon!r}",
            f"bias={self.bias}",
        ]

    def describe(self) -> str:
        def show(v: tuple[float, ...]) -> str:
            return f"{v[0]:g}" if len(v) == 1 else "[" + ", ".join(f"{x:g}" for x in v) + "]"

        return (
            f"{self.name}(low={show(self.low)}, high={show(self.high)}, "
            f"epsilon={self.epsilon:g}, bias={self.bias})"
        )

    @property
    def linear_in_contributions(self) -> bool:
        # net3 as a target sees it has 2d plain inputs, -m boxed like x3: the box does not shift
        return False

    @property
    def row_scale_free(self) -> bool:
        return False  # the box bounds do not scale with the unit

    @property
    def scale_free(self) -> bool:
        return self.epsilon == 0

    @property
    def accepts_wider_input(self) -> bool:
        return len(self.low) == 1  # per-feature bounds name the original inputs only

    @property
    def bias_is_source(self) -> bool:
        return False  # on the bias proxy a bias becomes an input, and inputs are boxed

    def bounds_for(self, n_in: int, dtype: np.dtype[np.floating]) -> tuple[Array, Array]:
        """``low`` and ``high`` as arrays of ``n_in`` features."""
        if len(self.low) not in (1, n_in):
            raise ValueError(
                f"ZBox has {len(self.low)} bounds per side but its layer has {n_in} inputs"
            )
        low = np.broadcast_to(np.asarray(self.low, dtype), (n_in,))
        high = np.broadcast_to(np.asarray(self.high, dtype), (n_in,))
        return low, high

    def check_layer(self, index: int, layer: Linear) -> None:
        if len(self.low) not in (1, layer.n_in):
            raise ValueError(
                f"ZBox on layer {index} has {len(self.low)} bounds per side but the layer has "
                f"{layer.n_in} inputs: give one bound, or one per input"
            )

    def backward(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        return repaired(self, layer, forward, R, lambda: self._fast(layer, forward, R))

    def _fast(self, layer: Linear, forward: LayerTrace, R: Array) -> LayerRelevance:
        W, a, c = layer.W, forward.a, layer.constant
        low, high = self.bounds_for(layer.n_in, W.dtype)
        W_pos, W_neg = np.maximum(W, 0), np.minimum(W, 0)
        D = a @ W - (low @ W_pos + high @ W_neg)
        if c is not None:
            D = D + c @ W
        if self.bias == "source":
            D = D + layer.b
        s, Rs = stabilised_shares(R, D, self.epsilon)
        below = s @ W.T
        R_in = a * below - (low * (s @ W_pos.T) + high * (s @ W_neg.T))
        Rb = layer.b * s if self.bias == "source" else np.zeros_like(R)
        Rm = None if c is None else c * below
        return LayerRelevance(R_out=R, R=R_in, Rb=Rb, Rs=Rs, Rm=Rm)

    def operator_bounds(
        self, in_shape: tuple[int, ...], dtype: np.dtype[np.floating]
    ) -> tuple[Array, Array]:
        """``low`` and ``high`` for a layer of per-sample input shape ``in_shape``: one bound,
        one per channel (the first axis), or one per input element (in C order)."""
        size = int(np.prod(in_shape))
        count = len(self.low)
        if count == 1 or count == size:
            shape: tuple[int, ...] = in_shape if count == size else (1,) * len(in_shape)
        elif count == in_shape[0]:
            shape = (count,) + (1,) * (len(in_shape) - 1)
        else:
            raise ValueError(
                f"ZBox has {count} bounds per side but its layer takes inputs of shape "
                f"{in_shape}: give one bound, one per channel ({in_shape[0]}) or one per input "
                f"({size})"
            )
        low = np.broadcast_to(np.asarray(self.low, dtype).reshape(shape), in_shape)
        high = np.broadcast_to(np.asarray(self.high, dtype).reshape(shape), in_shape)
        return low, high

    def check_operator(self, index: int, op: LinearOperator) -> None:
        try:
            self.operator_bounds(op.in_shape, np.dtype(np.float64))
        except ValueError as error:
            raise ValueError(f"layer {index}: {error}") from None

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        """z^B at any linear layer: ``(x - l) w⁺ + (x - h) w⁻`` per input; a constant input, a
        fixed frame and (``source``) the bias are ordinary sources."""
        low, high = self.operator_bounds(op.in_shape, a.dtype)
        c = constant_batch(op)
        frame = op.fixed("value", "W")
        bias = op.bias if self.bias == "source" else None
        D = summed(
            z,
            op.product(a, "W"),
            -op.product(low[None], "pos"),
            -op.product(high[None], "neg"),
            None if c is None else op.product(c, "W"),
            frame,
            bias,
        )
        s, Rs = stabilised_shares(R, D, self.epsilon)
        through = op.transpose(s, "W")
        R_in = a * through - (low * op.transpose(s, "pos") + high * op.transpose(s, "neg"))
        return OperatorRelevance(
            R_out=R,
            R=R_in,
            Rb=np.zeros_like(R) if bias is None else bias * s,
            Rs=Rs,
            Rm=None if c is None else c * through,
            Rp=None if frame is None else frame * s,
            magnitude=lambda: (
                absolute_terms(op, np.abs(s), a, np.abs(low[None]) + np.abs(high[None]), c)
                + self.epsilon * np.abs(s).reshape(s.shape[0], -1).sum(axis=1)
            ),
        )

    def shares(self, layer: Linear, a: Array, z: Array) -> tuple[Array, Array]:
        low, high = self.bounds_for(layer.n_in, a.dtype)
        rho = contributions(layer, a)
        W = layer.W[None]
        boxed = (a - low)[:, :, None] * np.maximum(W, 0) + (a - high)[:, :, None] * np.minimum(W, 0)
        rho[:, : layer.n_in] = boxed
        if self.bias == "ignored":
            rho[:, -1] = 0
        return modified_shares(rho, self.epsilon)

    def enclose(self, layer: LayerInput, incoming: Enclosed) -> tuple[LayerBalls, Enclosed]:
        p, a, W = layer.p, layer.a, layer.W
        n_in, n_out = W.shape
        low, high = self.bounds_for(n_in, np.dtype(np.float64))
        bias = layer.bias if self.bias == "source" else Ball.exact(np.zeros(n_out))
        rho = contribution_balls(a, W, bias, layer.c, p)
        # (x - l) w⁺ + (x - h) w⁻, and code that forms x w - l w⁺ - h w⁻ as three sums: its
        # rounding is relative to all three products, which the radius below covers
        W_pos, W_neg = np.maximum(W, 0), np.minimum(W, 0)
        column = (slice(None), slice(None), None)
        to_low = add(a, Ball.exact(-low[None, :]), p)
        to_high = add(a, Ball.exact(-high[None, :]), p)
        boxed = add(
            mul(to_low[column], Ball.exact(W_pos[None]), p),
            mul(to_high[column], Ball.exact(W_neg[None]), p),
            p,
        )
        apart = (
            a.upper[column] * np.abs(W)[None]
            + (np.abs(low)[:, None] * W_pos - np.abs(high)[:, None] * W_neg)[None]
        )
        separate = 2 * p.gamma(n_in + 4) * apart
        mid = rho.mid.copy()
        rad = rho.rad.copy()
        mid[:, :n_in] = boxed.mid
        rad[:, :n_in] = boxed.rad + separate
        if self.bias == "ignored":
            # Zennit forms (x w + b) - (l w⁺ + b⁺) - (h w⁻ + b⁻): the bias cancels exactly in
            # the formula but not in the roundings of the three passes, which are relative to
            # |b| + |b⁺| + |b⁻| = 2 |b| as well (the bias row's relevance stays 0 ± that)
            rad[:, -1] += 2 * p.gamma(n_in + 4) * 2 * layer.bias.upper[None, :]
        sources, weights = _factors(layer, low, high)
        terms, Rs, s_upper, slack = enclose_terms(
            layer, incoming.R, Ball(mid, rad), self.epsilon, (sources, weights), 1.0
        )
        # the parts code may cancel: x w, l w⁺ and h w⁻ per input, and b, b⁺, b⁻ for the bias
        parts = np.zeros_like(mid)
        parts[:, :n_in] = apart
        if self.bias == "ignored":
            parts[:, -1] = 2 * layer.bias.upper[None, :]
        return finish(layer, incoming.R, terms, Rs, s_upper, slack, parts, self.epsilon)


def _factors(layer: LayerInput, low: Array, high: Array) -> tuple[Factor, Factor]:
    """Underflow factors of a boxed term: the source's value may be ``x``, ``x - l`` or
    ``x - h`` (or ``l``, ``h`` alone), whichever the code under test multiplies by ``w``."""
    n, n_out = layer.a.mid.shape[0], layer.W.shape[1]
    largest = layer.a.upper + np.abs(low)[None] + np.abs(high)[None]
    values = np.broadcast_to(largest[:, :, None], (n, largest.shape[1], n_out))
    sources, weights = source_factors(layer, Ball(values, np.zeros_like(values)))
    return Factor(sources.upper, 0.0), weights
