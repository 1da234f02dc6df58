"""Enclosures of the forward pass and of the gradient: the network's own computations on balls.

Each function mirrors one computation of :mod:`lrp_invariants.network` in ball arithmetic
(:mod:`lrp_invariants.bounds.balls`), so that its result encloses the exact value and every
correct evaluation of the same formula, the gradient's chain of products in any association.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from numpy.typing import ArrayLike

from ..network import Network, Trace
from .balls import (
    F64,
    Ball,
    Precision,
    affine,
    bound_matmul,
    cap_factor,
    monotone,
    mul,
    relu,
    times,
    underflow_slack,
)

# --------------------------------------------------------------------------------------------
# Seeds: the uncertainty a construction introduces, so that balls enclose the exact shifted value.


def shifted_input(x2: ArrayLike, p: Precision) -> Ball:
    """``x2 = fl(x1 + m)`` encloses the exact ``x1 + m``: rounding to nearest errs by ``u|x2|``."""
    mid = np.asarray(x2, dtype=np.float64)
    return Ball(mid, p.widen(p.u * np.abs(mid) * (1 + 2 * p.u), 2))


def compensated_bias(b2: ArrayLike, W1: ArrayLike, m: ArrayLike, p: Precision) -> Ball:
    """``b2 = fl(b1 - fl(m @ W1))`` encloses the exact ``b1 - m @ W1``."""
    shift = np.abs(np.asarray(m, dtype=np.float64))
    absW = np.abs(np.asarray(W1, dtype=np.float64))
    mid = np.asarray(b2, dtype=np.float64)
    product = p.gamma(absW.shape[0]) * (shift @ absW) + underflow_slack(
        shift, (absW > 0).astype(np.float64), p
    )
    rad = product + p.u * (np.abs(mid) + product) * (1 + 2 * p.u)
    return Ball(mid, p.widen(rad, 4))


# --------------------------------------------------------------------------------------------
# Enclosures of a forward pass, of the gradient and of LRP.


@dataclass(frozen=True, eq=False)
class ForwardBalls:
    """Balls of every layer's input ``a[l]`` and pre-activation ``z[l]``, with the balls of the
    biases the pass used: a relevance enclosure divides by the same ``z`` and reads the same ``b``
    (net2's compensated first bias is not exact), so it takes both from here."""

    a: tuple[Ball, ...]
    z: tuple[Ball, ...]
    biases: tuple[Ball, ...]
    grains: tuple[float, ...] = ()  # per layer: a computed z[l] that is not 0 is at least this


def enclose_forward(
    network: Network, x: Ball, first_bias: Ball | None = None, p: Precision | None = None
) -> ForwardBalls:
    """Enclose the forward pass of ``network`` on every input in ``x``.

    ``first_bias`` replaces the first layer's bias by a ball (net2's compensated bias).
    """
    p = p or Precision.of(network.dtype)
    if p.flush:  # subnormal inputs and biases are read as 0
        x = Ball(x.mid, x.rad + p.flushed(x.mid))
    a_balls, z_balls, biases = [x], [], []
    a = x
    for i, layer in enumerate(network.layers):
        bias = first_bias if (i == 0 and first_bias is not None) else Ball.exact(layer.b)
        if p.flush:
            bias = Ball(bias.mid, bias.rad + p.flushed(bias.mid))
        biases.append(bias)
        constant = None if layer.constant is None else layer.constant.astype(np.float64)
        z = affine(a, layer.W.astype(np.float64), bias, p, constant)
        z_balls.append(z)
        if i < network.depth - 1:
            a = relu(z, p)
            a_balls.append(a)
    grains = _grains(network, x.mid, [b.mid for b in biases], p)
    return ForwardBalls(tuple(a_balls), tuple(z_balls), tuple(biases), grains)


def _grains(network: Network, x: F64, biases: Sequence[F64], p: Precision) -> tuple[float, ...]:
    """Per layer, the grain of every pre-activation a correct evaluation can compute from the
    arrays code under test receives (``x``, the weights, ``biases``): see
    :meth:`~lrp_invariants.bounds.balls.Precision.grain`."""
    grains = []
    grain_a = p.grain(x)
    for layer, b in zip(network.layers, biases, strict=True):
        grain_w = p.grain(layer.W)
        parts = [p.product_grain(grain_a, grain_w), p.grain(b)]
        if layer.constant is not None:
            parts.append(p.product_grain(p.grain(layer.constant), grain_w))
        grain_a = min(parts)
        grains.append(grain_a)
    return tuple(grains)


def trace_balls(network: Network, trace: Trace) -> ForwardBalls:
    """A computed trace taken as exact: for rules evaluated on that very trace."""
    p = Precision.of(network.dtype)
    return ForwardBalls(
        tuple(Ball.exact(a) for a in trace.a),
        tuple(Ball.exact(z) for z in trace.z),
        tuple(Ball.exact(b) for b in network.biases),
        _grains(network, trace.a[0], network.biases, p),
    )


def count_kinks(forward: ForwardBalls, p: Precision) -> int:
    """How many hidden pre-activations may have either sign: their ReLU branch is not certain."""
    kinks = 0
    for z in forward.z[:-1]:
        lo, hi = z.bounds(p)
        kinks += int(np.count_nonzero((lo <= 0) & (hi > 0)))
    return kinks


def class_selector(classes: ArrayLike, shape: tuple[int, ...]) -> F64:
    """One row per sample, 1 at its chosen class: where relevance and gradients start."""
    chosen = np.asarray(classes, dtype=np.intp)
    selector = np.zeros(shape)
    selector[np.arange(shape[0]), chosen] = 1
    return selector


def relu_step(z: F64) -> F64:
    """ReLU's derivative, with ReLU'(0) = 0 as the core takes it."""
    return (z > 0).astype(np.float64)


def enclose_gradient(
    network: Network,
    forward: ForwardBalls,
    classes: ArrayLike,
    p: Precision | None = None,
    times_input: bool = False,
) -> Ball:
    """Enclose d logit[class] / d x (times x if ``times_input``), evaluated in any order.

    At a kink the ReLU derivative may be 0 or 1. The gradient is a chain of matrix products
    (``diag(x) W_0 D_1 W_1 ... W_L e_c``) that code under test may associate in any way:
    backward (reverse mode), forward (a Jacobian from the input up), or mixed; see
    :func:`_chain_underflow` for the products that may underflow on the way.
    """
    p = p or Precision.of(network.dtype)
    g = Ball.exact(class_selector(classes, forward.z[-1].mid.shape))
    for i in range(network.depth - 1, -1, -1):
        g = affine(g, network.layers[i].W.T.astype(np.float64), None, p)
        if i > 0:
            g = mul(monotone(relu_step, forward.z[i - 1], p, 0), g, p)
    if times_input:
        g = mul(forward.a[0], g, p)
    return Ball(g.mid, g.rad + gradient_underflow(network, forward, classes, p, times_input))


def gradient_underflow(
    network: Network,
    forward: ForwardBalls,
    classes: ArrayLike,
    p: Precision,
    times_input: bool = False,
) -> F64:
    """(n, d): how far underflow can move the gradient (times x) in any association of its
    chain of products; summed over features, how far it can move the heatmap's total."""
    masks = [monotone(relu_step, z, p, 0).upper for z in forward.z[:-1]]
    return _chain_underflow(network, masks, classes, forward.a[0], times_input, p)


def _abs_layer(absW: F64, mask: F64 | None, column: bool, v: F64) -> F64:
    """``|M| v`` for one matrix of the gradient chain, on row vectors, then its ReLU mask."""
    out = times(absW, v) if column else bound_matmul(v, absW.T)
    return out if mask is None else times(out, mask)


def _chain_underflow(
    network: Network,
    masks: Sequence[F64],
    classes: ArrayLike,
    x: Ball,
    times_input: bool,
    p: Precision,
    multipliers: bool = False,
) -> F64:
    """Underflow slack of the gradient's matrix chain in every association (n, d).

    ``masks`` are 0/1 ReLU masks (multiplying by one is exact, so each is folded into the next
    matrix), or with ``multipliers`` real factors in [0, 1] (DeepLIFT's): those are factors of
    the chain of their own, since a product with one may underflow like any other.

    Any association computes some contiguous sub-chain ``M_p ... M_q`` as an intermediate; each
    of its entries sums at most ``width`` products, each of which may underflow by ``η / 2``,
    and that error reaches feature ``i`` multiplied by the chain before it (summed over its
    columns: ``(|M_0 ... M_{p-1}| 1)_i``) and after it (summed: ``1ᵀ |M_{q+1} ... M_last|``).
    Each path's result is also within ``cap_factor`` times the path itself, which bounds the
    whole by the gradient of absolute values (see
    :func:`~lrp_invariants.bounds.balls.association_slack`).
    """
    x_upper = x.upper
    n = x_upper.shape[0]
    chosen = np.asarray(classes, dtype=np.intp)
    grains = [p.grain(x.mid)] if times_input else []
    # the chain's matrices, input side first, each as (rows, v -> |M| v on row vectors)
    chain: list[tuple[int, Callable[[F64], F64]]] = []
    if times_input:
        chain.append((network.n_inputs, lambda v: times(x_upper, v)))
    for i, layer in enumerate(network.layers):
        absW = np.abs(layer.W.astype(np.float64))
        mask = masks[i - 1] if i > 0 else None
        last = i == network.depth - 1
        if multipliers and mask is not None:
            # a diagonal factor of its own; any value in [0, 1], so its grain may be η
            chain.append((layer.n_in, partial(times, mask)))
            grains.append(p.eta)
            mask = None
        grains.append(p.grain(layer.W))
        # the last matrix is the chosen class's column: one row vector per sample
        chain.append(
            (layer.n_in, partial(_abs_layer, absW[:, chosen].T if last else absW, mask, last))
        )

    def through(first: int, last: int, v: F64) -> F64:
        for index in range(last, first - 1, -1):
            v = chain[index][1](v)
        return v

    K = len(chain)
    columns = [rows for rows, _ in chain[1:]] + [1]  # M_k's columns are M_{k+1}'s rows
    before = [np.ones_like(x_upper)] + [
        through(0, start - 1, np.ones((n, columns[start - 1]))) for start in range(1, K)
    ]
    after = [through(end + 1, K - 1, np.ones((n, 1))).sum(axis=1) for end in range(K - 1)]
    after.append(np.ones(n))
    cap = cap_factor(K, p) * through(0, K - 1, np.ones((n, 1)))  # the gradient of |paths|
    width = float(max(network.widths))
    spread = np.zeros_like(x_upper)
    for start in range(K):
        for end in range(start if p.flush else start + 1, K):  # flushing reads entries too
            if p.product_grain(*grains[start : end + 1]) >= p.tiny:
                continue  # its entries are 0 or normal numbers: nothing underflows
            with np.errstate(invalid="ignore", over="ignore"):
                spread += p.eta * width * times(before[start], after[end][:, None])
    return np.minimum(np.where(np.isnan(spread), np.inf, spread), cap)
