"""Exact integrated gradients on CNNs of ReLUs and max pooling: no Riemann steps.

Along ``p(t) = x0 + t (x - x0)``, ``t`` in [0, 1], a CNN of linear layers (convolutions,
average pooling, batch norm, dense layers, residual sums), ReLUs and max pooling is piecewise
affine in ``t``; its gradient is constant between two consecutive *kinks*: a ReLU input that
crosses 0, or a max-pooling window whose winner changes. So the path integral is the finite sum

    IG(x) = (x - x0) ⊙ Σ_k (t_{k+1} - t_k) ∇f(p(s_k)),   s_k = (t_k + t_{k+1}) / 2,

as in the dense :mod:`lrp_invariants.integrated`. The kinks are found one nonlinearity at a time
in forward order (a residual branch before its block's ReLU): once the kinks of every earlier
nonlinearity are breakpoints, this one's inputs are affine in ``t`` on every segment, read from
their values at the segment's two ends. A ReLU input crosses 0 at most once there; a window's
maximum of affine inputs is their upper envelope, convex, whose winners follow in order of
increasing slope, so it has at most ``kernel size - 1`` kinks, found by walking from winner to
winner (every window and segment of the batch at once).

Ties. Two inputs of a window that are equal on a whole segment (equal affine functions of
``t``) are no kink: the maximum is affine there. The gradient at the segment's midpoint then
splits the window's gradient evenly among them (:func:`lrp_invariants.cnn.gradient`); any other
split (torch routes it to one of them) is another subgradient. Completeness holds for every
split, since each one's directional derivative along the path is the same, but the
attribution per input feature can differ: ``max(x_1, x_2)`` from 0 to ``x_1 = x_2 = 1`` is
``(1/2, 1/2)`` here and ``(1, 0)`` or ``(0, 1)`` under a winner-take-one rule. A ReLU input
that is 0 on a whole segment is likewise no kink (ReLU'(0) = 0, as the gradient takes it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..integrated import Path
from ..network import Array
from .model import CNN, CNNTrace, Layer, check_batch, forward, run
from .pooling import MaxPool
from .relevance import check_classes, gradient
from .residual import Residual
from .simple import ReLU


def check_baseline(cnn: CNN, x: Array, baseline: ArrayLike | None, name: str = "baseline") -> Array:
    """The baseline as a batch like ``x``: zeros if None, one sample ``input_shape`` for every
    row, or one per row; ValueError naming the shape otherwise (before any work)."""
    if baseline is None:
        return np.zeros_like(x)
    x0 = np.asarray(baseline)
    if x0.shape == cnn.input_shape:
        x0 = np.broadcast_to(x0, x.shape)
    if x0.shape != x.shape:
        raise ValueError(
            f"the {name} has shape {np.shape(baseline)}; expected {cnn.input_shape} or "
            f"{x.shape} (one per sample)"
        )
    return check_batch(cnn, x0, name)


def kink_inputs(layers: tuple[Layer, ...], trace: CNNTrace) -> Iterator[tuple[Any, Array]]:
    """Every nonlinearity's input in forward order: ``(ReLU(), z)`` for a ReLU (a residual
    block's too, on its sum, after its branch's) and ``(pool, a)`` for a max pooling."""
    for i, layer in enumerate(layers):
        if isinstance(layer, ReLU | MaxPool):
            yield layer, trace.inputs[i]
        elif isinstance(layer, Residual):
            block = trace.inner[i]
            assert block is not None
            yield from kink_inputs(layer.branch, block.branch)
            yield ReLU(), block.total


def _relu_kinks(za: Array, zb: Array) -> tuple[np.ndarray, np.ndarray]:
    """Segments (row of ``za``) and the fraction of the segment where an input crosses 0."""
    za, zb = za.reshape(za.shape[0], -1), zb.reshape(zb.shape[0], -1)
    # strictly opposite signs (a zero at an end is a breakpoint already); not za * zb < 0,
    # which underflows to 0 for small inputs and misses the crossing
    crossing = ((za < 0) & (zb > 0)) | ((za > 0) & (zb < 0))
    rows, _ = np.nonzero(crossing)
    fraction = za[crossing] / (za[crossing] - zb[crossing])
    return rows, fraction


def envelope_kinks(a: Array, b: Array) -> tuple[np.ndarray, np.ndarray]:
    """Kinks of ``max_j (a_j + s (b_j - a_j))`` for ``s`` in (0, 1), per row of ``a`` and ``b``
    (rows, candidates; -inf marks no candidate): the rows and the values of ``s``.

    The winner at ``s = 0`` is the largest ``a_j``, of the largest slope among equal ones; the
    next kink is the first point where a line of larger slope overtakes it, which becomes the
    winner (of the largest slope among lines meeting there). Each step raises the winner's
    slope, so ``candidates - 1`` steps find every kink. Equal lines never overtake each other."""
    valid = np.isfinite(a)
    with np.errstate(invalid="ignore", over="ignore"):
        slope = np.where(valid, b - a, -np.inf)
    rows = np.arange(a.shape[0])
    top = a.max(axis=1)
    winner = np.argmax(np.where(a == top[:, None], slope, -np.inf), axis=1)
    at = np.zeros(a.shape[0])
    found_rows, found_s = [], []
    active = np.ones(a.shape[0], dtype=bool)
    for _ in range(a.shape[1] - 1):
        a_w, d_w = a[rows, winner], slope[rows, winner]
        steeper = valid & (slope > d_w[:, None]) & active[:, None]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            s = np.where(steeper, (a_w[:, None] - a) / (slope - d_w[:, None]), np.inf)
        s = np.where(steeper, np.maximum(s, at[:, None]), np.inf)  # rounding: never behind
        first = s.min(axis=1)
        active = active & (first < 1)
        if not active.any():
            break
        meeting = s <= first[:, None]
        winner = np.where(active, np.argmax(np.where(meeting, slope, -np.inf), axis=1), winner)
        at = np.where(active, first, at)
        inner = active & (first > 0)
        found_rows.append(rows[inner])
        found_s.append(first[inner])
    if not found_rows:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    return np.concatenate(found_rows), np.concatenate(found_s)


def _pool_kinks(pool: MaxPool, za: Array, zb: Array) -> tuple[np.ndarray, np.ndarray]:
    """Segments and fractions where a window's winner changes (its inputs affine between)."""
    wa, wb = pool.windows(za), pool.windows(zb)
    segments = za.shape[0]
    k = int(np.prod(wa.shape[2 + pool.dims :]))
    a, b = wa.reshape(-1, k), wb.reshape(-1, k)
    rows, s = envelope_kinks(a, b)
    per_segment = a.shape[0] // segments
    return rows // per_segment, s


def path_points(x: Array, x0: Array, owner: np.ndarray, t: np.ndarray) -> Array:
    """The path points ``x0 + t (x - x0)`` of each ``owner`` sample, in the CNN's dtype."""
    shape = (-1,) + (1,) * (x.ndim - 1)
    tt = t.astype(x.dtype).reshape(shape)
    result: Array = x0[owner] + tt * (x[owner] - x0[owner])
    return result


def breakpoints(cnn: CNN, x: Array, x0: Array) -> tuple[np.ndarray, np.ndarray]:
    """Every sample's breakpoints, flat and sorted by (sample, t): ``owner`` and ``t`` (``x``
    and ``x0`` already checked, as :func:`integrated_gradients` checks them)."""
    n = x.shape[0]
    owner = np.repeat(np.arange(n), 2)
    t = np.tile([0.0, 1.0], n)
    count = sum(1 for _ in kink_inputs(cnn.layers, run(cnn.layers, x[:1])))
    for index in range(count):
        trace = run(cnn.layers, path_points(x, x0, owner, t))
        layer, z = next(k for i, k in enumerate(kink_inputs(cnn.layers, trace)) if i == index)
        starts = np.flatnonzero(owner[:-1] == owner[1:])  # segments: a point and the next
        za, zb = z[starts], z[starts + 1]
        if isinstance(layer, MaxPool):
            rows, fraction = _pool_kinks(layer, za, zb)
        else:
            rows, fraction = _relu_kinks(za, zb)
        if rows.size == 0:
            continue
        ta, tb = t[starts[rows]], t[starts[rows] + 1]
        inner = np.clip(ta + (tb - ta) * fraction, ta, tb)
        owner = np.concatenate([owner, owner[starts[rows]]])
        t = np.concatenate([t, inner])
        order = np.lexsort((t, owner))
        owner, t = owner[order], t[order]
        keep = np.ones(len(t), dtype=bool)
        keep[1:] = (owner[1:] != owner[:-1]) | (t[1:] != t[:-1])
        owner, t = owner[keep], t[keep]
    return owner, t


def _arguments(
    cnn: CNN, x: ArrayLike, classes: ArrayLike, baseline: ArrayLike | None
) -> tuple[Array, np.ndarray, Array]:
    batch = check_batch(cnn, x)
    chosen = check_classes(cnn, classes, batch.shape[0])
    return batch, chosen, check_baseline(cnn, batch, baseline)


def _segments(
    cnn: CNN, batch: Array, chosen: np.ndarray, x0: Array
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Array]:
    """Breakpoints (owner, t), and per segment its owner, length and gradient at its middle."""
    owner, t = breakpoints(cnn, batch, x0)
    starts = np.flatnonzero(owner[:-1] == owner[1:])
    ta, tb = t[starts], t[starts + 1]
    seg_owner = owner[starts]
    middles = path_points(batch, x0, seg_owner, (ta + tb) / 2)
    g = gradient(cnn, forward(cnn, middles), chosen[seg_owner])
    return owner, t, seg_owner, tb - ta, g


def paths(
    cnn: CNN, x: ArrayLike, classes: ArrayLike, baseline: ArrayLike | None = None
) -> list[Path]:
    """Every sample's :class:`~lrp_invariants.integrated.Path` (breakpoints and the gradient
    on each segment, flattened to ``(K, prod(input_shape))``) from ``baseline`` (zeros if None)."""
    batch, chosen, x0 = _arguments(cnn, x, classes, baseline)
    owner, t, seg_owner, _, g = _segments(cnn, batch, chosen, x0)
    flat = g.reshape(g.shape[0], -1).astype(np.float64)
    return [Path(t[owner == i], flat[seg_owner == i]) for i in range(batch.shape[0])]


def integrated_gradients(
    cnn: CNN, x: ArrayLike, classes: ArrayLike, baseline: ArrayLike | None = None
) -> Array:
    """Exact integrated gradients ``(n, *input_shape)`` of the chosen logits from ``baseline``
    (zeros if None; one sample for all, or one per sample), in the CNN's dtype (use a float64
    CNN for float64 breakpoints)."""
    batch, chosen, x0 = _arguments(cnn, x, classes, baseline)
    _, _, seg_owner, lengths, g = _segments(cnn, batch, chosen, x0)
    weighted = lengths.astype(batch.dtype).reshape((-1,) + (1,) * (g.ndim - 1)) * g
    average = np.zeros_like(batch)
    np.add.at(average, seg_owner, weighted)
    result: Array = (batch - x0) * average
    return result
