"""The few operations a rule needs of a linear layer, whatever its kind (dense, convolution,
pooling, batch norm, a residual sum).

Every LRP rule of this package redistributes ``z_j = Σ_i v_i w_ij + (fixed sources) + b_j`` with
products by the layer's weights or by a transform of them (``W⁺``, ``W⁻``, ``W²``, ones where
connected) and by their transposes. A layer kind that offers those products as a
:class:`LinearOperator` gets every rule through the rule's ``propagate`` method, written once in
the rule's own module; nothing branches on the layer's kind.

Sources of a linear layer, each with its own relevance in :class:`OperatorRelevance`:

* the input ``a`` (``R``, input-shaped);
* a constant input fed through the same weights (net3's ``-m``: ``Rm``, input-shaped);
* a fixed frame that is neither (a convolution's non-zero constant padding: ``Rp``, per output);
* the bias, which may be a map (one value per output position: ``Rb``, per output);
* and what no source receives, the stabiliser's share or a unit that passes nothing (``Rs``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from ..network import Array, Linear

Weights = Literal["W", "pos", "neg", "square", "ones"]
"""A transform of the weights: ``W`` itself, ``W⁺ = max(W, 0)``, ``W⁻ = min(W, 0)``, ``W²``, or
1 on every connection (a weight that exists, whatever its value, 0 where there is none)."""

WEIGHTS: tuple[str, ...] = ("W", "pos", "neg", "square", "ones")

FramePart = Literal["value", "positive", "negative", "indicator"]
"""Which values of a fixed frame to feed: the values, their positive or negative parts, or 1
where the frame is not zero (input-blind rules count a fixed source as a connection)."""


def transform(W: Array, weights: Weights) -> Array:
    """``W`` transformed elementwise as ``weights`` says (a fresh array)."""
    if weights == "W":
        return np.array(W, copy=True)
    if weights == "pos":
        return np.maximum(W, 0)
    if weights == "neg":
        return np.minimum(W, 0)
    if weights == "square":
        return W * W
    if weights == "ones":
        return np.ones_like(W)
    raise ValueError(f"weights must be one of {WEIGHTS}; got {weights!r}")


class LinearOperator(Protocol):
    """A linear layer for one per-sample input shape, seen through the products rules need.

    ``product`` and ``transpose`` are linear maps of a batch: no bias, no constant input, no
    fixed frame (those are separate sources). A constant padding's value, for example, is not in
    ``product`` (the padding is zero there) but in ``fixed``.
    """

    @property
    def in_shape(self) -> tuple[int, ...]:
        """One sample's input shape."""
        ...

    @property
    def out_shape(self) -> tuple[int, ...]:
        """One sample's output shape."""
        ...

    @property
    def bias(self) -> Array:
        """The bias per output position, of ``out_shape`` (zeros where the layer has none)."""
        ...

    @property
    def constant(self) -> Array | None:
        """A constant input of ``in_shape`` fed through the weights (net3's ``-m``), or None."""
        ...

    def product(self, v: Array, weights: Weights) -> Array:
        """``(n, *in_shape) -> (n, *out_shape)``: ``Σ_i v_i ω_ij`` for ``ω`` the transformed
        weights."""
        ...

    def transpose(self, s: Array, weights: Weights) -> Array:
        """``(n, *out_shape) -> (n, *in_shape)``: ``Σ_j ω_ij s_j``."""
        ...

    def fixed(self, part: FramePart, weights: Weights) -> Array | None:
        """``Σ_t f_t ω_tj`` (of ``out_shape``) over a fixed frame ``f`` of sources that are
        neither inputs nor bias, ``f`` replaced by its ``part``; None if the layer has none."""
        ...


@dataclass(frozen=True, eq=False)
class OperatorRelevance:
    """One layer's relevance: received ``R_out`` (n, *out), passed to the input ``R`` (n, *in),
    and the sinks: ``Rb`` (bias, per output), ``Rs`` (not passed on, per output), ``Rm`` (the
    constant input, n, *in) and ``Rp`` (a fixed frame such as constant padding, per output).
    A sink the layer does not have is None."""

    R_out: Array
    R: Array
    Rb: Array | None = None
    Rs: Array | None = None
    Rm: Array | None = None
    Rp: Array | None = None
    # computes, when called, a per-sample bound on the absolute terms of the layer's relevance
    # identity, sum over i, j of |rho_ij s_j| (the scale its rounding is relative to)
    magnitude: Callable[[], Array] | None = field(default=None, repr=False)

    def sinks(self) -> Array:
        """Per sample, all relevance this layer absorbed instead of passing it to its input."""
        total = np.zeros(self.R_out.shape[0], dtype=self.R_out.dtype)
        for part in (self.Rb, self.Rs, self.Rm, self.Rp):
            if part is not None:
                total = total + part.reshape(part.shape[0], -1).sum(axis=1)
        return total


def signed_product(op: LinearOperator, v: Array, positive: bool) -> Array:
    """``Σ_i (v_i w_ij)⁺`` (or ``⁻``) for sources ``v`` of any sign: ``v⁺ W⁺ + v⁻ W⁻`` (or
    ``v⁺ W⁻ + v⁻ W⁺``)."""
    v_pos, v_neg = np.maximum(v, 0), np.minimum(v, 0)
    same: Weights = "pos" if positive else "neg"
    other: Weights = "neg" if positive else "pos"
    result: Array = op.product(v_pos, same) + op.product(v_neg, other)
    return result


def signed_transpose(
    op: LinearOperator, v: Array, s_pos: Array | None, s_neg: Array | None
) -> Array:
    """The relevance of sources ``v`` when each positive contribution ``(v_i w_ij)⁺`` receives
    ``(v_i w_ij)⁺ s_pos_j`` and each negative one ``(v_i w_ij)⁻ s_neg_j``."""
    v_pos, v_neg = np.maximum(v, 0), np.minimum(v, 0)
    to_pos = np.zeros(np.broadcast_shapes(v.shape, (1, *op.in_shape)), dtype=v.dtype)
    to_neg = np.zeros_like(to_pos)
    if s_pos is not None:
        to_pos = to_pos + op.transpose(s_pos, "pos")
        to_neg = to_neg + op.transpose(s_pos, "neg")
    if s_neg is not None:
        to_pos = to_pos + op.transpose(s_neg, "neg")
        to_neg = to_neg + op.transpose(s_neg, "pos")
    result: Array = v_pos * to_pos + v_neg * to_neg
    return result


def fixed_signed(op: LinearOperator, positive: bool) -> Array | None:
    """``Σ_t (f_t w_tj)⁺`` (or ``⁻``) over the fixed frame, None if there is none."""
    same: Weights = "pos" if positive else "neg"
    other: Weights = "neg" if positive else "pos"
    first = op.fixed("positive", same)
    second = op.fixed("negative", other)
    if first is None or second is None:
        return None
    return first + second


def absolute_terms(op: LinearOperator, s_abs: Array, *sources: Array | None) -> Array:
    """Per sample ``Σ_ij |v_i| |w_ij| s_abs_j`` over the given input-shaped sources, the fixed
    frame and the bias: the absolute terms of ``Σ_j s_j z_j`` (``s_abs >= 0``)."""
    through = op.transpose(s_abs, "pos") - op.transpose(s_abs, "neg")
    n = s_abs.shape[0]
    total = np.zeros(n, dtype=s_abs.dtype)
    for v in sources:
        if v is not None:
            total = total + np.broadcast_to(np.abs(v) * through, through.shape).reshape(n, -1).sum(
                1
            )
    parts = [
        op.fixed("positive", "pos"),
        op.fixed("positive", "neg"),
        op.fixed("negative", "pos"),
        op.fixed("negative", "neg"),
    ]
    out = np.abs(op.bias)
    if (
        parts[0] is not None
        and parts[1] is not None
        and parts[2] is not None
        and parts[3] is not None
    ):
        out = out + (parts[0] - parts[1] - parts[2] + parts[3])
    total = total + (out * s_abs).reshape(n, -1).sum(axis=1)
    return total


def summed(like: Array, *parts: Array | None) -> Array:
    """The sum of the parts that exist, in the shape of ``like`` (zeros if none does)."""
    total = np.zeros_like(like)
    for part in parts:
        if part is not None:
            total = total + part
    return total


def constant_batch(op: LinearOperator) -> Array | None:
    """The constant input as a batch of one sample, or None."""
    c = op.constant
    return None if c is None else c[None]


@dataclass(frozen=True, eq=False)
class DenseOperator:
    """A dense :class:`~lrp_invariants.network.Linear` layer as a :class:`LinearOperator` (the
    same rules through the generic path; tests compare it with the dense fast forms)."""

    layer: Linear

    @property
    def in_shape(self) -> tuple[int, ...]:
        return (self.layer.n_in,)

    @property
    def out_shape(self) -> tuple[int, ...]:
        return (self.layer.n_out,)

    @property
    def bias(self) -> Array:
        return self.layer.b

    @property
    def constant(self) -> Array | None:
        return self.layer.constant

    def product(self, v: Array, weights: Weights) -> Array:
        result: Array = v @ transform(self.layer.W, weights)
        return result

    def transpose(self, s: Array, weights: Weights) -> Array:
        result: Array = s @ transform(self.layer.W, weights).T
        return result

    def fixed(self, part: FramePart, weights: Weights) -> Array | None:
        return None


class Propagating(Protocol):
    """What :func:`propagate_repaired` needs of a rule: its generic form."""

    def propagate(self, op: LinearOperator, a: Array, z: Array, R: Array) -> OperatorRelevance:
        """The rule at one linear layer."""
        ...


_PARTS = ("R", "Rb", "Rs", "Rm", "Rp")


def _unbounded_rows(result: OperatorRelevance) -> Array:
    """Per sample, whether some relevance of the layer is inf or NaN."""
    bad = np.zeros(result.R_out.shape[0], dtype=bool)
    for name in _PARTS:
        part = getattr(result, name)
        if part is not None:
            bad |= ~np.isfinite(part.reshape(part.shape[0], -1)).all(axis=1)
    return bad


def propagate_repaired(
    rule: Propagating, op: LinearOperator, a: Array, z: Array, R: Array
) -> OperatorRelevance:
    """``rule.propagate``, with every sample whose relevance overflowed recomputed (the generic
    counterpart of the dense rules' :func:`~lrp_invariants.rules.modified.repaired`).

    A quotient ``s_j = R_j / D_j`` exceeds the float range when a denominator is far smaller
    than the relevance it divides (a tiny activation under large weights), while each source's
    ``ρ_ij s_j`` stays moderate; ``inf x 0`` then gives NaN. Every rule's relevance is linear in
    ``R`` for a fixed layer input, so such a sample is propagated again with ``R 2**-k`` (exact:
    a power of two) for the least ``k`` in steps of an eighth of the exponent range that keeps
    every part finite, and the parts are scaled back by ``2**k`` (``ldexp``: one rounding where
    the result is subnormal). Entries of ``R`` below ``2**(k + min_exp)`` lose to underflow what
    a subnormal loses, at most ``2**(k - 1074)`` each in float64. A zero denominator passes
    nothing (0/0 -> 0) in every rule, repaired or not. A sample that no ``k`` repairs (a
    pre-activation that itself overflowed) keeps its non-finite values.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        result = rule.propagate(op, a, z, R)
    bad = _unbounded_rows(result)
    if not np.any(bad):
        return result
    info = np.finfo(R.dtype)
    step = info.maxexp // 8
    span = info.maxexp - info.minexp + info.nmant
    parts = {name: getattr(result, name) for name in _PARTS}
    fixed = {
        name: None if part is None else np.array(part, copy=True) for name, part in parts.items()
    }
    scales: dict[int, tuple[int, OperatorRelevance]] = {}
    for row in np.flatnonzero(bad):
        if not np.all(np.isfinite(R[row])):
            continue
        rows = slice(int(row), int(row) + 1)
        a_row = a[rows] if a.shape[0] == R.shape[0] else a
        for k in range(step, span + step, step):
            with np.errstate(over="ignore", invalid="ignore", under="ignore"):
                again = rule.propagate(op, a_row, z[rows], np.ldexp(R[rows], -k))
            if not _unbounded_rows(again)[0]:
                break
        else:
            continue
        scales[int(row)] = (k, again)
        for name, target in fixed.items():
            value = getattr(again, name)
            if target is not None and value is not None:
                target[rows] = np.ldexp(value, k)
    if not scales:
        return result
    magnitude = result.magnitude

    def repaired_magnitude() -> Array:
        assert magnitude is not None
        with np.errstate(over="ignore", invalid="ignore"):
            total = np.array(magnitude(), copy=True)
        for row, (k, again) in scales.items():
            assert again.magnitude is not None
            total[row] = np.ldexp(again.magnitude()[0], k)
        return total

    return OperatorRelevance(
        R_out=R,
        R=fixed["R"] if fixed["R"] is not None else result.R,
        Rb=fixed["Rb"],
        Rs=fixed["Rs"],
        Rm=fixed["Rm"],
        Rp=fixed["Rp"],
        magnitude=None if magnitude is None else repaired_magnitude,
    )
