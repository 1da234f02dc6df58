"""A CNN's linear layer as the dense matrix a rule's enclosure reads: the layer's *local* matrix
for its input shape, where every weight a rule reads is its own entry.

Copying padding (reflect, replicate, circular) and a non-zero constant padding are made
explicit: the input is gathered into its padded image (a copy per tap; the constant's positions
inputs of that value), so that sign-split and squared rules see each tap alone, as the layer's
``propagate`` does; :func:`scatter_ball` adds the relevance of the copies back onto their
inputs. :func:`dense_rule` says how a rule reads that matrix (the flat rule reads the matrix of
the layer's connections instead), or raises NotImplementedError where it cannot express what
the rule reads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...bounds.balls import F64, Ball, Precision, bound_matmul
from ...rules import Flat, Rule, WSquare, ZBox
from ...rules.operator import Weights
from ..conv import Conv
from ..geometry import pad_linear
from ..model import Layer, operator


@dataclass(frozen=True)
class LocalMatrix:
    """A linear layer as a dense matrix over its (possibly padded) input: ``W`` (in, out), the
    bias per output, the constant input, and where the input is padded explicitly, the
    gather from the layer's input (-1: a constant padding's position, holding ``value``)."""

    W: F64
    bias: Ball
    c: F64 | None
    gather: np.ndarray | None
    value: float = 0.0

    @property
    def frame(self) -> bool:
        """Whether some inputs of the matrix are a constant padding's (non-zero) frame."""
        return self.gather is not None and bool(np.any(self.gather < 0))


def _matrix(
    op: Any, size: int, in_shape: tuple[int, ...], dtype: np.dtype, weights: Weights = "W"
) -> F64:
    """The operator's weights (or, ``weights="ones"``, its connections: 1 per tap that exists)
    as a matrix (in, out), as it holds them in ``dtype``."""
    basis = np.eye(size, dtype=dtype).reshape(size, *in_shape)
    return np.asarray(op.product(basis, weights), dtype=np.float64).reshape(size, -1)


def local_matrix(
    layer: Layer, in_shape: tuple[int, ...], dtype: np.dtype, weights: Weights = "W"
) -> LocalMatrix:
    """Copying padding (reflect, replicate, circular) and a non-zero constant padding are made
    explicit: the matrix is the convolution's on the padded input, one entry per tap, and a
    constant padding's positions are inputs of that value (each tap a source of its own, as
    the layer's ``propagate`` reads its frame). ``weights="ones"``: the connections instead of
    the weights (a tap of weight 0 is a connection, a zero padding's tap is none)."""
    op = operator(layer, in_shape, dtype)
    size = int(np.prod(in_shape))
    bias = np.asarray(np.broadcast_to(op.bias, op.out_shape), dtype=np.float64).reshape(-1)
    c = None if op.constant is None else np.asarray(op.constant, dtype=np.float64).reshape(-1)
    if not isinstance(layer, Conv) or not any(b or e for b, e in layer.pads):
        W = _matrix(op, size, in_shape, dtype, weights)
        return LocalMatrix(W, Ball.exact(bias), c, None)
    value = layer.padding_value if layer.padding_mode == "constant" else 0.0
    if layer.padding_mode == "zeros" or (layer.padding_mode == "constant" and value == 0):
        W = _matrix(op, size, in_shape, dtype, weights)
        return LocalMatrix(W, Ball.exact(bias), c, None)
    # positions 1..size (exact integers in floats); a constant padding pads them with 0
    positions = np.arange(1, size + 1, dtype=np.float64).reshape(1, *in_shape)
    mode = "zeros" if layer.padding_mode == "constant" else layer.padding_mode
    gather = pad_linear(positions, layer.pads, mode).astype(np.intp).reshape(-1) - 1
    padded_shape = tuple(s + b + e for s, (b, e) in zip(in_shape[1:], layer.pads, strict=True))
    padded_shape = (in_shape[0], *padded_shape)
    inner = dataclasses.replace(
        layer, bias=None, padding=0, padding_mode="zeros", padding_value=0.0, constant=None
    )
    padded_size = int(np.prod(padded_shape))
    W = _matrix(inner.operator(padded_shape), padded_size, padded_shape, dtype, weights)
    padded_c = None if c is None else np.where(gather >= 0, c[np.maximum(gather, 0)], 0.0)
    return LocalMatrix(W, Ball.exact(bias), padded_c, gather, value)


def gathered(a: Ball, local: LocalMatrix) -> Ball:
    """The layer's input (n, size) as the matrix reads it: copies, and the frame's value."""
    if local.gather is None:
        return a
    index, pad = np.maximum(local.gather, 0), local.gather < 0
    return Ball(np.where(pad, local.value, a.mid[:, index]), np.where(pad, 0.0, a.rad[:, index]))


def copies_onehot(gather: np.ndarray, size: int) -> F64:
    """(padded, size): 1 where a padded position copies an input (none for the frame)."""
    onehot = np.zeros((gather.size, size))
    real = np.flatnonzero(gather >= 0)
    onehot[real, gather[real]] = 1.0
    return onehot


def scatter_ball(ball: Ball, gather: np.ndarray, size: int, p: Precision) -> Ball:
    """The relevance of every copy added onto its input, in any order."""
    copies = int(np.bincount(gather[gather >= 0], minlength=size).max(initial=1))
    onehot = copies_onehot(gather, size)
    with np.errstate(over="ignore", invalid="ignore"):
        rad = bound_matmul(ball.rad, onehot) + 2 * p.gamma(copies + 1) * bound_matmul(
            ball.upper, onehot
        )
    rad = np.where(np.isnan(rad), np.inf, rad)
    mid: F64 = ball.mid @ onehot
    return Ball(mid, p.widen(rad, 2 * copies))


def dense_rule(
    rule: Rule,
    kind: str,
    local: LocalMatrix,
    in_shape: tuple[int, ...],
    i: str,
    connections: Any = None,
) -> tuple[Rule, F64]:
    """The rule as it reads the local matrix of a layer of ``kind``, and the matrix it reads:
    the layer's own, or for the flat rule outside a dense layer its connections
    (``connections()``, 0 or 1 per entry: flat's shares ``1 / count`` are then w²'s on that
    matrix, whose squares are exact); NotImplementedError where neither says what it reads."""
    if isinstance(rule, Flat | WSquare) and local.frame and local.c is not None:
        # the enclosure stacks the constant's copy of every row, the frame's too, which the
        # layer's propagate counts once (net3's constant input beside a constant padding)
        raise NotImplementedError(
            f"{i}: {rule.name} at a constant padding with a constant input (the frame's "
            "connections would count twice)"
        )
    if isinstance(rule, Flat) and kind != "Dense":
        if connections is None:
            raise NotImplementedError(
                f"{i}: the flat rule counts connections, which the dense matrix of a {kind} "
                "does not tell apart from zero weights"
            )
        C: F64 = connections()
        if not np.all((C == 0) | (C == 1)):  # pragma: no cover - one tap per pair, always
            raise NotImplementedError(f"{i}: a {kind} with several taps per input and output")
        return WSquare(rule.epsilon, "ignored"), C
    if isinstance(rule, ZBox):
        low, high = rule.operator_bounds(in_shape, np.dtype(np.float64))
        lows, highs = low.reshape(-1), high.reshape(-1)
        if local.gather is not None:
            # a constant padding's frame is an ordinary source (x w, not boxed): its bounds
            # are 0, so that its modified contribution x w - 0 w⁺ - 0 w⁻ is x w
            frame = local.gather < 0
            index = np.maximum(local.gather, 0)
            lows = np.where(frame, 0.0, lows[index])
            highs = np.where(frame, 0.0, highs[index])
        boxed = ZBox(tuple(map(float, lows)), tuple(map(float, highs)), rule.epsilon, rule.bias)
        return boxed, local.W
    return rule, local.W
