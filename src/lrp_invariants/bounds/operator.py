"""Balls through any linear layer kind: the products of a
:class:`~lrp_invariants.rules.operator.LinearOperator` (convolution, pooling, batch norm, dense,
a sum) on midpoints and radii.

A layer's output ``z_j = Σ_i a_i w_ij + Σ_i c_i w_ij + Σ_t f_t w_tj + b_j`` is one sum per output
of as many terms as the output has connections (its receptive field, not the dense width), so
the rounding of every evaluation order (direct loops, im2col, the unrolled dense matrix, a
batch norm fused into its neighbour) is bounded by ``γ_k`` with ``k`` the largest connection
count, plus ``EXTRA`` roundings for weights a correct implementation may hold rounded once more
(taps merged into one matrix entry by copying padding, a batch norm's scale folded into the
weights, a pooling weight stored as the product of per-axis factors or as ``1 / k``).
"""

from __future__ import annotations

import numpy as np

from ..network import Array
from ..rules.operator import LinearOperator
from .balls import F64, Ball, Precision

EXTRA = 4
"""Roundings a correct implementation may add to each term through its weights (a merged tap,
a folded scale, a pooling weight as a product of up to three per-axis factors)."""


def absolute_product(op: LinearOperator, v: F64) -> F64:
    """``Σ_i v_i |w_ij|`` for ``v >= 0`` (rounded: callers widen)."""
    result: F64 = op.product(v, "pos") - op.product(v, "neg")
    return result


def absolute_transpose(op: LinearOperator, s: F64) -> F64:
    """``Σ_j |w_ij| s_j`` for ``s >= 0`` (rounded: callers widen)."""
    result: F64 = op.transpose(s, "pos") - op.transpose(s, "neg")
    return result


def fixed_absolute(op: LinearOperator) -> F64 | None:
    """``Σ_t |f_t w_tj|`` over the fixed frame, None if there is none."""
    parts = [
        op.fixed("positive", "pos"),
        op.fixed("positive", "neg"),
        op.fixed("negative", "pos"),
        op.fixed("negative", "neg"),
    ]
    if any(part is None for part in parts):
        return None
    pp, pn, np_, nn = (np.asarray(part, dtype=np.float64) for part in parts)
    result: F64 = pp - pn - np_ + nn
    return result


def terms_per_output(op: LinearOperator) -> int:
    """The most terms one output's sum adds: its connections (twice with a constant input),
    the fixed frame's connections, the bias, and :data:`EXTRA`."""
    ones = np.ones((1, *op.in_shape))
    count = op.product(ones, "ones")[0]
    if op.constant is not None:
        count = 2 * count
    frame = op.fixed("indicator", "ones")
    if frame is not None:
        count = count + frame
    return int(np.ceil(np.max(count, initial=0.0))) + 1 + EXTRA


def terms_per_input(op: LinearOperator) -> int:
    """The most terms one input's transposed sum adds (its fan-out), and :data:`EXTRA`."""
    out = op.transpose(np.ones((1, *op.out_shape)), "ones")[0]
    return int(np.ceil(np.max(out, initial=0.0))) + EXTRA


def enclose_product(op: LinearOperator, a: Ball, p: Precision) -> Ball:
    """The layer's output on every input in ``a``: ``a W + c W + frame + bias`` in any order.

    Parameters (weights, bias, constant, frame) are exact as the operator holds them; the ball
    covers each output's sum in any order and association, every product's underflow (``η``
    per connection that may be nonzero), and the rounding of the radius itself."""
    if p.flush:
        raise ValueError("operator enclosures bound gradual underflow only (flush=False)")
    mid = np.asarray(op.product(a.mid, "W"), dtype=np.float64)
    terms = absolute_product(op, a.upper)
    rad = absolute_product(op, a.rad)
    live = (a.upper > 0).astype(np.float64)
    slack = p.eta * op.product(live, "ones")
    bias = np.asarray(op.bias, dtype=np.float64)
    c = op.constant
    if c is not None:
        c64 = np.asarray(c, dtype=np.float64)[None]
        mid = mid + op.product(c64, "W")
        terms = terms + absolute_product(op, np.abs(c64))
        slack = slack + p.eta * op.product((c64 != 0).astype(np.float64), "ones")
    frame = op.fixed("value", "W")
    if frame is not None:
        mid = mid + np.asarray(frame, dtype=np.float64)
        absolute = fixed_absolute(op)
        assert absolute is not None
        terms = terms + absolute
        indicator = op.fixed("indicator", "ones")
        assert indicator is not None
        slack = slack + p.eta * np.asarray(indicator, dtype=np.float64)
    mid = mid + bias
    terms = terms + np.abs(bias)
    k = terms_per_output(op)
    with np.errstate(over="ignore", invalid="ignore"):
        rad = rad + 2 * p.gamma(k) * terms + slack
    rad = np.where(np.isnan(rad), np.inf, rad)
    return Ball(mid, p.widen(rad, 2 * k))


def enclose_transpose(op: LinearOperator, g: Ball, p: Precision) -> Ball:
    """``Σ_j w_ij g_j`` for every ``g`` in the ball (a gradient through the layer), any order."""
    if p.flush:
        raise ValueError("operator enclosures bound gradual underflow only (flush=False)")
    mid = np.asarray(op.transpose(g.mid, "W"), dtype=np.float64)
    terms = absolute_transpose(op, g.upper)
    rad = absolute_transpose(op, g.rad)
    slack = p.eta * op.transpose((g.upper > 0).astype(np.float64), "ones")
    k = terms_per_input(op)
    with np.errstate(over="ignore", invalid="ignore"):
        rad = rad + 2 * p.gamma(k) * terms + slack
    rad = np.where(np.isnan(rad), np.inf, rad)
    return Ball(mid, p.widen(rad, 2 * k))


def weights_grain(op: LinearOperator, p: Precision) -> float:
    """The grain of the weights as the operator applies them (its products of unit inputs,
    computed one input at a time: only for small layers)."""
    size = int(np.prod(op.in_shape))
    basis = np.eye(size).reshape(size, *op.in_shape)
    values: Array = op.product(basis, "W")
    return p.grain(values)
