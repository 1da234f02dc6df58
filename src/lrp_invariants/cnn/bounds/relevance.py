"""Enclosures of a CNN's LRP relevance and every sink.

Relevance at a linear layer is the rule's own dense enclosure (``Rule.enclose``, written once
per rule) on the layer's *local* dense matrix (:mod:`.local`): the matrix of the layer for its
input shape, where every weight a rule reads is its own entry. Copying padding (reflect,
replicate, circular) and a non-zero constant padding are first made explicit: the input gathered
into its padded image (a copy per tap; the constant's positions inputs of that value), so that
sign-split and squared rules see each tap alone, as the layer's ``propagate`` does; the
relevance of the copies is added back onto their inputs, the frame's is a sink (``Rp``). The flat
rule reads the matrix of the layer's connections (w²'s shares on a matrix of ones: exact); z^B
reads a constant padding's frame as ordinary sources (bounds 0), as its ``propagate`` does.

What is wider than needed: the rules' dense enclosures bound each sum by ``γ_k`` with ``k`` the
dense input width of the layer (a convolution's whole input, twice the tensor at a residual
sum) where its receptive field would do, and a ball is kept per (input, output) pair, so the
relevance enclosure is for small CNNs (the ones property tests draw): memory grows with
``n x inputs x outputs`` per layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ...bounds.balls import F64, Ball, Precision, add, bound_matmul, mul, total
from ...bounds.forward import class_selector
from ...bounds.relevance import Enclosed, LayerBalls, LayerInput
from ...bounds.starts import start_ball
from ...network import Start, check_start
from ...rules import Rule
from ...rules.base import Rule as RuleBase
from ..model import CNN, LINEAR_KINDS, Layer
from ..pooling import MaxPool
from ..relevance import CNNRules, check_classes, rule_plan
from ..residual import Residual
from ..simple import Flatten, ReLU
from .forward import (
    CNNBalls,
    ResidualBalls,
    enclose_cnn_forward,
    enclose_cnn_gradient,
    reshaped,
    route_max_pool,
)
from .local import LocalMatrix, copies_onehot, dense_rule, gathered, local_matrix, scatter_ball


@dataclass(frozen=True, eq=False)
class CNNLayerBalls:
    """Balls of one layer's relevance, shaped as :class:`~lrp_invariants.rules.operator.
    OperatorRelevance`'s: received ``R_out``, passed on ``R``, the sinks ``Rb`` (bias or shift
    per output; with a constant padding's frame where it joins the bias), ``Rs`` (stabiliser,
    per output), ``Rm`` (constant input, input-shaped) and ``sinks`` (per sample, all of them);
    ``total``: the row sum of ``R``; ``Rp``: a constant padding's relevance per sample (in
    ``sinks``). ``dense``: the rule's own balls on the local matrix (mass
    and underflow for conservation tolerances); ``block``: a residual block's inner balls."""

    R_out: Ball
    R: Ball
    Rb: Ball | None
    Rs: Ball | None
    Rm: Ball | None
    sinks: Ball
    total: Ball
    dense: LayerBalls | None = None
    block: ResidualRelevanceBalls | None = None
    Rp: Ball | None = None


@dataclass(frozen=True, eq=False)
class ResidualRelevanceBalls:
    """A residual block's relevance balls: at its sum (input: branch and shortcut stacked on
    axis 1), through its branch, through its downsample (None: the identity)."""

    sum: CNNLayerBalls
    branch: tuple[CNNLayerBalls, ...]
    shortcut: CNNLayerBalls | None


def _flat(ball: Ball) -> Ball:
    return reshaped(ball, (ball.mid.shape[0], -1))


def _row_total(ball: Ball, p: Precision) -> Ball:
    return total(_flat(ball), 1, p)


def _no_sinks(n: int) -> Ball:
    return Ball.exact(np.zeros(n))


def _rescaling_loss(R_upper: F64, terms: int, dtype: np.dtype, p: Precision) -> F64:
    """Per sample, what an evaluation that rescales a sample whose quotients overflow loses in
    each entry (the core's ``propagate_repaired``: ``R 2**-k``, then ``2**k``): each of an
    entry's ``terms`` operations up to ``2**k η``. A quotient ``R_j / D_j`` with ``D_j`` at
    least ``η`` overflows only for ``R_j >= 2**maxexp η``, and the least ``k`` in steps of an
    eighth of the exponent range that brings it back is at most a step above that ratio."""
    info = np.finfo(dtype)
    step = 2.0 ** (info.maxexp // 8 + 1)
    threshold = 2.0 ** (info.maxexp - 1) * p.eta
    with np.errstate(over="ignore"):
        scale = step * np.maximum(1.0, R_upper / threshold)
        loss = terms * scale * p.eta
    return np.where(R_upper >= threshold, loss, 0.0)


def _with_rescaling(
    balls: LayerBalls, shape: tuple[int, ...], dtype: np.dtype, p: Precision
) -> LayerBalls:
    """``balls`` widened by :func:`_rescaling_loss` where a sample's relevance may overflow a
    quotient (far below the relevance itself: ``2**-894`` of it in float64)."""
    R_upper = balls.R_out.upper.max(axis=1, initial=0.0)
    loss = _rescaling_loss(R_upper, shape[0] + shape[1] + 8, dtype, p)
    if not np.any(loss):
        return balls
    column = loss[:, None]

    def widen(ball: Ball | None) -> Ball | None:
        # an exact zero stays one: every term is an exact zero, at any scale
        if ball is None:
            return None
        exact_zero = (ball.mid == 0) & (ball.rad == 0)
        return Ball(ball.mid, np.where(exact_zero, 0.0, ball.rad + column))

    R, Rb, Rs = widen(balls.R), widen(balls.Rb), widen(balls.Rs)
    assert R is not None and Rb is not None and Rs is not None
    return dataclasses.replace(
        balls,
        R=R,
        Rb=Rb,
        Rs=Rs,
        Rm=widen(balls.Rm),
        underflow=balls.underflow + loss * (shape[0] + 2 * shape[1]),
    )


@dataclass(frozen=True)
class _State:
    """What a layer receives from above, flat (n, size): the relevance ball, and the ``h`` form
    of the layer above where it holds (a ReLU between, see ``Enclosed``)."""

    incoming: Enclosed
    relu: bool


def _linear(
    layer: Layer,
    rule: Rule,
    a: Ball,
    z: Ball,
    grains: tuple[float, float],
    state: _State,
    top: bool,
    p: Precision,
    dtype: np.dtype,
    name: str,
) -> tuple[CNNLayerBalls, Enclosed]:
    in_shape = a.mid.shape[1:]
    n, size = a.mid.shape[0], int(np.prod(in_shape))
    local = local_matrix(layer, in_shape, dtype)
    chosen, W = dense_rule(
        rule,
        type(layer).__name__,
        local,
        in_shape,
        name,
        lambda: local_matrix(layer, in_shape, dtype, "ones").W,
    )
    a_flat = gathered(_flat(a), local)
    if local.frame:  # the frame's value is an input too
        grains = (min(grains[0], p.grain(local.value)), grains[1])
    keep_h = top or state.relu
    incoming = state.incoming if keep_h else Enclosed(state.incoming.R)
    inputs = LayerInput(W, local.bias, local.c, a_flat, _flat(z), top, p, grains)
    with np.errstate(over="ignore"):
        balls, below = chosen.enclose(inputs, incoming)
    balls = _with_rescaling(balls, local.W.shape, dtype, p)
    R, Rm, h, carry = balls.R, balls.Rm, below.h, below.carry
    frame = None
    if local.frame:
        assert local.gather is not None
        pad = local.gather < 0
        frame = total(Ball(R.mid[:, pad], R.rad[:, pad]), 1, p)
    if local.gather is not None:
        R = scatter_ball(R, local.gather, size, p)
        Rm = None if Rm is None else scatter_ball(Rm, local.gather, size, p)
        h = None if h is None else scatter_ball(h, local.gather, size, p)
        if carry is not None:
            onehot = copies_onehot(local.gather, size)
            carry = (bound_matmul(carry[0], onehot), bound_matmul(carry[1], onehot))
    out_shape = z.mid.shape
    sink_parts = [balls.Rb, balls.Rs] + ([] if Rm is None else [Rm])
    sinks = _no_sinks(n) if frame is None else frame
    for part in sink_parts:
        sinks = add(sinks, _row_total(part, p), p)
    result = CNNLayerBalls(
        R_out=reshaped(balls.R_out, out_shape),
        R=reshaped(R, a.mid.shape),
        Rb=reshaped(balls.Rb, out_shape),
        Rs=reshaped(balls.Rs, out_shape),
        Rm=None if Rm is None else reshaped(Rm, a.mid.shape),
        sinks=sinks,
        total=_row_total(R, p),
        dense=balls,
        Rp=frame,
    )
    return result, Enclosed(R, h, carry)


def _sum(
    rule: Rule,
    block: ResidualBalls,
    grain: float,
    state: _State,
    p: Precision,
    name: str,
    dtype: np.dtype,
) -> tuple[CNNLayerBalls, Enclosed]:
    """The residual sum as a layer of ones over (branch, shortcut), the rule's own enclosure;
    the block's ReLU sits between it and the layer above. ``grain``: the sum's (at most either
    summand's)."""
    shape = block.total.mid.shape
    n, size = shape[0], int(np.prod(shape[1:]))
    both = Ball(
        np.stack([block.branch.logits.mid, block.shortcut.mid], axis=1).reshape(n, -1),
        np.stack([block.branch.logits.rad, block.shortcut.rad], axis=1).reshape(n, -1),
    )
    W = np.vstack([np.eye(size), np.eye(size)])
    inputs = LayerInput(
        W, Ball.exact(np.zeros(size)), None, both, _flat(block.total), False, p, (grain, grain)
    )
    chosen, _ = dense_rule(
        rule, "residual sum", LocalMatrix(W, inputs.bias, None, None), (2 * size,), name, lambda: W
    )
    with np.errstate(over="ignore"):
        balls, below = chosen.enclose(inputs, state.incoming)
    balls = _with_rescaling(balls, W.shape, dtype, p)
    sinks = add(_row_total(balls.Rb, p), _row_total(balls.Rs, p), p)
    result = CNNLayerBalls(
        R_out=reshaped(balls.R_out, shape),
        R=reshaped(balls.R, (n, 2, *shape[1:])),
        Rb=reshaped(balls.Rb, shape),
        Rs=reshaped(balls.Rs, shape),
        Rm=None,
        sinks=sinks,
        total=_row_total(balls.R, p),
        dense=balls,
    )
    return result, below


def _top_linear(layers: tuple[Layer, ...]) -> int | None:
    """The linear layer whose output is the logits (through Flatten only), if any."""
    for i in range(len(layers) - 1, -1, -1):
        if isinstance(layers[i], Flatten):
            continue
        return i if isinstance(layers[i], LINEAR_KINDS) else None
    return None


def _relevance(
    layers: tuple[Layer, ...],
    plan: Sequence[Any],
    balls: CNNBalls,
    state: _State,
    top: int | None,
    p: Precision,
    dtype: np.dtype,
    where: str,
) -> tuple[tuple[CNNLayerBalls, ...], _State]:
    out: list[CNNLayerBalls] = []
    for i in range(len(layers) - 1, -1, -1):
        layer, a, z = layers[i], balls.inputs[i], balls.outputs[i]
        name = f"{where}{i}"
        R = state.incoming.R
        n = R.mid.shape[0]
        R_out = reshaped(R, z.mid.shape)
        if isinstance(layer, ReLU | Flatten):
            R_in = reshaped(R, a.mid.shape)
            result = CNNLayerBalls(R_out, R_in, None, None, None, _no_sinks(n), _row_total(R_in, p))
            state = _State(state.incoming, state.relu or isinstance(layer, ReLU))
        elif isinstance(layer, MaxPool):
            R_in = route_max_pool(layer, a, R_out, p)
            routed = _row_total(R_out, p)
            inputs = int(np.prod(a.mid.shape[1:]))
            extra = 2 * p.gamma(inputs + 4) * R_out.upper.reshape(n, -1).sum(axis=1)
            conserved = Ball(routed.mid, p.widen(routed.rad + extra, 4))
            result = CNNLayerBalls(R_out, R_in, None, None, None, _no_sinks(n), conserved)
            state = _State(Enclosed(_flat(R_in)), False)
        elif isinstance(layer, Residual):
            block = balls.inner[i]
            assert block is not None
            branch_plan, down_rule, sum_rule = plan[i]
            grain_in = balls.grains[i - 1] if i > 0 else balls.input_grain
            at_sum, below = _sum(sum_rule, block, balls.grains[i], state, p, name, dtype)
            R_both = at_sum.R
            branch_state = _State(Enclosed(_flat(R_both[:, 0])), False)
            branch, after = _relevance(
                layer.branch,
                branch_plan,
                block.branch,
                branch_state,
                None,
                p,
                dtype,
                f"{name}, branch layer ",
            )
            R_short = R_both[:, 1]
            shortcut = None
            if layer.downsample is not None:
                shortcut, _ = _linear(
                    layer.downsample,
                    down_rule,
                    a,
                    block.shortcut,
                    (grain_in, balls.grains[i]),
                    _State(Enclosed(_flat(R_short)), False),
                    False,
                    p,
                    dtype,
                    f"{name}, downsample",
                )
                R_short = shortcut.R
            R_in = add(reshaped(after.incoming.R, a.mid.shape), R_short, p)
            sinks = at_sum.sinks
            for part in (*branch, shortcut):
                if part is not None:
                    sinks = add(sinks, part.sinks, p)
            result = CNNLayerBalls(
                R_out,
                R_in,
                None,
                None,
                None,
                sinks,
                _row_total(R_in, p),
                block=ResidualRelevanceBalls(at_sum, branch, shortcut),
            )
            state = _State(Enclosed(_flat(R_in)), False)
            del below
        else:
            grain_in = balls.grains[i - 1] if i > 0 else balls.input_grain
            result, below = _linear(
                layer,
                plan[i],
                a,
                z,
                (grain_in, balls.grains[i]),
                state,
                i == top,
                p,
                dtype,
                name,
            )
            state = _State(below, False)
        out.append(result)
    return tuple(reversed(out)), state


def enclose_cnn_relevance(
    cnn: CNN,
    balls: CNNBalls,
    classes: ArrayLike,
    rules: RuleBase | CNNRules,
    p: Precision | None = None,
    start: Start = "logit",
) -> tuple[CNNLayerBalls, ...]:
    """Enclose LRP from the chosen class logit (or from 1, ``start="one"``), layer by layer
    (index 0: the input layer): every layer's input relevance and sinks as balls, as
    :func:`~lrp_invariants.cnn.lrp` computes them (``lrp(cnn, trace, logit_relevance(...),
    rules)``)."""
    p = p or Precision.of(cnn.dtype)
    plan = rule_plan(cnn, rules)
    n = balls.logits.mid.shape[0]
    chosen = check_classes(cnn, classes, n)
    selector = class_selector(chosen, balls.logits.mid.shape)
    top = _top_linear(cnn.layers)
    if check_start(start) == "given":  # exact values, of every output
        top, R = None, Ball.exact(np.asarray(start, dtype=np.float64))
    elif start != "logit":  # ones or probabilities: no logit to factor out
        first = start_ball(balls.logits, chosen, start, p)
        top, R = None, Ball(selector * first.mid[:, None], selector * first.rad[:, None])
    else:
        R = mul(Ball.exact(selector), balls.logits, p)
    incoming = Enclosed(R, Ball.exact(selector)) if top is not None else Enclosed(R)
    layers, _ = _relevance(
        cnn.layers, plan, balls, _State(incoming, False), top, p, cnn.dtype, "layer "
    )
    return layers


__all__ = [
    "CNNBalls",
    "CNNLayerBalls",
    "ResidualBalls",
    "ResidualRelevanceBalls",
    "enclose_cnn_forward",
    "enclose_cnn_gradient",
    "enclose_cnn_relevance",
]
